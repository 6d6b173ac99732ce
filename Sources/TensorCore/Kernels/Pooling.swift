// Pooling over the spatial dims of NCHW tensors: max pool, adaptive and global average pool.
//
//   x [N, C, H, W] → y [N, C, Ho, Wo]; every (n, c) plane is independent (parallel over planes).

// MARK: - Max pool

/// Max pool, PyTorch `nn.MaxPool2d(kernel, stride, padding)` with dilation 1 and ceil_mode false.
///
/// `x: [N, C, H, W]` → `[N, C, Ho, Wo]`, `Ho = ⌊(H + 2·padding − kernel)/stride⌋ + 1`. Padding is −∞
/// (padded taps never win); a NaN in a window makes that output NaN, as in PyTorch.
/// - Parameters:
///   - stride: defaults to `kernel`, as in PyTorch.
///   - padding: at most `kernel / 2` (PyTorch's rule), so every window holds at least one real tap.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
    let s = stride ?? kernel
    precondition(x.rank == 4, "maxPool2d: input must be [N, C, H, W], got \(describeShape(x.shape))")
    precondition(kernel >= 1 && s >= 1 && padding >= 0 && padding <= kernel / 2,
                 "maxPool2d: need kernel ≥ 1, stride ≥ 1, 0 ≤ padding ≤ kernel/2 (got \(kernel), \(s), \(padding))")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(h + 2 * padding >= kernel && w + 2 * padding >= kernel, "maxPool2d: kernel \(kernel) larger than padded input \(h)x\(w)")
    let ho = (h + 2 * padding - kernel) / s + 1, wo = (w + 2 * padding - kernel) / s + 1
    // Row buffer: −∞ | window-row max of W columns | −∞, wide enough for 16-float loads at the end.
    let bufWidth = w + 2 * padding + kernel + 16
    return Tensor(shape: [n, c, ho, wo]) { out in
        x.data.withUnsafeBufferPointer { xp in
            let src = xp.base, dst = out.base
            parallelFor(n * c, grain: Swift.max(1, 16384 / Swift.max(1, h * w))) { planes in
                // Separable: for each output row, the max over its window rows (8 columns at a time)
                // into the padded row buffer, then the max over each strided window of that row.
                ScratchPool.shared.with(bufWidth) { buf in
                    buf.update(repeating: -.infinity, count: bufWidth)
                    let rowMax = buf + padding
                    for pl in planes {
                        let xin = src + pl * h * w, y = dst + pl * ho * wo
                        for oy in 0..<ho {
                            let y0 = Swift.max(oy * s - padding, 0), y1 = Swift.min(oy * s - padding + kernel, h)
                            rowMax.update(from: xin + y0 * w, count: w)
                            for iy in (y0 + 1)..<Swift.max(y0 + 1, y1) {
                                let row = xin + iy * w
                                var ix = 0
                                while ix + 8 <= w { store8(nanMax8(load8(rowMax + ix), load8(row + ix)), rowMax + ix); ix += 8 }
                                while ix < w { rowMax[ix] = nanMax(rowMax[ix], row[ix]); ix += 1 }
                            }
                            // Output ox covers buf[ox·s ..< ox·s + kernel] (buf index = input column + padding).
                            let yrow = y + oy * wo
                            var ox = 0
                            if s == 2 {
                                while ox + 8 <= wo {
                                    var m = Vec8(repeating: -.infinity)
                                    for k in 0..<kernel {
                                        m = nanMax8(m, UnsafeRawPointer(buf + 2 * ox + k).loadUnaligned(as: SIMD16<Float>.self).evenHalf)
                                    }
                                    store8(m, yrow + ox)
                                    ox += 8
                                }
                            } else if s == 1 {
                                while ox + 8 <= wo {
                                    var m = Vec8(repeating: -.infinity)
                                    for k in 0..<kernel { m = nanMax8(m, load8(buf + ox + k)) }
                                    store8(m, yrow + ox)
                                    ox += 8
                                }
                            }
                            while ox < wo {
                                var m = -Float.infinity
                                for k in 0..<kernel { m = nanMax(m, buf[ox * s + k]) }
                                yrow[ox] = m
                                ox += 1
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Lane-wise `nanMax`.
@inline(__always) func nanMax8(_ m: Vec8, _ v: Vec8) -> Vec8 {
    m.replacing(with: v, where: (v .> m) .| (v .!= v))
}

/// max(m, v) where a NaN on either side wins (PyTorch: `if (val > max || isnan(val)) max = val`,
/// and a NaN max then stays, since nothing compares greater than it).
@inline(__always) func nanMax(_ m: Float, _ v: Float) -> Float {
    (v > m || v.isNaN) ? v : m
}

// MARK: - Average pools

/// Adaptive average pool, PyTorch `nn.AdaptiveAvgPool2d((outputHeight, outputWidth))`.
///
/// `x: [N, C, H, W]` → `[N, C, outputHeight, outputWidth]`. Output cell (i, j) averages rows
/// `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉` and the same for columns (windows may overlap); sums in Double.
public func adaptiveAvgPool2d(_ x: Tensor, outputHeight ho: Int, outputWidth wo: Int) -> Tensor {
    precondition(x.rank == 4, "adaptiveAvgPool2d: input must be [N, C, H, W], got \(describeShape(x.shape))")
    precondition(ho >= 1 && wo >= 1, "adaptiveAvgPool2d: output size must be ≥ 1")
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    precondition(h >= 1 && w >= 1, "adaptiveAvgPool2d: empty input plane")
    return Tensor(shape: [n, c, ho, wo]) { out in
        x.data.withUnsafeBufferPointer { xp in
            let src = xp.base, dst = out.base
            parallelFor(n * c, grain: Swift.max(1, 16384 / (h * w))) { planes in
                for pl in planes {
                    let xin = src + pl * h * w, y = dst + pl * ho * wo
                    for i in 0..<ho {
                        let y0 = (i * h) / ho, y1 = ((i + 1) * h + ho - 1) / ho
                        for j in 0..<wo {
                            let x0 = (j * w) / wo, x1 = ((j + 1) * w + wo - 1) / wo
                            var sum = 0.0
                            for iy in y0..<y1 { let row = xin + iy * w; for ix in x0..<x1 { sum += Double(row[ix]) } }
                            y[i * wo + j] = Float(sum / Double((y1 - y0) * (x1 - x0)))
                        }
                    }
                }
            }
        }
    }
}

/// Global average pool, `nn.AdaptiveAvgPool2d((1, 1))`: `[N, C, H, W]` → `[N, C, 1, 1]`, the mean of
/// each plane (summed in Double).
public func globalAvgPool2d(_ x: Tensor) -> Tensor {
    adaptiveAvgPool2d(x, outputHeight: 1, outputWidth: 1)
}
