// Fully connected layers (on the packed C GEMM, PackedGemm.swift) and plain matrix products over OpenBLAS sgemm.
//
//   linear: x [..., in] (M = product of the leading dims rows), weight [out, in] (PyTorch layout),
//           bias [out] → y [..., out] = x · Wᵀ + b, i.e. sgemm(NoTrans, Trans, M, out, in).
//   matmul: a [M, K] · b [K, N] (or b stored [N, K] with transposeB) → [M, N].

import COpenBLAS

// MARK: - Linear

/// Linear layer, PyTorch `nn.Linear`: `y = x·Wᵀ + b` over the last dimension, with an optional fused
/// activation (`.gelu` for a transformer MLP's first layer).
///
/// `x: [..., in]`, `weight: [out, in]`, `bias: [out]` or nil → `[..., out]`.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, activation: Activation = .none) -> Tensor {
    linearForward(x, weight: weight, bias: bias, activation: activation, residual: nil)
}

// MARK: - Matrix product

/// Matrix product of 2-D tensors: `a [M, K] · b [K, N]` → `[M, N]`; with `transposeB`, b is stored
/// `[N, K]` and the result is `a · bᵀ`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeB: Bool = false) -> Tensor {
    precondition(a.rank == 2 && b.rank == 2, "matmul: need 2-D tensors, got \(describeShape(a.shape)), \(describeShape(b.shape))")
    let (m, k) = (a.shape[0], a.shape[1])
    let (kb, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
    precondition(k == kb, "matmul: \(describeShape(a.shape)) · \(describeShape(b.shape))\(transposeB ? "ᵀ" : "") do not chain")
    return Tensor(shape: [m, n]) { out in
        a.data.withUnsafeBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                sgemm(transB: transposeB, m: m, n: n, k: k, a: ap.base, lda: k,
                      b: bp.base, ldb: transposeB ? k : n, c: out.base, ldc: n)
            }
        }
    }
}
