// safetensors: files written by the real library read back exactly; vfw's files follow the spec
// (the CI parity job also loads them with the Python library); one malformed file per validation rule.

import Foundation
import Testing
import TensorCore
@testable import Safetensors

private func fixture(_ relative: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(relative)").path
}

private func tmpPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-st-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

/// Expected names, dtypes, shapes and values, as torch saw them (tools/make_format_fixtures.py).
private struct Expected: Decodable {
    var dtype: String
    var shape: [Int]
    var values: [Double]
}

private let torchToVFW: [String: DType] = [
    "float32": .f32, "float16": .f16, "bfloat16": .bf16, "float64": .f64, "int64": .i64, "int32": .i32, "int16": .i16,
    "int8": .i8, "uint8": .u8, "bool": .bool, "uint16": .u16, "uint32": .u32, "uint64": .u64,
    "float8_e4m3fn": .f8_e4m3, "float8_e5m2": .f8_e5m2,
]

/// Builds a raw safetensors file from a header string and a data buffer.
private func makeFile(_ name: String, header: String, data: [UInt8]) throws -> String {
    let h = Array(header.utf8)
    let bytes = withUnsafeBytes(of: UInt64(h.count).littleEndian, Array.init) + h + data
    let p = tmpPath(name)
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
}

private func openError(_ p: String) -> String {
    do { _ = try SafetensorsFile(path: p); return "opened" } catch { return "\(error)" }
}

