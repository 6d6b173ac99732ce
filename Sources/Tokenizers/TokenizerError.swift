// The one error type of the Tokenizers module: a vocabulary that cannot be read. Messages are one line, start with
// the file path and say how to fix.

/// A vocabulary file vfw cannot use.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be read (missing, unreadable).
    case unreadable(path: String, reason: String)
    /// The bytes are not what the file must hold (not gzip, not JSON, not UTF-8, a malformed line).
    case malformed(path: String, reason: String)
    /// A merge whose parts or result the vocabulary lacks, or a special token it lacks.
    case inconsistent(path: String, reason: String)
    /// A folder or file that holds no CLIP vocabulary vfw knows.
    case notAVocabulary(path: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason):
            return "\(path): cannot read the vocabulary (\(reason)); check the path and its permissions."
        case let .malformed(path, reason):
            return "\(path): \(reason); pass the file as the model or library ships it (vocab.json + merges.txt, or open_clip's bpe_simple_vocab_16e6.txt.gz)."
        case let .inconsistent(path, reason):
            return "\(path): \(reason); vocab.json and merges.txt must come from the same tokenizer."
        case let .notAVocabulary(path):
            return "\(path): holds no CLIP vocabulary; pass a folder with vocab.json and merges.txt (a Hugging Face CLIP model) or open_clip's bpe_simple_vocab_16e6.txt.gz."
        }
    }
}
