// Packed operands of the C GEMM (Sources/CKernels/gemm.c; layouts in its header) and the drivers that split a
// product over a context's threads.
//
//   PackedMatrix: A[m, k] packed into panels of MR rows for one instruction set, 64-byte aligned, owned.
//   packedConv2d: y[n, Cout, Ho·Wo] = epilogue(W_g[Cout/G, K] · im2col(x_g)[K, Ho·Wo]) per image and group, the
//                 columns split into blocks that one thread gathers (im2col straight into packed B panels, in
//                 cache) and multiplies against the weights as stored (row-major A: no copy of any weight).
//   linear:       y[M, out] = (W·xᵀ)ᵀ: W [out, in] as stored is A, x is packed as B once per call; each thread
//                 takes a block of output features, multiplies into scratch and stores the block transposed with
//                 bias/residual/activation (storing transposed inside the GEMM, per tile, cost a third of its time).

import CKernels
import COpenBLAS
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

// MARK: - Convolution

/// y = act(conv(x, w) + bias + residual) by packed im2col GEMM; shapes and layout as in Conv2d.swift.
func packedConv2d(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
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
            vfw_gemm_rows(isa.cValue, Int32(g.coutG), Int32(cols), Int32(k), w + grp * g.coutG * k, k, b, y + outOffset, g.howo,
                          &epi, tuning)
            if !fusedRelu && act != .none {
                for o in 0..<g.coutG { activate(y + outOffset + o * g.howo, cols, act) }
            }
        }
    }
}

// MARK: - Linear

/// A fully connected layer for model layers: `weight: [out, in]` (PyTorch layout), `bias: [out]` or nil. Calling it
/// on `x: [..., in]` returns `activation(x·Wᵀ + bias + residual)`, `[..., out]`, as `linear` does (plus the fused
/// residual). The weights are used as stored (see the file header), so preparing costs nothing and copies nothing.
public final class PreparedLinear: @unchecked Sendable {
    public let weight: Tensor
    public let bias: Tensor?
    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(weight: Tensor, bias: Tensor? = nil) {
        precondition(weight.rank == 2, "PreparedLinear: weight must be [out, in], got \(describeShape(weight.shape))")
        if let bias { precondition(bias.count == weight.shape[0], "PreparedLinear: bias has \(bias.count) elements for \(weight.shape[0]) outputs") }
        self.weight = weight
        self.bias = bias
    }

    /// `activation(x·Wᵀ + bias + residual)`; `x: [..., in]`, `residual` (optional) shaped like the result.
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
        linearForward(x, weight: weight, bias: bias, activation: activation, residual: residual)
    }
}

/// `linear` and `PreparedLinear`: checks, then y = act(x·Wᵀ + b + residual) on the packed GEMM (one row: sgemv).
func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?, activation: Activation, residual: Tensor?) -> Tensor {
    precondition(x.rank >= 1 && weight.rank == 2, "linear: need x [..., in] and weight [out, in], got \(describeShape(x.shape)), \(describeShape(weight.shape))")
    let (n, k) = (weight.shape[0], weight.shape[1])
    precondition(x.shape.last! == k, "linear: x \(describeShape(x.shape)) has \(x.shape.last!) features, weight \(describeShape(weight.shape)) expects \(k)")
    if let bias { precondition(bias.count == n, "linear: bias has \(bias.count) elements for \(n) outputs") }
    let outShape = Array(x.shape.dropLast()) + [n]
    if let residual { precondition(residual.shape == outShape, "linear: residual \(describeShape(residual.shape)) does not match the output \(describeShape(outShape))") }
    let m = Tensor.count(of: Array(x.shape.dropLast()))
    let ctx = ComputeContext.current
    return Tensor(shape: outShape) { out in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                withOptionalBuffer(bias) { bp in
                    withOptionalBuffer(residual) { rp in
                        linearForward(m: m, n: n, k: k, x: xp.base, w: wp.base, bias: bp, residual: rp, y: out.base,
                                      activation: activation, ctx)
                    }
                }
            }
        }
    }
}

