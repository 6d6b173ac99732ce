// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2015).
//
//   x [N, Cin, H, W] NCHW, weight [Cout, Cin, 3, 3], bias [Cout], padding (pH, pW), stride 1,
//   dilation 1, groups 1  →  y [N, Cout, Ho, Wo], Ho = H + 2·pH − 2, Wo = W + 2·pW − 2.
//
// The output is cut into 2×2 tiles; tile (ty, tx) reads the 4×4 input patch whose top-left corner is
// (2·ty − pH, 2·tx − pW) (zero outside the image). With
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]:
//   U[ξ][o][c] = (G·w[o,c]·Gᵀ)[ξ]          (once, on first use, in Double)
//   V[ξ][c][t] = (Bᵀ·d[c,t]·B)[ξ]          (input transform, 16 values per tile and channel)
//   M[ξ][o][t] = Σ_c U[ξ][o][c]·V[ξ][c][t]  (16 sgemms [Cout, Cin]·[Cin, T])
//   y[o, tile t] = Aᵀ·M[·][o][t]·A + bias    (output transform, fused with bias/residual/activation)
// 16 products of size Cout·Cin·T replace 36 (the direct 3×3 over 2×2 outputs): 2.25× fewer
// multiplies. The transforms only add and subtract (and halve in G), so the result stays within a few
// ulp of the direct convolution's (tested against the Double loop like every conv path).
//
// Work is split into chunks of whole tile rows; threads claim chunks one at a time and run
// transform → 16 packed GEMMs (Sources/CKernels, U packed once per instruction set, V written by the transform
// straight into packed B panels) → output transform in their own scratch, so V and M stay in cache.
// Tiles of one tile row are computed 8 at a time (SIMD8 over tx); rows are padded to a multiple of 8
// tiles (the padding tiles read zeros and are never stored).

import CKernels
import COpenBLAS
import Dispatch
import Foundation

// MARK: - Weights

/// Winograd-domain weights U[16][Cout][Cin] of a 3×3 convolution, row-major per ξ (the GEMMs read them as stored,
/// on any instruction set). Made on first use: a layer whose planes are too small for Winograd never holds them.
final class WinogradWeights: @unchecked Sendable {
    let cout: Int, cin: Int
    private let source: Tensor
    /// A planted fault (tests only; nil in every real model).
    private let fault: WinogradFault?
    private let lock = NSLock()
    private var storage: UnsafeMutablePointer<Float>?

    /// Keeps `w` ([Cout, Cin, 3, 3]); U is made on first use (with `fault` planted, tests only).
    init(_ w: Tensor, fault: WinogradFault? = nil) {
        precondition(w.rank == 4 && w.shape[2] == 3 && w.shape[3] == 3, "Winograd weights need [Cout, Cin, 3, 3]")
        cout = w.shape[0]; cin = w.shape[1]
        source = w
        self.fault = fault
    }

    deinit { storage?.deallocate() }

    /// U, [16][Cout][Cin].
    var u: UnsafePointer<Float> {
        lock.lock(); defer { lock.unlock() }
        if let storage { return UnsafePointer(storage) }
        let values = fault.map { Self.transform(source, g: $0.matrix) } ?? Self.transform(source)
        let p = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(1, values.count))
        p.initialize(from: values, count: values.count)
        storage = p
        return UnsafePointer(p)
    }

    /// U = G·w·Gᵀ per (o, c), in Double, rounded once: [16][Cout][Cin].
    static func transform(_ w: Tensor) -> [Float] {
        precondition(w.rank == 4 && w.shape[2] == 3 && w.shape[3] == 3, "Winograd weights need [Cout, Cin, 3, 3]")
        let (cout, cin) = (w.shape[0], w.shape[1])
        let plane = cout * cin
        var u = [Float](repeating: 0, count: 16 * plane)
        w.data.withUnsafeBufferPointer { wp in
            u.withUnsafeMutableBufferPointer { up in
                for oc in 0..<plane {
                    let g = wp.base + oc * 9
                    // t = G·g (4×3, by columns j), then U = t·Gᵀ (4×4, by rows i).
                    var t = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
                    for j in 0..<3 {
                        let g0 = Double(g[j]), g1 = Double(g[3 + j]), g2 = Double(g[6 + j])
                        let col = SIMD4<Double>(g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2)
                        switch j { case 0: t.0 = col; case 1: t.1 = col; default: t.2 = col }
                    }
                    for i in 0..<4 {
                        let a = t.0[i], b = t.1[i], c = t.2[i]
                        up[(i * 4 + 0) * plane + oc] = Float(a)
                        up[(i * 4 + 1) * plane + oc] = Float(0.5 * (a + b + c))
                        up[(i * 4 + 2) * plane + oc] = Float(0.5 * (a - b + c))
                        up[(i * 4 + 3) * plane + oc] = Float(c)
                    }
                }
            }
        }
        return u
    }

    /// U = G·w·Gᵀ for any 4×3 matrix `g` (row-major), in Double: the slow general form of `transform(_:)`, for
    /// planted faults.
    static func transform(_ w: Tensor, g: [Double]) -> [Float] {
        precondition(g.count == 12, "G is 4×3")
        let (cout, cin) = (w.shape[0], w.shape[1])
        let plane = cout * cin
        var u = [Float](repeating: 0, count: 16 * plane)
        for oc in 0..<plane {
            let k = (0..<9).map { Double(w.data[oc * 9 + $0]) }
            for i in 0..<4 {
                for j in 0..<4 {
                    var sum = 0.0
                    for a in 0..<3 { for b in 0..<3 { sum += g[i * 3 + a] * k[a * 3 + b] * g[j * 3 + b] } }
                    u[(i * 4 + j) * plane + oc] = Float(sum)
                }
            }
        }
        return u
    }
}

