// The .vfw format: golden bytes, round trips, and one malformed file per validation rule of Schemas/vfw.md.

import Foundation
import Testing
import TensorCore
@testable import VFWFormat

private func tmpPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

private func fixture(_ relative: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(relative)").path
}

private func u8Tensor(_ v: [UInt8], shape: [Int]) -> RawTensor {
    let o = OwnedBytes(count: v.count)
    for (i, b) in v.enumerated() { o.mutableBytes[i] = b }
    return RawTensor(dtype: .u8, shape: shape, bytes: ByteView(owned: o))
}

/// The small file pinned byte for byte in Tests/Fixtures/vfw/golden.vfw (also checked by tools/check_vfw.py in CI).
func goldenContents() -> (VFWHeader, [VFWTensorSource]) {
    let header = VFWHeader(
        architecture: .object(["name": .string("toy"), "family": .string("none"),
                               "config": .object(["depth": .int(2), "eps": .double(1e-5), "labels": .array([.string("a")])])]),
        preprocessing: "torchvision",
        provenance: .init(sourceFile: "toy.pth", sourceSHA256: String(repeating: "ab", count: 32), sourceFormat: "pytorch-zip",
                          converter: "vfw 0.1.0", created: "2026-01-01T00:00:00Z", notes: ["golden"]),
        metadata: ["user": "value"])
    return (header, [
        VFWTensorSource(name: "w", sourceName: "module.w", tensor: .float32([1, -2, 0.5], shape: [3])),
        VFWTensorSource(name: "flags", tensor: u8Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])),
        VFWTensorSource(name: "empty", tensor: .float32([], shape: [0, 4])),
        VFWTensorSource(name: "scalar", tensor: .float32([7], shape: [])),
    ])
}

@Suite("The .vfw format")
struct VFWFormatTests {
    @Test("writer output equals the committed golden bytes")
    func goldenBytes() throws {
        let (h, t) = goldenContents()
        let p = tmpPath("golden.vfw")
        try VFWWriter.write(to: p, header: h, tensors: t, force: true)
        let ours = try Data(contentsOf: URL(fileURLWithPath: p))
        let golden = try Data(contentsOf: URL(fileURLWithPath: fixture("vfw/golden.vfw")))
        #expect(ours == golden, "writer output (\(ours.count) bytes) differs from golden.vfw (\(golden.count) bytes)")
        // The preamble spelled out: magic, version 1.0, flags 0, header length.
        #expect(Array(golden.prefix(16)) == [0x89, 0x56, 0x46, 0x57, 0x0D, 0x0A, 0x1A, 0x0A, 1, 0, 0, 0, 0, 0, 0, 0])
        let n = golden.subdata(in: 16..<24).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        #expect((24 + Int(n)) % 64 == 0)
        let json = String(decoding: golden.subdata(in: 24..<24 + Int(n)), as: UTF8.self)
        #expect(json.hasPrefix("{\"architecture\":{\"config\":{\"depth\":2,\"eps\":1e-05,\"labels\":[\"a\"]},\"family\":\"none\",\"name\":\"toy\"}"))
        // CRC-32 of [1, -2, 0.5] as little-endian f32, computed with Python's zlib.crc32 by hand:
        // zlib.crc32(struct.pack('<3f', 1, -2, 0.5)) == 0x332b058b
        #expect(json.contains("\"crc32\":\"332b058b\""))
    }

