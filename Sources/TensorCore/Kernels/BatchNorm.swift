// Batch normalisation in eval mode (PyTorch nn.BatchNorm2d with running statistics), and folding it
// into the convolution before it.
//
//   x [N, C, H, W] (or [N, C] / [N, C, L]: every dim after C is one plane)
//   mean, variance, weight, bias [C]
//   y[n,c,...] = (x − mean[c]) / sqrt(variance[c] + eps) · weight[c] + bias[c]
//
// As ATen's CPU kernel does, the per-channel affine is precomputed once, α = weight/sqrt(var + eps),
// β = bias − mean·α (here in Double, rounded to Float), and the pass over x is y = x·α + β.

// MARK: - Per-channel affine

/// (α, β) per channel in Double: y = x·α + β is batch norm in eval mode.
func batchNormAffine(mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?, eps: Double) -> (scale: [Double], shift: [Double]) {
    let c = mean.count
    precondition(variance.count == c && (weight?.count ?? c) == c && (bias?.count ?? c) == c,
                 "batchNorm: mean, variance, weight and bias must all have \(c) elements")
    var scale = [Double](repeating: 0, count: c), shift = [Double](repeating: 0, count: c)
    for i in 0..<c {
        let a = Double(weight?.data[i] ?? 1) / (Double(variance.data[i]) + eps).squareRoot()
        scale[i] = a
        shift[i] = Double(bias?.data[i] ?? 0) - Double(mean.data[i]) * a
    }
    return (scale, shift)
}

// MARK: - API

/// Batch norm in eval mode, in place, with an optional fused activation.
///
/// `x: [N, C, ...]`; `mean`, `variance`, `weight`, `bias`: `[C]` (weight/bias nil = 1/0, affine=False).
/// `y = (x − mean)/sqrt(variance + eps)·weight + bias`, computed as `x·α + β` with α, β from Double.
public func batchNormInPlace(_ x: inout Tensor, mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?,
                             eps: Float = 1e-5, activation: Activation = .none) {
    precondition(x.rank >= 2, "batchNorm: input must be [N, C, ...], got \(describeShape(x.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    precondition(mean.count == c, "batchNorm: \(mean.count) statistics for \(c) channels")
    let plane = x.shape.dropFirst(2).reduce(1, *)
    let (scale64, shift64) = batchNormAffine(mean: mean, variance: variance, weight: weight, bias: bias, eps: Double(eps))
    let scale = scale64.map { Float($0) }, shift = shift64.map { Float($0) }
    scale.withUnsafeBufferPointer { sp in
        shift.withUnsafeBufferPointer { bp in
            x.data.withUnsafeMutableBufferPointer { xp in
                let base = xp.base
                parallelFor(n * c, grain: Swift.max(1, 16384 / Swift.max(plane, 1))) { range in
                    for pc in range {
                        let ch = pc % c
                        let p = base + pc * plane
                        let a = sp[ch], b = bp[ch]
                        for i in 0..<plane { p[i] = p[i] * a + b }
                        if activation != .none { epilogue(p, plane, bias: 0, activation) }
                    }
                }
            }
        }
    }
}

/// Batch norm in eval mode, returning a new tensor. See `batchNormInPlace`.
public func batchNorm(_ x: Tensor, mean: Tensor, variance: Tensor, weight: Tensor?, bias: Tensor?,
                      eps: Float = 1e-5, activation: Activation = .none) -> Tensor {
    var y = x
    batchNormInPlace(&y, mean: mean, variance: variance, weight: weight, bias: bias, eps: eps, activation: activation)
    return y
}

/// Folds an eval-mode batch norm into the convolution before it (done once, at load time):
/// `bn(conv(x, W, b)) = conv(x, W', b')` with `W'[o] = W[o]·α[o]`, `b'[o] = (b[o] − mean[o])·α[o] + bias[o]`,
/// `α = weight/sqrt(variance + eps)`, all computed in Double and rounded once to Float.
///
/// - Parameters:
///   - convWeight: `[Cout, Cin/groups, kH, kW]` (or any shape whose first dimension is Cout, e.g. a
///     Linear `[out, in]`).
///   - convBias: `[Cout]`, or nil for a conv without bias.
///   - mean, variance, weight, bias: the batch norm's `[Cout]` running statistics and affine
///     parameters (weight/bias nil = 1/0).
/// - Returns: the folded weight (same shape as `convWeight`) and bias `[Cout]`.
public func foldBatchNorm(convWeight: Tensor, convBias: Tensor?, mean: Tensor, variance: Tensor,
                          weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> (weight: Tensor, bias: Tensor) {
    precondition(convWeight.rank >= 1, "foldBatchNorm: weight must have an output-channel dimension")
    let cout = convWeight.shape[0]
    precondition(mean.count == cout, "foldBatchNorm: batch norm has \(mean.count) channels, conv has \(cout) outputs")
    if let convBias { precondition(convBias.count == cout, "foldBatchNorm: conv bias has \(convBias.count) elements for \(cout) outputs") }
    let (scale, _) = batchNormAffine(mean: mean, variance: variance, weight: weight, bias: bias, eps: Double(eps))
    let per = cout == 0 ? 0 : convWeight.count / cout
    var w = convWeight
    var b = Tensor(shape: [cout], repeating: 0)
    for o in 0..<cout {
        let a = scale[o]
        for i in 0..<per { w.data[o * per + i] = Float(Double(convWeight.data[o * per + i]) * a) }
        let cb = Double(convBias?.data[o] ?? 0)
        b.data[o] = Float((cb - Double(mean.data[o])) * a + Double(bias?.data[o] ?? 0))
    }
    return (w, b)
}
