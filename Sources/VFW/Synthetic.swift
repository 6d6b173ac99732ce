// Synthetic weights (`vfw synth`), how they identify themselves, and the provenance a written file records.
//
// A reference made from synthetic weights names the model and seed, and the tensor digest of the weights it was
// computed from. `vfw verify` regenerates them and compares digests: a digest covers the tensors only (names,
// dtypes, shapes, bytes), never the file around them, so a new vfw version or a different container (.vfw or
// .safetensors, other metadata) still identifies the same weights.

import Foundation
import Models
import Safetensors
import TensorCore
import VFWFormat

/// vfw's version, as file headers and `vfw --version` state it.
public let vfwVersion = "0.1.0"

public enum Synthetic {
    /// The synthetic weights of `model` as its framework's own state_dict holds them (they load into the real
    /// model with `strict=True`; what `vfw synth -o FILE.safetensors` writes and references are made from).
    public static func checkpoint(_ model: ModelDescription, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        try ModelZoo.synthesiseCheckpoint(model, seed: seed)
    }

    /// The synthetic weights of `model` under canonical names (what `vfw synth -o FILE.vfw` writes).
    public static func canonical(_ model: ModelDescription, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        try ModelZoo.synthesise(model, seed: seed)
    }

    /// Metadata recorded in synthetic files so a reference can say which weights it was made with.
    public static func metadata(_ model: ModelDescription, seed: UInt64) -> [String: String] {
        ["vfw.synth.model": model.name, "vfw.synth.seed": String(seed), "vfw.version": vfwVersion]
    }

    /// Writes synthetic weights: the framework's state_dict to a .safetensors path, the canonical tensors to .vfw.
    public static func write(_ model: ModelDescription, seed: UInt64, to output: String, force: Bool) throws -> [(name: String, tensor: RawTensor)] {
        if output.hasSuffix(".safetensors") {
            let tensors = try checkpoint(model, seed: seed)
            try SafetensorsWriter.write(to: output, tensors: tensors, metadata: metadata(model, seed: seed), force: force)
            return tensors
        }
        let tensors = try canonical(model, seed: seed)
        let header = VFWHeader(
            architecture: model.json, preprocessing: try ModelZoo.preprocessing(for: model),
            provenance: .init(sourceFile: nil, sourceSHA256: nil, sourceFormat: "synthetic", converter: "vfw \(vfwVersion)",
                              created: Provenance.creationTime(), notes: ["vfw synth --model \(model.name) --seed \(seed)"]),
            metadata: metadata(model, seed: seed))
        try VFWWriter.write(to: output, header: header, tensors: tensors.map { VFWTensorSource(name: $0.name, tensor: $0.tensor) }, force: force)
        return tensors
    }
}

/// The identity of a set of tensors, independent of the file holding them (Schemas/reference-manifest.schema.json,
/// `weights.tensors_sha256`; tools/make_reference.py computes the same): SHA-256 over, for every tensor in
/// ascending order of its name's UTF-8 bytes,
///   name (UTF-8) 0x00  dtype (safetensors' name: F32, I64, ...) 0x00  shape (decimal, comma-separated) 0x00
///   byte count (u64 little-endian)  the bytes (little-endian, row-major)
public enum TensorDigest {
    public static func sha256(_ tensors: [(name: String, tensor: RawTensor)]) -> String {
        var h = SHA256()
        func feed(_ bytes: [UInt8]) { bytes.withUnsafeBytes { h.update($0) } }
        for t in tensors.sorted(by: { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }) {
            feed(Array(t.name.utf8) + [0])
            feed(Array(t.tensor.dtype.safetensorsName.utf8) + [0])
            feed(Array(t.tensor.shape.map(String.init).joined(separator: ",").utf8) + [0])
            feed(withUnsafeBytes(of: UInt64(t.tensor.bytes.count).littleEndian, Array.init))
            h.update(t.tensor.bytes.buffer)
        }
        return h.finalize().map { String(format: "%02x", $0) }.joined()
    }
}

/// What a written .vfw records about its source.
public enum Provenance {
    public static func of(_ source: WeightSource, notes: [String]) throws -> VFWHeader.Provenance {
        VFWHeader.Provenance(
            sourceFile: (source.weightsPath as NSString).lastPathComponent,
            sourceSHA256: try MappedFile.sha256(path: source.weightsPath),
            sourceFormat: source.kind.rawValue,
            converter: "vfw \(vfwVersion)",
            created: creationTime(),
            notes: notes)
    }

    /// RFC 3339 UTC; SOURCE_DATE_EPOCH (reproducible-builds.org) pins it.
    public static func creationTime() -> String {
        let date: Date
        if let s = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let t = TimeInterval(s) {
            date = Date(timeIntervalSince1970: t)
        } else {
            date = Date()
        }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