/// A coefficient of Winograd's weight transform G off by a relative error: a fault tests plant in one
/// convolution (`PreparedConv2d(...winogradFault:)`) to prove `vfw verify` finds it. Never set in a real model.
@_spi(Faults) public struct WinogradFault: Sendable, Equatable {
    /// The entry of G (4×3: [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]) that is wrong.
    public var row: Int, column: Int
    /// G[row][column] becomes G[row][column]·(1 + relativeError).
    public var relativeError: Double

    public init(row: Int, column: Int, relativeError: Double) {
        precondition((0..<4).contains(row) && (0..<3).contains(column), "G is 4×3")
        self.row = row
        self.column = column
        self.relativeError = relativeError
    }

    /// G with the fault, row-major.
    var matrix: [Double] {
        var g: [Double] = [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1]
        g[row * 3 + column] *= 1 + relativeError
        return g
    }
}

/// Tiles per chunk a thread transforms and multiplies at once (tuned in KernelBenchmark).
nonisolated(unsafe) var winogradChunkTiles = 512

// MARK: - Driver

/// y = act(conv3x3(x) + bias + residual) by F(2×2, 3×3). `x`: [N, Cin, H, W]; `y`, `residual`:
/// [N, Cout, Ho, Wo]. Stride 1, dilation 1, groups 1, padding (ph, pw).
func winogradConv3x3(_ x: UnsafePointer<Float>, n: Int, h: Int, w: Int, ph: Int, pw: Int,
                     _ weights: WinogradWeights, _ bias: UnsafePointer<Float>?, _ residual: UnsafePointer<Float>?,
                     _ y: UnsafeMutablePointer<Float>, _ act: Activation) {
    let cin = weights.cin, cout = weights.cout
    let ho = h + 2 * ph - 2, wo = w + 2 * pw - 2
    if n == 0 || cout == 0 || ho <= 0 || wo <= 0 { return }
    let ctx = ComputeContext.current
    let isa = ctx.isa
    let nr = Int(vfw_gemm_nr(isa.cValue))
    let u = weights.u
    let tilesH = (ho + 1) / 2, tilesW = (wo + 1) / 2
    let tilesWp = (tilesW + 7) & ~7
    let tileRows = n * tilesH
    let threads = Swift.max(1, Swift.min(ctx.threads, tileRows))
    var rowsPerChunk = Swift.max(1, winogradChunkTiles / tilesWp)
    // At least two chunks per thread when there are enough rows (dynamic load balance).
    rowsPerChunk = Swift.min(rowsPerChunk, Swift.max(1, tileRows / (2 * threads)))
    let chunks = (tileRows + rowsPerChunk - 1) / rowsPerChunk
    let chunkTiles = rowsPerChunk * tilesWp
    let chunkTilesPadded = (chunkTiles + nr - 1) / nr * nr
    let bufWidth = 2 * tilesWp + 16
    let geometry = WinogradGeometry(n: n, cin: cin, cout: cout, h: h, w: w, ph: ph, pw: pw, ho: ho, wo: wo,
                                    tilesH: tilesH, tilesWp: tilesWp, bufWidth: bufWidth)
    let tuning = gemmTuning
    // Threads claim chunks one at a time, each chunk with its own scratch: V[16] as packed B panels, M[16][Cout][T].
    parallelItems(chunks, threads: threads) { chunk in
        ScratchPool.shared.with(16 * cin * chunkTilesPadded + 16 * cout * chunkTiles + 4 * bufWidth) { scratch in
            let v = scratch, m = scratch + 16 * cin * chunkTilesPadded, rowBuf = m + 16 * cout * chunkTiles
            let row0 = chunk * rowsPerChunk, rows = Swift.min(rowsPerChunk, tileRows - row0)
            let t = rows * tilesWp  // tiles in this chunk
            let tp = (t + nr - 1) / nr * nr
            // V[ξ] as packed B [Cin, T]: tile q of channel c at (q / NR)·NR·Cin + c·NR + q % NR.
            for c in 0..<cin {
                for r in 0..<rows {
                    inputTransformRow(x, geometry, tileRow: row0 + r, channel: c, rowBuf, v, firstTile: r * tilesWp,
                                      nr: nr, planeStride: cin * tp)
                }
            }
            // M[ξ] = U[ξ]·V[ξ]
            for xi in 0..<16 {
                vfw_gemm_rows(isa.cValue, Int32(cout), Int32(t), Int32(cin), u + xi * cout * cin, cin, v + xi * cin * tp,
                              m + xi * cout * t, t, nil, tuning)
            }
            // y = Aᵀ·M·A + bias (+ residual), activation
            for o in 0..<cout {
                for r in 0..<rows {
                    outputTransformRow(m + o * t + r * tilesWp, planeStride: cout * t, geometry,
                                       tileRow: row0 + r, channel: o, bias: bias?[o] ?? 0, residual, y, act)
                }
            }
        }
    }
}

