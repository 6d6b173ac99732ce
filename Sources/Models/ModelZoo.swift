// The families vfw implements, by name: recognition from checkpoints, building, synthetic weights.

import Foundation
import TensorCore
import VFWFormat

/// A built model of any family.
public enum AnyModel {
    case resnet(ResNet)

    /// x: [N, 3, H, W] preprocessed images → the model's output (logits for classifiers).
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        switch self {
        case .resnet(let m): return m(x, taps: taps)
        }
    }

    /// The everyday feature vector: ResNet's pooled [N, 512·expansion].
    public func features(_ x: Tensor) -> Tensor {
        switch self {
        case .resnet(let m): return m.features(x)
        }
    }

    /// Input image side the model was built for.
    public var imageSize: Int { 224 }
}

/// The result of looking at a checkpoint: which model it is and how its keys map onto vfw's canonical names.
public struct Recognition {
    public var architecture: VFWHeader.Architecture
    /// Default preprocessing preset for this family.
    public var preprocessing: String
    /// canonical name → source name, in canonical (model) order where known.
    public var mapping: [(canonical: String, source: String)]
    /// Source tensors the model does not use and that are safe to drop (with why).
    public var dropped: [String]
    public var notes: [String]
}

public enum ModelZoo {
    /// Every model name `--model` / `--arch` accepts.
    public static var knownNames: [String] { ResNetConfig.presets.map(\.name) }

    /// The architecture record for a known model name (default config: 1000 classes).
    public static func architecture(named name: String, numClasses: Int? = nil) throws -> VFWHeader.Architecture {
        if var c = ResNetConfig.presets.first(where: { $0.name == name })?.config {
            if let n = numClasses { c.numClasses = n }
            return .init(name: name, family: "resnet", config: c.json)
        }
        throw ModelError.unknownModel(name: name, known: knownNames)
    }

    public static func preprocessing(for family: String) -> String {
        family == "resnet" ? "torchvision" : "hf-vit"
    }

    /// Recognises the model from tensor names and shapes (`arch` forces a model name).
    public static func recognise(_ tensors: [(name: String, shape: [Int])], configJSON: Data? = nil, arch: String? = nil) throws -> Recognition {
        let shapes = Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        if let resnet = ResNetLayout.recognise(shapes) {
            var architecture = VFWHeader.Architecture(name: resnet.name, family: "resnet", config: resnet.json)
            if let arch {
                architecture = try self.architecture(named: arch, numClasses: resnet.numClasses)
            }
            // torchvision names are the canonical names; BN's step counter is a training-only buffer.
            let dropped = tensors.map(\.name).filter { $0.hasSuffix(".num_batches_tracked") }
            let kept = tensors.filter { !$0.name.hasSuffix(".num_batches_tracked") }
            var notes: [String] = []
            if !dropped.isEmpty { notes.append("dropped \(dropped.count) num_batches_tracked buffers (unused in eval mode)") }
            return Recognition(architecture: architecture, preprocessing: "torchvision",
                               mapping: kept.map { ($0.name, $0.name) }, dropped: dropped, notes: notes)
        }
        if let arch {
            _ = try architecture(named: arch)  // unknown names fail here
            throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch)")
        }
        throw ModelError.unrecognised(reason: "the tensor names match no supported layout (torchvision ResNet)")
    }

    /// Builds a model from canonical tensors; strict: missing, mis-shaped and unused tensors are errors.
    public static func build(_ architecture: VFWHeader.Architecture, weights: WeightStore) throws -> AnyModel {
        switch architecture.family {
        case "resnet":
            let m = try ResNet(config: try ResNetConfig(json: architecture.config), weights: weights.root)
            try weights.checkAllUsed()
            return .resnet(m)
        default:
            throw ModelError.invalidConfig(family: architecture.family, reason: "unknown model family '\(architecture.family)'")
        }
    }

    /// Synthetic weights as the source framework's own state_dict holds them (loadable with `strict=True`):
    /// the canonical tensors plus training-only buffers (torchvision BN's `num_batches_tracked`, int64 scalar,
    /// set to a non-default count) right after each BN's `running_var`, in state_dict order.
    public static func synthesiseCheckpoint(_ architecture: VFWHeader.Architecture, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        let canonical = try synthesise(architecture, seed: seed)
        guard architecture.family == "resnet" else { return canonical }
        var out: [(name: String, tensor: RawTensor)] = []
        for t in canonical {
            out.append(t)
            if t.name.hasSuffix(".running_var") {
                let steps = OwnedBytes(count: 8)
                steps.mutableBytes.storeBytes(of: Int64(10_000 + out.count).littleEndian, as: Int64.self)
                out.append((String(t.name.dropLast("running_var".count)) + "num_batches_tracked",
                            RawTensor(dtype: .i64, shape: [], bytes: ByteView(owned: steps))))
            }
        }
        return out
    }

    /// Deterministic synthetic weights for `architecture`, in the model's parameter order.
    public static func synthesise(_ architecture: VFWHeader.Architecture, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        let store = WeightStore(synthesisingWithSeed: seed)
        _ = try build(architecture, weights: store)
        return store.synthesised
    }
}
