// The CLIP byte-level BPE tokenizer (issue 16), exactly as open_clip's SimpleTokenizer and transformers'
// CLIPTokenizer compute it: text -> token ids. Knows nothing of models; reads only the vocabulary bytes it is given
// (or the path `CLIPTokenizer(contentsOf:)` is given).
//
// Pipeline: clean (TextCleaning: open_clip's ftfy + html.unescape + whitespace + lower, or transformers' NFC +
// whitespace + lower), pre-tokenise with CLIP's pattern
//     <specials> | 's|'t|'re|'ve|'m|'ll|'d | [\p{L}]+ | [\p{N}] | [^\s\p{L}\p{N}]+
// (open_clip compiles it with IGNORECASE, so "'ſ" is a contraction there; transformers' has no flag), map each
// pre-token's UTF-8 bytes to GPT-2's printable byte symbols, BPE with "</w>" on the last symbol (lowest-rank pair
// first, every occurrence left to right), look the symbols up in the vocabulary.

import CZlib
import Foundation

/// A CLIP tokenizer: strings to token ids.
///
///     let tok = try CLIPTokenizer(contentsOf: URL(fileURLWithPath: "clip-vit-base-patch32"))  // vocab.json + merges.txt
///     let ids = tok.tokenize("a photo of a cat")   // 77 ids: start, the text's ids, end, padding
///
/// Two flavours, chosen by where the vocabulary comes from: `.transformers` for a Hugging Face folder (vocab.json +
/// merges.txt) and `.openCLIP` for open_clip's bundled bpe_simple_vocab_16e6.txt.gz. They clean text differently (see
/// `Flavour`); the vocabularies are the same 49,408 tokens.
public struct CLIPTokenizer: Sendable {
    /// How text is cleaned and pre-tokenised, and how `tokenize` pads.
    public enum Flavour: String, Sendable, CaseIterable {
        /// open_clip's SimpleTokenizer (clean='lower'): ftfy.fix_text without its mojibake guessing, html.unescape
        /// twice, strip, whitespace collapsed, Python's str.lower (final sigma); the pattern matches case-insensitively;
        /// "<start_of_text>" / "<end_of_text>" in the cleaned text are the special tokens; padding is 0.
        case openCLIP = "open_clip"
        /// transformers' CLIPTokenizer (tokenizers backend): "<|startoftext|>" / "<|endoftext|>" in the raw text are the
        /// special tokens; NFC, white space runs to one space, per-code-point lower case; padding is the end token.
        case transformers
    }

    public let flavour: Flavour
    /// The start-of-text id (49406 in CLIP's vocabulary).
    public let startID: Int32
    /// The end-of-text id (49407).
    public let endID: Int32
    /// The id `tokenize` pads with: 0 for open_clip, the end-of-text id for transformers.
    public var paddingID: Int32 { flavour == .openCLIP ? 0 : endID }
    /// Entries in the vocabulary, special tokens included.
    public var vocabularySize: Int { decoder.count }

    private let encoder: [String: Int32]
    private let decoder: [Int32: String]
    private let ranks: [Pair: Int]
    private let specials: [(text: [Unicode.Scalar], id: Int32)]

    private struct Pair: Hashable, Sendable {
        let a: String, b: String
    }

    // MARK: - Loading

