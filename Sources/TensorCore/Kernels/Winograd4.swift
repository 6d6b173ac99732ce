// 3×3 stride-1 convolution by Winograd's F(4×4, 3×3) (Lavin & Gray 2015, interpolation points 0, ±1, ±2, ∞).
//
//   x [N, Cin, H, W] NCHW, weight [Cout, Cin, 3, 3], bias [Cout], padding (pH, pW), stride 1, dilation 1,
//   groups 1  →  y [N, Cout, Ho, Wo], Ho = H + 2·pH − 2, Wo = W + 2·pW − 2.
//
// Output tiles are 4×4; tile (ty, tx) reads the 6×6 input patch at (4·ty − pH, 4·tx − pW) (zero outside). With
//   Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1]
//   G  = [1/4 0 0; −1/6 −1/6 −1/6; −1/6 1/6 −1/6; 1/24 1/12 1/6; 1/24 −1/12 1/6; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]
//   U[ξ][o][c] = (G·w[o,c]·Gᵀ)[ξ]   (once, on first use, in Double, rounded once; 36 planes)
//   V[ξ][c][t] = (Bᵀ·d[c,t]·B)[ξ]   (input transform, written straight into packed GEMM B panels)
//   M[ξ] = U[ξ]·V[ξ]                (36 packed GEMMs [Cout, Cin]·[Cin, T])
//   y[o, tile t] = Aᵀ·M[·][o][t]·A + bias (+ residual), activation
// 36 products per 16 outputs replace 144 (direct) or 64 (F(2×2, 3×3)): 4× and 1.78× fewer multiplies. The price is
// rounding: the transforms multiply by up to 8 and divide by 24, so the result is further from the exact convolution
// than F(2×2)'s (README "Parity" gives both against a float64 PyTorch run of a trained-like ResNet-50).
//
// Threads claim chunks of whole tile rows; per chunk: input transform → 36 GEMMs → output transform in the
// thread's own scratch. Tiles are transformed 8 at a time (SIMD8 over tx); tile rows are padded to 8 tiles.

import CKernels
import Foundation

// MARK: - Weights

/// U[36][Cout][Cin] of F(4×4, 3×3), row-major per ξ, made on first use (as WinogradWeights).
final class Winograd4Weights: @unchecked Sendable {
    let cout: Int, cin: Int
    private let source: Tensor
    private let lock = NSLock()
    private var storage: UnsafeMutablePointer<Float>?

    init(_ w: Tensor) {
        precondition(w.rank == 4 && w.shape[2] == 3 && w.shape[3] == 3, "Winograd weights need [Cout, Cin, 3, 3]")
        cout = w.shape[0]; cin = w.shape[1]
        source = w
    }

    deinit { storage?.deallocate() }

    var u: UnsafePointer<Float> {
        lock.lock(); defer { lock.unlock() }
        if let storage { return UnsafePointer(storage) }
        let values = Self.transform(source)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, values.count))
        p.initialize(from: values, count: values.count)
        storage = p
        return UnsafePointer(p)
    }

    /// U = G·w·Gᵀ per (o, c), in Double, rounded once: [36][Cout][Cin].
    static func transform(_ w: Tensor) -> [Float] {
        let (cout, cin) = (w.shape[0], w.shape[1])
        let plane = cout * cin
        let gm: [[Double]] = [[0.25, 0, 0], [-1.0 / 6, -1.0 / 6, -1.0 / 6], [-1.0 / 6, 1.0 / 6, -1.0 / 6],
                              [1.0 / 24, 1.0 / 12, 1.0 / 6], [1.0 / 24, -1.0 / 12, 1.0 / 6], [0, 0, 1]]
        var u = [Float](repeating: 0, count: 36 * plane)
        w.data.withUnsafeBufferPointer { wp in
            for oc in 0..<plane {
                let g = wp.base + oc * 9
                // t = G·g (6×3), then U = t·Gᵀ (6×6).
                var t = [Double](repeating: 0, count: 18)
                for i in 0..<6 { for j in 0..<3 { t[i * 3 + j] = (0..<3).reduce(0.0) { $0 + gm[i][$1] * Double(g[$1 * 3 + j]) } } }
                for i in 0..<6 {
                    for j in 0..<6 {
                        let v = (0..<3).reduce(0.0) { $0 + t[i * 3 + $1] * gm[j][$1] }
                        u[(i * 6 + j) * plane + oc] = Float(v)
                    }
                }
            }
        }
        return u
    }
}