    @Test("round trip keeps header, names, dtypes, shapes and bytes; views are zero-copy")
    func roundTrip() throws {
        let (h, t) = goldenContents()
        let p = tmpPath("rt.vfw")
        try VFWWriter.write(to: p, header: h, tensors: t, force: true)
        let f = try VFWFile(path: p)
        #expect(f.header.architecture == h.architecture)
        #expect(f.header.provenance == h.provenance)
        #expect(f.header.metadata == h.metadata)
        #expect(f.tensorNames == ["w", "flags", "empty", "scalar"])
        #expect(f.tensor("w")!.floats() == [1, -2, 0.5])
        #expect(f.entry("w")!.sourceName == "module.w")
        #expect(Array(f.tensor("flags")!.bytes.buffer) == [1, 2, 3, 4, 5, 6])
        #expect(f.tensor("flags")!.shape == [2, 3])
        #expect(f.tensor("empty")!.elementCount == 0)
        #expect(f.tensor("scalar")!.floats() == [7])
        for e in f.header.tensors { #expect((f.dataOffset + e.offset) % 64 == 0, "tensor \(e.name) aligned") }
        try f.verifyChecksums()
        // Zero-copy: the view points into the mapping, not into a copy.
        let v = f.tensor("w")!.bytes
        #expect(v.owner is MappedFile)
    }

    @Test("every dtype round-trips", arguments: DType.allCases.filter { $0.byteSize != nil })
    func everyDType(_ d: DType) throws {
        let bytes = (0..<(3 * d.byteSize!)).map { UInt8(truncatingIfNeeded: $0 * 37 + 1) }
        let raw = RawTensor(dtype: d, shape: [3], bytes: u8Tensor(bytes, shape: [bytes.count]).bytes)
        let p = tmpPath("dt-\(d).vfw")
        try VFWWriter.write(to: p, header: VFWHeader(), tensors: [.init(name: "x", tensor: raw)], force: true)
        let f = try VFWFile(path: p)
        #expect(f.tensor("x")!.dtype == d)
        #expect(Array(f.tensor("x")!.bytes.buffer) == bytes)
    }

    @Test("an existing output is kept unless force")
    func keepsExisting() throws {
        let p = tmpPath("exists.vfw")
        try Data("precious".utf8).write(to: URL(fileURLWithPath: p))
        do {
            try VFWWriter.write(to: p, header: VFWHeader(), tensors: [], force: false)
            Issue.record("overwrote an existing file without force")
        } catch {
            #expect("\(error)" == "\(p): already exists; pass --force to replace it")
        }
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: p)), as: UTF8.self) == "precious")
        try VFWWriter.write(to: p, header: VFWHeader(), tensors: [], force: true)
        #expect(try VFWFile(path: p).tensorNames.isEmpty)
    }

    @Test("a failing tensor source leaves no output and no temporary file")
    func noPartialOutput() throws {
        let dir = tmpPath("partial")
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = dir + "/out.vfw"
        struct Boom: Error {}
        let sources = [
            VFWTensorSource(name: "a", tensor: .float32([1, 2], shape: [2])),
            VFWTensorSource(name: "b", dtype: .f32, shape: [2]) { throw Boom() },
        ]
        #expect(throws: Boom.self) { try VFWWriter.write(to: p, header: VFWHeader(), tensors: sources, force: false) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    // MARK: - One malformed file per validation rule

    /// Writes the golden file, lets `mutate` damage it, opens it and returns the error text.
    private func openDamaged(_ name: String, _ mutate: (inout [UInt8], inout [String: Any]) -> Void) throws -> String {
        let (h, t) = goldenContents()
        let p = tmpPath(name)
        try VFWWriter.write(to: p, header: h, tensors: t, force: true)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let n = Int(bytes[16..<24].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var json = try JSONSerialization.jsonObject(with: Data(bytes[24..<24 + n])) as! [String: Any]
        var data = Array(bytes[(24 + n)...])
        mutate(&data, &json)
        if bytes.count > 0 {
            var newJSON = [UInt8](try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
            while (24 + newJSON.count) % 64 != 0 { newJSON.append(0x20) }
            bytes = Array(bytes[0..<16]) + withUnsafeBytes(of: UInt64(newJSON.count).littleEndian, Array.init) + newJSON + data
        }
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        do { _ = try VFWFile(path: p); return "opened" } catch { return "\(error)" }
    }

    private func tensors(_ j: [String: Any]) -> [[String: Any]] { j["tensors"] as! [[String: Any]] }

    @Test("duplicate tensor names are refused")
    func duplicateNames() throws {
        let e = try openDamaged("dup.vfw") { _, j in var t = tensors(j); t[1]["name"] = "w"; j["tensors"] = t }
        #expect(e.hasSuffix("dup.vfw: tensor 'w' appears more than once"), "\(e)")
    }

    @Test("shape x dtype must equal the byte length")
    func lengthMismatch() throws {
        let e = try openDamaged("len.vfw") { _, j in var t = tensors(j); t[0]["shape"] = [4]; j["tensors"] = t }
        #expect(e.hasSuffix("len.vfw: tensor 'w' is f32 [4] = 16 bytes, but its length field says 12"), "\(e)")
    }

    @Test("misaligned offsets are refused")
    func misaligned() throws {
        let e = try openDamaged("mis.vfw") { _, j in var t = tensors(j); t[1]["offset"] = 65; j["tensors"] = t }
        #expect(e.hasSuffix("mis.vfw: tensor 'flags' starts at data offset 65, which is not a multiple of 64"), "\(e)")
    }

    @Test("overlapping tensors are refused")
    func overlap() throws {
        let e = try openDamaged("ovl.vfw") { _, j in var t = tensors(j); t[1]["offset"] = 0; j["tensors"] = t }
        #expect(e.contains("ovl.vfw: tensors '") && e.hasSuffix("' overlap"), "\(e)")
    }

    @Test("tensors past the end of the file are refused")
    func outOfBounds() throws {
        let e = try openDamaged("oob.vfw") { d, _ in d.removeLast(8) }
        #expect(e.contains("oob.vfw: tensor 'empty' ends at data byte 128, past the 124-byte data section (truncated?)"), "\(e)")
    }

    @Test("trailing bytes after the last tensor are refused")
    func trailing() throws {
        let e = try openDamaged("trail.vfw") { d, _ in d += [UInt8](repeating: 0, count: 200) }
        #expect(e.contains("trail.vfw: ") && e.contains("unexpected bytes after the last tensor"), "\(e)")
    }

    @Test("unknown dtypes are refused")
    func unknownDType() throws {
        let e = try openDamaged("dtype.vfw") { _, j in var t = tensors(j); t[0]["dtype"] = "f12"; j["tensors"] = t }
        #expect(e.contains("dtype.vfw: tensor '#0' has unknown dtype"), "\(e)")
    }

    @Test("a missing header field is named")
    func missingField() throws {
        let e = try openDamaged("field.vfw") { _, j in var t = tensors(j); t[0]["crc32"] = nil; j["tensors"] = t }
        #expect(e.contains("field.vfw: header is not valid: missing field 'crc32'"), "\(e)")
    }

    @Test("preamble rules", arguments: [
        ("bad magic", 0, UInt8(0x50), "not a .vfw file (bad magic bytes)"),
        ("unknown major version", 8, 2, ".vfw format version 2.0 is not supported"),
        ("reserved flags", 12, 1, "reserved flags field is 1"),
        ("header length beyond the file", 17, 0x10, "runs past the end of the"),
        ("header over 100 MB", 19, 0x10, "exceeds the 100 MB limit"),
        ("data section misaligned", 16, 0x41, "which is not a multiple of 64"),
    ] as [(String, Int, UInt8, String)])
    func preamble(_ c: (String, Int, UInt8, String)) throws {
        let (h, t) = goldenContents()
        let p = tmpPath("pre-\(c.1).vfw")
        try VFWWriter.write(to: p, header: h, tensors: t, force: true)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        bytes[c.1] = c.2
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let e: String
        do { _ = try VFWFile(path: p); e = "opened" } catch { e = "\(error)" }
        #expect(e.hasPrefix(p + ": ") && e.contains(c.3), "\(c.0): \(e)")
    }

    @Test("a file shorter than the preamble is refused")
    func tooShort() throws {
        let p = tmpPath("short.vfw")
        try Data(VFWLayout.magic).write(to: URL(fileURLWithPath: p))
        #expect(throws: VFWError.tooShort(path: p, size: 8)) { try VFWFile(path: p) }
    }

    @Test("a corrupted tensor byte fails the checksum check and names the tensor")
    func checksum() throws {
        let (h, t) = goldenContents()
        let p = tmpPath("crc.vfw")
        try VFWWriter.write(to: p, header: h, tensors: t, force: true)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let f0 = try VFWFile(path: p)
        bytes[f0.dataOffset + f0.entry("flags")!.offset] ^= 0xFF
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let f = try VFWFile(path: p)  // opening does not read tensor bytes
        #expect(throws: VFWError.self) { try f.verifyChecksums() }
        do { try f.verifyChecksums() } catch { #expect("\(error)".contains("tensor 'flags' is corrupt")) }
    }
}
