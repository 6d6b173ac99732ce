// f16 / bf16 / f64 <-> f32: exhaustive over every 16-bit pattern and every rounding midpoint, against
// independent oracles (the CPU's own f16 conversion through Swift's Float16, exact Double arithmetic)
// and against what torch computed (Tests/Fixtures/dtypes, tools/make_format_fixtures.py).

import Foundation
import Safetensors
import Testing
@testable import TensorCore

/// Bit-level equality that treats any two NaNs with the same sign as equal.
private func sameFloat(_ a: Float, _ b: Float) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN && a.sign == b.sign }
    return a.bitPattern == b.bitPattern
}

/// The f16 value nearest to `x` computed in Double over the list of all finite f16 values: the oracle for RNE.
private func nearestEven(_ x: Double, lower: Double, upper: Double, lowerBits: UInt16, upperBits: UInt16) -> UInt16 {
    let dl = x - lower, du = upper - x
    if dl < du { return lowerBits }
    if du < dl { return upperBits }
    return (lowerBits & 1) == 0 ? lowerBits : upperBits
}

@Suite("f16 and bf16 conversions")
struct FloatConversionTests {
    @Test("f16 -> f32 matches the CPU's conversion for all 65536 patterns")
    func halfToFloatExhaustive() {
        var mismatches: [UInt16] = []
        for bits in 0...UInt16.max {
            let ours = halfBitsToFloat(bits)
            let cpu = Float(Float16(bitPattern: bits))
            if !sameFloat(ours, cpu) { mismatches.append(bits) }
        }
        #expect(mismatches.isEmpty, "first mismatching f16 patterns: \(mismatches.prefix(5).map { String($0, radix: 16) })")
    }