// MARK: - Driver

/// y = act(conv3x3(x) + bias + residual) by F(4×4, 3×3). Shapes as in the file header.
func winograd4Conv3x3(_ x: UnsafePointer<Float>, n: Int, h: Int, w: Int, ph: Int, pw: Int,
                      _ weights: Winograd4Weights, _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                      _ y: UnsafeMutablePointer<Float>, _ act: Activation) {
    let cin = weights.cin, cout = weights.cout
    let ho = h + 2 * ph - 2, wo = w + 2 * pw - 2
    if n == 0 || cout == 0 || ho <= 0 || wo <= 0 { return }
    let ctx = ComputeContext.current
    let isa = ctx.isa
    let nr = Int(vfw_gemm_nr(isa.cValue))
    let u = weights.u
    let tilesH = (ho + 3) / 4, tilesW = (wo + 3) / 4
    let tilesWp = (tilesW + 7) & ~7
    let tileRows = n * tilesH
    let threads = Swift.max(1, Swift.min(ctx.threads, tileRows))
    var rowsPerChunk = Swift.max(1, winograd4ChunkTiles / tilesW)
    rowsPerChunk = Swift.min(rowsPerChunk, Swift.max(1, tileRows / (2 * threads)))
    let chunks = (tileRows + rowsPerChunk - 1) / rowsPerChunk
    let chunkTiles = rowsPerChunk * tilesW
    let chunkTilesPadded = (chunkTiles + nr - 1) / nr * nr
    let bufWidth = 4 * tilesWp + 8
    let g = WinogradGeometry(n: n, cin: cin, cout: cout, h: h, w: w, ph: ph, pw: pw, ho: ho, wo: wo,
                             tilesH: tilesH, tilesWp: tilesWp, bufWidth: bufWidth)
    let tuning = gemmTuning
    parallelItems(chunks, threads: threads) { chunk in
        ScratchPool.shared.with(36 * cin * chunkTilesPadded + 36 * cout * chunkTiles + 6 * bufWidth) { scratch in
            let v = scratch, m = scratch + 36 * cin * chunkTilesPadded, rowBuf = m + 36 * cout * chunkTiles
            let row0 = chunk * rowsPerChunk, rows = Swift.min(rowsPerChunk, tileRows - row0)
            let t = rows * tilesW  // tiles of this chunk, densely numbered r·tilesW + tx (no padding in the GEMMs)
            let tp = (t + nr - 1) / nr * nr
            for c in 0..<cin {
                for r in 0..<rows {
                    input4TransformRow(x, g, tileRow: row0 + r, channel: c, rowBuf, v, firstTile: r * tilesW, tilesW: tilesW,
                                       nr: nr, planeStride: cin * tp)
                }
            }
            for xi in 0..<36 {
                vfw_gemm_rows(isa.cValue, Int32(cout), Int32(t), Int32(cin), u + xi * cout * cin, cin, v + xi * cin * tp,
                              m + xi * cout * t, t, nil, tuning)
            }
            for o in 0..<cout {
                for r in 0..<rows {
                    output4TransformRow(m + o * t + r * tilesW, planeStride: cout * t, g, tileRow: row0 + r, channel: o,
                                        bias: bias?[o] ?? 0, residual, y, act)
                }
            }
        }
    }
}

/// Tiles per chunk a thread transforms and multiplies at once.
nonisolated(unsafe) var winograd4ChunkTiles = 256

// MARK: - Transforms

/// (Bᵀ·d) along one axis: six values in, six out (rows of Bᵀ in the file header).
@inline(__always)
func bt6(_ d0: Vec8, _ d1: Vec8, _ d2: Vec8, _ d3: Vec8, _ d4: Vec8, _ d5: Vec8) -> (Vec8, Vec8, Vec8, Vec8, Vec8, Vec8) {
    let t0 = d4 - d2, t1 = d3 - d1  // shared terms
    return (4 * d0 - 5 * d2 + d4,
            (d3 + d4) - 4 * (d1 + d2),
            (d4 - d3) + 4 * (d1 - d2),
            t0 + 2 * t1,
            t0 - 2 * t1,
            4 * d1 - 5 * d3 + d5)
}