/// y[m, n] = act(x[m, k]·W[n, k]ᵀ + bias + residual), all row-major.
func linearForward(m: Int, n: Int, k: Int, x: UnsafePointer<Float>, w: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                   residual: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>, activation: Activation, _ ctx: ComputeContext) {
    if m == 0 || n == 0 { return }
    if m == 1 && k > 0 && residual == nil {
        // A single row: y = W·x as a matrix-vector product (memory-bound; a GEMM panel would be 1/16 full).
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), 1, w, Int32(k), x, 1, 0, y, 1)
        epilogue(y, n, biasVector: bias, activation)
        return
    }
    let isa = ctx.isa
    let mr = Int(vfw_gemm_mr(isa.cValue)), nr = Int(vfw_gemm_nr(isa.cValue))
    let tuning = gemmTuning
    let fusedRelu = activation == .relu
    ScratchPool.shared.with(Int(vfw_packed_b_size(isa.cValue, Int32(k), Int32(m)))) { xb in
        // xᵀ [k, m] as packed B: element (p, j) = x[j·k + p], panels of NR tokens, packed in parallel.
        let panels = (m + nr - 1) / nr
        parallelFor(panels, grain: Swift.max(1, 65536 / Swift.max(k * nr, 1))) { range in
            let j0 = range.lowerBound * nr, cols = Swift.min(m, range.upperBound * nr) - j0
            vfw_pack_b(isa.cValue, Int32(k), Int32(cols), x + j0 * k, 1, k, xb + j0 * k)
        }
        // Output features in blocks of whole MR-row panels, several per thread.
        let rowPanels = (n + mr - 1) / mr
        let blocks = Swift.min(rowPanels, Swift.max(1, ctx.threads * 4))
        parallelItems(blocks, threads: ctx.threads) { blk in
            let p0 = rowPanels * blk / blocks, p1 = rowPanels * (blk + 1) / blocks
            let i0 = p0 * mr, rows = Swift.min(n, p1 * mr) - i0
            if rows <= 0 { return }
            // (W_block·xᵀ) [rows, m] in scratch, then stored transposed into y with the epilogue.
            ScratchPool.shared.with(rows * m) { t in
                vfw_gemm_rows(isa.cValue, Int32(rows), Int32(m), Int32(k), w + i0 * k, k, xb, t, m, nil, tuning)
                var epi = vfw_epilogue(row_bias: bias.map { $0 + i0 }, col_bias: nil, residual: residual.map { $0 + i0 },
                                       ldr: n, relu: fusedRelu ? 1 : 0)
                vfw_transpose_epilogue(Int32(rows), Int32(m), t, m, y + i0, n, &epi)
            }
            if !fusedRelu && activation != .none {
                for r in 0..<m { activate(y + r * n + i0, rows, activation) }
            }
        }
    }
}

/// How a test hands A to the C GEMM: packed panels, row-major as stored, or row-major with the product stored transposed.
enum GemmTestLayout: String, CaseIterable, Sendable { case packed, rows, transposed }

/// C = epilogue(A·B) for row-major A [m, k] and B [k, n] through the C GEMM on one instruction set, returned
/// row-major [m, n] whatever the layout (tests compare it with a Double loop).
func packedGemmForTests(isa: KernelISA, layout: GemmTestLayout = .packed, m: Int, n: Int, k: Int, a: [Float], b: [Float],
                        rowBias: [Float]?, colBias: [Float]?, residual: [Float]?, relu: Bool, kc: Int = 0, mc: Int = 0) -> [Float] {
    var c = [Float](repeating: .nan, count: m * n)
    let pa = PackedMatrix(isa: isa, rows: m, depth: k, a, rowStride: k, colStride: 1)
    let pbCount = Swift.max(1, vfw_packed_b_size(isa.cValue, Int32(k), Int32(n)))
    var pb = [Float](repeating: .nan, count: pbCount)
    vfw_pack_b(isa.cValue, Int32(k), Int32(n), b, n, 1, &pb)
    // The transposed layout reads its residual transposed too.
    let res = layout == .transposed ? residual.map { r in (0..<(m * n)).map { idx in r[(idx % m) * n + idx / m] } } : residual
    func opt(_ v: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
        if let v { v.withUnsafeBufferPointer { body($0.baseAddress) } } else { body(nil) }
    }
    let tuning = vfw_gemm_tuning(kc: Int32(kc), mc: Int32(mc))
    opt(rowBias) { rb in
        opt(colBias) { cb in
            opt(res) { rp in
                var epi = vfw_epilogue(row_bias: rb, col_bias: cb, residual: rp, ldr: layout == .transposed ? m : n, relu: relu ? 1 : 0)
                switch layout {
                case .packed:
                    vfw_gemm_packed(isa.cValue, Int32(m), Int32(n), Int32(k), pa.pointer, pb, &c, n, &epi, tuning)
                case .rows:
                    vfw_gemm_rows(isa.cValue, Int32(m), Int32(n), Int32(k), a, k, pb, &c, n, &epi, tuning)
                case .transposed:
                    var ct = [Float](repeating: .nan, count: m * n)
                    vfw_gemm_rows_transposed(isa.cValue, Int32(m), Int32(n), Int32(k), a, k, pb, &ct, m, &epi, tuning)
                    for i in 0..<m { for j in 0..<n { c[i * n + j] = ct[j * m + i] } }
                }
            }
        }
    }
    return c
}
