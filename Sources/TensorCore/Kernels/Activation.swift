// Activations and the output pass (bias, residual, activation) every kernel applies while its output is in cache:
// the one place activation math lives. The C GEMM fuses bias, residual and ReLU in registers; the other
// activations run here on the rows it has just stored.
//
//   p[0..<count] contiguous floats, bias one value (a conv channel) or a vector (a linear row), residual shaped like p.
//
// Definitions (PyTorch's, in its evaluation order where it matters):
//   relu          max(x, 0), NaN stays NaN                         nn.ReLU
//   gelu          (x·0.5)·(1 + erf(x·(1/√2)))                      nn.GELU()            (erf: vectorised, ≤ 1.2e-7 abs)
//   geluTanh      0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))      nn.GELU('tanh')      (tanh: glibc tanhf)
//   quickGelu     x·sigmoid(1.702·x)                               CLIP's QuickGELU
//   silu          x·sigmoid(x)                                     nn.SiLU
//   hardswish     x·min(max(x + 3, 0), 6)/6                        nn.Hardswish
//   hardsigmoid   min(max(x + 3, 0), 6)/6                          nn.Hardsigmoid
//   sigmoid       1/(1 + e^(−x))                                   torch.sigmoid        (exp: vectorised, ≤ 1 ulp)
//   tanh          tanh(x)                                          torch.tanh           (glibc tanhf)

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Activation

/// An activation fused into a kernel's output pass (conv2d, linear, add, batch norm).
public enum Activation: Sendable, Equatable, CaseIterable {
    /// Identity.
    case none
    /// max(x, 0); NaN stays NaN.
    case relu
    /// Exact GELU, 0.5·x·(1 + erf(x/√2)) (PyTorch `nn.GELU()`, approximate='none').
    case gelu
    /// GELU's tanh approximation (PyTorch `nn.GELU(approximate='tanh')`, SigLIP, gelu_pytorch_tanh).
    case geluTanh
    /// x·sigmoid(1.702·x) (CLIP's QuickGELU).
    case quickGelu
    /// x·sigmoid(x) (`nn.SiLU`, swish).
    case silu
    /// x·relu6(x + 3)/6 (`nn.Hardswish`).
    case hardswish
    /// relu6(x + 3)/6 (`nn.Hardsigmoid`).
    case hardsigmoid
    /// 1/(1 + e^(−x)).
    case sigmoid
    /// tanh(x).
    case tanh

    /// The activation of one value, in Float, as the kernels compute it (tests use it as the oracle of the
    /// vectorised path; the references in the tests are Double formulas).
    public func callAsFunction(_ x: Float) -> Float {
        var v = x
        activate(&v, 1, self)
        return v
    }
}

// MARK: - Vectorised activation pass

/// p[i] = act(p[i]) for i in 0..<count.
@inline(__always)
func activate(_ p: UnsafeMutablePointer<Float>, _ count: Int, _ act: Activation) {
    switch act {
    case .none: return
    case .relu: for i in 0..<count { let v = p[i]; p[i] = v < 0 ? 0 : v }
    case .gelu: map8(p, p, count) { vgelu($0) }
    case .geluTanh:
        for i in 0..<count {
            let x = p[i]
            let inner: Float = 0.797_884_560_802_865_4 * (x + 0.044_715 * x * x * x)
            p[i] = 0.5 * x * (1 + tanhf(inner))
        }
    case .quickGelu: map8(p, p, count) { $0 * vsigmoid($0 * 1.702) }
    case .silu: map8(p, p, count) { $0 * vsigmoid($0) }
    case .hardswish: map8(p, p, count) { $0 * vrelu6($0 + 3) / 6 }
    case .hardsigmoid: map8(p, p, count) { vrelu6($0 + 3) / 6 }
    case .sigmoid: map8(p, p, count) { vsigmoid($0) }
    case .tanh: for i in 0..<count { p[i] = tanhf(p[i]) }
    }
}

/// 1/(1 + e^(−x)) per lane (e^(−x) overflows to +inf for x < −88.7, giving 0).
@inline(__always) func vsigmoid(_ x: Vec8) -> Vec8 { 1 / (1 + vexp(-x)) }

/// min(max(x, 0), 6) per lane, NaN kept.
@inline(__always) func vrelu6(_ x: Vec8) -> Vec8 {
    x.replacing(with: 0, where: x .< 0).replacing(with: 6, where: x .> 6)
}

/// Exact GELU per lane, in PyTorch's order: (x·0.5)·(1 + erf(x·(1/√2))).
@inline(__always) func vgelu(_ x: Vec8) -> Vec8 {
    x * 0.5 * (1 + verf(x * 0.707_106_781_186_547_524))
}

/// 16 lanes at once (Winograd's output rows).
@inline(__always) func activate16(_ v: SIMD16<Float>, _ act: Activation) -> SIMD16<Float> {
    switch act {
    case .none: return v
    case .relu: return v.replacing(with: 0, where: v .< 0)
    default:
        var t = v
        withUnsafeMutableBytes(of: &t) { activate($0.baseAddress!.assumingMemoryBound(to: Float.self), 16, act) }
        return t
    }
}

// MARK: - Output pass

/// p[0..<count] = act(p + bias) with one bias value for the whole run (a conv output channel).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, bias: Float, _ act: Activation) {
    switch act {
    case .relu:
        for i in 0..<count { let v = p[i] + bias; p[i] = v < 0 ? 0 : v }
    default:
        if bias != 0 { for i in 0..<count { p[i] += bias } }
        activate(p, count, act)
    }
}

/// p[i] = act(p[i] + bias + r[i]) (a conv output channel plus the matching residual channel).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, bias: Float, residual r: UnsafePointer<Float>?, _ act: Activation) {
    guard let r else { epilogue(p, count, bias: bias, act); return }
    switch act {
    case .relu: for i in 0..<count { let v = p[i] + bias + r[i]; p[i] = v < 0 ? 0 : v }
    default:
        for i in 0..<count { p[i] = p[i] + bias + r[i] }
        activate(p, count, act)
    }
}

/// p[j] = act(p[j] + bias[j]) for j in 0..<count (a linear output row; bias may be nil).
@inline(__always)
func epilogue(_ p: UnsafeMutablePointer<Float>, _ count: Int, biasVector bias: UnsafePointer<Float>?, _ act: Activation) {
    guard let bias else { activate(p, count, act); return }
    switch act {
    case .relu: for j in 0..<count { let v = p[j] + bias[j]; p[j] = v < 0 ? 0 : v }
    default:
        for j in 0..<count { p[j] += bias[j] }
        activate(p, count, act)
    }
}