@Suite("safetensors")
struct SafetensorsTests {
    @Test("every dtype written by the safetensors library reads back with torch's values")
    func readsLibraryFile() throws {
        let f = try SafetensorsFile(path: fixture("safetensors/all_dtypes.safetensors"))
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("safetensors/all_dtypes.expected.json")))
        let expected = try JSONDecoder().decode([String: Expected].self, from: data)
        #expect(Set(f.tensorNames) == Set(expected.keys))
        #expect(f.metadata == ["format": "pt", "note": "made by safetensors"])
        for (name, e) in expected.sorted(by: { $0.key < $1.key }) {
            let t = try f.tensor(name)
            #expect(t.dtype == torchToVFW[e.dtype], "\(name) dtype")
            #expect(t.shape == e.shape, "\(name) shape")
            if t.dtype == .u64 {
                let v = (0..<t.elementCount).map { Double(t.bytes.buffer.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
                #expect(v == e.values, "\(name) values")
            } else {
                #expect(t.floats().map(Double.init) == e.values, "\(name) values")
            }
        }
    }

    @Test("a sharded checkpoint reads through model.safetensors.index.json")
    func sharded() throws {
        let s = try ShardedSafetensors(indexPath: fixture("safetensors/sharded/model.safetensors.index.json"))
        #expect(Set(s.tensorNames) == ["layer.0.weight", "layer.0.bias", "layer.1.weight"])
        #expect(try s.tensor("layer.1.weight").floats() == [0, 2, 4])
        #expect(try s.tensor("layer.0.bias").floats() == [1])
        #expect(s.shards.count == 2)
    }

    @Test("a sharded index naming a missing shard is refused")
    func shardMissing() throws {
        let dir = tmpPath("shards")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let idx = dir + "/model.safetensors.index.json"
        try Data(#"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors"}}"#.utf8).write(to: URL(fileURLWithPath: idx))
        do { _ = try ShardedSafetensors(indexPath: idx); Issue.record("opened") } catch {
            #expect("\(error)" == "\(idx): invalid sharded index: shard 'model-00001-of-00002.safetensors' does not exist")
        }
    }

    @Test("writer lays out tensors like the reference writer and reads back")
    func writerRoundTrip() throws {
        let p = tmpPath("rt.safetensors")
        let half = RawTensor.float32([1.5, -2], shape: [2]).converted(to: .f16)
        try SafetensorsWriter.write(to: p, tensors: [("b", .float32([1, 2, 3], shape: [3])), ("a", half), ("s", .float32([4], shape: []))],
                                    metadata: ["format": "pt"], force: true)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let n = Int(bytes[0]) | Int(bytes[1]) << 8
        #expect((8 + n) % 8 == 0, "data buffer 8-byte aligned")
        let header = String(decoding: bytes[8..<8 + n], as: UTF8.self)
        // F32 before F16 (alignment order, largest first), then by name: the reference writer's order.
        #expect(header.trimmingCharacters(in: .whitespaces) == #"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"s":{"dtype":"F32","shape":[],"data_offsets":[12,16]},"a":{"dtype":"F16","shape":[2],"data_offsets":[16,20]}}"#)
        let f = try SafetensorsFile(path: p)
        #expect(try f.tensor("b").floats() == [1, 2, 3])
        #expect(try f.tensor("a").floats() == [1.5, -2])
        #expect(try f.tensor("s").shape == [])
    }

    @Test("empty file and short file", arguments: [0, 5])
    func tooSmall(_ size: Int) throws {
        let p = tmpPath("small\(size).safetensors")
        try Data(count: size).write(to: URL(fileURLWithPath: p))
        #expect(openError(p) == "\(p): not a safetensors file: \(size) bytes is shorter than the 8-byte header length")
    }

    @Test("header length over 100 MB")
    func headerTooLarge() throws {
        let p = tmpPath("huge.safetensors")
        try Data(withUnsafeBytes(of: UInt64(1 << 40).littleEndian, Array.init) + [0x7B]).write(to: URL(fileURLWithPath: p))
        #expect(openError(p) == "\(p): header length 1099511627776 exceeds the 100 MB limit of the safetensors spec")
    }

    @Test("header length past the end of the file")
    func headerBeyond() throws {
        let p = tmpPath("beyond.safetensors")
        try Data(withUnsafeBytes(of: UInt64(100).littleEndian, Array.init) + Array("{}".utf8)).write(to: URL(fileURLWithPath: p))
        #expect(openError(p) == "\(p): header length 100 runs past the end of the 10-byte file (truncated, or not safetensors)")
    }

    @Test("malformed headers", arguments: [
        ("not JSON", "{nope", [UInt8](), "invalid safetensors header: not valid JSON"),
        ("duplicate key", #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, [1], "header lists 'a' more than once"),
        ("unknown dtype", #"{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,1]}}"#, [1], "tensor 'a' has unknown dtype 'F12'"),
        ("hole before a tensor", #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, [1, 2], "tensor 'a' has invalid data_offsets: begins at 1, leaving a hole after byte 0"),
        ("overlap", #"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#, [1, 2], "has invalid data_offsets: begins at"),
        ("end before begin", #"{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"U8","shape":[1],"data_offsets":[0,-1]}}"#, [], "tensor 'b' has invalid data_offsets: end -1 is before begin 0"),
        ("shape x dtype differs", #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "tensor 'a' is F32 [2] = 8 bytes, but its data_offsets span 4"),
        ("shape overflows", #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "= an overflowing size"),
        ("trailing bytes", #"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#, [1, 9], "tensors cover 1 bytes of the 2-byte data buffer"),
        ("metadata not strings", #"{"__metadata__":{"a":1}}"#, [], "__metadata__ must map strings to strings"),
        ("tensor entry missing shape", #"{"a":{"dtype":"U8","data_offsets":[0,1]}}"#, [1], "entry 'a': missing 'shape'"),
        ("sub-byte dtype not filling bytes", #"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, [0, 0], "tensor 'a' does not fill a whole number of bytes"),
    ] as [(String, String, [UInt8], String)])
    func malformed(_ c: (String, String, [UInt8], String)) throws {
        let p = try makeFile("bad-\(c.0.replacingOccurrences(of: " ", with: "_")).safetensors", header: c.1, data: c.2)
        let e = openError(p)
        #expect(e.hasPrefix(p + ": ") && e.contains(c.3), "\(c.0): \(e)")
    }

    @Test("empty tensors and scalars are valid")
    func emptyAndScalar() throws {
        let p = try makeFile("ok.safetensors", header: #"{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#,
                             data: [0, 0, 0x80, 0x3F])
        let f = try SafetensorsFile(path: p)
        #expect(try f.tensor("s").floats() == [1])
        #expect(try f.tensor("e").elementCount == 0)
    }

    @Test("truncating a valid file anywhere gives an error, never a crash")
    func truncations() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture("safetensors/all_dtypes.safetensors"))))
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let p = tmpPath("cut.safetensors")
            try Data(bytes[0..<cut]).write(to: URL(fileURLWithPath: p))
            #expect(openError(p).hasPrefix(p + ": "), "cut at \(cut)")
        }
    }
}
