// Packed operands of the C GEMM (Sources/CKernels/gemm.c; layouts in its header) and the drivers that split a
// product over a context's threads.
//
//   PackedMatrix: A[m, k] packed into panels of MR rows for one instruction set, 64-byte aligned, owned.
//   packedConv2d: y[n, Cout, Ho·Wo] = epilogue(W_g[Cout/G, K] · im2col(x_g)[K, Ho·Wo]) per image and group, the
//                 columns split into blocks that one thread gathers (im2col straight into packed B panels, in
//                 cache) and multiplies against the weights packed once.

import CKernels
import Foundation

// MARK: - Packed matrix

/// A[m, k] packed as GEMM A panels for `isa`; read-only after init.
final class PackedMatrix: @unchecked Sendable {
    let isa: KernelISA
    let rows: Int, depth: Int
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    /// Packs A with element (i, p) at a[i·rowStride + p·colStride].
    init(isa: KernelISA, rows: Int, depth: Int, _ a: UnsafePointer<Float>, rowStride: Int, colStride: Int) {
        self.isa = isa
        self.rows = rows
        self.depth = depth
        count = Swift.max(1, vfw_packed_a_size(isa.cValue, Int32(rows), Int32(depth)))
        pointer = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
        vfw_pack_a(isa.cValue, Int32(rows), Int32(depth), a, rowStride, colStride, pointer)
    }

    deinit { UnsafeMutableRawPointer(pointer).deallocate() }
}

/// A convolution's weights as one PackedMatrix per group (W_g = weight[g·Cout/G ..< (g+1)·Cout/G] as [Cout/G, K]).
final class PackedConvWeights: @unchecked Sendable {
    let groups: [PackedMatrix]
    init(_ w: UnsafePointer<Float>, _ g: ConvGeometry, isa: KernelISA) {
        groups = (0..<g.groups).map { grp in
            PackedMatrix(isa: isa, rows: g.coutG, depth: g.kG, w + grp * g.coutG * g.kG, rowStride: g.kG, colStride: 1)
        }
    }
}

/// Packed weights made on first use per instruction set (a PreparedConv2d keeps one).
final class PackedConvCache: @unchecked Sendable {
    private let lock = NSLock()
    private var byISA: [KernelISA: PackedConvWeights] = [:]
    func weights(isa: KernelISA, _ make: () -> PackedConvWeights) -> PackedConvWeights {
        lock.lock(); defer { lock.unlock() }
        if let p = byISA[isa] { return p }
        let p = make()
        byISA[isa] = p
        return p
    }
}

// MARK: - Convolution

/// y = act(conv(x, w) + bias + residual) by packed im2col GEMM; shapes and layout as in Conv2d.swift.
func packedConv2d(_ x: UnsafePointer<Float>, _ packed: PackedConvWeights, _ bias: UnsafePointer<Float>?,
                  _ residual: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry,
                  _ act: Activation, _ ctx: ComputeContext) {
    if g.n == 0 || g.cout == 0 || g.howo == 0 { return }
    let isa = ctx.isa
    let nr = Int(vfw_gemm_nr(isa.cValue))
    let k = g.kG
    // Column block: as wide as the L2 budget allows, then narrowed until every thread has two blocks or more.
    var nc = Swift.max(nr, KernelTuning.convColumnBlockFloats / Swift.max(k, 1) / nr * nr)
    nc = Swift.min(nc, (g.howo + nr - 1) / nr * nr)
    let planes = g.n * g.groups
    while nc > nr && planes * ((g.howo + nc - 1) / nc) < 2 * ctx.threads { nc -= nr }
    let blocks = (g.howo + nc - 1) / nc
    let geometry = vfw_conv_geometry(cin: Int32(g.cinG), h: Int32(g.h), w: Int32(g.w), kh: Int32(g.kh), kw: Int32(g.kw),
                                     sh: Int32(g.sh), sw: Int32(g.sw), ph: Int32(g.ph), pw: Int32(g.pw),
                                     dh: Int32(g.dh), dw: Int32(g.dw), ho: Int32(g.ho), wo: Int32(g.wo))
    let tuning = gemmTuning
    let fusedRelu = act == .relu
    parallelItems(planes * blocks, threads: ctx.threads) { item in
        let plane = item / blocks, blk = item % blocks
        let img = plane / g.groups, grp = plane % g.groups
        let col0 = blk * nc, cols = Swift.min(nc, g.howo - col0)
        let outOffset = (img * g.cout + grp * g.coutG) * g.howo + col0
        ScratchPool.shared.with(Int(vfw_packed_b_size(isa.cValue, Int32(k), Int32(cols)))) { b in
            var geo = geometry
            vfw_im2col_packed(isa.cValue, &geo, x + (img * g.cin + grp * g.cinG) * g.hw, Int32(col0), Int32(cols), b)
            var epi = vfw_epilogue(row_bias: bias.map { $0 + grp * g.coutG }, col_bias: nil,
                                   residual: residual.map { $0 + outOffset }, ldr: g.howo, relu: fusedRelu ? 1 : 0)
            let a = packed.groups[grp]
            vfw_gemm_packed(isa.cValue, Int32(g.coutG), Int32(cols), Int32(k), a.pointer, b, y + outOffset, g.howo, &epi, tuning)
            if !fusedRelu && act != .none {
                for o in 0..<g.coutG { activate(y + outOffset + o * g.howo, cols, act) }
            }
        }
    }
}

