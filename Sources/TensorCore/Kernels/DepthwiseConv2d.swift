// Depthwise 2-D convolution (nn.Conv2d with groups = in_channels = out_channels): a direct loop, no im2col.
//
//   x      [N, C, H, W]        NCHW, contiguous
//   weight [C, 1, kH, kW]      PyTorch layout: one kH x kW filter per channel
//   bias   [C] or nil
//   y      [N, C, Ho, Wo]      Ho = (H + pTop + pBottom − kH)/sH + 1 (floor), Wo likewise; zero padding
//
// y[n, c, oy, ox] = bias[c] + Σ_{i, j} w[c, i, j] · x[n, c, oy·sH − pTop + i, ox·sW − pLeft + j]
// (out-of-image taps contribute 0). Padding may be asymmetric (TensorFlow "SAME": more at the bottom/right).
//
// One (image, channel) plane per work item. For each output row and each filter tap (i, j) the contribution is
// added to the whole row at once (`row[ox] += w · x[...]`), over the range of ox whose input column is inside
// the image, so the inner loop has no branches and the compiler vectorises it (stride 1) at any ISA the
// build targets. Sums are accumulated in the order i, then j, per output element. The output pass applies the
// epilogue (bias, activation) per plane while it is in cache.

// MARK: - API

/// Depthwise convolution: `x: [N, C, H, W]`, `weight: [C, 1, kH, kW]`, `bias: [C]` → `[N, C, Ho, Wo]`.
/// - Parameters:
///   - stride: (height, width).
///   - padding: (top, bottom, left, right) zeros.
///   - activation: applied to conv + bias before the result is stored.
public func depthwiseConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int),
                            padding: (top: Int, bottom: Int, left: Int, right: Int), activation: Activation = .none) -> Tensor {
    precondition(x.rank == 4, "depthwiseConv2d: input must be [N, C, H, W], got \(describeShape(x.shape))")
    precondition(weight.rank == 4 && weight.shape[0] == x.shape[1] && weight.shape[1] == 1,
                 "depthwiseConv2d: weight \(describeShape(weight.shape)) must be [\(x.shape[1]), 1, kH, kW]")
    if let bias { precondition(bias.count == x.shape[1], "depthwiseConv2d: bias has \(bias.count) elements for \(x.shape[1]) channels") }
    precondition(stride.0 >= 1 && stride.1 >= 1 && padding.top >= 0 && padding.bottom >= 0 && padding.left >= 0 && padding.right >= 0,
                 "depthwiseConv2d: stride must be ≥ 1 and padding ≥ 0")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw) = (weight.shape[2], weight.shape[3])
    let spanH = h + padding.top + padding.bottom - kh, spanW = w + padding.left + padding.right - kw
    precondition(spanH >= 0 && spanW >= 0, "depthwiseConv2d: kernel \(kh)x\(kw) is larger than the padded input")
    let ho = spanH / stride.0 + 1, wo = spanW / stride.1 + 1
    let (sh, sw, pt, pl) = (stride.0, stride.1, padding.top, padding.left)
    return Tensor(shape: [n, c, ho, wo]) { out in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                withOptionalBuffer(bias) { bp in
                    let src = xp.base, filt = wp.base, dst = out.base
                    parallelFor(n * c, grain: Swift.max(1, 4096 / Swift.max(1, ho * wo))) { planes in
                        for plane in planes {
                            let ch = plane % c
                            let xin = src + plane * h * w, y = dst + plane * ho * wo, f = filt + ch * kh * kw
                            y.update(repeating: 0, count: ho * wo)
                            for oy in 0..<ho {
                                let yrow = y + oy * wo
                                for i in 0..<kh {
                                    let iy = oy * sh - pt + i
                                    if iy < 0 || iy >= h { continue }
                                    let xrow = xin + iy * w
                                    for j in 0..<kw {
                                        // ix = ox·sW − pLeft + j must lie in 0..<W.
                                        let off = j - pl
                                        let lo = off >= 0 ? 0 : (-off + sw - 1) / sw
                                        let last = w - 1 - off
                                        let hi = last < 0 ? 0 : Swift.min(wo, last / sw + 1)
                                        if lo >= hi { continue }
                                        let wt = f[i * kw + j]
                                        if sw == 1 {
                                            let xs = xrow + off
                                            for ox in lo..<hi { yrow[ox] += wt * xs[ox] }
                                        } else {
                                            for ox in lo..<hi { yrow[ox] += wt * xrow[ox * sw + off] }
                                        }
                                    }
                                }
                            }
                            epilogue(y, ho * wo, bias: bp?[ch] ?? 0, activation)
                        }
                    }
                }
            }
        }
    }
}

// MARK: - Layer norm over channels

/// Layer norm over the channel dimension of an NCHW tensor (timm/torchvision `LayerNorm2d`, transformers ConvNext's
/// `data_format="channels_first"` LayerNorm): for each image and pixel, the C values x[n, :, h, w] are normalised
/// with their mean and biased variance, then scaled by `weight[c]` and shifted by `bias[c]`.
///
/// `x: [N, C, H, W]`, `weight`, `bias`: `[C]` → `[N, C, H, W]`. Statistics in Double (two passes), as `layerNorm`.
public func layerNormChannels(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    precondition(x.rank == 4, "layerNormChannels: input must be [N, C, H, W], got \(describeShape(x.shape))")
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    precondition(weight.count == c && bias.count == c, "layerNormChannels: weight and bias need \(c) elements")
    if x.count == 0 { return x }
    return Tensor(shape: x.shape) { out in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                bias.data.withUnsafeBufferPointer { bp in
                    let src = xp.base, dst = out.base, g = wp.base, b = bp.base
                    // Work item: one image and a block of 64 pixels (its C values sit hw apart).
                    let block = 64
                    let blocks = (hw + block - 1) / block
                    parallelFor(n * blocks, grain: Swift.max(1, 2048 / Swift.max(1, c))) { items in
                        var mean = [Double](repeating: 0, count: block), m2 = [Double](repeating: 0, count: block)
                        for item in items {
                            let img = item / blocks, p0 = (item % blocks) * block, len = Swift.min(block, hw - p0)
                            let xi = src + img * c * hw + p0, yi = dst + img * c * hw + p0
                            for p in 0..<len { mean[p] = 0; m2[p] = 0 }
                            for ch in 0..<c { let row = xi + ch * hw; for p in 0..<len { mean[p] += Double(row[p]) } }
                            for p in 0..<len { mean[p] /= Double(c) }
                            for ch in 0..<c {
                                let row = xi + ch * hw
                                for p in 0..<len { let d = Double(row[p]) - mean[p]; m2[p] += d * d }
                            }
                            for p in 0..<len { m2[p] = 1 / (m2[p] / Double(c) + Double(eps)).squareRoot() }
                            for ch in 0..<c {
                                let row = xi + ch * hw, yrow = yi + ch * hw, gc = Double(g[ch]), bc = Double(b[ch])
                                for p in 0..<len { yrow[p] = Float((Double(row[p]) - mean[p]) * m2[p] * gc + bc) }
                            }
                        }
                    }
                }
            }
        }
    }
}