    /// A Hugging Face tokenizer folder's vocab.json (token -> id) and merges.txt (optional "#version" line, then
    /// "a b" per line in rank order). The special tokens are "<|startoftext|>" and "<|endoftext|>".
    /// `path` names the folder in error messages.
    public init(vocabJSON: Data, merges: Data, flavour: Flavour = .transformers, path: String = "vocab.json") throws {
        let vocabPath = path.hasSuffix("vocab.json") ? path : (path as NSString).appendingPathComponent("vocab.json")
        let mergesPath = (vocabPath as NSString).deletingLastPathComponent.isEmpty
            ? "merges.txt" : ((vocabPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("merges.txt")
        // JSONDecoder, not JSONSerialization: Foundation's JSONSerialization drops a U+FEFF that starts a string.
        let encoder: [String: Int32]
        do {
            encoder = try JSONDecoder().decode([String: Int32].self, from: vocabJSON)
        } catch {
            throw TokenizerError.malformed(path: vocabPath, reason: "is not a JSON object of token -> integer id")
        }
        if let (token, id) = encoder.first(where: { $0.value < 0 }) {
            throw TokenizerError.malformed(path: vocabPath, reason: "token \(Self.quoted(token)) has the negative id \(id)")
        }
        guard let text = String(data: merges, encoding: .utf8) else {
            throw TokenizerError.malformed(path: mergesPath, reason: "is not UTF-8 text")
        }
        var pairs = [(String, String)]()
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.hasSuffix("\r") ? line.dropLast() : line
            if line.isEmpty || (n == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformed(path: mergesPath, reason: "line \(n + 1) is not two symbols separated by one space")
            }
            pairs.append((String(parts[0]), String(parts[1])))
        }
        for (a, b) in pairs {
            for token in [a, b, a + b] where encoder[token] == nil {
                throw TokenizerError.inconsistent(path: mergesPath, reason: "the merge \(Self.quoted(a)) \(Self.quoted(b)) needs \(Self.quoted(token)), which vocab.json lacks")
            }
        }
        guard let start = encoder["<|startoftext|>"], let end = encoder["<|endoftext|>"] else {
            throw TokenizerError.inconsistent(path: vocabPath, reason: "lacks the special tokens <|startoftext|> and <|endoftext|>")
        }
        try self.init(encoder: encoder, merges: pairs, start: start, end: end, flavour: flavour, path: vocabPath)
    }

    /// open_clip's bundled vocabulary (bpe_simple_vocab_16e6.txt.gz, gzip): a header line, then merges; open_clip
    /// keeps the first 48,894 (49152 - 256 - 2) and numbers the vocabulary as SimpleTokenizer does: the 256 byte
    /// symbols, the same with "</w>", one entry per merge line, then "<start_of_text>" and "<end_of_text>".
    public init(openCLIPBPE gzipped: Data, flavour: Flavour = .openCLIP, path: String = "bpe_simple_vocab_16e6.txt.gz") throws {
        let raw = try Self.gunzip(gzipped, path: path)
        guard let text = String(data: raw, encoding: .utf8) else {
            throw TokenizerError.malformed(path: path, reason: "does not hold UTF-8 text once decompressed")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let kept = lines.dropFirst().prefix(49152 - 256 - 2)
        var vocab = [String]()
        vocab.reserveCapacity(512 + kept.count + 2)
        let symbols = Self.byteSymbolsInVocabularyOrder
        vocab.append(contentsOf: symbols.map { String($0) })
        vocab.append(contentsOf: symbols.map { String($0) + "</w>" })
        var pairs = [(String, String)]()
        for line in kept {
            // Python's str.split(): runs of white space; a line that is not two parts still takes an id.
            let parts = line.split(whereSeparator: { $0.unicodeScalars.allSatisfy(TextCleaning.isPythonSpace) })
            vocab.append(parts.joined())
            if parts.count == 2 { pairs.append((String(parts[0]), String(parts[1]))) }
        }
        vocab.append("<start_of_text>")
        vocab.append("<end_of_text>")
        var encoder = [String: Int32]()
        for (id, token) in vocab.enumerated() { encoder[token] = Int32(id) }   // dict(zip(...)): a later duplicate wins
        try self.init(encoder: encoder, merges: pairs, start: encoder["<start_of_text>"]!, end: encoder["<end_of_text>"]!,
                      flavour: flavour, path: path)
    }

    /// Reads a vocabulary from disk: a folder with vocab.json + merges.txt (flavour `.transformers`), or a gzip file
    /// in open_clip's format (flavour `.openCLIP`). `flavour` overrides the choice.
    public init(contentsOf url: URL, flavour: Flavour? = nil) throws {
        var isDirectory: ObjCBool = false
        let path = url.path
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TokenizerError.unreadable(path: path, reason: "no such file or folder")
        }
        func read(_ u: URL) throws -> Data {
            do { return try Data(contentsOf: u) } catch {
                throw TokenizerError.unreadable(path: u.path, reason: "\(error.localizedDescription)")
            }
        }
        if isDirectory.boolValue {
            let vocab = url.appendingPathComponent("vocab.json"), merges = url.appendingPathComponent("merges.txt")
            if FileManager.default.fileExists(atPath: vocab.path) && FileManager.default.fileExists(atPath: merges.path) {
                try self.init(vocabJSON: try read(vocab), merges: try read(merges), flavour: flavour ?? .transformers, path: vocab.path)
                return
            }
            throw TokenizerError.notAVocabulary(path: path)
        }
        let data = try read(url)
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            throw TokenizerError.notAVocabulary(path: path)
        }
        try self.init(openCLIPBPE: data, flavour: flavour ?? .openCLIP, path: path)
    }

