// A reference folder written by tools/make_reference.py: what real PyTorch computed, tap by tap.
//
//   DIR/manifest.json            what ran on what, and the taps in execution order (Schemas/reference-manifest.schema.json)
//   DIR/activations.safetensors  `input` and one float32 tensor per tap; per tap with a truth, the BF16 tensor
//                                `truth/TAP` = float64 result − float32 result (ReferenceManifest.Truth)
//
// Loading checks the two files against each other (every tap present, same shape, float32; every truth
// present, same shape, BF16) and that every reference value is finite, so a comparison never blames the model
// for a broken reference.

import Foundation
import Safetensors
import TensorCore

public struct ReferenceSet: Sendable {
    public static let manifestFileName = "manifest.json"
    public static let activationsFileName = "activations.safetensors"
    /// The manifest `schema_version`s this reader understands (1: one image, no truth; 2: images, items, truths).
    public static let supportedSchemaVersions = 1...2

    /// The folder as given to `load(directory:)`.
    public let directory: String
    public let manifest: ReferenceManifest
    /// The preprocessed batch the reference was computed from, `[N, 3, H, W]`.
    public let input: Tensor
    /// The recorded taps in execution order (not including `input`).
    public var taps: [ReferenceTap] { manifest.taps }

    private let file: SafetensorsFile

    public var manifestPath: String { Self.join(directory, Self.manifestFileName) }
    public var activationsPath: String { Self.join(directory, Self.activationsFileName) }

    /// Opens and checks the reference folder `directory`.
    public static func load(directory: String) throws -> ReferenceSet {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir) else {
            throw VerifyError.missingFolder(path: directory)
        }
        guard isDir.boolValue else { throw VerifyError.notAFolder(path: directory) }

