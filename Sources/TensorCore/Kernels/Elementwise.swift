// Elementwise kernels: activations (ReLU, GELU, tanh) and residual adds, in place or copying.
//
//   x, y: any shape, contiguous. Every function here is one pass over memory, parallel over 2+
//   threads when the tensor is large enough to pay for the wake-up (≥ 64 K elements per thread).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elements per thread below which elementwise loops stay on the calling thread.
let elementwiseGrain = KernelTuning.elementwiseGrain

/// Runs `body(start, count)` over `0..<n` in chunks (multiples of 8 so SIMD bodies stay aligned).
@inline(__always)
func parallelChunks(_ n: Int, _ body: (Int, Int) -> Void) {
    let chunks = Swift.max(1, Swift.min(computeThreads, n / elementwiseGrain))
    if chunks == 1 { body(0, n); return }
    let per = (n / chunks + 7) & ~7
    parallelFor(chunks) { range in
        for k in range {
            let start = Swift.min(n, k * per), end = k == chunks - 1 ? n : Swift.min(n, (k + 1) * per)
            if end > start { body(start, end - start) }
        }
    }
}

// MARK: - Activations

/// `x = max(x, 0)` in place (NaN stays NaN). Any shape.
public func reluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { xp in
        let p = xp.base
        parallelChunks(xp.count) { s, n in
            let q = p + s
            for i in 0..<n { let v = q[i]; q[i] = v < 0 ? 0 : v }
        }
    }
}

/// `max(x, 0)` (NaN stays NaN). Any shape.
public func relu(_ x: Tensor) -> Tensor { var y = x; reluInPlace(&y); return y }

/// Exact GELU in place: `x = 0.5·x·(1 + erf(x/√2))` (PyTorch `nn.GELU()`, approximate='none';
/// erf from the vectorised `fastErf`, within 1.2e-7 of the true erf). Any shape.
public func geluInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { xp in
        let p = xp.base
        parallelChunks(xp.count) { s, n in map8(p + s, p + s, n) { vgelu($0) } }
    }
}

/// Exact GELU, `0.5·x·(1 + erf(x/√2))`. Any shape.
public func gelu(_ x: Tensor) -> Tensor { var y = x; geluInPlace(&y); return y }

/// `x = tanh(x)` in place (glibc tanhf, correctly rounded to ~1 ulp). Any shape.
public func tanhInPlace(_ x: inout Tensor) {
    x.data.withUnsafeMutableBufferPointer { xp in
        let p = xp.base
        parallelChunks(xp.count) { s, n in for i in s..<(s + n) { p[i] = tanhf(p[i]) } }
    }
}

/// `tanh(x)`. Any shape.
public func tanh(_ x: Tensor) -> Tensor { var y = x; tanhInPlace(&y); return y }

// MARK: - Add

/// `a = act(a + b)` in place (a residual add; `.relu` gives ResNet's `relu(out + identity)`).
///
/// `b` has `a`'s shape, or broadcasts over `a`'s leading dimensions: its shape without leading 1s is
/// a suffix of `a`'s shape (a `[1, T, D]` position table added to `[B, T, D]`, a `[D]` bias to `[.., D]`).
public func addInPlace(_ a: inout Tensor, _ b: Tensor, activation: Activation = .none) {
    let bs = Array(b.shape.drop(while: { $0 == 1 }))
    precondition(bs.count <= a.rank && Array(a.shape.suffix(bs.count)) == bs,
                 "add: \(describeShape(b.shape)) does not broadcast to \(describeShape(a.shape))")
    let period = b.count
    if period == 0 || a.count == 0 { return }
    b.data.withUnsafeBufferPointer { bp in
        a.data.withUnsafeMutableBufferPointer { ap in
            let p = ap.base, q = bp.base
            if period == ap.count {
                parallelChunks(ap.count) { s, n in
                    let x = p + s, y = q + s
                    epilogue(x, n, bias: 0, residual: y, activation)
                }
            } else {
                let reps = ap.count / period
                parallelFor(reps, grain: Swift.max(1, elementwiseGrain / period)) { range in
                    for r in range { epilogue(p + r * period, period, biasVector: q, activation) }
                }
            }
        }
    }
}

/// `act(a + b)`; `b` as in `addInPlace`.
public func add(_ a: Tensor, _ b: Tensor, activation: Activation = .none) -> Tensor {
    var y = a
    addInPlace(&y, b, activation: activation)
    return y
}

/// `relu(a + b)` (ResNet's block output). Same shape rules as `add`.
public func addReLU(_ a: Tensor, _ b: Tensor) -> Tensor { add(a, b, activation: .relu) }

/// `x = x·scale` in place. Any shape.
public func scaleInPlace(_ x: inout Tensor, by scale: Float) {
    x.data.withUnsafeMutableBufferPointer { xp in
        let p = xp.base
        parallelChunks(xp.count) { s, n in for i in s..<(s + n) { p[i] *= scale } }
    }
}
