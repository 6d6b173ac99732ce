// From any input's tensors to the canonical names and description of a model.

import Foundation
import Imaging
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
    /// Why the model folder's own preprocessing file (preprocessor_config.json, a timm pretrained_cfg) cannot be
    /// run, when it cannot: raised when the preprocessing is needed and --preprocess does not state it instead.
    public var preprocessingProblem: String?

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
        var notes = ["recognised \(r.model.name)"] + r.notes
        var preprocessing: String? = r.preprocessing, problem: String?
        do {
            if let (spec, file) = try modelConfiguredPreprocessing(source) {
                preprocessing = spec.presetName ?? spec.text
                notes.append("preprocessing from \(file): \(spec.presetName ?? spec.text)")
            }
        } catch let e as PipelineError {
            // Not the family's default instead: the folder says its pipeline is another one.
            preprocessing = nil
            problem = "\(e)"
        }
        var c = CanonicalWeights(model: r.model, preprocessing: preprocessing, tensors: tensors, notes: notes, path: source.path)
        c.preprocessingProblem = problem
        return c
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

    /// The preprocessing to use, as text: the one stored with the weights, else the family's default.
    public func preprocessingPreset() throws -> String {
        if let p = preprocessing { return p }
        if let problem = preprocessingProblem { throw PipelineError.input(problem) }
        guard let model else { throw PipelineError.input("\(path): cannot tell which model these weights are for; pass --arch") }
        do { return try ModelZoo.preprocessing(for: model) } catch { throw PipelineError.input("\(path): \(error)") }
    }

    /// The preprocessing to use: `preprocessingPreset()` read as a PreprocessSpec (a preset name or the full text form).
    public func preprocessingSpec() throws -> PreprocessSpec {
        let text = try preprocessingPreset()
        do { return try PreprocessSpec.parse(text, source: "\(path): stored preprocessing") } catch { throw PipelineError.input("\(error)") }
    }

    /// The preprocessing to use when the user gives `text` (PreprocessSpec's text form, `--preprocess`): a preset
    /// or a full spec stands alone (even when the model's own is unreadable: that is how a user states it);
    /// key=value items change the model's own spec. nil `text`: the model's own.
    public func preprocessingSpec(overriddenBy text: String?, source: String = "--preprocess") throws -> PreprocessSpec {
        guard let text else { return try preprocessingSpec() }
        let base = model == nil ? nil : try? preprocessingSpec()
        do {
            return try PreprocessSpec.parse(text, source: source, base: base)
        } catch {
            // Overrides of a model spec that cannot be read: say why it cannot.
            if base == nil, model != nil { _ = try preprocessingSpec() }
            throw PipelineError.input("\(error)")
        }
    }

    /// The preprocessing a model folder states: transformers' preprocessor_config.json (as transformers 5's
    /// AutoImageProcessor runs it: the torchvision backend), or a timm config.json's pretrained_cfg, in the folder
    /// holding the weights; nil when it has neither. A file that is there but wrong is an input error.
    static func modelConfiguredPreprocessing(_ source: WeightSource) throws -> (PreprocessSpec, String)? {
        guard !source.weightsPath.isEmpty else { return nil }
        let dir = (source.weightsPath as NSString).deletingLastPathComponent
        let folder = dir.isEmpty ? "." : dir
        let hf = (folder as NSString).appendingPathComponent("preprocessor_config.json")
        let hasHF = FileManager.default.fileExists(atPath: hf)
        // A timm folder's config.json is only read when it is the configuration recognition already read.
        guard hasHF || source.configJSON != nil else { return nil }
        do {
            guard let spec = try PreprocessSpec.fromModelConfiguration(at: folder) else { return nil }
            return (spec, hasHF ? hf : (folder as NSString).appendingPathComponent("config.json"))
        } catch {
            throw PipelineError.input("\(error)")
        }
    }
}

extension WeightStore {
    /// A store over the tensors of a .vfw file (zero-copy until each tensor is converted to f32).
    public convenience init(vfw: VFWFile) {
        self.init(vfw.tensorNames.map { ($0, vfw.tensor($0)!) })
    }
}