    /// The special tokens' text belongs to the library, not to the vocabulary file: open_clip's pattern matches
    /// "<start_of_text>" / "<end_of_text>", transformers' added tokens are "<|startoftext|>" / "<|endoftext|>"; the ids
    /// come from the vocabulary.
    private init(encoder: [String: Int32], merges: [(String, String)], start: Int32, end: Int32, flavour: Flavour,
                 path: String) throws {
        let specialTexts = flavour == .openCLIP ? ["<start_of_text>", "<end_of_text>"] : ["<|startoftext|>", "<|endoftext|>"]
        for symbol in Self.byteSymbols {
            for token in [String(symbol), String(symbol) + "</w>"] where encoder[token] == nil {
                throw TokenizerError.inconsistent(path: path, reason: "lacks the byte symbol \(Self.quoted(token)), which every CLIP vocabulary holds")
            }
        }
        // A repeated merge keeps its last rank, as dict(zip(merges, ranks)) and tokenizers' collect into a map do.
        var ranks = [Pair: Int]()
        ranks.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() { ranks[Pair(a: a, b: b)] = rank }
        var decoder = [Int32: String]()
        for (token, id) in encoder { decoder[id] = token }
        self.encoder = encoder
        self.decoder = decoder
        self.ranks = ranks
        self.startID = start
        self.endID = end
        self.flavour = flavour
        self.specials = [(Array(specialTexts[0].unicodeScalars), start), (Array(specialTexts[1].unicodeScalars), end)]
    }

    // MARK: - Encoding

    /// The text's token ids, without the start and end tokens (open_clip's `encode`, transformers'
    /// `add_special_tokens=False`). Special-token text in the input becomes the special id, as each library does.
    public func encode(_ text: String) -> [Int32] {
        var ids = [Int32]()
        switch flavour {
        case .openCLIP:
            appendPieces(TextCleaning.openCLIP(text), to: &ids)
        case .transformers:
            // The added vocabulary splits the raw text on the special tokens first; each other part is normalised alone.
            let raw = Array(text.unicodeScalars)
            var partStart = 0
            var i = 0
            while i < raw.count {
                if let special = specials.first(where: { Self.hasPrefix(raw, at: i, $0.text) }) {
                    appendPieces(TextCleaning.transformers(String(String.UnicodeScalarView(raw[partStart..<i]))), to: &ids)
                    ids.append(special.id)
                    i += special.text.count
                    partStart = i
                } else {
                    i += 1
                }
            }
            appendPieces(TextCleaning.transformers(String(String.UnicodeScalarView(raw[partStart...]))), to: &ids)
        }
        return ids
    }

    /// The model input for one text: start, the text's ids, end, truncated to `contextLength` with the end token
    /// kept last (both libraries: start + the first contextLength - 2 ids + end), then padded with `paddingID`.
    public func tokenize(_ text: String, contextLength: Int = 77) -> [Int32] {
        precondition(contextLength >= 2, "a CLIP context holds at least the start and end tokens")
        var ids = [startID] + encode(text) + [endID]
        if ids.count > contextLength {
            ids.removeLast(ids.count - contextLength)
            ids[contextLength - 1] = endID
        }
        return ids + Array(repeating: paddingID, count: contextLength - ids.count)
    }

