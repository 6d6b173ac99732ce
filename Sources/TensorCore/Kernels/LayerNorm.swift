// Layer normalisation over the last dimension (PyTorch nn.LayerNorm(D, eps)).
//
//   x [..., D] (rows of D contiguous floats), weight, bias [D] → y [..., D]
//   y = (x − μ)/sqrt(σ² + eps)·weight + bias, μ and σ² (biased, divided by D) per row.
//
// Statistics are two-pass in Double (mean, then Σ(x − μ)²), so a 768-wide row matches torch's
// float statistics to ~1e-7 relative whatever the row's offset; the output pass is in Float
// (vectorised), with μ carried as a hi + lo pair of Floats.

// MARK: - API

/// Layer norm over the last dimension, in place. `x: [..., D]`, `weight`/`bias`: `[D]` or nil (1/0).
public func layerNormInPlace(_ x: inout Tensor, weight: Tensor?, bias: Tensor?, eps: Float) {
    precondition(x.rank >= 1, "layerNorm: input must have a last dimension")
    let d = x.shape.last!
    if let weight { precondition(weight.count == d, "layerNorm: weight has \(weight.count) elements for rows of \(d)") }
    if let bias { precondition(bias.count == d, "layerNorm: bias has \(bias.count) elements for rows of \(d)") }
    if d == 0 || x.count == 0 { return }
    let rows = x.count / d
    let ones = weight == nil ? [Float](repeating: 1, count: d) : []
    let zeros = bias == nil ? [Float](repeating: 0, count: d) : []
    (weight?.data ?? ones).withUnsafeBufferPointer { wb in
        (bias?.data ?? zeros).withUnsafeBufferPointer { bb in
            x.data.withUnsafeMutableBufferPointer { xb in
                let base = xb.base, w = wb.base, b = bb.base
                parallelFor(rows, grain: Swift.max(1, 16384 / d)) { range in
                    for r in range { layerNormRow(base + r * d, d, w, b, Double(eps)) }
                }
            }
        }
    }
}

/// Layer norm over the last dimension. See `layerNormInPlace`.
public func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
    var y = x
    layerNormInPlace(&y, weight: weight, bias: bias, eps: eps)
    return y
}

// MARK: - Row kernel

/// Normalises one row p[0..<d] in place.
@inline(__always)
func layerNormRow(_ p: UnsafeMutablePointer<Float>, _ d: Int, _ w: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ eps: Double) {
    // Four Double accumulators: independent chains the CPU can overlap.
    var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    var i = 0
    while i + 4 <= d {
        s0 += Double(p[i]); s1 += Double(p[i + 1]); s2 += Double(p[i + 2]); s3 += Double(p[i + 3])
        i += 4
    }
    while i < d { s0 += Double(p[i]); i += 1 }
    let mean = (s0 + s1 + s2 + s3) / Double(d)
    var v0 = 0.0, v1 = 0.0, v2 = 0.0, v3 = 0.0
    i = 0
    while i + 4 <= d {
        let a = Double(p[i]) - mean, bb = Double(p[i + 1]) - mean, c = Double(p[i + 2]) - mean, e = Double(p[i + 3]) - mean
        v0 += a * a; v1 += bb * bb; v2 += c * c; v3 += e * e
        i += 4
    }
    while i < d { let a = Double(p[i]) - mean; v0 += a * a; i += 1 }
    let variance = (v0 + v1 + v2 + v3) / Double(d)
    let rstd = 1 / (variance + eps).squareRoot()
    // y = (x − μ)·rstd·w + b in Float (vectorisable). μ is split into hi + lo Floats: x − hi is
    // exact for x near μ (Sterbenz), so rows far from zero (offset 100, spread 0.5) keep the
    // precision of the Double mean instead of losing ulp(μ)/σ.
    let hi = Float(mean), lo = Float(mean - Double(hi)), r = Float(rstd)
    for j in 0..<d { p[j] = ((p[j] - hi) - lo) * r * w[j] + b[j] }
}
