// `vfw inspect`, end to end: the real binary on committed fixtures, output and exit codes pinned.

import Foundation
import Testing

@Suite("vfw inspect")
struct InspectTests {
    @Test("a .vfw file: table, totals, metadata, provenance")
    func vfwTable() throws {
        let path = fixture("vfw/golden.vfw")
        let r = try runVFW(["inspect", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == """
        \(path): vfw 1.0, 964 B
        architecture: toy (none)  depth=2 eps=1e-05 labels=[a]
        preprocessing: torchvision
        provenance: pytorch-zip toy.pth sha256 abababababababab..., vfw 0.1.0, 2026-01-01T00:00:00Z
          note: golden
        metadata: user = value

        name    dtype  shape   bytes
        w       f32    [3]        12
        flags   u8     [2, 3]      6
        empty   f32    [0, 4]      0
        scalar  f32    []          4

        total: 4 tensors, 10 elements, 22 B; f32 3 (16 B), u8 1 (6 B)
        checksums: not checked (pass --check)

        """)
    }

    @Test("--check verifies checksums")
    func check() throws {
        let r = try runVFW(["inspect", fixture("vfw/golden.vfw"), "--check"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("checksums: OK (4 tensors verified)"))
    }

    @Test("--check on a corrupted tensor exits 2 naming file and tensor")
    func checkCorrupt() throws {
        let dir = scratchDir("corrupt")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture("vfw/golden.vfw"))))
        bytes[bytes.count - 1] ^= 1  // last byte of tensor 'scalar'
        let p = dir + "/bad.vfw"
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        let r = try runVFW(["inspect", p, "--check"])
        #expect(r.status == 2)
        #expect(r.stderr == "error: \(p): tensor 'scalar' is corrupt: CRC-32 is 7ee15df6, the header says 09e66d60\n")
    }

    @Test("--json validates against the schema's required fields")
    func json() throws {
        let r = try runVFW(["inspect", fixture("safetensors/all_dtypes.safetensors"), "--json"])
        #expect(r.status == 0)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        #expect(obj["format"] as? String == "safetensors")
        #expect(obj["tensor_count"] as? Int == 18)
        #expect((obj["metadata"] as? [String: String])?["format"] == "pt")
        let tensors = obj["tensors"] as! [[String: Any]]
        let f32 = tensors.first { $0["name"] as? String == "f32" }!
        #expect(f32["dtype"] as? String == "f32" && f32["shape"] as? [Int] == [2, 3] && f32["bytes"] as? Int == 24)
    }

    @Test("bad input exits 2 with one line naming the file", arguments: [
        ("missing file", "/nonexistent/model.vfw", "error: /nonexistent/model.vfw: no such file or folder"),
        ("not a weight file", "README-not-weights.txt", "not a weight file vfw can read"),
    ])
    func badInput(_ c: (String, String, String)) throws {
        var path = c.1
        if !path.hasPrefix("/") {
            path = scratchDir("bad") + "/" + c.1
            try Data("hello, this is text".utf8).write(to: URL(fileURLWithPath: path))
        }
        let r = try runVFW(["inspect", path])
        #expect(r.status == 2, "\(c.0)")
        #expect(r.stderr.hasPrefix("error: \(path): ") && r.stderr.contains(c.2) && r.stderr.filter { $0 == "\n" }.count == 1, "\(c.0): \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
