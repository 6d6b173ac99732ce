// manifest.json of a reference folder, mirroring Schemas/reference-manifest.schema.json (schema versions 1 and 2).
//
// Unknown properties are ignored (a newer writer may add some); every property the schema requires is
// required here too, so a damaged manifest is reported by the name of the field that is wrong.
// Version 2 lists the batch's photos (`images`) and which photo and copy each batch item is (`items`), where
// version 1 had one `image` whose copies made the batch; and a tap may name its float64 truth (`truth`).

import Foundation
import Models
import TensorCore

/// One recorded activation: a PyTorch module name (`layer1.0`, `layer1.0.relu#2`) and its shape.
public struct ReferenceTap: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var shape: [Int]
    /// The activations-file tensor holding this tap's truth (`truth/NAME`, see `ReferenceManifest.Truth`); nil
    /// when the reference has none for it.
    public var truth: String?

    public init(name: String, shape: [Int], truth: String? = nil) {
        self.name = name
        self.shape = shape
        self.truth = truth
    }
}

public struct ReferenceManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    /// The model, as Models describes it (the .vfw header's `architecture` object).
    public var architecture: ModelDescription
    public var weights: Weights
    /// The photos of the batch, in order (version 1: its one `image`).
    public var images: [Image]
    /// Which photo and which copy of it each batch item is (version 1: item b is copy b of the one image).
    public var items: [Item]
    public var preprocessing: Preprocessing
    /// Number of items in the batch (the first dimension of `input` and of every tap).
    public var batch: Int
    public var runtime: Runtime
    /// The preprocessed batch, stored under `input.name` ("input").
    public var input: ReferenceTap
    /// "block" (stem, blocks, head) or "all" (every leaf module and every block).
    public var tapLevel: String
    /// Recorded module outputs, in execution order.
    public var taps: [ReferenceTap]
    public var activations: Activations
    /// Library versions that computed the reference: python, torch, torchvision, pillow, numpy, safetensors.
    public var versions: [String: String]
    public var generator: Generator
    /// How the truths were computed and stored; nil when no tap has one.
    public var truth: Truth?
    /// The globs `make_reference.py --taps` chose the taps with, when it did.
    public var tapSelection: [String]?

    /// The first photo (the only one of a version-1 reference).
    public var image: Image { images[0] }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", architecture, weights, image, images, items, preprocessing, batch, runtime, input
        case tapLevel = "tap_level", taps, activations, versions, generator, truth, tapSelection = "tap_selection"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        architecture = try c.decode(ModelDescription.self, forKey: .architecture)
        weights = try c.decode(Weights.self, forKey: .weights)
        if schemaVersion == 1 {
            images = [try c.decode(Image.self, forKey: .image)]
        } else {
            images = try c.decode([Image].self, forKey: .images)
        }
        preprocessing = try c.decode(Preprocessing.self, forKey: .preprocessing)
        batch = try c.decode(Int.self, forKey: .batch)
        items = schemaVersion == 1 ? (0..<max(batch, 0)).map { Item(image: 0, copy: $0) } : try c.decode([Item].self, forKey: .items)
        runtime = try c.decode(Runtime.self, forKey: .runtime)
        input = try c.decode(ReferenceTap.self, forKey: .input)
        tapLevel = try c.decode(String.self, forKey: .tapLevel)
        taps = try c.decode([ReferenceTap].self, forKey: .taps)
        activations = try c.decode(Activations.self, forKey: .activations)
        versions = try c.decode([String: String].self, forKey: .versions)
        generator = try c.decode(Generator.self, forKey: .generator)
        truth = try c.decodeIfPresent(Truth.self, forKey: .truth)
        tapSelection = try c.decodeIfPresent([String].self, forKey: .tapSelection)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(weights, forKey: .weights)
        if schemaVersion == 1 { try c.encode(image, forKey: .image) } else {
            try c.encode(images, forKey: .images)
            try c.encode(items, forKey: .items)
        }
        try c.encode(preprocessing, forKey: .preprocessing)
        try c.encode(batch, forKey: .batch)
        try c.encode(runtime, forKey: .runtime)
        try c.encode(input, forKey: .input)
        try c.encode(tapLevel, forKey: .tapLevel)
        try c.encode(taps, forKey: .taps)
        try c.encode(activations, forKey: .activations)
        try c.encode(versions, forKey: .versions)
        try c.encode(generator, forKey: .generator)
        try c.encodeIfPresent(truth, forKey: .truth)
        try c.encodeIfPresent(tapSelection, forKey: .tapSelection)
    }

    /// Batch item `index` in words: `camera.png`, or `chelsea.png copy 2` when the photo has several copies.
    public func itemLabel(_ index: Int) -> String {
        guard index >= 0, index < items.count, items[index].image < images.count else { return "item \(index)" }
        let it = items[index]
        let copies = items.filter { $0.image == it.image }.count
        return images[it.image].file + (copies > 1 ? " copy \(it.copy)" : "")
    }

    /// One batch item: copy `copy` (preprocessing.batchCopies says how copies differ) of photo `image`.
    public struct Item: Codable, Sendable, Equatable {
        public var image: Int
        public var copy: Int

        public init(image: Int, copy: Int) {
            self.image = image
            self.copy = copy
        }
    }

    /// The float64 truth: what the float32 activations approximate (make_reference.py runs `model.double()` on
    /// the preprocessed batch cast to float64). Stored per tap as `stored_as` says: `bf16-difference`, a BF16
    /// tensor D of the tap's shape, truth = activation + D computed in Double (D's 8 significant bits put the
    /// truth within 2^-9 of PyTorch's own error of it).
    public struct Truth: Codable, Sendable, Equatable {
        public var dtype: String
        public var storedAs: String
        public var how: String

        enum CodingKeys: String, CodingKey { case dtype, storedAs = "stored_as", how }
    }

    public struct Weights: Codable, Sendable, Equatable {
        /// File name of the checkpoint (no folder).
        public var file: String
        /// Hex SHA-256 of the checkpoint's bytes.
        public var sha256: String
        /// `torch` (a torch.save file) or `safetensors`.
        public var format: String
        /// Present when the checkpoint was made by `vfw synth`.
        public var synth: Synth?
        /// The tensors' digest (VFW's `TensorDigest`): what identifies synthetic weights, whatever file holds them.
        public var tensorsSHA256: String?

        enum CodingKeys: String, CodingKey { case file, sha256, format, synth, tensorsSHA256 = "tensors_sha256" }

        public struct Synth: Codable, Sendable, Equatable {
            public var model: String
            public var seed: Int
        }
    }

    public struct Image: Codable, Sendable, Equatable {
        public var file: String
        public var sha256: String
        public var width: Int
        public var height: Int
        /// PIL mode of the file as read (RGB, RGBA, L, P, ...).
        public var mode: String
    }

    public struct Preprocessing: Codable, Sendable, Equatable {
        /// A .vfw preprocessing preset (`torchvision`, `hf-vit`, `hf-vit-pil`), or the model folder's own file
        /// (`preprocessor_config.json`, timm's `pretrained_cfg`).
        public var preset: String
        /// The exact steps: the image load, then each torchvision transform's repr.
        public var steps: [String]
        /// How copy i of the batch differs from the image.
        public var batchCopies: String

        enum CodingKeys: String, CodingKey { case preset, steps, batchCopies = "batch_copies" }
    }

    public struct Runtime: Codable, Sendable, Equatable {
        public var device: String
        public var dtype: String
        public var threads: Int
        public var mode: String
    }

    public struct Activations: Codable, Sendable, Equatable {
        public var file: String
        public var dtype: String
    }

    public struct Generator: Codable, Sendable, Equatable {
        public var script: String
        public var revision: Int
    }

    /// A JSON value (the family-specific `config`): TensorCore's JSONValue, the type the .vfw header uses too.
    public typealias Value = JSONValue
}

