// linear (sgemm and the single-row sgemv path), matmul and multi-head attention against Double loops.

import Foundation
import Testing
import TensorCore

// MARK: - Linear

struct LinearCase: CustomTestStringConvertible, Sendable {
    var lead: [Int]   // leading dims of x
    var inF, outF: Int
    var bias: Bool
    var act: Activation
    var testDescription: String { "x\(lead + [inF]) w[\(outF), \(inF)]\(bias ? " bias" : "")\(act == .none ? "" : " \(act)")" }
}

/// y[m, o] = act(Σ_i x[m, i]·W[o, i] + b[o]) in Double.
func naiveLinear(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ act: Activation) -> [Double] {
    let (outF, inF) = (w.shape[0], w.shape[1])
    let m = x.count / inF
    var out = [Double](repeating: 0, count: m * outF)
    for r in 0..<m {
        for o in 0..<outF {
            var s = Double(b?.data[o] ?? 0)
            for i in 0..<inF { s += Double(x.data[r * inF + i]) * Double(w.data[o * inF + i]) }
            out[r * outF + o] = applyReference(act, s)
        }
    }
    return out
}

@Suite("linear and matmul")
struct KernelLinearTests {
    @Test("linear matches x·Wᵀ + b", arguments: [
        LinearCase(lead: [1], inF: 64, outF: 10, bias: true, act: .none),        // one row: sgemv
        LinearCase(lead: [4], inF: 64, outF: 10, bias: true, act: .none),
        LinearCase(lead: [2, 5], inF: 24, outF: 40, bias: true, act: .gelu),     // [B, T, D], MLP fc1
        LinearCase(lead: [3], inF: 17, outF: 9, bias: false, act: .none),
        LinearCase(lead: [1], inF: 17, outF: 9, bias: false, act: .relu),
        LinearCase(lead: [2, 7], inF: 32, outF: 96, bias: true, act: .none),     // fused qkv shape
        LinearCase(lead: [1, 1], inF: 8, outF: 3, bias: true, act: .gelu),       // one row, leading dims kept
    ])
    func linearCase(_ cs: LinearCase) {
        let x = randomTensor(cs.lead + [cs.inF], seed: 60)
        let w = randomTensor([cs.outF, cs.inF], seed: 61)
        let b = cs.bias ? randomTensor([cs.outF], seed: 62) : nil
        let y = linear(x, weight: w, bias: b, activation: cs.act)
        expectClose(y, naiveLinear(x, w, b, cs.act), shape: cs.lead + [cs.outF], cs.testDescription)
    }

    @Test("matmul matches the triple loop", arguments: [(3, 4, 5, false), (3, 4, 5, true), (1, 9, 1, false), (7, 1, 6, true)])
    func matmulCase(_ m: Int, _ k: Int, _ n: Int, _ transposeB: Bool) {
        let a = randomTensor([m, k], seed: 63)
        let b = randomTensor(transposeB ? [n, k] : [k, n], seed: 64)
        var ref = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { for p in 0..<k {
            ref[i * n + j] += Double(a[i, p]) * Double(transposeB ? b[j, p] : b[p, j])
        } } }
        expectClose(matmul(a, b, transposeB: transposeB), ref, shape: [m, n], "m\(m) k\(k) n\(n)\(transposeB ? " bᵀ" : "")")
    }
}

// MARK: - Attention

struct AttentionCase: CustomTestStringConvertible, Sendable {
    var b, t, h, d: Int
    var scale: Float?
    var testDescription: String { "b\(b) t\(t) h\(h) d\(d)\(scale.map { " scale \($0)" } ?? "")" }
}

/// out[b, t, h·D + j] = Σ_s softmax_s(q_h[t]·k_h[s]·scale)·v_h[s, j], heads interleaved, in Double.
func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, scale: Double) -> [Double] {
    let (bn, t, hd) = (q.shape[0], q.shape[1], q.shape[2])
    let d = hd / heads
    var out = [Double](repeating: 0, count: bn * t * hd)
    for b in 0..<bn { for h in 0..<heads { for i in 0..<t {
        var s = [Double](repeating: 0, count: t)
        for j in 0..<t {
            for e in 0..<d { s[j] += Double(q[b, i, h * d + e]) * Double(k[b, j, h * d + e]) }
            s[j] *= scale
        }
        let m = s.max()!
        let p = s.map { Foundation.exp($0 - m) }
        let z = p.reduce(0, +)
        for e in 0..<d {
            var acc = 0.0
            for j in 0..<t { acc += p[j] / z * Double(v[b, j, h * d + e]) }
            out[(b * t + i) * hd + h * d + e] = acc
        }
    } } }
    return out
}

@Suite("attention")
struct KernelAttentionTests {
    static let cases = [
        AttentionCase(b: 1, t: 5, h: 2, d: 4, scale: nil),
        AttentionCase(b: 2, t: 7, h: 3, d: 8, scale: nil),
        AttentionCase(b: 2, t: 9, h: 1, d: 16, scale: 0.3),
        AttentionCase(b: 1, t: 13, h: 12, d: 8, scale: nil),   // more heads than threads, odd T (softmax tail)
        AttentionCase(b: 1, t: 1, h: 2, d: 4, scale: nil),     // one token: output = v
    ]

    @Test("separate q, k, v match softmax(QKᵀ·scale)V per head", arguments: cases)
    func separate(_ cs: AttentionCase) {
        let shape = [cs.b, cs.t, cs.h * cs.d]
        let q = randomTensor(shape, seed: 70, -2, 2), k = randomTensor(shape, seed: 71, -2, 2), v = randomTensor(shape, seed: 72)
        let y = attention(q: q, k: k, v: v, heads: cs.h, scale: cs.scale)
        let scale = Double(cs.scale ?? 1 / Float(cs.d).squareRoot())
        expectClose(y, naiveAttention(q, k, v, heads: cs.h, scale: scale), shape: shape, atol: 2e-6, rtol: 1e-5, cs.testDescription)
    }

    @Test("fused qkv [B, T, 3·H·D] equals separate q, k, v", arguments: cases)
    func fused(_ cs: AttentionCase) {
        let hd = cs.h * cs.d
        let qkv = randomTensor([cs.b, cs.t, 3 * hd], seed: 73, -2, 2)
        func part(_ which: Int) -> Tensor {
            var data: [Float] = []
            for r in 0..<(cs.b * cs.t) {
                let start: Int = r * 3 * hd + which * hd
                data.append(contentsOf: qkv.data[start..<(start + hd)])
            }
            return Tensor(shape: [cs.b, cs.t, hd], data: data)
        }
        let y = attention(qkv: qkv, heads: cs.h, scale: cs.scale)
        let scale = Double(cs.scale ?? 1 / Float(cs.d).squareRoot())
        expectClose(y, naiveAttention(part(0), part(1), part(2), heads: cs.h, scale: scale), shape: [cs.b, cs.t, hd],
                    atol: 2e-6, rtol: 1e-5, "fused " + cs.testDescription)
    }
}
