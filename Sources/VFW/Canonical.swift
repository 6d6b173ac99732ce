// From any input's tensors to the canonical names and description of a model.

import Foundation
import Models
import TensorCore
import VFWFormat

/// A weight source's tensors under their canonical names, with the model they describe (when recognised).
public struct CanonicalWeights {
    /// The model the tensors are for; nil for a bag of tensors no family recognised.
    public var model: ModelDescription?
    /// The preprocessing preset recorded with the weights, or the family's default for them.
    public var preprocessing: String?
    /// (canonical name, source name, tensor) in model order.
    public var tensors: [(name: String, source: String, tensor: RawTensor)]
    /// What recognition did (layout, prefix, dropped buffers), for the user.
    public var notes: [String]
    /// The path the tensors came from, for messages.
    public var path: String
    /// Why a family that knows the layout refused it (a config.json it does not compute), when one did.
    public var unrecognisedBecause: String?

    /// Recognises the model in `source`; a .vfw input is already canonical. Unrecognised tensors keep their
    /// names (a plain bag of tensors) unless `arch` demands a model.
    public static func of(_ source: WeightSource, arch: String? = nil) throws -> CanonicalWeights {
        if let f = source.vfw, let a = f.header.architecture, arch == nil {
            let model: ModelDescription
            do { model = try ModelDescription(json: a) } catch { throw PipelineError.input("\(source.path): \(error)") }
            return CanonicalWeights(model: model, preprocessing: f.header.preprocessing,
                                    tensors: source.tensors.map { ($0.name, f.entry($0.name)?.sourceName ?? $0.name, $0.tensor) },
                                    notes: [], path: source.path)
        }
        let shapes = source.tensors.map { (name: $0.name, shape: $0.tensor.shape) }
        let r: Recognition
        do {
            r = try ModelZoo.recognise(shapes, configJSON: source.configJSON, arch: arch)
        } catch let e as ModelError {
            if arch != nil { throw PipelineError.input("\(source.path): \(e)") }
            // A layout a family knows but refuses (a config it does not compute) says why; a bag of tensors no
            // family knows says only that.
            var c = CanonicalWeights(model: nil, preprocessing: nil, tensors: source.tensors.map { ($0.name, $0.name, $0.tensor) },
                                     notes: ["no supported architecture recognised; tensors keep their source names (--arch NAME requires one)"],
                                     path: source.path)
            if case .unrecognised(let reason) = e, !reason.hasPrefix("the tensor names match no supported layout") {
                c.notes[0] = "no supported architecture recognised (\(reason)); tensors keep their source names"
                c.unrecognisedBecause = reason
            }
            return c
        }
        // A canonical tensor may be a row block of a fused source tensor (ViT q/k/v); its source name then
        // reads `blocks.0.attn.qkv.weight[0:768]`.
        let tensors: [(name: String, source: String, tensor: RawTensor)]
        do {
            tensors = try r.canonicalTensors(source.tensors)
        } catch let e as ModelError {
            throw PipelineError.input("\(source.path): \(e)")
        }
        return CanonicalWeights(model: r.model, preprocessing: r.preprocessing, tensors: tensors,
                                notes: ["recognised \(r.model.name)"] + r.notes, path: source.path)
    }

    /// Builds the model these tensors describe (strict: a missing, mis-shaped or unused tensor is an error
    /// naming the key and both shapes).
    public func build() throws -> AnyModel {
        guard let model else {
            if let why = unrecognisedBecause { throw PipelineError.input("\(path): \(why)") }
            throw PipelineError.input("\(path): cannot tell which model these weights are for; pass --arch")
        }
        do {
            return try ModelZoo.build(model, weights: WeightStore(tensors.map { ($0.name, $0.tensor) }))
        } catch let e as ModelError {
            throw PipelineError.input("\(path): \(e)")
        }
    }

    /// The preprocessing preset to use: the one stored with the weights, else the family's default.
    public func preprocessingPreset() throws -> String {
        if let p = preprocessing { return p }
        guard let model else { throw PipelineError.input("\(path): cannot tell which model these weights are for; pass --arch") }
        do { return try ModelZoo.preprocessing(for: model) } catch { throw PipelineError.input("\(path): \(error)") }
    }
}

extension WeightStore {
    /// A store over the tensors of a .vfw file (zero-copy until each tensor is converted to f32).
    public convenience init(vfw: VFWFile) {
        self.init(vfw.tensorNames.map { ($0, vfw.tensor($0)!) })
    }
}
