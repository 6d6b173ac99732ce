// From any input's tensors to the canonical names and architecture of a model family.

import Foundation
import Models
import TensorCore
import VFWFormat

struct Canonical {
    var architecture: VFWHeader.Architecture?
    var preprocessing: String?
    /// (canonical name, source name, tensor) in model order.
    var tensors: [(name: String, source: String, tensor: RawTensor)]
    var notes: [String]

    /// Recognises the model in `source`; a .vfw input is already canonical. Unrecognised tensors keep their
    /// names (a plain bag of tensors) unless `arch` demands a model.
    static func tensors(of source: WeightSource, arch: String?) throws -> Canonical {
        if let f = source.vfw, let a = f.header.architecture, arch == nil {
            return Canonical(architecture: a, preprocessing: f.header.preprocessing,
                             tensors: source.tensors.map { ($0.name, f.entry($0.name)?.sourceName ?? $0.name, $0.tensor) }, notes: [])
        }
        let shapes = source.tensors.map { (name: $0.name, shape: $0.tensor.shape) }
        let r: Recognition
        do {
            r = try ModelZoo.recognise(shapes, configJSON: source.configJSON, arch: arch)
        } catch let e as ModelError {
            if arch != nil { throw InputError("\(source.path): \(e)") }
            return Canonical(architecture: nil, preprocessing: nil, tensors: source.tensors.map { ($0.name, $0.name, $0.tensor) },
                             notes: ["no supported architecture recognised; tensors keep their source names (--arch NAME requires one)"])
        }
        // A canonical tensor may be a row block of a fused source tensor (ViT q/k/v); its source name then
        // reads `blocks.0.attn.qkv.weight[0:768]`.
        let tensors: [(name: String, source: String, tensor: RawTensor)]
        do {
            tensors = try r.canonicalTensors(source.tensors)
        } catch let e as ModelError {
            throw InputError("\(source.path): \(e)")
        }
        return Canonical(architecture: r.architecture, preprocessing: r.preprocessing, tensors: tensors,
                         notes: ["recognised \(r.architecture.name)"] + r.notes)
    }

    /// Builds the model these tensors describe (strict), for verify / embed / bench.
    func model(path: String) throws -> AnyModel {
        guard let a = architecture else { throw InputError("\(path): cannot tell which model these weights are for; pass --arch") }
        do {
            return try ModelZoo.build(a, weights: WeightStore(tensors.map { ($0.name, $0.tensor) }))
        } catch let e as ModelError {
            throw InputError("\(path): \(e)")
        }
    }
}