/// V for one tile row and input channel: 36 planes `planeStride` apart, packed B panels of `nr` tiles; this row's
/// tiles are numbers firstTile ..< firstTile + tilesW of the chunk.
@inline(__always)
func input4TransformRow(_ x: UnsafePointer<Float>, _ g: WinogradGeometry, tileRow: Int, channel c: Int,
                        _ rowBuf: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, firstTile: Int, tilesW: Int,
                        nr: Int, planeStride ps: Int) {
    let img = tileRow / g.tilesH, ty = tileRow % g.tilesH
    let plane = x + (img * g.cin + c) * g.h * g.w
    // Six zero-padded input rows: rowBuf[r][k] = x[4·ty − pH + r][k − pW].
    for r in 0..<6 {
        let dst = rowBuf + r * g.bufWidth
        let iy = 4 * ty - g.ph + r
        if iy < 0 || iy >= g.h {
            dst.update(repeating: 0, count: g.bufWidth)
        } else {
            if g.pw > 0 { dst.update(repeating: 0, count: g.pw) }
            let n = Swift.min(g.w, g.bufWidth - g.pw)
            (dst + g.pw).update(from: plane + iy * g.w, count: n)
            if g.pw + n < g.bufWidth { (dst + g.pw + n).update(repeating: 0, count: g.bufWidth - g.pw - n) }
        }
    }
    var tx = 0
    while tx < tilesW {
        // e[r][j] = (d·B)[r][j] for 8 tiles: d[r][k] of tile tx + l is rowBuf[r][4·(tx + l) + k].
        @inline(__always) func rowT(_ r: Int) -> (Vec8, Vec8, Vec8, Vec8, Vec8, Vec8) {
            let p = rowBuf + r * g.bufWidth + 4 * tx
            @inline(__always) func col(_ k: Int) -> Vec8 {
                Vec8(p[k], p[4 + k], p[8 + k], p[12 + k], p[16 + k], p[20 + k], p[24 + k], p[28 + k])
            }
            return bt6(col(0), col(1), col(2), col(3), col(4), col(5))
        }
        let e0 = rowT(0), e1 = rowT(1), e2 = rowT(2), e3 = rowT(3), e4 = rowT(4), e5 = rowT(5)
        // Tiles q ..< q + lanes of the chunk; when they all sit in one packed panel, 8-wide stores, else lane by lane.
        let q = firstTile + tx
        let lanes = Swift.min(8, tilesW - tx)
        let whole = lanes == 8 && q % nr + 8 <= nr
        let out = v + (q / nr) * nr * g.cin + c * nr + q % nr
        @inline(__always) func put(_ value: Vec8, _ plane: Int) {
            if whole { store8(value, out + plane * ps); return }
            for l in 0..<lanes {
                let ql = q + l
                v[plane * ps + (ql / nr) * nr * g.cin + c * nr + ql % nr] = value[l]
            }
        }
        @inline(__always) func column(_ j: Int, _ a: Vec8, _ b: Vec8, _ cc: Vec8, _ d: Vec8, _ e: Vec8, _ f: Vec8) {
            let r = bt6(a, b, cc, d, e, f)
            put(r.0, 0 * 6 + j); put(r.1, 1 * 6 + j); put(r.2, 2 * 6 + j)
            put(r.3, 3 * 6 + j); put(r.4, 4 * 6 + j); put(r.5, 5 * 6 + j)
        }
        column(0, e0.0, e1.0, e2.0, e3.0, e4.0, e5.0)
        column(1, e0.1, e1.1, e2.1, e3.1, e4.1, e5.1)
        column(2, e0.2, e1.2, e2.2, e3.2, e4.2, e5.2)
        column(3, e0.3, e1.3, e2.3, e3.3, e4.3, e5.3)
        column(4, e0.4, e1.4, e2.4, e3.4, e4.4, e5.4)
        column(5, e0.5, e1.5, e2.5, e3.5, e4.5, e5.5)
        tx += 8
    }
}

