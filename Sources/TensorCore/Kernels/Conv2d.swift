// 2-D convolution (PyTorch nn.Conv2d: cross-correlation, zero padding) as im2col + sgemm.
//
//   x      [N, Cin, H, W]                         NCHW, contiguous
//   weight [Cout, Cin/G, kH, kW]                  PyTorch layout; per group a row-major [Cout/G, K] matrix
//   bias   [Cout] or nil
//   y      [N, Cout, Ho, Wo], Ho = (H + 2·pH − dH·(kH−1) − 1)/sH + 1 (floor), same for Wo
//
// With K = Cin/G·kH·kW the column matrix of one image is col[K·G, Ho·Wo], row r = (c·kH + i)·kW + j
// holding x[c, oy·sH − pH + i·dH, ox·sW − pW + j·dW] (0 outside the image) in column oy·Wo + ox.
// Then for each group g:  y[g·Cout/G ..< (g+1)·Cout/G, :] = W_g[Cout/G, K] · col[g·K ..< (g+1)·K, :].
// 1×1 stride-1 unpadded convs use x itself as the column matrix (x[n] is already [Cin, H·W]).
//
// Batches: when the output plane is small (layer3/layer4 of a ResNet, Ho·Wo < `batchedColumnLimit`)
// one sgemm over all images beats N thin ones, so the columns of all images sit side by side
// (col[K·G, N·Ho·Wo]) and the product [Cout, N·Ho·Wo] is scattered back to NCHW in the output pass.
// Larger planes run one sgemm per image, which keeps the column buffer small.
//
// The output pass adds the bias and an optional residual and applies the activation, per channel
// plane while it is in cache. 3×3 stride-1 convs of a `PreparedConv2d` go to Winograd.swift instead.

import COpenBLAS
import Foundation

// MARK: - Geometry

/// Shapes and hyper-parameters of one convolution, checked once.
struct ConvGeometry: Sendable {
    var n, cin, h, w: Int
    var cout, kh, kw: Int
    var sh, sw, ph, pw, dh, dw: Int
    var groups: Int
    var ho, wo: Int

    var cinG: Int { cin / groups }
    var coutG: Int { cout / groups }
    /// Rows of one group's column matrix (= columns of its weight matrix).
    var kG: Int { cinG * kh * kw }
    var hw: Int { h * w }
    var howo: Int { ho * wo }
    /// 1×1, stride 1, no padding: the input is its own column matrix.
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 }

    init(x: [Int], weight: [Int], stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) {
        precondition(x.count == 4, "conv2d: input must be [N, C, H, W], got \(describeShape(x))")
        precondition(weight.count == 4, "conv2d: weight must be [Cout, Cin/groups, kH, kW], got \(describeShape(weight))")
        precondition(groups >= 1 && x[1] % groups == 0 && weight[0] % groups == 0,
                     "conv2d: groups \(groups) must divide Cin \(x[1]) and Cout \(weight[0])")
        precondition(weight[1] * groups == x[1],
                     "conv2d: weight \(describeShape(weight)) with groups \(groups) expects \(weight[1] * groups) input channels, got \(x[1])")
        precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                     "conv2d: stride and dilation must be ≥ 1 and padding ≥ 0")
        n = x[0]; cin = x[1]; h = x[2]; w = x[3]
        cout = weight[0]; kh = weight[2]; kw = weight[3]
        (sh, sw) = stride; (ph, pw) = padding; (dh, dw) = dilation
        self.groups = groups
        let spanH = h + 2 * ph - dh * (kh - 1) - 1
        let spanW = w + 2 * pw - dw * (kw - 1) - 1
        precondition(spanH >= 0 && spanW >= 0,
                     "conv2d: kernel \(kh)x\(kw) (dilation \(dh),\(dw)) is larger than the padded input \(h + 2 * ph)x\(w + 2 * pw)")
        ho = spanH / sh + 1
        wo = spanW / sw + 1
    }
}

/// Output planes smaller than this (in elements) are computed with one sgemm over the whole batch.
/// Measured on resnet50 shapes at batch 8 (one thread, thread CPU time): batched wins at 7×7
/// (23.1 vs 26.5 ms for 3×3 512→512), is even at 14×14 1×1 (8.9 vs 8.5 ms) and loses at 28×28 and
/// 56×56 (the scatter pass costs more than the thin sgemms). 14×14 stays batched: with two threads
/// per-image sgemms of 196 columns split worse.
nonisolated(unsafe) var batchedColumnLimit = 256

// MARK: - API

