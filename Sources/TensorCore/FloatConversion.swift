// Conversions between Float32 and the narrower / wider float formats weights come in.
//
// All narrowing conversions round to nearest, ties to even (IEEE 754 default, what torch's
// `tensor.to(torch.float16 / torch.bfloat16)` does on CPU). NaN stays NaN (quiet, sign kept),
// infinities and signed zeros are exact, subnormals are produced and read exactly.

// MARK: - f16 (IEEE binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits)

/// f16 bits -> Float32, exact for every one of the 65 536 inputs.
@inline(__always)
public func halfBitsToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exp = UInt32(h >> 10) & 0x1F
    let frac = UInt32(h & 0x03FF)
    if exp == 0x1F {  // Inf or NaN; keep the payload (quiet bit included) in the top fraction bits
        return Float(bitPattern: sign | 0x7F80_0000 | (frac << 13))
    }
    if exp == 0 {
        if frac == 0 { return Float(bitPattern: sign) }
        // Subnormal: frac * 2^-24, exactly representable in Float32.
        let v = Float(frac) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (frac << 13))
}

/// Float32 -> f16 bits, round to nearest even; overflow goes to Inf, NaN stays a quiet NaN.
@inline(__always)
public func floatToHalfBits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    let sign = UInt16((x >> 16) & 0x8000)
    let exp = Int((x >> 23) & 0xFF)
    let mant = x & 0x007F_FFFF
    if exp == 0xFF {
        if mant == 0 { return sign | 0x7C00 }
        return sign | 0x7E00 | UInt16(truncatingIfNeeded: mant >> 13)  // quiet NaN, keep high payload
    }
    let e = exp - 127 + 15  // rebias
    if e >= 0x1F { return sign | 0x7C00 }  // overflow (rounding cannot bring it back below Inf)
    if e <= 0 {
        // Result is subnormal or zero: value = (1.mant) * 2^(exp-127); f16 subnormal unit = 2^-24.
        if e < -10 { return sign }  // below half the smallest subnormal -> +-0 (exactly half rounds to even = 0)
        let full = mant | 0x0080_0000  // 24-bit significand
        let shift = UInt32(14 - e)  // bits to drop so the unit becomes 2^-24
        let kept = full >> shift
        let rem = full & ((1 << shift) - 1)
        let half = UInt32(1) << (shift - 1)
        var r = kept
        if rem > half || (rem == half && (kept & 1) == 1) { r += 1 }
        return sign | UInt16(r)
    }
    var r = UInt32(e) << 10 | (mant >> 13)
    let rem = mant & 0x1FFF
    if rem > 0x1000 || (rem == 0x1000 && (r & 1) == 1) { r += 1 }  // may carry into exponent: correct, even to Inf
    return sign | UInt16(r)
}

// MARK: - bf16 (the top 16 bits of a Float32)

@inline(__always)
public func bfloat16BitsToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

/// Float32 -> bf16 bits, round to nearest even, as c10::BFloat16's round_to_nearest_even.
@inline(__always)
public func floatToBFloat16Bits(_ f: Float) -> UInt16 {
    let x = f.bitPattern
    if f.isNaN { return UInt16(truncatingIfNeeded: x >> 16) | 0x0040 }  // keep sign and payload, force quiet
    let lsb = (x >> 16) & 1
    let rounded = x &+ 0x7FFF &+ lsb
    return UInt16(truncatingIfNeeded: rounded >> 16)
}

// MARK: - 8-bit floats (decode only; used to read f8 checkpoints)

/// Decodes an 8-bit minifloat. `fnuz` formats have no Inf and no -0: 0x80 is their only NaN.
@inline(__always)
func minifloatToFloat(_ v: UInt8, exponentBits: Int, mantissaBits: Int, bias: Int, kind: MinifloatKind) -> Float {
    let sign: Float = (v & 0x80) != 0 ? -1 : 1
    let e = Int(v >> UInt8(mantissaBits)) & ((1 << exponentBits) - 1)
    let m = Int(v) & ((1 << mantissaBits) - 1)
    switch kind {
    case .ieee:  // e5m2: all-ones exponent is Inf / NaN like IEEE
        if e == (1 << exponentBits) - 1 { return m == 0 ? sign * .infinity : .nan }
    case .fn:  // e4m3fn: only S.1111.111 is NaN, no Inf
        if e == (1 << exponentBits) - 1 && m == (1 << mantissaBits) - 1 { return .nan }
    case .fnuz:
        if v == 0x80 { return .nan }
    }
    if e == 0 { return sign * Float(m) * Float(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1) }
    return sign * (1 + Float(m) / Float(1 << mantissaBits)) * Float(sign: .plus, exponent: e - bias, significand: 1)
}

enum MinifloatKind { case ieee, fn, fnuz }

@inline(__always)
func e8m0ToFloat(_ v: UInt8) -> Float {
    // OCP MX scale: 2^(v-127), 0xFF is NaN, no sign, no zero.
    v == 0xFF ? .nan : Float(sign: .plus, exponent: Int(v) - 127, significand: 1)
}