    /// Token ids back to text, as each library decodes: the tokens' bytes as UTF-8 (invalid sequences become U+FFFD),
    /// every "</w>" a space; transformers also strips the ends. Unknown ids are skipped.
    public func decode(_ ids: [Int32]) -> String {
        var bytes = [UInt8]()
        for id in ids {
            if let special = specials.first(where: { $0.id == id }) {
                bytes.append(contentsOf: String(String.UnicodeScalarView(special.text)).utf8)
                continue
            }
            guard let token = decoder[id] else { continue }
            var symbols = token.unicodeScalars[...]
            let endOfWord = token.hasSuffix("</w>")
            if endOfWord { symbols = symbols.dropLast(4) }
            for c in symbols { bytes.append(Self.symbolToByte[c] ?? 0) }   // tokens are made of byte symbols
            if endOfWord { bytes.append(0x20) }
        }
        // "</w>" -> " " on the bytes: an ASCII byte never joins an invalid UTF-8 sequence, so this equals Python's
        // replace after decoding (and Swift's String would see "</w>" + a combining mark as one character).
        let text = String(decoding: bytes, as: UTF8.self)
        guard flavour == .transformers else { return text }
        return String(String.UnicodeScalarView(TextCleaning.pythonStrip(Array(text.unicodeScalars))))
    }

    // MARK: - Pre-tokenizer and BPE

    private func appendPieces(_ text: [Unicode.Scalar], to ids: inout [Int32]) {
        var i = 0
        let n = text.count
        while i < n {
            let start = i
            if flavour == .openCLIP, let special = specials.first(where: { Self.hasPrefix(text, at: i, $0.text) }) {
                ids.append(special.id)
                i += special.text.count
                continue
            }
            if flavour == .transformers, let special = specials.first(where: { Self.hasPrefix(text, at: i, $0.text) }) {
                // Made by normalisation (e.g. from upper case): Split keeps it whole, ByteLevel's GPT-2 pattern cuts it
                // into "<|", the name, "|>", and BPE tokenises those.
                let name = special.text.count - 2
                bpe(text[i..<(i + 2)], into: &ids)
                bpe(text[(i + 2)..<(i + name)], into: &ids)
                bpe(text[(i + name)..<(i + special.text.count)], into: &ids)
                i += special.text.count
                continue
            }
            if let length = contractionLength(text, at: i) {
                i += length
            } else if Self.isLetter(text[i]) {
                while i < n && Self.isLetter(text[i]) { i += 1 }
            } else if Self.isNumber(text[i]) {
                i += 1
            } else if !isSpace(text[i]) {
                while i < n && !isSpace(text[i]) && !Self.isLetter(text[i]) && !Self.isNumber(text[i]) { i += 1 }
            } else {
                i += 1
                continue
            }
            bpe(text[start..<i], into: &ids)
        }
    }

    /// 's|'t|'re|'ve|'m|'ll|'d, first alternative that matches; open_clip's IGNORECASE also takes the letters' simple
    /// case folds (upper case, and 'ſ' U+017F for s).
    private func contractionLength(_ s: [Unicode.Scalar], at i: Int) -> Int? {
        guard s[i] == "'", i + 1 < s.count else { return nil }
        func letter(_ k: Int, _ c: Character) -> Bool {
            guard k < s.count else { return false }
            let v = s[k]
            if String(v) == String(c) { return true }
            guard flavour == .openCLIP else { return false }
            if String(v) == c.uppercased() { return true }
            return c == "s" && v.value == 0x17F
        }
        for alt in ["s", "t", "re", "ve", "m", "ll", "d"] {
            let letters = Array(alt)
            if letters.enumerated().allSatisfy({ letter(i + 1 + $0.offset, $0.element) }) { return 1 + letters.count }
        }
        return nil
    }

    private func isSpace(_ c: Unicode.Scalar) -> Bool {
        flavour == .openCLIP ? TextCleaning.isPythonSpace(c) : c.properties.isWhitespace
    }

