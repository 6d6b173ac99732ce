// Every way reading an image or a preprocessing spec can fail, as one error type whose message is one
// line naming the file (or the option) first.

import TensorCore

/// Why an image or a preprocessing spec could not be read. `description` is one line: the file, then the problem.
public enum ImagingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be read at all (missing, a directory, no permission).
    case unreadable(file: String, reason: String)
    /// The file is empty.
    case empty(file: String)
    /// The bytes are not a PNG or JPEG (`detected` names the format when it is a known other one).
    case notAnImage(file: String, detected: String?)
    /// A PNG or JPEG the decoder rejected.
    case corrupt(file: String, format: String, reason: String)
    /// A PNG or JPEG that ends before its image data is complete.
    case truncated(file: String, format: String)
    /// A valid PNG or JPEG of a kind vfw does not decode (e.g. 12-bit JPEG).
    case unsupported(file: String, format: String, reason: String)
    /// More pixels than Pillow accepts (`Image.MAX_IMAGE_PIXELS * 2`).
    case tooLarge(file: String, format: String, reason: String)
    /// A preprocessing spec (from `--preprocess`, a .vfw header, a preprocessor_config.json or a timm
    /// config) vfw cannot run; `source` names where it came from.
    case badPreprocess(source: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): return "\(file): cannot read file: \(oneLine(reason))"
        case let .empty(file): return "\(file): empty file, not an image"
        case let .notAnImage(file, detected):
            if let d = detected { return "\(file): \(d) image; vfw reads PNG and JPEG only" }
            return "\(file): not a PNG or JPEG image"
        case let .corrupt(file, format, reason): return "\(file): corrupt \(format): \(oneLine(reason))"
        case let .truncated(file, format): return "\(file): truncated \(format): the file ends before the image data is complete"
        case let .unsupported(file, format, reason): return "\(file): unsupported \(format): \(oneLine(reason))"
        case let .tooLarge(file, format, reason): return "\(file): \(format) too large: \(oneLine(reason))"
        // Config files are text from elsewhere: escaped like every other file text (TensorCore.oneLine).
        case let .badPreprocess(source, reason): return "\(oneLine(source, limit: 2000)): \(oneLine(reason, limit: 2000))"
        }
    }
}

/// Library messages sometimes carry newlines; the error stays one line.
private func oneLine(_ s: String) -> String {
    s.split(whereSeparator: \.isNewline).joined(separator: " ")
}
