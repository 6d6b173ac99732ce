// `vfw tokenize` (hidden debugging command) run as a user runs it, against the ids the real libraries produced
// (Tests/Fixtures/clip-tokenizer/cases.json, tools/make_clip_tokenizer_fixtures.py).

import Foundation
import Testing

@Suite("vfw tokenize")
struct TokenizeCLITests {
    static let cases: [[String: Any]] = {
        let data = FileManager.default.contents(atPath: fixture("clip-tokenizer/cases.json"))!
        let doc = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (doc["cases"] as! [[String: Any]]).filter { !($0["tags"] as! [String]).contains("mojibake") }
    }()

    static func ids(_ line: Substring) -> [Int] { (try! JSONSerialization.jsonObject(with: Data(line.utf8))) as! [Int] }

    @Test("every corpus text from --texts-json: the folder's ids are transformers', the gzip file's open_clip's")
    func textsJSON() throws {
        let dir = scratchDir("tokenize")
        let texts = Self.cases.map { $0["text"] as! String }
        let file = dir + "/texts.json"
        try JSONEncoder().encode(texts).write(to: URL(fileURLWithPath: file))
        let hf = try runVFW(["tokenize", "--vocab", fixture("clip-tokenizer"), "--texts-json", file])
        #expect(hf.status == 0, "\(hf.stderr)")
        let hfLines = hf.stdout.split(separator: "\n")
        let gz = try runVFW(["tokenize", "--vocab", fixture("clip-tokenizer/mini-bpe.txt.gz"), "--raw", "--texts-json", file])
        #expect(gz.status == 0, "\(gz.stderr)")
        let gzLines = gz.stdout.split(separator: "\n")
        try #require(hfLines.count == texts.count && gzLines.count == texts.count)
        for (k, c) in Self.cases.enumerated() {
            #expect(Self.ids(hfLines[k]) == ((c["transformers"] as! [String: Any])["tokenize"] as! [Int]), "\(c["name"]!)")
            #expect(Self.ids(gzLines[k]) == (c["openclip_mini_bpe_gz"] as! [Int]), "\(c["name"]!)")
        }
    }

    @Test("TEXT arguments, --flavour open_clip and --context-length: open_clip's truncation and zero padding")
    func arguments() throws {
        let c = Self.cases.first { $0["name"] as! String == "long words" }!
        let want = (c["openclip"] as! [String: Any])["tokenize"] as! [Int]
        let r = try runVFW(["tokenize", "--vocab", fixture("clip-tokenizer"), "--flavour", "open_clip", c["text"] as! String, "a"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(Self.ids(lines[0]) == want)
        let short = try runVFW(["tokenize", "--vocab", fixture("clip-tokenizer"), "--flavour", "open_clip", "--context-length", "5",
                                c["text"] as! String])
        #expect(Self.ids(short.stdout.split(separator: "\n")[0]) == Array(want.prefix(4)) + [49407])
    }

    @Test("a file that is no vocabulary: exit 2, one line naming it")
    func refused() throws {
        let dir = scratchDir("tokenize-bad")
        try Data("not a vocabulary".utf8).write(to: URL(fileURLWithPath: dir + "/vocab.txt"))
        let r = try runVFW(["tokenize", "--vocab", dir + "/vocab.txt", "x"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(dir)/vocab.txt: holds no CLIP vocabulary"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        let flavour = try runVFW(["tokenize", "--vocab", fixture("clip-tokenizer"), "--flavour", "openai", "x"])
        #expect(flavour.status == 2)
    }
}
