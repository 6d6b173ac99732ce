// Fixture access for the Imaging tests. Everything under Tests/Fixtures/images is written by
// tools/make_image_fixtures.py from the real Pillow / torchvision / transformers.

import Foundation
import Safetensors
import TensorCore

/// Absolute path of `Tests/Fixtures/images/<relative>`.
func imageFixture(_ relative: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images/\(relative)").path
}

/// Lazily opened fixture files, shared by all tests.
enum Fixtures {
    static let decoded = try! SafetensorsFile(path: imageFixture("decoded.safetensors"))
    static let resize = try! SafetensorsFile(path: imageFixture("resize.safetensors"))
    static let pipelineTables = try! SafetensorsFile(path: imageFixture("pipelines.safetensors"))

    /// pipelines.json: the photos (SHA-256 of Pillow's decode) and every case the real libraries ran.
    static let pipelines: PipelineManifest = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: imageFixture("pipelines.json")))
        return try! JSONDecoder().decode(PipelineManifest.self, from: data)
    }()

    /// corrupt.json: expected error case and Pillow's own exception per file.
    static let corrupt: [String: [String: String]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: imageFixture("corrupt.json")))
        return try! JSONDecoder().decode([String: [String: String]].self, from: data)
    }()

    /// Files in a fixture folder, sorted.
    static func files(in folder: String, extensions: Set<String>) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: imageFixture(folder))) ?? []
        return names.filter { extensions.contains(($0 as NSString).pathExtension) }.sorted()
    }
}

/// pipelines.json (tools/make_image_fixtures.py).
struct PipelineManifest: Decodable {
    struct Photo: Decodable {
        let rgb_sha256: String
        let size: [Int]
        /// Pillow reports transparency (an alpha band, or a transparent colour kept in info).
        let transparent: Bool
    }
    struct Output: Decodable { let shape: [Int]; let tensor_crc32: UInt32; let uint8_crc32: UInt32 }
    struct Case: Decodable {
        /// What ran in Python.
        let python: String
        /// A vfw spec text (named presets, torchvision weights) ...
        let spec: String?
        /// ... or a config file under Tests/Fixtures/images (transformers, timm) ...
        let config: String?
        /// ... run with transformers' "torchvision" (default) or "pil" backend.
        let backend: String?
        /// A transformers processor with do_convert_rgb=True (it composites transparency onto white).
        let convert_rgb: Bool?
        let outputs: [String: Output]
    }
    let images: [String: Photo]
    let cases: [String: Case]
}

/// A uint8 tensor of a fixture file, its shape and bytes.
func uint8Tensor(_ file: SafetensorsFile, _ name: String) throws -> (shape: [Int], bytes: [UInt8]) {
    let t = try file.tensor(name)
    precondition(t.dtype == .u8, "\(name) is \(t.dtype), expected u8")
    return (t.shape, [UInt8](t.bytes.buffer))
}

/// An RGB image from a uint8 [H, W, 3] fixture tensor.
func rgbImage(_ file: SafetensorsFile, _ name: String) throws -> RGBImageBytes {
    let (shape, bytes) = try uint8Tensor(file, name)
    precondition(shape.count == 3 && shape[2] == 3, "\(name): shape \(shape)")
    return RGBImageBytes(width: shape[1], height: shape[0], bytes: bytes)
}

/// Width, height and RGB bytes (kept apart from RGBImage so the tests state what they compare).
struct RGBImageBytes {
    let width: Int
    let height: Int
    let bytes: [UInt8]
}

/// Hex SHA-256 of raw bytes.
func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
    var h = SHA256()
    h.update(bytes)
    return h.finalize().map { String(format: "%02x", $0) }.joined()
}

/// Where two equally sized byte images first differ and by how much at most (for failure messages).
func firstDifference(_ a: [UInt8], _ b: [UInt8], width: Int) -> String {
    guard a.count == b.count else { return "sizes differ: \(a.count) vs \(b.count) bytes" }
    var count = 0, worst = 0, first = -1
    for i in 0..<a.count where a[i] != b[i] {
        count += 1
        worst = max(worst, abs(Int(a[i]) - Int(b[i])))
        if first < 0 { first = i }
    }
    if first < 0 { return "identical" }
    let px = first / 3
    return "\(count) bytes differ (max |diff| \(worst)); first at x=\(px % max(width, 1)) y=\(px / max(width, 1)) c=\(first % 3): \(a[first]) vs \(b[first])"
}