    @Test("f16 round trip is the identity for every non-NaN pattern")
    func halfRoundTrip() {
        for bits in 0...UInt16.max {
            let f = halfBitsToFloat(bits)
            if f.isNaN { #expect(halfBitsToFloat(floatToHalfBits(f)).isNaN); continue }
            #expect(floatToHalfBits(f) == bits, "pattern 0x\(String(bits, radix: 16))")
        }
    }

    @Test("f32 -> f16 rounds to nearest even at every midpoint (and one ulp either side)")
    func floatToHalfMidpoints() {
        var failures: [String] = []
        for bits in UInt16(0)..<0x7C00 {  // every positive finite f16 and the one above it (0x7C00 = Inf)
            let lo = halfBitsToFloat(bits), hi = halfBitsToFloat(bits + 1)
            let mid = Float((Double(lo) + Double(hi)) / 2)  // exact: f16 midpoints fit in f32
            for (label, x) in [("below", mid.nextDown), ("mid", mid), ("above", mid.nextUp), ("value", lo)] {
                for sign in [Float(1), -1] {
                    let v = sign * x
                    let expected = Float16(v).bitPattern
                    if floatToHalfBits(v) != expected {
                        failures.append("\(label) of 0x\(String(bits, radix: 16)) sign \(sign)")
                    }
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5))")
    }

    @Test("f32 -> f16 special values", arguments: [
        ("+0", Float(0), UInt16(0x0000)), ("-0", -Float(0), 0x8000), ("+inf", .infinity, 0x7C00), ("-inf", -.infinity, 0xFC00),
        ("max", 65504, 0x7BFF), ("overflow to inf at max + half ulp", 65520, 0x7C00), ("just below that", Float(65520).nextDown, 0x7BFF),
        ("smallest subnormal", Float(sign: .plus, exponent: -24, significand: 1), 0x0001),
        ("half of smallest subnormal ties to 0", Float(sign: .plus, exponent: -25, significand: 1), 0x0000),
        ("just above half of smallest subnormal", Float(sign: .plus, exponent: -25, significand: 1).nextUp, 0x0001),
        ("f32 subnormal", Float.leastNonzeroMagnitude, 0x0000), ("huge", Float.greatestFiniteMagnitude, 0x7C00),
    ] as [(String, Float, UInt16)])
    func halfSpecials(_ c: (String, Float, UInt16)) {
        #expect(floatToHalfBits(c.1) == c.2, "\(c.0)")
    }

    @Test("NaN stays NaN with its sign through f16 and bf16")
    func nanPreserved() {
        for nan in [Float.nan, -Float.nan, Float(bitPattern: 0x7F80_0001), Float(bitPattern: 0xFFC0_1234)] {
            let h = halfBitsToFloat(floatToHalfBits(nan))
            let b = bfloat16BitsToFloat(floatToBFloat16Bits(nan))
            #expect(h.isNaN && h.sign == nan.sign)
            #expect(b.isNaN && b.sign == nan.sign)
        }
    }

    @Test("bf16 -> f32 is exact for all 65536 patterns")
    func bfloatToFloatExhaustive() {
        for bits in 0...UInt16.max {
            let f = bfloat16BitsToFloat(bits)
            // Independent decode: sign, 8-bit exponent (bias 127), 7-bit fraction, in Double.
            let s: Double = (bits & 0x8000) != 0 ? -1 : 1
            let e = Int((bits >> 7) & 0xFF), m = Double(bits & 0x7F)
            let expected: Double = e == 0xFF ? (m == 0 ? s * .infinity : .nan)
                : e == 0 ? s * m * pow(2, -133) : s * (1 + m / 128) * pow(2, Double(e - 127))
            if expected.isNaN { #expect(f.isNaN); continue }
            #expect(Double(f) == expected && f.sign == (s < 0 ? .minus : .plus), "pattern 0x\(String(bits, radix: 16))")
        }
    }

    @Test("f32 -> bf16 rounds to nearest even at every midpoint (and one ulp either side)")
    func floatToBFloatMidpoints() {
        var failures: [String] = []
        for bits in UInt16(0)..<0x7F80 {
            let lo = bfloat16BitsToFloat(bits)
            // Above the largest finite bf16 the next step is 2^128 (where the exponent would go): RNE overflows to Inf there.
            let hi = bits + 1 == 0x7F80 ? pow(2.0, 128) : Double(bfloat16BitsToFloat(bits + 1))
            let midD = (Double(lo) + hi) / 2
            let mid = midD < Double(Float.greatestFiniteMagnitude) ? Float(midD) : .greatestFiniteMagnitude
            for (label, x) in [("below", mid.nextDown), ("mid", mid), ("above", mid.nextUp), ("value", lo)] where x.isFinite {
                let expected = nearestEven(Double(x), lower: Double(lo), upper: hi, lowerBits: bits, upperBits: bits + 1)
                if floatToBFloat16Bits(x) != expected || floatToBFloat16Bits(-x) != expected | 0x8000 {
                    failures.append("\(label) of 0x\(String(bits, radix: 16))")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures, first: \(failures.prefix(5))")
    }

    @Test("bf16 special values", arguments: [
        ("+0", Float(0), UInt16(0x0000)), ("-0", -Float(0), 0x8000), ("+inf", .infinity, 0x7F80), ("-inf", -.infinity, 0xFF80),
        ("max rounds to inf", .greatestFiniteMagnitude, 0x7F80), ("smallest f32 subnormal to 0", .leastNonzeroMagnitude, 0x0000),
    ] as [(String, Float, UInt16)])
    func bfloatSpecials(_ c: (String, Float, UInt16)) {
        #expect(floatToBFloat16Bits(c.1) == c.2, "\(c.0)")
    }

    @Test("conversions equal torch's .to(float16 / bfloat16 / float32) on the committed fixture")
    func matchesTorch() throws {
        let f = try SafetensorsFile(path: fixture("dtypes/torch_conversions.safetensors"))
        let x = try f.tensor("f32").floats()
        let h = try f.tensor("to_f16"), b = try f.tensor("to_bf16")
        var bad = 0
        for i in 0..<x.count {
            let th = h.bytes.buffer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
            let tb = b.bytes.buffer.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)
            if x[i].isNaN {
                if !halfBitsToFloat(th).isNaN || !bfloat16BitsToFloat(tb).isNaN { bad += 1 }
                continue
            }
            if floatToHalfBits(x[i]) != th || floatToBFloat16Bits(x[i]) != tb { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of \(x.count) values differ from torch")
        #expect(x.count > 1000)
        let wide = try f.tensor("f64").floats(), narrowed = try f.tensor("f64_to_f32").floats()
        #expect(zip(wide, narrowed).allSatisfy { sameFloat($0, $1) }, "f64 -> f32 differs from torch")
    }
}

/// Absolute path of a committed fixture under Tests/Fixtures.
func fixture(_ relative: String, file: StaticString = #filePath) -> String {
    let here = URL(fileURLWithPath: "\(file)")
    return here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/\(relative)").path
}
