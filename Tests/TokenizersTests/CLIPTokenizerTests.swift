// The CLIP tokenizer against the real libraries: every case of tools/clip_tokenizer_corpus.py, with the ids open_clip
// 3.3's SimpleTokenizer and transformers 5.24's CLIPTokenizer produced (Tests/Fixtures/clip-tokenizer/cases.json, made
// by tools/make_clip_tokenizer_fixtures.py from the mini vocabulary beside it; the script checks that the mini
// vocabulary gives both libraries the same ids as the full one). Parity step 70-clip-tokenizer.sh repeats this on the
// full vocabularies.

import Foundation
import Testing
@testable import Tokenizers

struct LibraryRun: Codable, Sendable {
    let encode: [Int32]
    let tokenize: [Int32]
    let decode: String
}

struct CorpusCase: Codable, Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let tags: [String]
    let openclip: LibraryRun
    let transformers: LibraryRun
    let openclip_no_mojibake: LibraryRun?
    let openclip_mini_bpe_gz: [Int32]

    var testDescription: String { name }
    var isMojibake: Bool { tags.contains("mojibake") }
}

struct CorpusFixture: Codable, Sendable {
    let versions: [String: String]
    let context_length: Int
    let mini_bpe_gz_specials: [Int32]
    let merges_kept: Int
    let cases: [CorpusCase]
}

enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/clip-tokenizer")
    static let corpus: CorpusFixture = {
        let data = try! Data(contentsOf: folder.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode(CorpusFixture.self, from: data)
    }()
    static let vocab = try! Data(contentsOf: folder.appendingPathComponent("vocab.json"))
    static let merges = try! Data(contentsOf: folder.appendingPathComponent("merges.txt"))
    static let openCLIP = try! CLIPTokenizer(vocabJSON: vocab, merges: merges, flavour: .openCLIP)
    static let transformers = try! CLIPTokenizer(vocabJSON: vocab, merges: merges, flavour: .transformers)
    static let bundled = try! CLIPTokenizer(contentsOf: folder.appendingPathComponent("mini-bpe.txt.gz"))
}

@Suite("CLIP tokenizer against open_clip and transformers")
struct TokenizersTests {
    @Test("the fixture: at least 150 corpus cases, unique names, library versions recorded")
    func fixture() {
        let corpus = Fixture.corpus
        #expect(corpus.cases.count >= 150)
        #expect(Set(corpus.cases.map(\.name)).count == corpus.cases.count)
        #expect(corpus.versions["open_clip"] != nil && corpus.versions["transformers"] != nil)
        #expect(corpus.context_length == 77)
        #expect(Fixture.openCLIP.startID == 49406 && Fixture.openCLIP.endID == 49407)
    }

    @Test("open_clip flavour: encode, tokenize (77) and decode equal SimpleTokenizer's", arguments: Fixture.corpus.cases.filter { !$0.isMojibake })
    func openCLIP(_ c: CorpusCase) {
        let tok = Fixture.openCLIP
        #expect(tok.encode(c.text) == c.openclip.encode)
        #expect(tok.tokenize(c.text, contextLength: 77) == c.openclip.tokenize)
        #expect(tok.decode(c.openclip.encode) == c.openclip.decode)
    }

    /// ftfy's fix_encoding guesses mojibake and repairs it; vfw does not (it assumes well-formed text). On these cases
    /// vfw's ids are open_clip's with fix_encoding=False, and differ from open_clip's default.
    @Test("open_clip flavour, deliberate mojibake: equal to SimpleTokenizer without ftfy's fix_encoding, not with it", arguments: Fixture.corpus.cases.filter(\.isMojibake))
    func openCLIPMojibake(_ c: CorpusCase) throws {
        let tok = Fixture.openCLIP
        let plain = try #require(c.openclip_no_mojibake)
        #expect(tok.encode(c.text) == plain.encode)
        #expect(tok.tokenize(c.text) == plain.tokenize)
        #expect(tok.encode(c.text) != c.openclip.encode)
    }

    @Test("transformers flavour: encode, tokenize (77, padded with <|endoftext|>) and decode equal CLIPTokenizer's", arguments: Fixture.corpus.cases)
    func transformers(_ c: CorpusCase) {
        let tok = Fixture.transformers
        #expect(tok.encode(c.text) == c.transformers.encode)
        #expect(tok.tokenize(c.text, contextLength: 77) == c.transformers.tokenize)
        #expect(tok.decode(c.transformers.encode) == c.transformers.decode)
    }

