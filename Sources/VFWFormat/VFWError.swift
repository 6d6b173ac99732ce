// Everything that can be wrong with a .vfw file, as sentences naming the file and the tensor.

import TensorCore

public enum VFWError: Error, CustomStringConvertible, Equatable {
    case tooShort(path: String, size: Int)
    case badMagic(path: String)
    case unsupportedVersion(path: String, major: Int, minor: Int)
    case reservedFlags(path: String, flags: UInt32)
    case headerBeyondFile(path: String, headerLength: UInt64, fileSize: Int)
    case headerTooLarge(path: String, headerLength: UInt64, limit: Int)
    case tooManyTensors(path: String, count: Int, limit: Int)
    /// VFW_LIMITS is malformed (reported against the file being opened, the first place it is read).
    case invalidLimits(path: String, reason: String)
    case dataMisaligned(path: String, dataOffset: Int)
    case invalidHeader(path: String, reason: String)
    case duplicateTensor(path: String, name: String)
    case unknownDType(path: String, tensor: String, dtype: String)
    case lengthMismatch(path: String, tensor: String, shape: [Int], dtype: String, expected: Int?, actual: Int)
    case misaligned(path: String, tensor: String, offset: Int)
    case outOfBounds(path: String, tensor: String, end: Int, dataSize: Int)
    case overlap(path: String, first: String, second: String)
    case trailingBytes(path: String, count: Int)
    case checksumMismatch(path: String, tensor: String, stored: String, actual: String)

    /// One line naming the file, whatever the file put in the names and values it quotes (at most 2000 characters).
    public var description: String { oneLine(text, limit: 2000) }

    private var text: String {
        switch self {
        case .tooShort(let p, let s):
            return "\(p): not a .vfw file: \(s) bytes is shorter than the 24-byte preamble"
        case .badMagic(let p):
            return "\(p): not a .vfw file (bad magic bytes); convert checkpoints with `vfw convert`"
        case .unsupportedVersion(let p, let major, let minor):
            return "\(p): .vfw format version \(major).\(minor) is not supported by this vfw (it reads 1.x); upgrade vfw"
        case .reservedFlags(let p, let f):
            return "\(p): reserved flags field is \(f), expected 0 in format 1.x"
        case .headerBeyondFile(let p, let h, let s):
            return "\(p): header length \(h) runs past the end of the \(s)-byte file (truncated?)"
        case .headerTooLarge(let p, let h, let l):
            return "\(p): header length \(h) exceeds the \(byteLimitText(l)) limit (raise it with VFW_LIMITS=header=N)"
        case .tooManyTensors(let p, let c, let l):
            return "\(p): header lists \(c) tensors, more than the limit of \(l) (raise it with VFW_LIMITS=tensors=N)"
        case .invalidLimits(let p, let r):
            return "\(p): cannot open it under \(r)"
        case .dataMisaligned(let p, let d):
            return "\(p): data section starts at byte \(d), which is not a multiple of 64"
        case .invalidHeader(let p, let r):
            return "\(p): header is not valid: \(r)"
        case .duplicateTensor(let p, let n):
            return "\(p): tensor '\(n)' appears more than once"
        case .unknownDType(let p, let t, let d):
            return "\(p): tensor '\(t)' has unknown dtype '\(d)'"
        case .lengthMismatch(let p, let t, let shape, let d, let e, let a):
            let exp = e.map(String.init) ?? "an overflowing number of"
            return "\(p): tensor '\(t)' is \(d) \(shapeText(shape)) = \(exp) bytes, but its length field says \(a)"
        case .misaligned(let p, let t, let o):
            return "\(p): tensor '\(t)' starts at data offset \(o), which is not a multiple of 64"
        case .outOfBounds(let p, let t, let e, let s):
            return "\(p): tensor '\(t)' ends at data byte \(e), past the \(s)-byte data section (truncated?)"
        case .overlap(let p, let a, let b):
            return "\(p): tensors '\(a)' and '\(b)' overlap"
        case .trailingBytes(let p, let c):
            return "\(p): \(c) unexpected bytes after the last tensor"
        case .checksumMismatch(let p, let t, let s, let a):
            return "\(p): tensor '\(t)' is corrupt: CRC-32 is \(a), the header says \(s)"
        }
    }
}

func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
