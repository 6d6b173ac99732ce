// What a model family is, and the one registry that lists them.
//
// A family (ResNet, ViT, ...) lives in its own file(s) and implements `ModelFamily`: its names and Codable
// config, recognition of its checkpoint layouts into canonical names, a strict build from a weight store (the
// same build, on a synthesising store, makes `vfw synth` weights), the forward pass with taps, its isolated
// modules, its feature vector and its default preprocessing. `Families.all` lists the families, one line each;
// nothing outside a family's file asks which family a model is. DEVELOPERS.md, "Adding a family", is the recipe.

import Foundation
import TensorCore

// MARK: - The description of a model

/// Which model a set of weights is for: what a .vfw header's `architecture` and a reference manifest's
/// `architecture` hold (the same JSON object: `{"name", "family", "config"}`). `config` is the family's own
/// Codable config in JSON form; `ModelZoo` decodes it with the family's type.
public struct ModelDescription: Codable, Equatable, Sendable {
    /// Canonical model name, e.g. `resnet50`, `vit-base-patch16-224`.
    public var name: String
    /// The registered family that runs it (`Families.all`).
    public var family: String
    /// The family's hyper-parameters (depth, widths, heads, patch size, eps, classes, labels ...).
    public var config: [String: JSONValue]

    public init(name: String, family: String, config: [String: JSONValue]) {
        self.name = name
        self.family = family
        self.config = config
    }

    /// The description a family writes for its typed config.
    public init<F: ModelFamily>(_ family: F.Type, _ config: F.Config) {
        self.init(name: F.modelName(config), family: F.name, config: encodeConfig(config))
    }

    /// This description as the JSON object files store.
    public var json: JSONValue {
        .object(["name": .string(name), "family": .string(family), "config": .object(config)])
    }

    /// Reads the JSON object a .vfw header or a reference manifest stores (`what` names it in errors).
    public init(json: JSONValue, what: String = "architecture") throws {
        guard let o = json.objectValue, let n = o["name"]?.stringValue, let f = o["family"]?.stringValue,
              let c = o["config"]?.objectValue else {
            throw ModelError.invalidConfig(family: json["family"]?.stringValue ?? "unknown",
                                           reason: "\(what) must be an object with a string 'name', a string 'family' and an object 'config'")
        }
        self.init(name: n, family: f, config: c)
    }
}

// MARK: - The family protocol

/// A model family: its static members describe and build models; an instance is a built network.
public protocol ModelFamily: FamilyNetwork {
    /// Hyper-parameters, stored as the description's `config` (Codable: a wrong field is named for free).
    associatedtype Config: Codable & Equatable & Sendable

    /// The name headers and manifests record (`resnet`, `vit`).
    static var name: String { get }
    /// Model names `--model` / `--arch` / `vfw synth` accept.
    static var modelNames: [String] { get }
    /// The config a model name stands for (nil when the name is not this family's); `numClasses` sets the
    /// classifier's size where the family has one.
    static func config(named name: String, numClasses: Int?) -> Config?
    /// The canonical model name of a config (`resnet50`, `resnet-custom`).
    static func modelName(_ config: Config) -> String
    /// Checks what `Codable` cannot (consistency between fields); throws `ModelError.invalidConfig`.
    static func validate(_ config: Config) throws
    /// Recognises this family's checkpoint layouts: nil when the tensors are not one of them; throws when they
    /// are, but something in them (or in config.json) is not what the family computes.
    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition?
    /// The network, asking `weights` for every tensor by its canonical key (strict).
    init(config: Config, weights: WeightScope) throws
    /// Default preprocessing preset name for a config (Imaging's presets).
    static func preprocessing(_ config: Config) -> String
    /// The tensors the framework's own `state_dict` holds for these canonical tensors (what loads into the
    /// real model with `strict=True`): by default the canonical tensors themselves.
    static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)]
}

extension ModelFamily {
    public static func validate(_ config: Config) throws {}
    public static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)] {
        canonical
    }
}

/// A built network of any family: what runs, what it taps, what it returns as features.
public protocol FamilyNetwork {
    /// x: [N, C, H, W] preprocessed images → the model's output (logits for classifiers). Taps see PyTorch module
    /// names.
    func callAsFunction(_ x: Tensor, taps: TapRecorder?) -> Tensor
    /// The everyday feature vector [N, D] (documented per family).
    func features(_ x: Tensor) -> Tensor
    /// What `features` is, as `vfw embed --format json` labels it (`pooled`, `cls`).
    var featureName: String { get }
    /// Side of the square input the network was built for, or nil when any size runs.
    var imageSize: Int? { get }
    /// The module whose output is the logits (`fc`, `classifier`), if the network is a classifier.
    var logitsModule: String? { get }
    /// Every tapped module in forward-hook order, runnable on its own (`vfw verify --isolated`).
    func isolatedModules() -> [IsolatedModule]
}

// MARK: - Checkpoints and recognition

/// What recognition looks at: tensor names and shapes (in file order), the config.json beside them, and the
/// model name the user forced (`--arch`).
public struct Checkpoint: Sendable {
    public var tensors: [(name: String, shape: [Int])]
    public var configJSON: Data?
    public var arch: String?
    /// Shapes by name.
    public let shapes: [String: [Int]]

