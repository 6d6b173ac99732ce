// Shared helpers for the kernel tests: deterministic inputs and a closeness check that says where
// and by how much two tensors differ.

import Testing
import TensorCore

// MARK: - Deterministic inputs

/// SplitMix64: the same numbers on every machine and run, no dependence on Swift's RNG.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
}

/// A tensor of `shape` with uniform values in [lo, hi) from `seed`.
func randomTensor(_ shape: [Int], seed: UInt64, _ lo: Float = -1, _ hi: Float = 1) -> Tensor {
    var g = SplitMix(seed: seed)
    let n = Tensor.count(of: shape)
    return Tensor(shape: shape, data: (0..<n).map { _ in g.uniform(lo, hi) })
}

// MARK: - Closeness

/// Expects `actual` to match `expected` (a Double reference) elementwise: |a − e| ≤ atol + rtol·|e|,
/// same shape, NaN only where the reference is NaN. On failure, reports the worst element, the
/// first mismatch and both values.
func expectClose(_ actual: Tensor, _ expected: [Double], shape: [Int], atol: Double = 1e-5, rtol: Double = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(actual.shape == shape, "\(label): shape \(actual.shape), expected \(shape)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else {
        Issue.record("\(label): \(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
        return
    }
    var worst = 0.0, worstAt = -1, firstBad = -1, bad = 0
    for i in 0..<expected.count {
        let a = Double(actual.data[i]), e = expected[i]
        if e.isNaN || a.isNaN {
            if !(e.isNaN && a.isNaN) { bad += 1; if firstBad < 0 { firstBad = i } }
            continue
        }
        if e.isInfinite || a.isInfinite {
            if a != e { bad += 1; if firstBad < 0 { firstBad = i } }
            continue
        }
        let d = abs(a - e)
        if d > worst { worst = d; worstAt = i }
        if d > atol + rtol * abs(e) { bad += 1; if firstBad < 0 { firstBad = i } }
    }
    if bad > 0 {
        let f = firstBad
        Issue.record("""
            \(label): \(bad) of \(expected.count) elements differ; first at \(f): got \(actual.data[f]), expected \(expected[f]); \
            max |diff| \(worst) at \(worstAt) (atol \(atol), rtol \(rtol))
            """, sourceLocation: sourceLocation)
    }
}

func expectClose(_ actual: Tensor, _ expected: Tensor, atol: Double = 1e-5, rtol: Double = 1e-5,
                 _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectClose(actual, expected.data.map(Double.init), shape: expected.shape, atol: atol, rtol: rtol, label, sourceLocation: sourceLocation)
}
