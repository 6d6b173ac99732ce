// Batch norm (eval), layer norm and softmax against Double loops.

import Foundation
import Testing
import TensorCore

// MARK: - Batch norm

struct BatchNormCase: CustomTestStringConvertible, Sendable {
    var shape: [Int]
    var affine: Bool
    var act: Activation
    var testDescription: String { "x\(shape)\(affine ? "" : " no-affine")\(act == .none ? "" : " \(act)")" }
}

@Suite("batch norm")
struct KernelBatchNormTests {
    @Test("eval mode matches (x − mean)/sqrt(var + eps)·w + b", arguments: [
        BatchNormCase(shape: [2, 3, 4, 5], affine: true, act: .none),
        BatchNormCase(shape: [1, 8, 7, 7], affine: true, act: .relu),
        BatchNormCase(shape: [3, 4, 1, 1], affine: false, act: .none),
        BatchNormCase(shape: [2, 5], affine: true, act: .none),          // BatchNorm1d on [N, C]
        BatchNormCase(shape: [2, 64, 40, 40], affine: true, act: .relu), // big enough to run on 2 threads
    ])
    func batchNormCase(_ cs: BatchNormCase) {
        let c = cs.shape[1]
        let x = randomTensor(cs.shape, seed: 20, -3, 3)
        let mean = randomTensor([c], seed: 21), variance = randomTensor([c], seed: 22, 0.001, 3)
        let w = cs.affine ? randomTensor([c], seed: 23, 0.2, 2) : nil, b = cs.affine ? randomTensor([c], seed: 24) : nil
        let eps: Float = 1e-5
        let y = batchNorm(x, mean: mean, variance: variance, weight: w, bias: b, eps: eps, activation: cs.act)
        let plane = cs.shape.dropFirst(2).reduce(1, *)
        let ref = x.data.enumerated().map { i, v -> Double in
            let ch = (i / plane) % c
            let r = (Double(v) - Double(mean.data[ch])) / (Double(variance.data[ch]) + Double(eps)).squareRoot()
                * Double(w?.data[ch] ?? 1) + Double(b?.data[ch] ?? 0)
            return applyReference(cs.act, r)
        }
        expectClose(y, ref, shape: cs.shape, atol: 1e-6, rtol: 2e-6, cs.testDescription)
    }
}

// MARK: - Layer norm

struct LayerNormCase: CustomTestStringConvertible, Sendable {
    var shape: [Int]
    var offset: Float    // added to every input: rows far from zero test the two-pass statistics
    var spread: Float
    var eps: Float
    var affine: Bool
    var testDescription: String { "x\(shape) offset \(offset) spread \(spread) eps \(eps)\(affine ? "" : " no-affine")" }
}

/// (x − μ)/sqrt(σ² + eps)·w + b per row of the last dim, biased variance, all in Double.
func naiveLayerNorm(_ x: Tensor, _ w: Tensor?, _ b: Tensor?, eps: Float) -> [Double] {
    let d = x.shape.last!
    var out = [Double](repeating: 0, count: x.count)
    for r in 0..<(x.count / d) {
        let row = (0..<d).map { Double(x.data[r * d + $0]) }
        let mean = row.reduce(0, +) / Double(d)
        let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d)
        for j in 0..<d {
            out[r * d + j] = (row[j] - mean) / (variance + Double(eps)).squareRoot() * Double(w?.data[j] ?? 1) + Double(b?.data[j] ?? 0)
        }
    }
    return out
}

@Suite("layer norm")
struct KernelLayerNormTests {
    @Test("matches the Double two-pass reference", arguments: [
        LayerNormCase(shape: [2, 3, 768], offset: 0, spread: 1, eps: 1e-6, affine: true),     // ViT-B rows
        LayerNormCase(shape: [1, 5, 768], offset: 100, spread: 0.5, eps: 1e-12, affine: true), // HF eps, offset rows
        LayerNormCase(shape: [4, 7], offset: 0, spread: 2, eps: 1e-5, affine: false),
        LayerNormCase(shape: [3, 13], offset: -5, spread: 1, eps: 1e-5, affine: true),          // odd width (tail loop)
        LayerNormCase(shape: [2, 9], offset: 3, spread: 0, eps: 1e-5, affine: true),            // constant rows: y = b
        LayerNormCase(shape: [64, 768], offset: 1, spread: 1, eps: 1e-6, affine: true),         // parallel path
    ])
    func layerNormCase(_ cs: LayerNormCase) {
        let d = cs.shape.last!
        var x = randomTensor(cs.shape, seed: 30, -cs.spread, cs.spread)
        for i in 0..<x.count { x.data[i] += cs.offset }
        let w = cs.affine ? randomTensor([d], seed: 31, 0.5, 1.5) : nil, b = cs.affine ? randomTensor([d], seed: 32) : nil
        let y = layerNorm(x, weight: w, bias: b, eps: cs.eps)
        expectClose(y, naiveLayerNorm(x, w, b, eps: cs.eps), shape: cs.shape, atol: 2e-6, rtol: 2e-6, cs.testDescription)
    }
}

// MARK: - Softmax

struct SoftmaxCase: CustomTestStringConvertible, Sendable {
    var shape: [Int]
    var spread: Float
    var testDescription: String { "x\(shape) spread ±\(spread)" }
}

func naiveSoftmax(_ x: Tensor) -> [Double] {
    let l = x.shape.last!
    var out = [Double](repeating: 0, count: x.count)
    for r in 0..<(x.count / l) {
        let row = (0..<l).map { Double(x.data[r * l + $0]) }
        let m = row.max()!
        let e = row.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        for j in 0..<l { out[r * l + j] = e[j] / s }
    }
    return out
}

@Suite("softmax")
struct KernelSoftmaxTests {
    @Test("matches the Double reference", arguments: [
        SoftmaxCase(shape: [2, 12, 9, 9], spread: 4),      // attention-shaped, rows of 9
        SoftmaxCase(shape: [3, 197], spread: 10),   // ViT row length (8-wide body + tail of 5)
        SoftmaxCase(shape: [5, 1], spread: 1),      // a single element is 1
        SoftmaxCase(shape: [2, 16], spread: 80),    // large logits: max subtraction must keep it finite
        SoftmaxCase(shape: [300, 197], spread: 3),  // parallel path
    ])
    func softmaxCase(_ cs: SoftmaxCase) {
        let x = randomTensor(cs.shape, seed: 40, -cs.spread, cs.spread)
        expectClose(softmax(x), naiveSoftmax(x), shape: cs.shape, atol: 1e-7, rtol: 2e-6, cs.testDescription)
    }

    @Test("special rows: NaN spreads, −∞ gets 0, all −∞ is NaN, +1000 offset is exact")
    func specials() {
        let inf = Float.infinity
        let x = Tensor(shape: [4, 3], data: [1, .nan, 2,   0, -inf, 0,   -inf, -inf, -inf,   1000, 1000, 999])
        let y = softmax(x)
        #expect(y.data[0...2].allSatisfy { $0.isNaN })
        #expect(y.data[3] == 0.5 && y.data[4] == 0 && y.data[5] == 0.5)
        #expect(y.data[6...8].allSatisfy { $0.isNaN })
        let e1 = 1 / (2 + Foundation.exp(-1.0))
        #expect(abs(Double(y.data[9]) - e1) < 1e-7 && abs(Double(y.data[11]) - Foundation.exp(-1.0) * e1) < 1e-7)
    }
}