    static func isLetter(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return (c.value | 0x20) >= 0x61 && (c.value | 0x20) <= 0x7A }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII { return c.value >= 0x30 && c.value <= 0x39 }
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// One pre-token: its UTF-8 bytes as byte symbols, "</w>" on the last, merged lowest rank first.
    private func bpe(_ piece: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        var word = [String]()
        for scalar in piece {
            for byte in String(scalar).utf8 { word.append(String(Self.byteSymbols[Int(byte)])) }
        }
        guard !word.isEmpty else { return }
        word[word.count - 1] += "</w>"
        while word.count > 1 {
            var best: (rank: Int, pair: Pair)?
            for k in 0..<(word.count - 1) {
                let pair = Pair(a: word[k], b: word[k + 1])
                if let rank = ranks[pair], rank < (best?.rank ?? Int.max) { best = (rank, pair) }
            }
            guard let (_, pair) = best else { break }
            var merged = [String]()
            merged.reserveCapacity(word.count)
            var k = 0
            while k < word.count {
                if k < word.count - 1 && word[k] == pair.a && word[k + 1] == pair.b {
                    merged.append(pair.a + pair.b)
                    k += 2
                } else {
                    merged.append(word[k])
                    k += 1
                }
            }
            word = merged
        }
        for symbol in word {
            // Every symbol is a byte symbol or a merge result, both checked present when the vocabulary was read.
            ids.append(encoder[symbol]!)
        }
    }

    // MARK: - Helpers

    /// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 upwards in byte order.
    static let byteSymbols: [Unicode.Scalar] = {
        var symbols = [Unicode.Scalar?](repeating: nil, count: 256)
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        for b in printable { symbols[b] = Unicode.Scalar(UInt32(b)) }
        var n: UInt32 = 0
        for b in 0..<256 where symbols[b] == nil {
            symbols[b] = Unicode.Scalar(256 + n)
            n += 1
        }
        return symbols.map { $0! }
    }()

    /// bytes_to_unicode()'s dict order, which numbers the vocabulary: the printable bytes, then the others.
    static let byteSymbolsInVocabularyOrder: [Unicode.Scalar] = {
        let printable = Array(0x21...0x7E) + Array(0xA1...0xAC) + Array(0xAE...0xFF)
        let others = (0..<256).filter { !printable.contains($0) }
        return (printable + others).map { byteSymbols[$0] }
    }()

    private static let symbolToByte: [Unicode.Scalar: UInt8] = {
        var map = [Unicode.Scalar: UInt8]()
        for (b, s) in byteSymbols.enumerated() { map[s] = UInt8(b) }
        return map
    }()

    private static func hasPrefix(_ s: [Unicode.Scalar], at i: Int, _ prefix: [Unicode.Scalar]) -> Bool {
        guard i + prefix.count <= s.count else { return false }
        for k in 0..<prefix.count where s[i + k] != prefix[k] { return false }
        return true
    }

    private static func quoted(_ s: String) -> String {
        "\"" + s.unicodeScalars.map { $0.properties.generalCategory == .control ? "\\u{\(String($0.value, radix: 16))}" : String($0) }.joined() + "\""
    }

    /// gzip (RFC 1952) through zlib, with a 64 MB ceiling on the output (the bundled file inflates to 1.6 MB).
    static func gunzip(_ data: Data, path: String) throws -> Data {
        guard data.count >= 18, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else {
            throw TokenizerError.malformed(path: path, reason: "is not gzip data (open_clip's bpe_simple_vocab_16e6.txt.gz is)")
        }
        let limit = 64 << 20
        var out = Data()
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw TokenizerError.malformed(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status = Z_OK
        try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: Bytef.self).baseAddress!)
            stream.avail_in = UInt32(src.count)
            repeat {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buf in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = UInt32(buf.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                    return buf.count - Int(stream.avail_out)
                }
                out.append(contentsOf: chunk[0..<produced])
                if out.count > limit { throw TokenizerError.malformed(path: path, reason: "inflates to more than 64 MB, far more than a BPE vocabulary") }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    throw TokenizerError.malformed(path: path, reason: "gzip data ends early (truncated?)")
                }
                if status != Z_OK && status != Z_STREAM_END {
                    throw TokenizerError.malformed(path: path, reason: "gzip data is corrupt or truncated (zlib status \(status))")
                }
                if status == Z_OK && stream.avail_in == 0 && produced == 0 {
                    throw TokenizerError.malformed(path: path, reason: "gzip data ends early (truncated?)")
                }
            } while status != Z_STREAM_END
        }
        return out
    }
}
