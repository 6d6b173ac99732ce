// The families vfw implements, by name: recognition from checkpoints, building, synthetic weights.

import Foundation
import TensorCore
import VFWFormat

/// A built model of any family.
public enum AnyModel {
    case resnet(ResNet)
    case vit(ViT)

    /// x: [N, 3, H, W] preprocessed images → the model's output (logits for classifiers).
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        switch self {
        case .resnet(let m): return m(x, taps: taps)
        case .vit(let m): return m(x, taps: taps)
        }
    }

    /// The everyday feature vector: ResNet's pooled [N, 512·expansion]; ViT's CLS token of the last hidden
    /// state [N, E] (token 0 after the final layer norm, as `last_hidden_state[:, 0]`).
    public func features(_ x: Tensor) -> Tensor {
        switch self {
        case .resnet(let m): return m.features(x)
        case .vit(let m): return m.features(x)
        }
    }

    /// Input image side the model was built for (ViT accepts only this size).
    public var imageSize: Int {
        switch self {
        case .resnet: return 224
        case .vit(let m): return m.config.imageSize
        }
    }
}

/// The result of looking at a checkpoint: which model it is and how its keys map onto vfw's canonical names.
public struct Recognition {
    public var architecture: VFWHeader.Architecture
    /// Default preprocessing preset for this family.
    public var preprocessing: String
    /// One canonical tensor and where it comes from: a whole source tensor, or a block of its rows (timm's
    /// fused `attn.qkv` [3E, E] and torchvision's `in_proj_weight` give q, k and v as rows [0, E), [E, 2E), [2E, 3E)).
    public struct Entry: Equatable, Sendable {
        public var canonical: String
        public var source: String
        /// Rows (first-dimension indices) of `source`, or nil for all of it.
        public var rows: Range<Int>?

        public init(_ canonical: String, _ source: String, rows: Range<Int>? = nil) {
            self.canonical = canonical
            self.source = source
            self.rows = rows
        }

        /// The `source_name` a .vfw header records: the source name, with `[a:b]` (Python slice) for a row block.
        public var sourceDescription: String { rows.map { "\(source)[\($0.lowerBound):\($0.upperBound)]" } ?? source }
    }

    /// canonical name → source tensor, in canonical (model) order where known.
    public var mapping: [Entry]
    /// Source tensors the model does not use and that are safe to drop (with why).
    public var dropped: [String]
    public var notes: [String]

    /// The canonical tensor `entry` describes, cut from the source tensors without copying.
    public func tensor(for entry: Entry, in source: [String: RawTensor]) throws -> RawTensor {
        guard let raw = source[entry.source] else { throw ModelError.missingTensor(key: entry.source, expectedShape: []) }
        guard let rows = entry.rows else { return raw }
        return try Recognition.slice(raw, rows: rows, name: entry.source)
    }

    /// The canonical tensors of a checkpoint (canonical name, `source_name`, tensor), in mapping order:
    /// what `vfw convert` writes and what tests load.
    public func canonicalTensors(_ source: [(name: String, tensor: RawTensor)]) throws -> [(name: String, source: String, tensor: RawTensor)] {
        let byName = Dictionary(source.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        return try mapping.map { ($0.canonical, $0.sourceDescription, try tensor(for: $0, in: byName)) }
    }

    /// Rows [a, b) of a row-major tensor: a zero-copy view of its bytes (the rows are contiguous).
    public static func slice(_ raw: RawTensor, rows: Range<Int>, name: String) throws -> RawTensor {
        guard let d0 = raw.shape.first, rows.lowerBound >= 0, rows.upperBound <= d0 else {
            throw ModelError.shapeMismatch(key: name, expected: [rows.upperBound], actual: raw.shape)
        }
        let inner = Array(raw.shape.dropFirst())
        guard let rowBytes = raw.dtype.byteCount(elements: elementCount(inner) ?? 0), rowBytes * d0 == raw.bytes.count else {
            throw ModelError.unsupportedDType(key: name, dtype: raw.dtype.rawValue)
        }
        return RawTensor(dtype: raw.dtype, shape: [rows.count] + inner,
                         bytes: raw.bytes.slice(rows.lowerBound * rowBytes, rows.count * rowBytes))
    }
}

public enum ModelZoo {
    /// Every model name `--model` / `--arch` accepts.
    public static var knownNames: [String] { ResNetConfig.presets.map(\.name) + ViTConfig.presetNames }

    /// The architecture record for a known model name (default config: 1000 classes).
    public static func architecture(named name: String, numClasses: Int? = nil) throws -> VFWHeader.Architecture {
        if var c = ResNetConfig.presets.first(where: { $0.name == name })?.config {
            if let n = numClasses { c.numClasses = n }
            return .init(name: name, family: "resnet", config: c.json)
        }
        if var c = ViTConfig.named(name) {
            if let n = numClasses {
                c.numLabels = n
                c.hasPooler = false  // a classifier on token 0, as ViTForImageClassification
            }
            return .init(name: name, family: "vit", config: c.json)
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
                               mapping: kept.map { .init($0.name, $0.name) }, dropped: dropped, notes: notes)
        }
        if let vit = try ViTLayout.recognise(tensors, configJSON: configJSON, arch: arch) {
            return vit
        }
        if let arch {
            _ = try architecture(named: arch)  // unknown names fail here
            throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch)")
        }
        throw ModelError.unrecognised(reason: "the tensor names match no supported layout (torchvision ResNet; ViT from transformers, timm or torchvision)")
    }

    /// Builds a model from canonical tensors; strict: missing, mis-shaped and unused tensors are errors.
    public static func build(_ architecture: VFWHeader.Architecture, weights: WeightStore) throws -> AnyModel {
        switch architecture.family {
        case "resnet":
            let m = try ResNet(config: try ResNetConfig(json: architecture.config), weights: weights.root)
            try weights.checkAllUsed()
            return .resnet(m)
        case "vit":
            let m = try ViT(config: try ViTConfig(json: architecture.config), weights: weights.root)
            try weights.checkAllUsed()
            return .vit(m)
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
