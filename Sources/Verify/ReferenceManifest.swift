// manifest.json of a reference folder, mirroring Schemas/reference-manifest.schema.json (schema version 1).
//
// Unknown properties are ignored (a newer writer may add some); every property the schema requires is
// required here too, so a damaged manifest is reported by the name of the field that is wrong.

import Foundation
import Models
import TensorCore

/// One recorded activation: a PyTorch module name (`layer1.0`, `layer1.0.relu#2`) and its shape.
public struct ReferenceTap: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }
}

public struct ReferenceManifest: Codable, Sendable, Equatable {
    public var schemaVersion: Int
    /// The model, as Models describes it (the .vfw header's `architecture` object).
    public var architecture: ModelDescription
    public var weights: Weights
    public var image: Image
    public var preprocessing: Preprocessing
    /// Number of images in the batch (the first dimension of `input` and of every tap).
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

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", architecture, weights, image, preprocessing, batch, runtime, input
        case tapLevel = "tap_level", taps, activations, versions, generator
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
        /// `torchvision` or `hf-vit` (the .vfw preprocessing presets).
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
        guard version.schemaVersion == ReferenceSet.supportedSchemaVersion else {
            throw VerifyError.unsupportedSchemaVersion(path: path, found: version.schemaVersion,
                                                       supported: ReferenceSet.supportedSchemaVersion)
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
