// Fully connected layers and plain matrix products over sgemm.
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
    precondition(x.rank >= 1 && weight.rank == 2, "linear: need x [..., in] and weight [out, in], got \(describeShape(x.shape)), \(describeShape(weight.shape))")
    let (outF, inF) = (weight.shape[0], weight.shape[1])
    precondition(x.shape.last! == inF, "linear: x \(describeShape(x.shape)) has \(x.shape.last!) features, weight \(describeShape(weight.shape)) expects \(inF)")
    if let bias { precondition(bias.count == outF, "linear: bias has \(bias.count) elements for \(outF) outputs") }
    let m = inF == 0 ? x.shape.dropLast().reduce(1, *) : x.count / inF
    return Tensor(shape: Array(x.shape.dropLast()) + [outF]) { out in
        let y = out.base
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                if m == 1 && inF > 0 && outF > 0 {
                    // A single row: y = W·x as a matrix-vector product (sgemm would pack W for nothing).
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outF), Int32(inF), 1, wp.base, Int32(inF),
                                xp.base, 1, 0, y, 1)
                } else {
                    sgemm(transB: true, m: m, n: outF, k: inF, a: xp.base, lda: inF,
                          b: wp.base, ldb: inF, c: y, ldc: outF)
                }
            }
            if let bias {
                bias.data.withUnsafeBufferPointer { bp in
                    parallelFor(m, grain: Swift.max(1, 16384 / Swift.max(outF, 1))) { rows in
                        for r in rows { epilogue(y + r * outF, outF, biasVector: bp.base, activation) }
                    }
                }
            } else if activation != .none {
                parallelFor(m, grain: Swift.max(1, 16384 / Swift.max(outF, 1))) { rows in
                    for r in rows { epilogue(y + r * outF, outF, bias: 0, activation) }
                }
            }
        }
    }
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
