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
// The (b, h) pairs are independent; threads claim them one at a time, each using OpenBLAS
// single-threaded for its small products (197×197×64 is too small to split well).

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
    // One head: scores in `scores` [T, T], then softmax, then P·V into the output columns.
    func head(_ pair: Int, _ scores: UnsafeMutablePointer<Float>) {
        let bi = pair / heads, h = pair % heads
        let qh = q + bi * batchStride + h * d, kh = k + bi * batchStride + h * d, vh = v + bi * batchStride + h * d
        sgemm(transB: true, m: t, n: t, k: d, a: qh, lda: rowStride, b: kh, ldb: rowStride, c: scores, ldc: t)
        for r in 0..<t { softmaxRow(scores + r * t, t, scale: s) }
        sgemm(m: t, n: d, k: t, a: scores, lda: t, b: vh, ldb: rowStride, c: out + bi * t * hd + h * d, ldc: hd)
    }
    let threads = Swift.min(computeThreads, pairs)
    if attentionThreading == .blasThreads || threads <= 1 {
        ScratchPool.shared.with(t * t) { scores in
            for pair in 0..<pairs { head(pair, scores) }
        }
        return
    }
    // Each thread takes whole heads and runs its products on one BLAS thread: 197×197×64 products
    // split badly over BLAS threads (ViT-B batch 1 on the shared 2-core machine: 2.6 ms this way,
    // 8.0 ms with sequential heads on a 2-thread BLAS).
    withSingleThreadedBLAS {
        parallelItems(pairs, threads: threads) { pair in  // claimed dynamically
            ScratchPool.shared.with(t * t) { scores in head(pair, scores) }
        }
    }
}
