// conv2d (im2col + sgemm, pointwise and batched paths) and batch-norm folding, against a direct
// six-deep loop in Double.

import Foundation
import Testing
import TensorCore

// MARK: - Cases

struct ConvCase: CustomTestStringConvertible, Sendable {
    var n, c, h, w, o: Int
    var kh, kw: Int
    var sh, sw, ph, pw, dh, dw: Int
    var g: Int
    var bias: Bool
    var act: Activation

    /// Square kernel / stride / padding / dilation.
    init(n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, s: Int = 1, p: Int = 0, d: Int = 1, g: Int = 1,
         bias: Bool = false, act: Activation = .none) {
        self.init(n: n, c: c, h: h, w: w, o: o, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, dh: d, dw: d, g: g, bias: bias, act: act)
    }

    init(n: Int, c: Int, h: Int, w: Int, o: Int, kh: Int, kw: Int, sh: Int, sw: Int, ph: Int, pw: Int, dh: Int, dw: Int,
         g: Int, bias: Bool, act: Activation) {
        (self.n, self.c, self.h, self.w, self.o) = (n, c, h, w, o)
        (self.kh, self.kw, self.sh, self.sw, self.ph, self.pw, self.dh, self.dw) = (kh, kw, sh, sw, ph, pw, dh, dw)
        (self.g, self.bias, self.act) = (g, bias, act)
    }

    var testDescription: String {
        func pair(_ a: Int, _ b: Int) -> String { a == b ? "\(a)" : "\(a),\(b)" }
        var s = "n\(n) c\(c) h\(h) w\(w) o\(o) k\(kh == kw ? "\(kh)" : "\(kh)x\(kw)") s\(pair(sh, sw)) p\(pair(ph, pw)) d\(pair(dh, dw)) g\(g)"
        if bias { s += " bias" }
        if act != .none { s += " \(act)" }
        return s
    }