// MARK: - Linear

/// A fully connected layer with its weights packed once (use it for model layers; `linear` for one-offs).
///
/// `weight: [out, in]` (PyTorch layout), `bias: [out]` or nil. Calling it on `x: [..., in]` returns
/// `activation(x·Wᵀ + bias + residual)`, `[..., out]`, what `linear(x, weight:, bias:, activation:)` (plus the
/// residual) computes, by the packed C GEMM: Wᵀ as packed B panels (per instruction set, made on first use),
/// x packed per call, the columns split over the context's threads, bias/residual/activation fused in the store.
public final class PreparedLinear: @unchecked Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }
    private let lock = NSLock()
    private var packed: [KernelISA: UnsafeMutablePointer<Float>] = [:]

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "PreparedLinear: weight must be [out, in], got \(describeShape(weight.shape))")
        if let bias { precondition(bias.count == weight.shape[0], "PreparedLinear: bias has \(bias.count) elements for \(weight.shape[0]) outputs") }
        self.weight = weight
        self.bias = bias
        _ = packedWeights(ComputeContext.current.isa)
    }

    deinit { for p in packed.values { UnsafeMutableRawPointer(p).deallocate() } }

    /// Wᵀ [in, out] as packed B panels for `isa`.
    func packedWeights(_ isa: KernelISA) -> UnsafeMutablePointer<Float> {
        lock.lock(); defer { lock.unlock() }
        if let p = packed[isa] { return p }
        let (n, k) = (weight.shape[0], weight.shape[1])
        let count = Swift.max(1, vfw_packed_b_size(isa.cValue, Int32(k), Int32(n)))
        let p = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64).bindMemory(to: Float.self, capacity: count)
        weight.data.withUnsafeBufferPointer { vfw_pack_b(isa.cValue, Int32(k), Int32(n), $0.base, 1, k, p) }
        packed[isa] = p
        return p
    }

    /// `activation(x·Wᵀ + bias + residual)`; `x: [..., in]`, `residual` (optional) shaped like the result.
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
        let (n, k) = (outFeatures, inFeatures)
        precondition(x.rank >= 1 && x.shape.last! == k, "linear: x \(describeShape(x.shape)) has \(x.shape.last ?? 0) features, weight \(describeShape(weight.shape)) expects \(k)")
        let outShape = Array(x.shape.dropLast()) + [n]
        if let residual { precondition(residual.shape == outShape, "linear: residual \(describeShape(residual.shape)) does not match the output \(describeShape(outShape))") }
        let m = Tensor.count(of: Array(x.shape.dropLast()))
        let ctx = ComputeContext.current
        let bp = packedWeights(ctx.isa)
        return Tensor(shape: outShape) { out in
            x.data.withUnsafeBufferPointer { xp in
                withOptionalBuffer(bias) { biasP in
                    withOptionalBuffer(residual) { resP in
                        packedMatmul(m: m, n: n, k: k, a: xp.base, lda: k, packedB: bp, c: out.base, ldc: n,
                                     colBias: biasP, residual: resP, activation: activation, ctx)
                    }
                }
            }
        }
    }
}

