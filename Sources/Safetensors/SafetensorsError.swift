// Everything that can be wrong with a safetensors file or a sharded index, naming the file.

import TensorCore

public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case headerTooSmall(path: String, size: Int)
    case headerTooLarge(path: String, length: UInt64, limit: Int)
    case tooManyTensors(path: String, count: Int, limit: Int)
    /// VFW_LIMITS is malformed (reported against the file being opened, the first place it is read).
    case invalidLimits(path: String, reason: String)
    case invalidHeaderLength(path: String, length: UInt64, fileSize: Int)
    case invalidHeader(path: String, reason: String)
    case duplicateKey(path: String, key: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case invalidOffsets(path: String, tensor: String, reason: String)
    case sizeMismatch(path: String, tensor: String, dtype: String, shape: [Int], expected: Int?, actual: Int)
    case misalignedSlice(path: String, tensor: String)
    case incompleteBuffer(path: String, covered: Int, size: Int)
    case notFound(path: String, tensor: String)
    case invalidIndex(path: String, reason: String)

    /// One line naming the file, whatever the file put in the names and values it quotes (at most 2000 characters).
    public var description: String { oneLine(text, limit: 2000) }

    private var text: String {
        switch self {
        case .headerTooSmall(let p, let s):
            return "\(p): not a safetensors file: \(s) bytes is shorter than the 8-byte header length"
        case .headerTooLarge(let p, let n, let l):
            if l == Int(SafetensorsFile.maxHeaderLength) {
                return "\(p): header length \(n) exceeds the 100 MB limit of the safetensors spec"
            }
            return "\(p): header length \(n) exceeds the \(byteLimitText(l)) limit set by VFW_LIMITS=header"
        case .tooManyTensors(let p, let c, let l):
            return "\(p): lists \(c) tensors, more than the limit of \(l) (raise it with VFW_LIMITS=tensors=N)"
        case .invalidLimits(let p, let r):
            return "\(p): cannot open it under \(r)"
        case .invalidHeaderLength(let p, let n, let s):
            return "\(p): header length \(n) runs past the end of the \(s)-byte file (truncated, or not safetensors)"
        case .invalidHeader(let p, let r):
            return "\(p): invalid safetensors header: \(r)"
        case .duplicateKey(let p, let k):
            return "\(p): header lists '\(k)' more than once"
        case .unknownDType(let p, let t, let d):
            return "\(p): tensor '\(t)' has unknown dtype '\(d)'"
        case .invalidOffsets(let p, let t, let r):
            return "\(p): tensor '\(t)' has invalid data_offsets: \(r)"
        case .sizeMismatch(let p, let t, let d, let s, let e, let a):
            let exp = e.map { "\($0) bytes" } ?? "an overflowing size"
            return "\(p): tensor '\(t)' is \(d) [\(s.map(String.init).joined(separator: ", "))] = \(exp), but its data_offsets span \(a)"
        case .misalignedSlice(let p, let t):
            return "\(p): tensor '\(t)' does not fill a whole number of bytes"
        case .incompleteBuffer(let p, let c, let s):
            return "\(p): tensors cover \(c) bytes of the \(s)-byte data buffer; the spec forbids holes and trailing bytes"
        case .notFound(let p, let t):
            return "\(p): no tensor named '\(t)'"
        case .invalidIndex(let p, let r):
            return "\(p): invalid sharded index: \(r)"
        }
    }
}
