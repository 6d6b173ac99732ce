// Element types shared by every weight file vfw reads or writes.
//
// The raw names are the .vfw spellings (Schemas/vfw.md). Safetensors and torch spellings map onto
// these in their own modules, so this file knows no foreign format.

/// An element type. `bitSize` is the width of one element; all but `f4`/`f6*` are whole bytes.
public enum DType: String, Codable, CaseIterable, Sendable {
    case f64, f32, f16, bf16
    case i64, i32, i16, i8
    case u64, u32, u16, u8
    case bool
    case c64
    /// 8-bit floats (OCP / ONNX names; torch float8_e4m3fn = f8_e4m3).
    case f8_e4m3, f8_e5m2, f8_e8m0, f8_e4m3fnuz, f8_e5m2fnuz
    /// Sub-byte floats of the safetensors spec (MXFP4 E2M1, FP6). Readable as raw bits only.
    case f4, f6_e2m3, f6_e3m2

    public var bitSize: Int {
        switch self {
        case .f64, .i64, .u64, .c64: return 64
        case .f32, .i32, .u32: return 32
        case .f16, .bf16, .i16, .u16: return 16
        case .i8, .u8, .bool, .f8_e4m3, .f8_e5m2, .f8_e8m0, .f8_e4m3fnuz, .f8_e5m2fnuz: return 8
        case .f6_e2m3, .f6_e3m2: return 6
        case .f4: return 4
        }
    }

    /// Bytes per element; nil for sub-byte types.
    public var byteSize: Int? { bitSize % 8 == 0 ? bitSize / 8 : nil }

    /// True when vfw can turn elements of this type into Float32 values.
    public var convertsToFloat: Bool {
        switch self {
        case .c64, .f4, .f6_e2m3, .f6_e3m2: return false
        default: return true
        }
    }

    /// Byte length of `count` elements, nil on overflow or when the bits do not fill whole bytes.
    public func byteCount(elements count: Int) -> Int? {
        let (bits, overflow) = count.multipliedReportingOverflow(by: bitSize)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }
}

/// Number of elements of `shape`, nil on overflow or a negative dimension.
public func elementCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        if o { return nil }
        n = p
    }
    return n
}

/// `[64, 3, 7, 7]` as people write shapes.
public func describeShape(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
