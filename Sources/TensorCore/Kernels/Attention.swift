// Multi-head scaled dot-product attention over sgemm (no mask, no dropout: ViT inference).
//
//   q, k, v [B, T, H·D]: head h of token t is features h·D ..< (h+1)·D, i.e. PyTorch's
//            x.view(B, T, H, D).transpose(1, 2) without the copy (row stride H·D).
//   out     [B, T, H·D], the heads written back interleaved the same way (= transpose(1, 2).reshape).
//
// Per (b, h):  S[T, T] = Q_h · K_hᵀ            sgemm(NoTrans, Trans, T, T, D, lda = ldb = H·D)
//              P = softmax(S · scale) per row   scale folded into the exp pass
//              O_h[T, D] = P · V_h              sgemm(NoTrans, NoTrans, T, D, T, ldb = ldc = H·D)
// scale defaults to 1/√D. For D = 64 it is 0.125, a power of two, so scaling the scores (HF) and
// scaling q first (timm, torch MHA) are bit-identical, and both equal this.
//
// The (b, h) pairs are independent; threads (the context's) claim them one at a time and run both products on the
// packed C GEMM in their own scratch (197×197×64 is too small to split well over threads).

import CKernels
import COpenBLAS
import Dispatch

// MARK: - API

/// Multi-head attention `softmax(Q·Kᵀ·scale)·V`, heads interleaved in the last dimension.
///
/// `q, k, v: [B, T, H·D]` → `[B, T, H·D]`.
/// - Parameters:
///   - heads: H; the last dimension must be a multiple of it.
///   - scale: multiplies the scores before softmax; nil = 1/√D. Must be positive.
public func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    precondition(q.rank == 3 && q.shape == k.shape && q.shape == v.shape,
                 "attention: q, k, v must share a [B, T, H·D] shape, got \(describeShape(q.shape)), \(describeShape(k.shape)), \(describeShape(v.shape))")
    let (b, t, hd) = (q.shape[0], q.shape[1], q.shape[2])
    precondition(heads >= 1 && hd % heads == 0, "attention: \(hd) features do not split into \(heads) heads")
    return Tensor(shape: [b, t, hd]) { out in
        q.data.withUnsafeBufferPointer { qp in
            k.data.withUnsafeBufferPointer { kp in
                v.data.withUnsafeBufferPointer { vp in
                    attentionForward(q: qp.base, k: kp.base, v: vp.base, rowStride: hd, batchStride: t * hd,
                                     out: out.base, batch: b, tokens: t, features: hd, heads: heads, scale: scale)
                }
            }
        }
    }
}

/// Multi-head attention from a fused projection `qkv: [B, T, 3·H·D]` (q, k, v side by side in the
/// last dimension, as timm's and torchvision's `in_proj` produce it) → `[B, T, H·D]`.
public func attention(qkv: Tensor, heads: Int, scale: Float? = nil) -> Tensor {
    precondition(qkv.rank == 3 && qkv.shape[2] % 3 == 0, "attention: qkv must be [B, T, 3·H·D], got \(describeShape(qkv.shape))")
    let (b, t, hd) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
    precondition(heads >= 1 && hd % heads == 0, "attention: \(hd) features do not split into \(heads) heads")
    return Tensor(shape: [b, t, hd]) { out in
        qkv.data.withUnsafeBufferPointer { p in
            attentionForward(q: p.base, k: p.base + hd, v: p.base + 2 * hd, rowStride: 3 * hd, batchStride: t * 3 * hd,
                             out: out.base, batch: b, tokens: t, features: hd, heads: heads, scale: scale)
        }
    }
}

// MARK: - Driver

/// How the (batch, head) pairs are spread over threads (see `attentionForward`).
enum AttentionThreading { case blasThreads, headsInParallel }
nonisolated(unsafe) var attentionThreading = AttentionThreading.headsInParallel

/// Reads token rows of q, k, v with stride `rowStride` (images `batchStride` apart); writes
/// out[B, T, H·D] densely. `features` = H·D.
func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                      rowStride: Int, batchStride: Int, out: UnsafeMutablePointer<Float>,
                      batch: Int, tokens t: Int, features hd: Int, heads: Int, scale: Float?) {
    if batch == 0 || t == 0 || hd == 0 { return }
    let d = hd / heads
    let s = scale ?? 1 / Float(d).squareRoot()
    precondition(s > 0, "attention: scale must be positive, got \(s)")
    let pairs = batch * heads
    let ctx = ComputeContext.current
    if attentionThreading == .blasThreads {
        // The OpenBLAS path (benchmarks compare it): sequential heads, each product on OpenBLAS's own threads.
        ScratchPool.shared.with(t * t) { scores in
            for pair in 0..<pairs {
                let bi = pair / heads, h = pair % heads
                let qh = q + bi * batchStride + h * d, kh = k + bi * batchStride + h * d, vh = v + bi * batchStride + h * d
                sgemm(transB: true, m: t, n: t, k: d, a: qh, lda: rowStride, b: kh, ldb: rowStride, c: scores, ldc: t)
                for r in 0..<t { softmaxRow(scores + r * t, t, scale: s) }
                sgemm(m: t, n: d, k: t, a: scores, lda: t, b: vh, ldb: rowStride, c: out + bi * t * hd + h * d, ldc: hd)
            }
        }
        return
    }
    // Threads claim whole heads; each head's two products run on the packed C GEMM in the thread's own scratch:
    // Q_h packed as A [T, D], K_hᵀ as B [D, T] (read with row stride 1 and column stride rowStride), then the scores'
    // softmax, P packed as A [T, T] and V_h as B [T, D].
    let isa = ctx.isa
    let tuning = gemmTuning
    let sizeA = Int(vfw_packed_a_size(isa.cValue, Int32(t), Int32(Swift.max(t, d))))
    let sizeB = Int(vfw_packed_b_size(isa.cValue, Int32(Swift.max(t, d)), Int32(Swift.max(t, d))))
    parallelItems(pairs, threads: Swift.min(ctx.threads, pairs)) { pair in
        ScratchPool.shared.with(t * t + sizeA + sizeB) { scratch in
            let scores = scratch, pa = scratch + t * t, pb = pa + sizeA
            let bi = pair / heads, h = pair % heads
            let qh = q + bi * batchStride + h * d, kh = k + bi * batchStride + h * d, vh = v + bi * batchStride + h * d
            vfw_pack_a(isa.cValue, Int32(t), Int32(d), qh, rowStride, 1, pa)
            vfw_pack_b(isa.cValue, Int32(d), Int32(t), kh, 1, rowStride, pb)
            vfw_gemm_packed(isa.cValue, Int32(t), Int32(t), Int32(d), pa, pb, scores, t, nil, tuning)
            for r in 0..<t { softmaxRow(scores + r * t, t, scale: s) }
            vfw_pack_a(isa.cValue, Int32(t), Int32(t), scores, t, 1, pa)
            vfw_pack_b(isa.cValue, Int32(t), Int32(d), vh, rowStride, 1, pb)
            vfw_gemm_packed(isa.cValue, Int32(t), Int32(d), Int32(t), pa, pb, out + bi * t * hd + h * d, hd, nil, tuning)
        }
    }
}