extension ReferenceManifest {
    /// Decodes manifest JSON read from `path` (used in error messages). Checks the schema version first, so a
    /// newer manifest is reported as such rather than by whichever field changed.
    public static func decode(_ data: Data, path: String) throws -> ReferenceManifest {
        struct Version: Decodable {
            var schemaVersion: Int
            enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version" }
        }
        let decoder = JSONDecoder()
        let version: Version
        do {
            version = try decoder.decode(Version.self, from: data)
        } catch {
            throw invalid(error, path: path)
        }
        guard ReferenceSet.supportedSchemaVersions.contains(version.schemaVersion) else {
            throw VerifyError.unsupportedSchemaVersion(path: path, found: version.schemaVersion,
                                                       supported: ReferenceSet.supportedSchemaVersions.upperBound)
        }
        let manifest: ReferenceManifest
        do {
            manifest = try decoder.decode(ReferenceManifest.self, from: data)
        } catch {
            throw invalid(error, path: path)
        }
        try manifest.check(path: path)
        return manifest
    }

    /// What the schema says and Codable cannot: names and shapes make sense, no tap twice.
    func check(path: String) throws {
        func bad(_ field: String, _ reason: String) -> VerifyError { .invalidManifest(path: path, field: field, reason: reason) }
        guard batch >= 1 else { throw bad("batch", "must be at least 1, found \(batch)") }
        guard !images.isEmpty else { throw bad("images", "lists no image") }
        guard items.count == batch else { throw bad("items", "lists \(items.count) items for a batch of \(batch)") }
        for (i, it) in items.enumerated() where it.image < 0 || it.image >= images.count || it.copy < 0 {
            throw bad("items[\(i)]", "names image \(it.image) copy \(it.copy), but there are \(images.count) images")
        }
        if let t = truth {
            guard t.dtype == "float64", t.storedAs == "bf16-difference" else {
                throw bad("truth", "stores a \(t.dtype) truth as \(t.storedAs), which this vfw does not read (it reads a float64 truth stored as bf16-difference)")
            }
        }
        if taps.contains(where: { $0.truth != nil }) && truth == nil {
            throw bad("truth", "missing, but taps name truth tensors")
        }
        guard input.name == "input" else { throw bad("input.name", "must be \"input\", found \"\(input.name)\"") }
        guard input.shape.allSatisfy({ $0 >= 0 }) else { throw bad("input.shape", "negative dimension in \(describeShape(input.shape))") }
        guard !taps.isEmpty else { throw bad("taps", "lists no taps") }
        var seen = Set<String>()
        for (i, t) in taps.enumerated() {
            guard !t.name.isEmpty, t.name != input.name else {
                throw bad("taps[\(i)].name", t.name.isEmpty ? "is empty" : "\"input\" is reserved for the input batch")
            }
            guard t.shape.allSatisfy({ $0 >= 0 }) else { throw bad("taps[\(i)].shape", "negative dimension in \(describeShape(t.shape))") }
            guard seen.insert(t.name).inserted else { throw VerifyError.duplicateTap(path: path, tap: t.name) }
            if let tt = t.truth, tt.isEmpty || tt == input.name || taps.contains(where: { $0.name == tt }) {
                throw bad("taps[\(i)].truth", "'\(tt)' is not a tensor name of its own")
            }
        }
    }