struct WinogradGeometry {
    var n, cin, cout, h, w, ph, pw, ho, wo, tilesH, tilesWp, bufWidth: Int
}

// MARK: - Transforms

/// V for the tiles of one tile row (image n, ty) and one input channel: 16 planes `planeStride` apart, each a
/// packed GEMM B operand [Cin, T] (panels of `nr` tiles); this row's tiles start at tile `firstTile`.
@inline(__always)
func inputTransformRow(_ x: UnsafePointer<Float>, _ g: WinogradGeometry, tileRow: Int, channel c: Int,
                       _ rowBuf: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, firstTile: Int, nr: Int,
                       planeStride ps: Int) {
    let img = tileRow / g.tilesH, ty = tileRow % g.tilesH
    let plane = x + (img * g.cin + c) * g.h * g.w
    // Four zero-padded input rows: rowBuf[r][k] = x[2·ty − pH + r][k − pW].
    for r in 0..<4 {
        let dst = rowBuf + r * g.bufWidth
        let iy = 2 * ty - g.ph + r
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
    while tx < g.tilesWp {
        // d[r][k] for 8 tiles: column 2·tx + k of padded row r (even/odd lanes of 16 consecutive floats).
        let b0 = rowBuf + 2 * tx
        // Row-wise (·B): e[r][0] = d0 − d2, e[r][1] = d1 + d2, e[r][2] = d2 − d1, e[r][3] = d1 − d3.
        @inline(__always) func rowT(_ r: Int) -> (Vec8, Vec8, Vec8, Vec8) {
            let p = b0 + r * g.bufWidth
            let a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
            let b = UnsafeRawPointer(p + 2).loadUnaligned(as: SIMD16<Float>.self)
            let d0 = a.evenHalf, d1 = a.oddHalf, d2 = b.evenHalf, d3 = b.oddHalf
            return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
        }
        let r0 = rowT(0), r1 = rowT(1), r2 = rowT(2), r3 = rowT(3)
        // Column-wise (Bᵀ·): V[0][j] = e0 − e2, V[1][j] = e1 + e2, V[2][j] = e2 − e1, V[3][j] = e1 − e3.
        // Packed B position of tiles firstTile + tx ..< +8 (8 divides NR, so they share a panel).
        let q = firstTile + tx
        let out = v + (q / nr) * nr * g.cin + c * nr + q % nr
        store8(r0.0 - r2.0, out + 0 * ps); store8(r0.1 - r2.1, out + 1 * ps)
        store8(r0.2 - r2.2, out + 2 * ps); store8(r0.3 - r2.3, out + 3 * ps)
        store8(r1.0 + r2.0, out + 4 * ps); store8(r1.1 + r2.1, out + 5 * ps)
        store8(r1.2 + r2.2, out + 6 * ps); store8(r1.3 + r2.3, out + 7 * ps)
        store8(r2.0 - r1.0, out + 8 * ps); store8(r2.1 - r1.1, out + 9 * ps)
        store8(r2.2 - r1.2, out + 10 * ps); store8(r2.3 - r1.3, out + 11 * ps)
        store8(r1.0 - r3.0, out + 12 * ps); store8(r1.1 - r3.1, out + 13 * ps)
        store8(r1.2 - r3.2, out + 14 * ps); store8(r1.3 - r3.3, out + 15 * ps)
        tx += 8
    }
}

/// y for the tiles of one tile row and one output channel from M (16 planes `planeStride` apart).
@inline(__always)
func outputTransformRow(_ m: UnsafePointer<Float>, planeStride ps: Int, _ g: WinogradGeometry, tileRow: Int, channel o: Int,
                        bias: Float, _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ act: Activation) {
    let img = tileRow / g.tilesH, ty = tileRow % g.tilesH
    let planeOffset = (img * g.cout + o) * g.ho * g.wo
    let oy0 = 2 * ty
    let hasRow1 = oy0 + 1 < g.ho
    let b = Vec8(repeating: bias)
    var tx = 0
    while tx < g.tilesWp {
        let ox0 = 2 * tx
        if ox0 >= g.wo { break }
        @inline(__always) func ld(_ xi: Int) -> Vec8 { load8(m + xi * ps + tx) }
        // Aᵀ·M (rows): a[j] = m0j + m1j + m2j, c[j] = m1j − m2j − m3j.
        let m00 = ld(0), m01 = ld(1), m02 = ld(2), m03 = ld(3)
        let m10 = ld(4), m11 = ld(5), m12 = ld(6), m13 = ld(7)
        let m20 = ld(8), m21 = ld(9), m22 = ld(10), m23 = ld(11)
        let m30 = ld(12), m31 = ld(13), m32 = ld(14), m33 = ld(15)
        let a0 = m00 + m10 + m20, a1 = m01 + m11 + m21, a2 = m02 + m12 + m22, a3 = m03 + m13 + m23
        let c0 = m10 - m20 - m30, c1 = m11 - m21 - m31, c2 = m12 - m22 - m32, c3 = m13 - m23 - m33
        // (·A) columns: y[0][0] = a0 + a1 + a2, y[0][1] = a1 − a2 − a3; the same from c for row 1.
        // Even lanes are output column 2·tx, odd lanes 2·tx + 1.
        var top = SIMD16<Float>(), bottom = SIMD16<Float>()
        top.evenHalf = a0 + a1 + a2 + b
        top.oddHalf = a1 - a2 - a3 + b
        bottom.evenHalf = c0 + c1 + c2 + b
        bottom.oddHalf = c1 - c2 - c3 + b
        let valid = Swift.min(16, g.wo - ox0)
        storeOutputRow(top, y + planeOffset + oy0 * g.wo + ox0, residual.map { $0 + planeOffset + oy0 * g.wo + ox0 }, valid, act)
        if hasRow1 {
            storeOutputRow(bottom, y + planeOffset + (oy0 + 1) * g.wo + ox0,
                           residual.map { $0 + planeOffset + (oy0 + 1) * g.wo + ox0 }, valid, act)
        }
        tx += 8
    }
}

/// Stores the first `valid` of 16 output values, adding the residual and applying the activation.
@inline(__always)
func storeOutputRow(_ v0: SIMD16<Float>, _ dst: UnsafeMutablePointer<Float>, _ res: UnsafePointer<Float>?, _ valid: Int, _ act: Activation) {
    var v = v0
    if valid == 16 {
        if let res { v += UnsafeRawPointer(res).loadUnaligned(as: SIMD16<Float>.self) }
        v = activate16(v, act)
        UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD16<Float>.self)
    } else {
        if let res { for i in 0..<valid { v[i] += res[i] } }
        v = activate16(v, act)
        for i in 0..<valid { dst[i] = v[i] }
    }
}

// MARK: - Direct entry (tests)

/// Runs the Winograd path for any 3×3 stride-1 conv, whatever the size heuristics say (tests).
func winogradConv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, padding: (Int, Int), activation: Activation, residual: Tensor?) -> Tensor {
    let g = ConvGeometry(x: x.shape, weight: weight.shape, stride: (1, 1), padding: padding, dilation: (1, 1), groups: 1)
    precondition(g.kh == 3 && g.kw == 3, "winogradConv2d: 3×3 kernels only")
    return conv2d(x, weight: weight, bias: bias, geometry: g, winograd: WinogradWeights(weight), activation: activation, residual: residual)
}
