// `vfw inspect` on files that try to forge its output, and on folders with a config.json too large to be one.
// The files are written here with vfw's own safetensors writer (a tensor name may be any UTF-8 string, control
// characters included: the format forbids nothing) and, for .vfw, converted by the binary under test.

import Foundation
import Safetensors
import TensorCore
import Testing

/// A tensor name and metadata that would colour the terminal red and start a line of their own if printed raw.
private let hostileName = "evil\u{1B}[31m\nname"
private let hostileMeta = ("key\u{1B}]0;title\u{7}", "value\r\u{9B}2J")

/// Writes a one-tensor safetensors file carrying the hostile name and metadata into `dir`.
private func hostileSafetensors(in dir: String, name: String = "hostile.safetensors") throws -> String {
    let path = dir + "/" + name
    try SafetensorsWriter.write(to: path, tensors: [(hostileName, RawTensor.float32([1, 2], shape: [2]))],
                                metadata: [hostileMeta.0: hostileMeta.1], force: true)
    return path
}

/// Creates `path` as a sparse file of `size` zero bytes (no disk or time spent on the zeros).
private func sparseFile(_ path: String, size: Int) throws {
    #expect(FileManager.default.createFile(atPath: path, contents: nil))
    let h = try #require(FileHandle(forWritingAtPath: path))
    try h.truncate(atOffset: UInt64(size))
    try h.close()
}

@Suite("vfw inspect on hostile names and folders")
struct InspectHostileTests {
    @Test("a tensor name and metadata holding ESC sequences and newlines are printed escaped, on their own line",
          arguments: ["safetensors", "vfw"])
    func escapedNames(_ format: String) throws {
        let dir = scratchDir("hostile-names-\(format)")
        var path = try hostileSafetensors(in: dir)
        if format == "vfw" {
            let out = dir + "/hostile.vfw"
            let c = try runVFW(["convert", path, "-o", out])
            #expect(c.status == 0, "\(c.stderr)")
            path = out
        }
        let r = try runVFW(["inspect", path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("\u{1B}") && !r.stdout.contains("\r") && !r.stdout.contains("\u{7}")
                && !r.stdout.contains("\u{9B}"), "\(r.stdout.debugDescription)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains("metadata: key\\u{1b}]0;title\\u{7} = value\\r\\u{9b}2J"), "\(lines)")
        // The name's newline did not start a line of its own: the table is its header and one row, as wide as the
        // escaped name.
        let table = lines.drop { !$0.hasPrefix("name ") }.prefix { !$0.isEmpty }
        #expect(Array(table) == ["name                  dtype  shape  bytes",
                                 "evil\\u{1b}[31m\\nname  f32    [2]        8"], "\(lines)")
        // --json keeps the exact name (the encoder escapes it), for programs that read it.
        let j = try runVFW(["inspect", path, "--json"])
        let obj = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as! [String: Any]
        #expect((obj["tensors"] as? [[String: Any]])?.first?["name"] as? String == hostileName)
    }

    @Test("config.json beside the weights: read up to 16 MB, refused past it with one line naming it (exit 2)",
          arguments: [(16_000_000, true), (16_000_001, false)])
    func configSize(_ c: (size: Int, accepted: Bool)) throws {
        let dir = scratchDir("big-config-\(c.size)")
        let path = try hostileSafetensors(in: dir, name: "model.safetensors")
        try sparseFile(dir + "/config.json", size: c.size)
        let r = try runVFW(["inspect", path])
        if c.accepted {
            #expect(r.status == 0, "\(r.stderr)")
        } else {
            #expect(r.status == 2)
            #expect(r.stderr == "error: \(dir)/config.json: larger than 16 MB, too large for a model's config.json (vfw "
                    + "reads it beside \(path) to recognise the model); move it out of the folder or replace it with the "
                    + "model's config.json\n")
            #expect(r.stdout.isEmpty)
            // The same refusal for the folder as input, and for convert, which leaves no output behind.
            let folder = try runVFW(["inspect", dir])
            #expect(folder.status == 2 && folder.stderr.hasPrefix("error: \(dir)/config.json: larger than 16 MB"), "\(folder.stderr)")
            let conv = try runVFW(["convert", path, "-o", dir + "/out.vfw"])
            #expect(conv.status == 2 && conv.stderr.hasPrefix("error: \(dir)/config.json: "), "\(conv.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.vfw"))
        }
    }

    @Test("a .vfw file is opened whatever lies beside it: its header names the model, config.json is not read")
    func vfwIgnoresConfig() throws {
        let dir = scratchDir("big-config-vfw")
        try FileManager.default.copyItem(atPath: fixture("vfw/golden.vfw"), toPath: dir + "/golden.vfw")
        try sparseFile(dir + "/config.json", size: 16_000_001)
        let r = try runVFW(["inspect", dir + "/golden.vfw"])
        #expect(r.status == 0, "\(r.stderr)")
    }
}