/// 2-D convolution, PyTorch `nn.Conv2d` semantics (cross-correlation, zero padding), with an
/// optional fused activation.
///
/// `x: [N, Cin, H, W]`, `weight: [Cout, Cin/groups, kH, kW]`, `bias: [Cout]` → `[N, Cout, Ho, Wo]`,
/// `Ho = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1`.
/// - Parameters:
///   - stride, padding, dilation: the same value for height and width (see the tuple overload).
///   - groups: input and output channels split into this many independent groups.
///   - activation: applied to `conv + bias (+ residual)` before the result is stored.
///   - residual: `[N, Cout, Ho, Wo]` added before the activation (a ResNet block's last conv with
///     `activation: .relu` computes `relu(bn3(conv3(x)) + identity)` in one pass).
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                   dilation: Int = 1, groups: Int = 1, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
    conv2d(x, weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
           dilation: (dilation, dilation), groups: groups, activation: activation, residual: residual)
}

/// 2-D convolution with separate (height, width) stride, padding and dilation. See the Int overload.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int),
                   dilation: (Int, Int), groups: Int, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
    let g = ConvGeometry(x: x.shape, weight: weight.shape, stride: stride, padding: padding, dilation: dilation, groups: groups)
    return conv2d(x, weight: weight, bias: bias, geometry: g, winograd: nil, activation: activation, residual: residual)
}

/// Shared by `conv2d` and `PreparedConv2d`: checks, then runs the Winograd or the im2col path.
func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry, winograd: WinogradWeights?,
            activation: Activation, residual: Tensor?) -> Tensor {
    let ctx = ComputeContext.current
    precondition(x.count == Tensor.count(of: x.shape) && weight.count == Tensor.count(of: weight.shape), "conv2d: tensor data does not match its shape")
    if let bias { precondition(bias.count == g.cout, "conv2d: bias has \(bias.count) elements for \(g.cout) output channels") }
    let outShape = [g.n, g.cout, g.ho, g.wo]
    if let residual {
        precondition(residual.shape == outShape, "conv2d: residual \(describeShape(residual.shape)) does not match the output \(describeShape(outShape))")
    }
    return Tensor(shape: outShape) { out in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                withOptionalBuffer(bias) { bp in
                    withOptionalBuffer(residual) { rp in
                        if let winograd {
                            winogradConv3x3(xp.base, n: g.n, h: g.h, w: g.w, ph: g.ph, pw: g.pw, winograd, bp, rp, out.base, activation)
                        } else if convBackend == .packed {
                            packedConv2d(xp.base, wp.base, bp, rp, out.base, g, activation, ctx)
                        } else {
                            conv2dForward(xp.base, wp.base, bp, rp, out.base, g, activation)
                        }
                    }
                }
            }
        }
    }
}

/// `body(pointer to t's elements)`, or `body(nil)` when `t` is nil.
@inline(__always)
func withOptionalBuffer<R>(_ t: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let t else { return body(nil) }
    return t.data.withUnsafeBufferPointer { body($0.base) }
}

// MARK: - Driver

/// Which im2col path convolutions take: the packed C GEMM (PackedGemm.swift) or OpenBLAS (below, kept for
/// benchmarks that compare the two: VFW_CONV_BACKEND=openblas selects it for a whole run).
enum ConvBackend { case packed, openBLAS }
nonisolated(unsafe) var convBackend: ConvBackend =
    ProcessInfo.processInfo.environment["VFW_CONV_BACKEND"] == "openblas" ? .openBLAS : .packed

