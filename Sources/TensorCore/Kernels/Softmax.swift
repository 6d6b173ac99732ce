// Softmax over the last dimension with max subtraction (PyTorch softmax(dim=-1)).
//
//   x [..., L] → y [..., L], y = exp(x − max(x)) / Σ exp(x − max(x)) per row of L.
//
// exp is the vectorised `vexp` (≤ 1 ulp); the row sum is accumulated in Double.

// MARK: - API

/// Softmax over the last dimension, in place. `x: [..., L]`. A row holding NaN becomes NaN; a row of
/// all −∞ becomes NaN, as in PyTorch.
public func softmaxInPlace(_ x: inout Tensor) {
    precondition(x.rank >= 1, "softmax: input must have a last dimension")
    let l = x.shape.last!
    if l == 0 || x.count == 0 { return }
    let rows = x.count / l
    x.data.withUnsafeMutableBufferPointer { xb in
        let base = xb.base
        parallelFor(rows, grain: Swift.max(1, 16384 / l)) { range in
            for r in range { softmaxRow(base + r * l, l, scale: 1) }
        }
    }
}

/// Softmax over the last dimension. See `softmaxInPlace`.
public func softmax(_ x: Tensor) -> Tensor { var y = x; softmaxInPlace(&y); return y }

// MARK: - Row kernel

/// p[0..<n] = softmax(p·scale) in place (the scale lets attention fold in 1/√D without a pass).
@inline(__always)
func softmaxRow(_ p: UnsafeMutablePointer<Float>, _ n: Int, scale: Float) {
    // Max of the row (NaN-propagating: any NaN makes the max NaN, and so the whole row).
    var m = -Float.infinity
    var hasNaN = false
    for i in 0..<n { let v = p[i]; if v > m { m = v }; if v.isNaN { hasNaN = true } }
    if hasNaN { for i in 0..<n { p[i] = .nan }; return }
    let shift = Vec8(repeating: m * scale), sc = Vec8(repeating: scale)
    // exp(x·scale − max·scale); for scale > 0 the max of x·scale is max·scale.
    var sum = 0.0
    var i = 0
    while i + 8 <= n {
        let e = vexp(load8(p + i) * sc - shift)
        store8(e, p + i)
        sum += Double(e.sum())
        i += 8
    }
    if i < n {
        var v = Vec8(repeating: -.infinity)
        for j in 0..<(n - i) { v[j] = p[i + j] }
        let e = vexp(v * sc - shift)
        for j in 0..<(n - i) { p[i + j] = e[j] }
        sum += Double(e.sum())
    }
    let inv = Float(1 / sum)
    for j in 0..<n { p[j] *= inv }
}