    var ho: Int { (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1 }
    var wo: Int { (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1 }
}

let convCases: [ConvCase] = [
    ConvCase(n: 1, c: 3, h: 8, w: 8, o: 4, k: 3, p: 1),
    ConvCase(n: 2, c: 8, h: 9, w: 7, o: 8, k: 3, s: 2, p: 1, d: 2, g: 4, bias: true),        // everything at once
    ConvCase(n: 1, c: 4, h: 6, w: 6, o: 6, k: 1),                                             // pointwise, per image
    ConvCase(n: 3, c: 4, h: 6, w: 5, o: 6, k: 1, bias: true, act: .relu),                     // pointwise, batched
    ConvCase(n: 2, c: 6, h: 7, w: 7, o: 4, k: 1, s: 2),                                       // ResNet downsample 1×1/2
    ConvCase(n: 2, c: 3, h: 11, w: 11, o: 4, k: 7, s: 2, p: 3, bias: true, act: .relu),       // ResNet stem
    ConvCase(n: 1, c: 4, h: 5, w: 5, o: 4, k: 3, p: 1, g: 4),                                 // depthwise
    ConvCase(n: 2, c: 4, h: 6, w: 6, o: 8, k: 3, p: 1, g: 2, bias: true, act: .gelu),         // grouped, batched, GELU
    ConvCase(n: 2, c: 2, h: 33, w: 33, o: 3, k: 3, p: 1, bias: true),                         // large plane: per-image path at n > 1
    ConvCase(n: 1, c: 3, h: 16, w: 16, o: 8, k: 4, s: 4, bias: true),                         // ViT patch embedding
    ConvCase(n: 1, c: 2, h: 7, w: 9, o: 3, kh: 3, kw: 2, sh: 2, sw: 1, ph: 1, pw: 0, dh: 1, dw: 2, g: 1, bias: false, act: .none),
    ConvCase(n: 1, c: 2, h: 3, w: 3, o: 2, k: 1, p: 2),                                       // padding wider than the kernel
    ConvCase(n: 2, c: 3, h: 8, w: 10, o: 2, k: 2, s: 3, p: 1, bias: true),                    // stride larger than the kernel
    ConvCase(n: 1, c: 1, h: 5, w: 5, o: 1, k: 5),                                             // kernel covers the input
    ConvCase(n: 1, c: 2, h: 4, w: 4, o: 2, k: 3, p: 4, d: 3),                                 // taps fully outside on some rows
    ConvCase(n: 1, c: 2, h: 9, w: 40, o: 3, k: 3, s: 2, p: 1, bias: true),                    // stride 2, wide rows: 8-wide gather
    ConvCase(n: 2, c: 3, h: 7, w: 37, o: 4, k: 7, s: 2, p: 3, act: .relu),                    // stem-like, odd width
    ConvCase(n: 1, c: 3, h: 5, w: 35, o: 2, k: 1, s: 2),                                      // 1×1 stride 2, wide rows
]

// MARK: - Reference

/// out[n,o,y,x] = b[o] + Σ_{c in group(o)} Σ_{i,j} W[o,c',i,j]·in[n,c, y·s−p+i·d, x·s−p+j·d], in Double.
func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ cs: ConvCase) -> [Double] {
    let (ho, wo) = (cs.ho, cs.wo)
    let cinG = cs.c / cs.g, coutG = cs.o / cs.g
    var out = [Double](repeating: 0, count: cs.n * cs.o * ho * wo)
    for n in 0..<cs.n {
        for o in 0..<cs.o {
            let grp = o / coutG
            for oy in 0..<ho {
                for ox in 0..<wo {
                    var s = Double(b?.data[o] ?? 0)
                    for cc in 0..<cinG {
                        let c = grp * cinG + cc
                        for i in 0..<cs.kh {
                            for j in 0..<cs.kw {
                                let iy = oy * cs.sh - cs.ph + i * cs.dh, ix = ox * cs.sw - cs.pw + j * cs.dw
                                if iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w { continue }
                                // w[o, cc, i, j] · x[n, c, iy, ix], indexed flat (variadic subscripts are slow in debug).
                                s += Double(w.data[((o * cinG + cc) * cs.kh + i) * cs.kw + j])
                                    * Double(x.data[((n * cs.c + c) * cs.h + iy) * cs.w + ix])
                            }
                        }
                    }
                    out[((n * cs.o + o) * ho + oy) * wo + ox] = s
                }
            }
        }
    }
    return out.map { applyReference(cs.act, $0) }
}

/// The activation in Double, from its PyTorch definition.
func applyReference(_ act: Activation, _ v: Double) -> Double {
    func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    func relu6(_ x: Double) -> Double { x.isNaN ? x : Swift.min(Swift.max(x, 0), 6) }
    switch act {
    case .none: return v
    case .relu: return v < 0 ? 0 : v
    case .gelu: return 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
    case .geluTanh: return 0.5 * v * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
    case .quickGelu: return v * sigmoid(1.702 * v)
    case .silu: return v * sigmoid(v)
    case .hardswish: return v * relu6(v + 3) / 6
    case .hardsigmoid: return relu6(v + 3) / 6
    case .sigmoid: return sigmoid(v)
    case .tanh: return Foundation.tanh(v)
    }
}

/// Conv cases sized for the packed GEMM's blocking: output channels that are and are not multiples of a tile's
/// rows (8 at AVX-512, 4 at AVX2 and generic), K past one K block (256), several column blocks per image, and the
/// activations later families need (SiLU, hardswish, hardsigmoid, tanh-GELU, quick-GELU) fused into the conv.
let packedConvCases: [ConvCase] = [
    ConvCase(n: 1, c: 32, h: 10, w: 10, o: 24, k: 3, p: 1, bias: true, act: .relu),           // K = 288: two K blocks
    ConvCase(n: 2, c: 64, h: 7, w: 7, o: 36, k: 1, bias: true),                               // 36 rows: a row edge
    ConvCase(n: 1, c: 8, h: 40, w: 40, o: 16, k: 3, p: 1, bias: true, act: .silu),            // many column blocks
    ConvCase(n: 1, c: 16, h: 9, w: 9, o: 16, k: 3, p: 1, g: 16, bias: true, act: .hardswish), // depthwise 3×3
    ConvCase(n: 2, c: 12, h: 8, w: 8, o: 12, k: 5, s: 2, p: 2, g: 12, act: .hardsigmoid),     // depthwise 5×5 stride 2
    ConvCase(n: 1, c: 32, h: 6, w: 6, o: 64, k: 3, p: 1, g: 4, bias: true, act: .geluTanh),   // grouped (RegNet-like)
    ConvCase(n: 1, c: 24, h: 5, w: 5, o: 8, k: 1, bias: true, act: .quickGelu),
    ConvCase(n: 1, c: 16, h: 1, w: 1, o: 40, k: 1, bias: true, act: .sigmoid),                // squeeze-excitation FC
    ConvCase(n: 1, c: 4, h: 6, w: 6, o: 4, k: 3, p: 1, bias: true, act: .tanh),
]

// MARK: - Tests

@Suite("conv2d")
struct KernelConvTests {
    @Test("matches the direct loop, on every instruction set this CPU has", arguments: convCases + packedConvCases, KernelISA.supported)
    func conv(_ cs: ConvCase, _ isa: KernelISA) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 1)
        let w = randomTensor([cs.o, cs.c / cs.g, cs.kh, cs.kw], seed: 2)
        let b = cs.bias ? randomTensor([cs.o], seed: 3) : nil
        let y = ComputeContext(threads: 2, isa: isa).run {
            conv2d(x, weight: w, bias: b, stride: (cs.sh, cs.sw), padding: (cs.ph, cs.pw),
                   dilation: (cs.dh, cs.dw), groups: cs.g, activation: cs.act)
        }
        expectClose(y, naiveConv(x, w, b, cs), shape: [cs.n, cs.o, cs.ho, cs.wo], "\(isa) " + cs.testDescription)
    }

    @Test("Int overload equals the tuple overload")
    func intOverload() {
        let x = randomTensor([1, 4, 9, 9], seed: 4), w = randomTensor([4, 2, 3, 3], seed: 5)
        let a = conv2d(x, weight: w, stride: 2, padding: 1, dilation: 2, groups: 2)
        let b = conv2d(x, weight: w, bias: nil, stride: (2, 2), padding: (1, 1), dilation: (2, 2), groups: 2)
        #expect(a == b)
    }

    @Test("folding batch norm into the conv matches conv then batch norm",
          arguments: [ConvCase(n: 2, c: 4, h: 6, w: 6, o: 5, k: 3, p: 1, bias: false),
                      ConvCase(n: 1, c: 4, h: 5, w: 5, o: 4, k: 1, bias: true),
                      ConvCase(n: 1, c: 6, h: 5, w: 5, o: 6, k: 3, p: 1, g: 3, bias: true)])
    func fold(_ cs: ConvCase) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 6)
        let w = randomTensor([cs.o, cs.c / cs.g, cs.kh, cs.kw], seed: 7)
        let b = cs.bias ? randomTensor([cs.o], seed: 8) : nil
        let mean = randomTensor([cs.o], seed: 9), variance = randomTensor([cs.o], seed: 10, 0.01, 2)
        let gamma = randomTensor([cs.o], seed: 11, 0.5, 1.5), beta = randomTensor([cs.o], seed: 12)
        let eps: Float = 1e-5
        let (fw, fb) = foldBatchNorm(convWeight: w, convBias: b, mean: mean, variance: variance, weight: gamma, bias: beta, eps: eps)
        #expect(fw.shape == w.shape && fb.shape == [cs.o])
        let y = conv2d(x, weight: fw, bias: fb, padding: cs.ph, groups: cs.g, activation: .relu)
        // Reference: conv in Double, then BN in Double, then ReLU.
        let conv = naiveConv(x, w, b, ConvCase(n: cs.n, c: cs.c, h: cs.h, w: cs.w, o: cs.o, k: cs.kh, p: cs.ph, g: cs.g))
        let plane = cs.ho * cs.wo
        let ref = conv.enumerated().map { i, v -> Double in
            let o = (i / plane) % cs.o
            let bn = (v - Double(mean.data[o])) / (Double(variance.data[o]) + Double(eps)).squareRoot() * Double(gamma.data[o]) + Double(beta.data[o])
            return max(bn, 0)
        }
        expectClose(y, ref, shape: [cs.n, cs.o, cs.ho, cs.wo], "folded " + cs.testDescription)
    }
}
