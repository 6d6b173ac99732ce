// `vfw tokenize --vocab PATH TEXT...`: CLIP token ids of each text, one JSON array a line (a debugging command, hidden
// from the help until text search uses the tokenizer; parity step 70-clip-tokenizer.sh drives it).

import ArgumentParser
import Foundation
import VFW

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the CLIP token ids of texts (debugging).",
        discussion: """
        The vocabulary is a folder with vocab.json and merges.txt (a Hugging Face CLIP model: cleaned as
        transformers' CLIPTokenizer does) or open_clip's bpe_simple_vocab_16e6.txt.gz (cleaned as open_clip's
        SimpleTokenizer does); --flavour overrides the choice. Each text prints one JSON array: start token, the
        text's ids, end token, padded to --context-length as the library pads (--raw: the text's ids only).

        Examples:
          vfw tokenize --vocab clip-vit-base-patch32 "a photo of a cat"
          vfw tokenize --vocab bpe_simple_vocab_16e6.txt.gz --raw --texts-json texts.json
        """,
        shouldDisplay: false)

    @Option(help: "A folder with vocab.json + merges.txt, or open_clip's bpe_simple_vocab_16e6.txt.gz.")
    var vocab: String

    @Option(help: "Cleaning and padding: open_clip or transformers (default: by the vocabulary's form).")
    var flavour: String?

    @Option(help: "Tokens per text, start and end included.")
    var contextLength = 77

    @Flag(help: "Print the text's ids only: no start and end tokens, no truncation or padding.")
    var raw = false

    @Flag(help: "Print the decoded text of each text's ids instead of the ids (a JSON string).")
    var decode = false

    @Option(help: "A JSON file holding an array of strings, tokenised after the TEXT arguments.")
    var textsJson: String?

    @Argument(help: "Texts to tokenise.")
    var texts: [String] = []

    func validate() throws {
        if let f = flavour, CLIPTokenizer.Flavour(rawValue: f) == nil {
            throw ValidationError("--flavour must be open_clip or transformers, got '\(f)'")
        }
        guard contextLength >= 2 else { throw ValidationError("--context-length must be at least 2 (start and end tokens)") }
        if texts.isEmpty && textsJson == nil { throw ValidationError("give at least one TEXT or --texts-json FILE") }
    }

    func run() throws {
        let tokenizer = try CLIPTokenizer(contentsOf: URL(fileURLWithPath: vocab), flavour: flavour.flatMap(CLIPTokenizer.Flavour.init))
        var all = texts
        if let path = textsJson {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw InputError("\(path): cannot read the texts file; check the path")
            }
            // JSONDecoder, not JSONSerialization: Foundation's JSONSerialization drops a U+FEFF that starts a string.
            guard let array = try? JSONDecoder().decode([String].self, from: data) else {
                throw InputError("\(path): is not a JSON array of strings; write the texts as [\"first\", \"second\"]")
            }
            all += array
        }
        for text in all {
            let ids = raw || decode ? tokenizer.encode(text) : tokenizer.tokenize(text, contextLength: contextLength)
            if decode {
                let json = try JSONSerialization.data(withJSONObject: [tokenizer.decode(ids)], options: [.fragmentsAllowed])
                print(String(decoding: json.dropFirst().dropLast(), as: UTF8.self))
            } else {
                print("[" + ids.map(String.init).joined(separator: ",") + "]")
            }
        }
    }
}
