// File names are input too: `vfw index` lists a folder someone else filled, and `search` prints the names it
// stored. A name holding a newline or a terminal escape must come out escaped, on one line, in errors, in the
// "skipped:" list and in results; JSON output keeps the exact name (JSONEncoder escapes it itself).

import Foundation
import Testing

@Suite("hostile file names", .serialized)
struct HostileNamesTests {
    /// A folder with one good JPEG and one undecodable file, both named with a newline and ESC [31m.
    static let folder: String = {
        let dir = scratchDir("hostile-names")
        try? FileManager.default.createDirectory(atPath: dir + "/photos", withIntermediateDirectories: true)
        let good = fixture("images/decode/jpeg_baseline_420_64x48.jpg")
        try? FileManager.default.copyItem(atPath: good, toPath: dir + "/photos/cat\n\u{1b}[31mred.jpg")
        FileManager.default.createFile(atPath: dir + "/photos/bad\n\u{1b}[2Jname.png", contents: Data("garbage".utf8))
        _ = try? runVFW(["synth", "--model", "resnet18", "--classes", "5", "-o", dir + "/r18.vfw"])
        return dir
    }()

    @Test("embed: the error for an undecodable file names it escaped, on one line (exit 2)")
    func embedError() throws {
        let bad = Self.folder + "/photos/bad\n\u{1b}[2Jname.png"
        let r = try runVFW(["embed", bad, "--weights", Self.folder + "/r18.vfw"])
        #expect(r.status == 2)
        #expect(r.stderr == "error: \(Self.folder)/photos/bad\\n\\u{1b}[2Jname.png: not a PNG or JPEG image\n", "\(r.stderr)")
    }

    @Test("index lists the skipped file escaped; search prints the indexed name escaped; --json keeps it exact")
    func indexAndSearch() throws {
        let index = Self.folder + "/photos.vfw"
        try? FileManager.default.removeItem(atPath: index)
        let r = try runVFW(["index", Self.folder + "/photos", "--weights", Self.folder + "/r18.vfw", "-o", index])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipped: \(Self.folder)/photos/bad\\n\\u{1b}[2Jname.png: not a PNG or JPEG image\n"), "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1b}") && !r.stdout.contains("\u{1b}"))
        let good = Self.folder + "/photos/cat\n\u{1b}[31mred.jpg"
        let s = try runVFW(["search", index, good, "--top", "1"])
        #expect(s.status == 0, "\(s.stderr)")
        #expect(s.stdout.hasSuffix("  \(Self.folder)/photos/cat\\n\\u{1b}[31mred.jpg\n") && s.stdout.filter { $0 == "\n" }.count == 1,
                "\(s.stdout)")
        let e = try runVFW(["embed", good, "--weights", Self.folder + "/r18.vfw"])
        let json = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [[String: Any]]
        #expect(json?.first?["image"] as? String == good)
    }
}