    @Test("open_clip's bundled-file format: ids numbered by position as SimpleTokenizer(bpe_path:) numbers them", arguments: Fixture.corpus.cases.filter { !$0.isMojibake })
    func bundledFormat(_ c: CorpusCase) {
        #expect(Fixture.bundled.flavour == .openCLIP)
        #expect([Fixture.bundled.startID, Fixture.bundled.endID] == Fixture.corpus.mini_bpe_gz_specials)
        #expect(Fixture.bundled.encode(c.text) == c.openclip_mini_bpe_gz)
    }

    @Test("a Hugging Face folder is read as the transformers flavour, the gzip file as open_clip's")
    func contentsOf() throws {
        let folder = try CLIPTokenizer(contentsOf: Fixture.folder)
        #expect(folder.flavour == .transformers)
        #expect(folder.vocabularySize == Fixture.transformers.vocabularySize)
        let forced = try CLIPTokenizer(contentsOf: Fixture.folder, flavour: .openCLIP)
        #expect(forced.flavour == .openCLIP && forced.paddingID == 0)
    }
}

@Suite("CLIP tokenizer: vocabularies vfw refuses")
struct TokenizerErrorTests {
    static func temp(_ files: [String: Data]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        let label: String
        let files: [String: Data]
        let target: String   // "" = the folder
        let message: String
        var testDescription: String { label }
    }

    static let cases: [BadCase] = [
        BadCase(label: "vocab.json not JSON", files: ["vocab.json": Data("[1, 2".utf8), "merges.txt": Data()], target: "",
                message: "vocab.json: is not a JSON object of token -> integer id"),
        BadCase(label: "vocab.json id not an integer", files: ["vocab.json": Data(#"{"a": "x"}"#.utf8), "merges.txt": Data()], target: "",
                message: "vocab.json: is not a JSON object of token -> integer id"),
        BadCase(label: "vocab.json negative id", files: ["vocab.json": Data(#"{"a": -3}"#.utf8), "merges.txt": Data()], target: "",
                message: "vocab.json: token \"a\" has the negative id -3"),
        BadCase(label: "merge of tokens the vocabulary lacks", files: ["vocab.json": Fixture.vocab, "merges.txt": Data("#version: 0.2\nq \u{100}\n".utf8)], target: "",
                message: "merges.txt: the merge \"q\" \"\u{100}\" needs \"q\u{100}\", which vocab.json lacks"),
        BadCase(label: "merges line of three symbols", files: ["vocab.json": Fixture.vocab, "merges.txt": Data("a b c\n".utf8)], target: "",
                message: "merges.txt: line 1 is not two symbols separated by one space"),
        BadCase(label: "vocabulary without special tokens", files: ["vocab.json": Data(#"{"a": 1}"#.utf8), "merges.txt": Data()], target: "",
                message: "vocab.json: lacks the special tokens <|startoftext|> and <|endoftext|>"),
        BadCase(label: "folder without vocab.json", files: ["merges.txt": Data()], target: "",
                message: ": holds no CLIP vocabulary; pass a folder with vocab.json and merges.txt"),
        BadCase(label: "file that is not gzip", files: ["bpe.txt": Data("a b\n".utf8)], target: "bpe.txt",
                message: "bpe.txt: holds no CLIP vocabulary"),
        BadCase(label: "truncated gzip", files: ["bpe.txt.gz": try! Data(contentsOf: Fixture.folder.appendingPathComponent("mini-bpe.txt.gz")).prefix(200)],
                target: "bpe.txt.gz", message: "bpe.txt.gz: gzip data ends early (truncated?)"),
        BadCase(label: "missing path", files: [:], target: "nothing-here", message: "nothing-here: cannot read the vocabulary (no such file or folder)"),
    ]

    @Test("one line naming the file and how to fix", arguments: cases)
    func refused(_ c: BadCase) throws {
        let dir = try Self.temp(c.files)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = c.target.isEmpty ? dir : dir.appendingPathComponent(c.target)
        do {
            _ = try CLIPTokenizer(contentsOf: url)
            Issue.record("accepted \(c.label)")
        } catch let e as TokenizerError {
            let message = e.description
            #expect(message.hasPrefix(dir.path), "\(message)")
            #expect(message.contains(c.message), "\(message)")
            #expect(!message.contains("\n"))
        }
    }
}
