// A tensor as stored in a file: dtype, shape, and a view of its little-endian, row-major bytes.

/// A named, typed, shaped run of bytes. `bytes.count == dtype.byteCount(elements: shape product)`.
public struct RawTensor: @unchecked Sendable {
    public var dtype: DType
    public var shape: [Int]
    public var bytes: ByteView

    public init(dtype: DType, shape: [Int], bytes: ByteView) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    public var elementCount: Int { TensorCore.elementCount(shape) ?? 0 }

    /// The elements as Float32 (copying, converting on the way). Precondition: `dtype.convertsToFloat`.
    public func floats() -> [Float] {
        let n = elementCount
        return [Float](unsafeUninitializedCapacity: n) { out, initialized in
            decodeFloats(dtype, from: bytes.buffer, into: UnsafeMutableBufferPointer(rebasing: out[0..<n]))
            initialized = n
        }
    }

    /// A new tensor holding these elements converted to `target` (f32, f16 or bf16 from any float input).
    public func converted(to target: DType) -> RawTensor {
        if target == dtype { return self }
        let values = floats()
        let out = OwnedBytes(count: target.byteCount(elements: values.count)!)
        encodeFloats(values, as: target, into: out.mutableBytes)
        return RawTensor(dtype: target, shape: shape, bytes: ByteView(owned: out))
    }

    /// Builds an f32 tensor owning a copy of `values`.
    public static func float32(_ values: [Float], shape: [Int]) -> RawTensor {
        let out = OwnedBytes(count: values.count * 4)
        values.withUnsafeBytes { out.mutableBytes.copyMemory(from: $0) }
        return RawTensor(dtype: .f32, shape: shape, bytes: ByteView(owned: out))
    }
}

/// Decodes little-endian elements of `dtype` into Float32. Integer types convert by value; bool is 0 / 1.
public func decodeFloats(_ dtype: DType, from src: UnsafeRawBufferPointer, into out: UnsafeMutableBufferPointer<Float>) {
    let n = out.count
    func load<T: FixedWidthInteger>(_: T.Type, _ i: Int) -> T { T(littleEndian: src.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
    switch dtype {
    case .f32: for i in 0..<n { out[i] = Float(bitPattern: load(UInt32.self, i)) }
    case .f64: for i in 0..<n { out[i] = Float(Double(bitPattern: load(UInt64.self, i))) }
    case .f16: for i in 0..<n { out[i] = halfBitsToFloat(load(UInt16.self, i)) }
    case .bf16: for i in 0..<n { out[i] = bfloat16BitsToFloat(load(UInt16.self, i)) }
    case .i64: for i in 0..<n { out[i] = Float(load(Int64.self, i)) }
    case .i32: for i in 0..<n { out[i] = Float(load(Int32.self, i)) }
    case .i16: for i in 0..<n { out[i] = Float(load(Int16.self, i)) }
    case .i8: for i in 0..<n { out[i] = Float(load(Int8.self, i)) }
    case .u64: for i in 0..<n { out[i] = Float(load(UInt64.self, i)) }
    case .u32: for i in 0..<n { out[i] = Float(load(UInt32.self, i)) }
    case .u16: for i in 0..<n { out[i] = Float(load(UInt16.self, i)) }
    case .u8: for i in 0..<n { out[i] = Float(src[i]) }
    case .bool: for i in 0..<n { out[i] = src[i] != 0 ? 1 : 0 }
    case .f8_e4m3: for i in 0..<n { out[i] = minifloatToFloat(src[i], exponentBits: 4, mantissaBits: 3, bias: 7, kind: .fn) }
    case .f8_e5m2: for i in 0..<n { out[i] = minifloatToFloat(src[i], exponentBits: 5, mantissaBits: 2, bias: 15, kind: .ieee) }
    case .f8_e4m3fnuz: for i in 0..<n { out[i] = minifloatToFloat(src[i], exponentBits: 4, mantissaBits: 3, bias: 8, kind: .fnuz) }
    case .f8_e5m2fnuz: for i in 0..<n { out[i] = minifloatToFloat(src[i], exponentBits: 5, mantissaBits: 2, bias: 16, kind: .fnuz) }
    case .f8_e8m0: for i in 0..<n { out[i] = e8m0ToFloat(src[i]) }
    case .c64, .f4, .f6_e2m3, .f6_e3m2: preconditionFailure("\(dtype) has no Float32 value; check convertsToFloat first")
    }
}

/// Encodes Float32 values as little-endian f32, f16, bf16 or f64.
public func encodeFloats(_ values: [Float], as dtype: DType, into out: UnsafeMutableRawBufferPointer) {
    switch dtype {
    case .f32: for (i, v) in values.enumerated() { out.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
    case .f16: for (i, v) in values.enumerated() { out.storeBytes(of: floatToHalfBits(v).littleEndian, toByteOffset: i * 2, as: UInt16.self) }
    case .bf16: for (i, v) in values.enumerated() { out.storeBytes(of: floatToBFloat16Bits(v).littleEndian, toByteOffset: i * 2, as: UInt16.self) }
    case .f64: for (i, v) in values.enumerated() { out.storeBytes(of: Double(v).bitPattern.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
    default: preconditionFailure("encodeFloats supports f32, f16, bf16 and f64, not \(dtype)")
    }
}
