// Matrix products over OpenBLAS (cblas_sgemm / cblas_sgemv) for `linear`, `matmul`, attention and Winograd's
// products; convolutions use the packed C GEMM (PackedGemm.swift). The output pass is in Activation.swift.

import COpenBLAS

// MARK: - sgemm

/// C[m,n] = alpha·op(A)·op(B) + beta·C, all row-major. op(A) is [m,k] (A stored [k,m] when
/// `transA`), op(B) is [k,n] (B stored [n,k] when `transB`). lda/ldb/ldc are row strides in elements.
@inline(__always)
func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
           a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
           beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if m == 0 || n == 0 { return }
    if k == 0 {  // OpenBLAS leaves C alone for k = 0; the product of empty sums is 0.
        for i in 0..<m { let row = c + i * ldc; for j in 0..<n { row[j] = beta == 0 ? 0 : beta * row[j] } }
        return
    }
    precondition(m <= Int(Int32.max) && n <= Int(Int32.max) && k <= Int(Int32.max), "sgemm: dimension exceeds 32-bit BLAS")
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