/// C[m, n] = act(A[m, k]·B + colBias + residual) with B already packed (n columns); A (row stride lda) is packed
/// here, split over the context's threads by row panels, then the product by column blocks.
func packedMatmul(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packedB: UnsafePointer<Float>,
                  c: UnsafeMutablePointer<Float>, ldc: Int, colBias: UnsafePointer<Float>?, residual: UnsafePointer<Float>?,
                  activation: Activation, _ ctx: ComputeContext) {
    if m == 0 || n == 0 { return }
    let isa = ctx.isa
    let mr = Int(vfw_gemm_mr(isa.cValue)), nr = Int(vfw_gemm_nr(isa.cValue))
    let tuning = gemmTuning
    let fusedRelu = activation == .relu
    ScratchPool.shared.with(Int(vfw_packed_a_size(isa.cValue, Int32(m), Int32(k)))) { ap in
        let panels = (m + mr - 1) / mr
        parallelFor(panels, grain: Swift.max(1, 16384 / Swift.max(k * mr, 1))) { range in
            let rows = Swift.min(m, range.upperBound * mr) - range.lowerBound * mr
            vfw_pack_a(isa.cValue, Int32(rows), Int32(k), a + range.lowerBound * mr * lda, lda, 1, ap + range.lowerBound * mr * k)
        }
        // Column blocks: at least two per thread when n allows, whole panels each.
        let colPanels = (n + nr - 1) / nr
        let blocks = Swift.min(colPanels, Swift.max(1, ctx.threads * 4))
        parallelItems(blocks, threads: ctx.threads) { blk in
            let p0 = colPanels * blk / blocks, p1 = colPanels * (blk + 1) / blocks
            let j0 = p0 * nr, cols = Swift.min(n, p1 * nr) - j0
            if cols <= 0 { return }
            var epi = vfw_epilogue(row_bias: nil, col_bias: colBias.map { $0 + j0 }, residual: residual.map { $0 + j0 },
                                   ldr: ldc, relu: fusedRelu ? 1 : 0)
            vfw_gemm_packed(isa.cValue, Int32(m), Int32(cols), Int32(k), ap, packedB + j0 * k, c + j0, ldc, &epi, tuning)
            if !fusedRelu && activation != .none {
                for r in 0..<m { activate(c + r * ldc + j0, cols, activation) }
            }
        }
    }
}

/// C = epilogue(A·B) for row-major A [m, k] and B [k, n] through the packed C GEMM on one instruction set
/// (tests compare it with a Double loop; benchmarks with OpenBLAS).
func packedGemmForTests(isa: KernelISA, m: Int, n: Int, k: Int, a: [Float], b: [Float], rowBias: [Float]?, colBias: [Float]?,
                        residual: [Float]?, relu: Bool, kc: Int = 0, mc: Int = 0) -> [Float] {
    var c = [Float](repeating: .nan, count: m * n)
    let pa = PackedMatrix(isa: isa, rows: m, depth: k, a, rowStride: k, colStride: 1)
    let pbCount = Swift.max(1, vfw_packed_b_size(isa.cValue, Int32(k), Int32(n)))
    var pb = [Float](repeating: .nan, count: pbCount)
    vfw_pack_b(isa.cValue, Int32(k), Int32(n), b, n, 1, &pb)
    func opt(_ v: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
        if let v { v.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
    }
    opt(rowBias) { rb in
        opt(colBias) { cb in
            opt(residual) { rp in
                var epi = vfw_epilogue(row_bias: rb, col_bias: cb, residual: rp, ldr: n, relu: relu ? 1 : 0)
                vfw_gemm_packed(isa.cValue, Int32(m), Int32(n), Int32(k), pa.pointer, pb, &c, n, &epi,
                                vfw_gemm_tuning(kc: Int32(kc), mc: Int32(mc)))
            }
        }
    }
    return c
}
