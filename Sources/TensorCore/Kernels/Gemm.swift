// Matrix products over OpenBLAS (cblas_sgemm / cblas_sgemv), and the fused output pass
// (bias + activation) that conv2d and linear run on the product while it is still in cache.

import COpenBLAS

// MARK: - Activation

/// An activation fused into a kernel's output pass (conv2d, linear, add).
public enum Activation: Sendable, Equatable {
    /// Identity.
    case none
    /// max(x, 0); NaN stays NaN.
    case relu
    /// Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch `nn.GELU()`, approximate='none').
    case gelu
}

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

// MARK: - Output pass

/// p[0..<count] = act(p + bias) with one bias value for the whole run (a conv output channel).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, bias: Float, _ act: Activation) {
    switch act {
    case .none:
        if bias != 0 { for i in 0..<count { p[i] += bias } }
    case .relu:
        for i in 0..<count { let v = p[i] + bias; p[i] = v < 0 ? 0 : v }
    case .gelu:
        let b = Vec8(repeating: bias)
        map8(p, p, count) { vgelu($0 + b) }
    }
}

/// p[i] = act(p[i] + bias + r[i]) (a conv output channel plus the matching residual channel).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, bias: Float, residual r: UnsafePointer<Float>?, _ act: Activation) {
    guard let r else { epilogue(p, count, bias: bias, act); return }
    switch act {
    case .none: for i in 0..<count { p[i] = p[i] + bias + r[i] }
    case .relu: for i in 0..<count { let v = p[i] + bias + r[i]; p[i] = v < 0 ? 0 : v }
    case .gelu:
        for i in 0..<count { p[i] = p[i] + bias + r[i] }
        map8(p, p, count) { vgelu($0) }
    }
}

/// p[j] = act(p[j] + bias[j]) for j in 0..<count (a linear output row; bias may be nil).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, biasVector bias: UnsafePointer<Float>?, _ act: Activation) {
    if let bias {
        switch act {
        case .none: for j in 0..<count { p[j] += bias[j] }
        case .relu: for j in 0..<count { let v = p[j] + bias[j]; p[j] = v < 0 ? 0 : v }
        case .gelu:
            for j in 0..<count { p[j] += bias[j] }
            map8(p, p, count) { vgelu($0) }
        }
    } else {
        epilogue(p, count, bias: 0, act)
    }
}

/// Exact GELU per lane, in PyTorch's order: (x·0.5)·(1 + erf(x·(1/√2))).
@inline(__always) func vgelu(_ x: Vec8) -> Vec8 {
    x * 0.5 * (1 + verf(x * 0.707_106_781_186_547_524))
}