    /// A decoding failure as `invalidManifest`, naming the field (`taps[3].shape`).
    static func invalid(_ error: Error, path: String) -> VerifyError {
        func field(_ codingPath: [CodingKey], _ last: CodingKey? = nil) -> String? {
            var s = ""
            for k in codingPath + (last.map { [$0] } ?? []) {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? nil : s
        }
        guard let e = error as? DecodingError else {
            return .invalidManifest(path: path, field: nil, reason: String(describing: error))
        }
        switch e {
        case .keyNotFound(let key, let c):
            return .invalidManifest(path: path, field: field(c.codingPath, key), reason: "missing")
        case .valueNotFound(let type, let c):
            return .invalidManifest(path: path, field: field(c.codingPath), reason: "is null, expected \(jsonType(type))")
        case .typeMismatch(let type, let c):
            return .invalidManifest(path: path, field: field(c.codingPath), reason: "expected \(jsonType(type))")
        case .dataCorrupted(let c):
            if c.codingPath.isEmpty {
                let detail = c.underlyingError.map { ($0 as NSError).userInfo[NSDebugDescriptionErrorKey].map { "\($0)" } ?? "\($0)" }
                return .invalidManifest(path: path, field: nil, reason: "not valid JSON" + (detail.map { " (\($0))" } ?? ""))
            }
            return .invalidManifest(path: path, field: field(c.codingPath), reason: c.debugDescription)
        @unknown default:
            return .invalidManifest(path: path, field: nil, reason: String(describing: e))
        }
    }

    private static func jsonType(_ t: Any.Type) -> String {
        switch t {
        case is Int.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is [Int].Type: return "an array of integers"
        case is [String].Type, is [ReferenceTap].Type: return "an array"
        default:
            let name = String(describing: t)
            return name.hasPrefix("Array") || name.hasPrefix("[") ? "an array" : "an object"
        }
    }
}