/// y = act(conv(x, w) + b + residual) for geometry `g`. Pointers as in the file header (residual
/// shaped like y, or nil); y is fully written.
func conv2dForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                   _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry, _ act: Activation) {
    if g.n == 0 || g.cout == 0 || g.howo == 0 { return }
    let rows = g.kG * g.groups  // = Cin·kH·kW
    if g.n > 1 && g.howo < batchedColumnLimit {
        // col[rows, N·HoWo] and prod[Cout, N·HoWo], then scatter to y[N, Cout, HoWo].
        let ld = g.n * g.howo
        ScratchPool.shared.with(rows * ld + g.cout * ld) { scratch in
            let col = scratch, prod = scratch + rows * ld
            for img in 0..<g.n {
                let xi = x + img * g.cin * g.hw
                if g.isPointwise {
                    copyRows(xi, count: g.cin, width: g.hw, to: col + img * g.howo, ld: ld)
                } else {
                    im2col(xi, g, col + img * g.howo, ld: ld)
                }
            }
            for grp in 0..<g.groups {
                sgemm(m: g.coutG, n: ld, k: g.kG, a: w + grp * g.coutG * g.kG, lda: g.kG,
                      b: col + grp * g.kG * ld, ldb: ld, c: prod + grp * g.coutG * ld, ldc: ld)
            }
            // Scatter + bias + activation, parallel over (image, channel) planes.
            parallelFor(g.n * g.cout, grain: Swift.max(1, 8192 / g.howo)) { range in
                for plane in range {
                    let img = plane / g.cout, o = plane % g.cout
                    let dst = y + plane * g.howo
                    dst.update(from: prod + o * ld + img * g.howo, count: g.howo)
                    epilogue(dst, g.howo, bias: bias?[o] ?? 0, residual: residual.map { $0 + plane * g.howo }, act)
                }
            }
        }
        return
    }
    // One image at a time.
    let colCount = g.isPointwise ? 0 : rows * g.howo
    ScratchPool.shared.with(colCount) { col in
        for img in 0..<g.n {
            let xi = x + img * g.cin * g.hw
            let yi = y + img * g.cout * g.howo
            let b: UnsafePointer<Float>
            if g.isPointwise {
                b = xi
            } else {
                im2col(xi, g, col, ld: g.howo)
                b = UnsafePointer(col)
            }
            for grp in 0..<g.groups {
                sgemm(m: g.coutG, n: g.howo, k: g.kG, a: w + grp * g.coutG * g.kG, lda: g.kG,
                      b: b + grp * g.kG * g.howo, ldb: g.howo, c: yi + grp * g.coutG * g.howo, ldc: g.howo)
            }
            if bias != nil || act != .none || residual != nil {
                let ri = residual.map { $0 + img * g.cout * g.howo }
                parallelFor(g.cout, grain: Swift.max(1, 16384 / g.howo)) { range in
                    for o in range {
                        epilogue(yi + o * g.howo, g.howo, bias: bias?[o] ?? 0, residual: ri.map { $0 + o * g.howo }, act)
                    }
                }
            }
        }
    }
}

// MARK: - im2col

/// col[r, ox + oy·Wo] (row stride `ld`) for every row r = (c·kH + i)·kW + j of one image x[Cin, H, W].
/// Out-of-image taps are 0. Parallel over rows (the stem has only 3 channels but 147 rows).
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>, ld: Int) {
    let kk = g.kh * g.kw
    parallelFor(g.cin * kk, grain: Swift.max(1, 32768 / Swift.max(1, g.howo))) { rows in
        for r in rows {
            let c = r / kk, i = (r % kk) / g.kw, j = r % g.kw
            let plane = x + c * g.hw
            let dst = col + r * ld
            // Input column of output column ox is ix = ox·sW + xoff; valid for ox in oxLo..<oxHi.
            let xoff = j * g.dw - g.pw
            let oxLo = xoff >= 0 ? 0 : Swift.min(g.wo, (-xoff + g.sw - 1) / g.sw)
            let last = g.w - 1 - xoff  // largest ox·sW that stays inside
            let oxHi = Swift.max(oxLo, last < 0 ? 0 : Swift.min(g.wo, last / g.sw + 1))
            for oy in 0..<g.ho {
                let d = dst + oy * g.wo
                let iy = oy * g.sh - g.ph + i * g.dh
                if iy < 0 || iy >= g.h {
                    d.update(repeating: 0, count: g.wo)
                    continue
                }
                if oxLo > 0 { d.update(repeating: 0, count: oxLo) }
                let row = plane + iy * g.w  // output ox reads row[ox·sW + xoff], ox in oxLo..<oxHi
                switch g.sw {
                case 1:
                    (d + oxLo).update(from: row + (oxLo + xoff), count: oxHi - oxLo)
                case 2:
                    // Every other element: 8 outputs from 16 consecutive inputs per step, while the
                    // 16th input (2·ox + 15 + xoff) is still inside the row.
                    var ox = oxLo
                    while ox + 8 <= oxHi && 2 * ox + 15 + xoff < g.w {
                        let v = UnsafeRawPointer(row + (2 * ox + xoff)).loadUnaligned(as: SIMD16<Float>.self)
                        store8(v.evenHalf, d + ox)
                        ox += 8
                    }
                    while ox < oxHi { d[ox] = row[2 * ox + xoff]; ox += 1 }
                default:
                    for ox in oxLo..<oxHi { d[ox] = row[ox * g.sw + xoff] }
                }
                if oxHi < g.wo { (d + oxHi).update(repeating: 0, count: g.wo - oxHi) }
            }
        }
    }
}

/// dst[r·ld ..< r·ld + width] = src[r·width ..< (r+1)·width] for r in 0..<count (parallel over rows).
func copyRows(_ src: UnsafePointer<Float>, count: Int, width: Int, to dst: UnsafeMutablePointer<Float>, ld: Int) {
    parallelFor(count, grain: Swift.max(1, 32768 / Swift.max(1, width))) { rows in
        for r in rows { (dst + r * ld).update(from: src + r * width, count: width) }
    }
}