    public init(_ tensors: [(name: String, shape: [Int])], configJSON: Data? = nil, arch: String? = nil) {
        self.tensors = tensors
        self.configJSON = configJSON
        self.arch = arch
        shapes = Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
    }
}

/// The result of looking at a checkpoint: which model it is and how its keys map onto vfw's canonical names.
public struct Recognition {
    public var model: ModelDescription
    /// Default preprocessing preset for this model.
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
    /// Source tensors the model does not use and that are safe to drop (with a note saying why).
    public var dropped: [String]
    public var notes: [String]

    public init(model: ModelDescription, preprocessing: String, mapping: [Entry], dropped: [String] = [], notes: [String] = []) {
        self.model = model
        self.preprocessing = preprocessing
        self.mapping = mapping
        self.dropped = dropped
        self.notes = notes
    }

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

// MARK: - The registry

/// A registered family, its static members captured so the registry can hold every family in one array.
public struct Family: Sendable {
    public let name: String
    public let modelNames: [String]
    let describe: @Sendable (String, Int?) -> ModelDescription?
    let recognise: @Sendable (Checkpoint) throws -> Recognition?
    let build: @Sendable (ModelDescription, WeightScope) throws -> any FamilyNetwork
    let preprocessing: @Sendable (ModelDescription) throws -> String
    let frameworkStateDict: @Sendable ([(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)]

    public init<F: ModelFamily>(_ family: F.Type) {
        name = F.name
        modelNames = F.modelNames
        // The name asked for stays the model's name (`vit-base` is an alias of a vit-base-patch16-224 config).
        describe = { n, classes in F.config(named: n, numClasses: classes).map { ModelDescription(name: n, family: F.name, config: encodeConfig($0)) } }
        recognise = { try F.recognise($0) }
        build = { d, scope in
            let c: F.Config = try decodeConfig(d.config, family: F.name)
            try F.validate(c)
            return try F(config: c, weights: scope)
        }
        preprocessing = { d in
            let c: F.Config = try decodeConfig(d.config, family: F.name)
            return F.preprocessing(c)
        }
        frameworkStateDict = { F.frameworkStateDict($0) }
    }
}

public enum Families {
    /// Every family vfw implements, in the order recognition tries them: one line per family.
    public static let all: [Family] = [
        Family(ResNet.self),
        Family(ConvNeXt.self),  // before ViT as in tools/reference_families (there ViT claims every embeddings.patch_embeddings.* key)
        Family(DINOv2.self),  // before ViT: timm DINOv2 checkpoints are VisionTransformers with LayerScale
        Family(DeiT.self),  // before ViT: a distilled DeiT is a ViT with a distillation token
        Family(ViT.self),
        Family(RegNet.self),
        Family(EfficientNet.self),
    ]

    /// The family called `name` (a description's `family`), or nil.
    public static func named(_ name: String) -> Family? { all.first { $0.name == name } }
}

// MARK: - Config coding

/// A family config as the JSON object files store (keys as its CodingKeys name them).
func encodeConfig<C: Encodable>(_ config: C) -> [String: JSONValue] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    guard let data = try? encoder.encode(config), let value = try? JSONDecoder().decode(JSONValue.self, from: data),
          let object = value.objectValue else {
        preconditionFailure("a family config must encode as a JSON object")
    }
    return object
}

/// A family config from the JSON object a file stores; a wrong or missing field is named in the error.
func decodeConfig<C: Decodable>(_ object: [String: JSONValue], family: String) throws -> C {
    do {
        let data = try JSONEncoder().encode(JSONValue.object(object))
        return try JSONDecoder().decode(C.self, from: data)
    } catch let e as ModelError {
        throw e
    } catch let e as DecodingError {
        throw ModelError.invalidConfig(family: family, reason: describe(e))
    } catch {
        throw ModelError.invalidConfig(family: family, reason: "\(error)")
    }
}

/// A DecodingError as a sentence naming the field: "'layers' is missing", "'groups' must be a number".
private func describe(_ e: DecodingError) -> String {
    func field(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }
    switch e {
    case .keyNotFound(let k, let c): return "'\(field(c.codingPath + [k]))' is missing"
    case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
        let what: String
        switch t {
        case is Int.Type: what = "an integer"
        case is Double.Type, is Float.Type: what = "a number"
        case is Bool.Type: what = "true or false"
        case is String.Type: what = "a string"
        default: what = String(describing: t).hasPrefix("Array") ? "an array" : "an object"
        }
        return "'\(field(c.codingPath))' must be \(what)"
    case .dataCorrupted(let c):
        return c.codingPath.isEmpty ? c.debugDescription : "'\(field(c.codingPath))' \(c.debugDescription)"
    @unknown default:
        return "\(e)"
    }
}

extension ModelDescription {
    /// The config as `family` types it (throws `invalidConfig` naming a wrong or missing field).
    public func config<F: ModelFamily>(of family: F.Type) throws -> F.Config {
        let c: F.Config = try decodeConfig(config, family: F.name)
        try F.validate(c)
        return c
    }
}