/// (Aᵀ·m) along one axis: six values in, four out.
@inline(__always)
func at6(_ m0: Vec8, _ m1: Vec8, _ m2: Vec8, _ m3: Vec8, _ m4: Vec8, _ m5: Vec8) -> (Vec8, Vec8, Vec8, Vec8) {
    let s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4
    return (m0 + s12 + s34, d12 + 2 * d34, s12 + 4 * s34, d12 + 8 * d34 + m5)
}

/// y for one tile row and output channel from M (36 planes `planeStride` apart).
@inline(__always)
func output4TransformRow(_ m: UnsafePointer<Float>, planeStride ps: Int, _ g: WinogradGeometry, tileRow: Int, channel o: Int,
                         bias: Float, _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ act: Activation) {
    let img = tileRow / g.tilesH, ty = tileRow % g.tilesH
    let planeOffset = (img * g.cout + o) * g.ho * g.wo
    let b = Vec8(repeating: bias)
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { lb in
        let l = lb.baseAddress!
        var tx = 0
        while tx < g.tilesWp {
            let ox0 = 4 * tx
            if ox0 >= g.wo { break }
            @inline(__always) func ld(_ xi: Int) -> Vec8 { load8(m + xi * ps + tx) }
            // s[i][j] = (Aᵀ·M)[i][j] down each column j, then y[i][·] = s[i][·]·A.
            let c0 = at6(ld(0), ld(6), ld(12), ld(18), ld(24), ld(30))
            let c1 = at6(ld(1), ld(7), ld(13), ld(19), ld(25), ld(31))
            let c2 = at6(ld(2), ld(8), ld(14), ld(20), ld(26), ld(32))
            let c3 = at6(ld(3), ld(9), ld(15), ld(21), ld(27), ld(33))
            let c4 = at6(ld(4), ld(10), ld(16), ld(22), ld(28), ld(34))
            let c5 = at6(ld(5), ld(11), ld(17), ld(23), ld(29), ld(35))
            let valid = Swift.min(32, g.wo - ox0)
            @inline(__always) func emit(_ i: Int, _ r: (Vec8, Vec8, Vec8, Vec8)) {
                let oy = 4 * ty + i
                if oy >= g.ho { return }
                let v0 = r.0 + b, v1 = r.1 + b, v2 = r.2 + b, v3 = r.3 + b
                // Interleave: output column 4·(tx + lane) + c.
                for lane in 0..<8 {
                    l[4 * lane] = v0[lane]; l[4 * lane + 1] = v1[lane]; l[4 * lane + 2] = v2[lane]; l[4 * lane + 3] = v3[lane]
                }
                let at = planeOffset + oy * g.wo + ox0
                epilogue(l, valid, bias: 0, residual: residual.map { $0 + at }, act)
                (y + at).update(from: l, count: valid)
            }
            emit(0, at6(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0))
            emit(1, at6(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1))
            emit(2, at6(c0.2, c1.2, c2.2, c3.2, c4.2, c5.2))
            emit(3, at6(c0.3, c1.3, c2.3, c3.3, c4.3, c5.3))
            tx += 8
        }
    }
}

// MARK: - Direct entry (tests)

/// Runs the F(4×4, 3×3) path for any 3×3 stride-1 conv (tests and error measurements).
func winograd4Conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, padding: (Int, Int), activation: Activation, residual: Tensor?) -> Tensor {
    let g = ConvGeometry(x: x.shape, weight: weight.shape, stride: (1, 1), padding: padding, dilation: (1, 1), groups: 1)
    precondition(g.kh == 3 && g.kw == 3, "winograd4Conv2d: 3×3 kernels only")
    let wts = Winograd4Weights(weight)
    return Tensor(shape: [g.n, g.cout, g.ho, g.wo]) { out in
        x.data.withUnsafeBufferPointer { xp in
            withOptionalBuffer(bias) { bp in
                withOptionalBuffer(residual) { rp in
                    winograd4Conv3x3(xp.base, n: g.n, h: g.h, w: g.w, ph: g.ph, pw: g.pw, wts, bp, rp, out.base, activation)
                }
            }
        }
    }
}
