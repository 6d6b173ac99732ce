// Global response normalisation (ConvNeXt V2, Woo et al. 2023), on NCHW.
//
//   x [N, C, H, W], weight [C], bias [C] → y [N, C, H, W]
//   g[n, c] = sqrt(Σ_hw x[n, c]²)              (L2 norm of each plane)
//   r[n, c] = g[n, c] / (mean_c g[n, :] + eps)   (eps 1e-6)
//   y = x + bias[c] + weight[c] · x · r[n, c]
//
// timm's GlobalResponseNorm (timm/layers/grn.py) and transformers' ConvNextV2GRN compute this (channels-last there:
// the same reductions over other axes). Plane norms in Double.

/// Global response normalisation in place (file header for the formula and shapes).
public func globalResponseNormInPlace(_ x: inout Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-6) {
    precondition(x.rank == 4, "globalResponseNorm: input must be [N, C, H, W], got \(describeShape(x.shape))")
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    precondition(weight.count == c && bias.count == c, "globalResponseNorm: weight and bias need \(c) elements")
    if x.count == 0 { return }
    var norms = [Double](repeating: 0, count: n * c)
    x.data.withUnsafeBufferPointer { xp in
        norms.withUnsafeMutableBufferPointer { np in
            let src = xp.base, dst = np.baseAddress!
            parallelFor(n * c, grain: Swift.max(1, 16384 / Swift.max(1, hw))) { planes in
                for pl in planes {
                    let p = src + pl * hw
                    var s = 0.0
                    for i in 0..<hw { let v = Double(p[i]); s += v * v }
                    dst[pl] = s.squareRoot()
                }
            }
        }
    }
    var factor = [Float](repeating: 0, count: n * c)
    for img in 0..<n {
        var mean = 0.0
        for ch in 0..<c { mean += norms[img * c + ch] }
        mean /= Double(c)
        for ch in 0..<c { factor[img * c + ch] = Float(norms[img * c + ch] / (mean + Double(eps))) }
    }
    factor.withUnsafeBufferPointer { fp in
        weight.data.withUnsafeBufferPointer { wp in
            bias.data.withUnsafeBufferPointer { bp in
                x.data.withUnsafeMutableBufferPointer { xp in
                    let f = fp.base, w = wp.base, b = bp.base, p = xp.base
                    parallelFor(n * c, grain: Swift.max(1, 16384 / Swift.max(1, hw))) { planes in
                        for pl in planes {
                            let ch = pl % c, q = p + pl * hw
                            let scale = w[ch] * f[pl], shift = b[ch]
                            for i in 0..<hw { q[i] = q[i] + shift + scale * q[i] }
                        }
                    }
                }
            }
        }
    }
}