        let manifestPath = join(directory, manifestFileName)
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw VerifyError.missingFile(path: manifestPath)
        }
        let manifest = try ReferenceManifest.decode(data, path: manifestPath)

        let activationsPath = join(directory, activationsFileName)
        guard FileManager.default.fileExists(atPath: activationsPath) else {
            throw VerifyError.missingFile(path: activationsPath)
        }
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(path: activationsPath)
        } catch let e as SafetensorsError {
            throw VerifyError.unreadableActivations(path: activationsPath, reason: strip(activationsPath, from: e.description))
        } catch {
            throw VerifyError.unreadableActivations(path: activationsPath, reason: "\(error)")
        }

        for tap in [manifest.input] + manifest.taps {
            guard let entry = file.entry(tap.name) else { throw VerifyError.missingTap(path: activationsPath, tap: tap.name) }
            guard entry.shape == tap.shape else {
                throw VerifyError.shapeMismatch(path: activationsPath, tap: tap.name, manifest: tap.shape, activations: entry.shape)
            }
            guard entry.dtype == .f32 else {
                throw VerifyError.wrongDType(path: activationsPath, tap: tap.name, dtype: entry.dtype.safetensorsName)
            }
            let raw = try file.tensor(tap.name)
            if let (flat, value) = firstNonFinite(raw.bytes.buffer) {
                throw VerifyError.nonFinite(path: activationsPath, tap: tap.name, value: value,
                                            index: multiIndex(flat, shape: tap.shape))
            }
            guard let truth = tap.truth else { continue }
            func bad(_ reason: String) -> VerifyError { .badTruth(path: activationsPath, tap: tap.name, tensor: truth, reason: reason) }
            guard let t = file.entry(truth) else { throw bad("is missing") }
            guard t.shape == tap.shape else { throw bad("is \(describeShape(t.shape)), not the tap's \(describeShape(tap.shape))") }
            guard t.dtype == .bf16 else { throw bad("is \(t.dtype.safetensorsName), not BF16") }
            if let (flat, value) = firstNonFiniteBF16(try file.tensor(truth).bytes.buffer) {
                throw bad("holds \(value) (first at \(describeShape(multiIndex(flat, shape: tap.shape))))")
            }
        }
        let input = Tensor(try file.tensor(manifest.input.name))
        return ReferenceSet(directory: directory, manifest: manifest, input: input, file: file)
    }

    /// True when `name` is one of `taps`.
    public func hasTap(_ name: String) -> Bool { manifest.taps.contains { $0.name == name } }

    /// The reference activation of tap `name` (or `input`), copied out of the mapped file.
    /// Precondition: `name` is `input` or one of `taps` (all were checked by `load`).
    public func activation(named name: String) -> Tensor {
        precondition(name == manifest.input.name || hasTap(name), "no reference tap named '\(name)' in \(directory)")
        // load(directory:) verified this entry exists, is f32 and has the manifest's shape.
        return Tensor(try! file.tensor(name))
    }

    /// True when tap `name` has a truth.
    public func hasTruth(_ name: String) -> Bool { manifest.taps.contains { $0.name == name && $0.truth != nil } }

    /// The float64 truth of tap `name` (the activation plus its stored difference, in Double); nil when the tap
    /// has none. Precondition: `name` is one of `taps` (checked by `load`, as its truth tensor was).
    public func truth(named name: String) -> [Double]? {
        guard let tap = manifest.taps.first(where: { $0.name == name }), let key = tap.truth else { return nil }
        let p = try! file.tensor(name), d = try! file.tensor(key)
        let n = p.elementCount
        var out = [Double](repeating: 0, count: n)
        // Safetensors data need not be aligned: read the words unaligned, little-endian.
        let pb = p.bytes.buffer, db = d.bytes.buffer
        for i in 0..<n {
            let a = Float(bitPattern: UInt32(littleEndian: pb.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            let bits = UInt16(littleEndian: db.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            out[i] = Double(a) + Double(Float(bitPattern: UInt32(bits) << 16))  // a bf16 is the top half of an f32
        }
        return out
    }

    /// Ordered facts about the reference for a report header: model, weights, image, batch, generator.
    public var reportHeader: [ReportField] {
        let m = manifest
        var weights = "\(m.weights.file) (sha256 \(m.weights.sha256.prefix(12))…)"
        if let s = m.weights.synth { weights += ", vfw synth \(s.model) seed \(s.seed)" }
        let versions = ["torch", "torchvision"].compactMap { k in m.versions[k].map { "\(k) \($0)" } }.joined(separator: ", ")
        return [
            ReportField("reference", directory),
            ReportField("model", "\(m.architecture.name) (\(m.architecture.family))"),
            ReportField("weights", weights),
            ReportField(m.images.count == 1 ? "image" : "images",
                        m.images.map { "\($0.file) \($0.width)x\($0.height)" + (m.images.count > 1 ? " \($0.mode)" : "") }.joined(separator: ", ")
                            + ", \(m.preprocessing.preset) preprocessing, batch \(m.batch)"),
            ReportField("computed by", "\(m.generator.script) r\(m.generator.revision)" + (versions.isEmpty ? "" : ", \(versions)")),
        ]
    }

    // MARK: - Helpers

    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// `reason` without a leading "path: " (the VerifyError adds its own).
    static func strip(_ path: String, from reason: String) -> String {
        reason.hasPrefix(path + ": ") ? String(reason.dropFirst(path.count + 2)) : reason
    }

    /// Flat index and spelling of the first NaN or infinity among little-endian bf16 `bytes`.
    static func firstNonFiniteBF16(_ bytes: UnsafeRawBufferPointer) -> (Int, String)? {
        for i in 0..<(bytes.count / 2) {
            let bits = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
            guard bits & 0x7F80 == 0x7F80 else { continue }
            if bits & 0x007F != 0 { return (i, "NaN") }
            return (i, bits & 0x8000 != 0 ? "-Inf" : "+Inf")
        }
        return nil
    }

    /// Flat index and spelling of the first NaN or infinity among little-endian f32 `bytes`.
    static func firstNonFinite(_ bytes: UnsafeRawBufferPointer) -> (Int, String)? {
        let n = bytes.count / 4
        for i in 0..<n {
            let bits = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
            guard bits & 0x7F80_0000 == 0x7F80_0000 else { continue }
            if bits & 0x007F_FFFF != 0 { return (i, "NaN") }
            return (i, bits & 0x8000_0000 != 0 ? "-Inf" : "+Inf")
        }
        return nil
    }
}

/// The row-major multi-index of flat offset `flat` in `shape`: 119 in [2, 3, 4, 5] is [1, 2, 3, 4].
public func multiIndex(_ flat: Int, shape: [Int]) -> [Int] {
    var index = [Int](repeating: 0, count: shape.count)
    var rest = flat
    for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] > 0 {
        index[i] = rest % shape[i]
        rest /= shape[i]
    }
    return index
}
