// Squeeze-excitation, the per-channel scale and the whole-tensor activation against naive loops in Double.

import Foundation
import Testing
import TensorCore

/// Naive squeeze-excitation in Double: s = mean_hw(x), h = act(W1·s + b1), g = gate(W2·h + b2), y = x·g.
private func naiveSqueezeExcite(_ x: Tensor, _ w1: Tensor, _ b1: Tensor, _ w2: Tensor, _ b2: Tensor,
                                act: (Double) -> Double, gate: (Double) -> Double) -> (scale: [Double], y: [Double]) {
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    let s = w1.shape[0]
    var scale = [Double](repeating: 0, count: n * c), y = [Double](repeating: 0, count: x.count)
    for i in 0..<n {
        var pooled = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var sum = 0.0
            for p in 0..<hw { sum += Double(x.data[(i * c + ch) * hw + p]) }
            pooled[ch] = sum / Double(hw)
        }
        var hidden = [Double](repeating: 0, count: s)
        for j in 0..<s {
            var v = Double(b1.data[j])
            for ch in 0..<c { v += Double(w1.data[j * c + ch]) * pooled[ch] }
            hidden[j] = act(v)
        }
        for ch in 0..<c {
            var v = Double(b2.data[ch])
            for j in 0..<s { v += Double(w2.data[ch * s + j]) * hidden[j] }
            scale[i * c + ch] = gate(v)
            for p in 0..<hw { y[(i * c + ch) * hw + p] = Double(x.data[(i * c + ch) * hw + p]) * scale[i * c + ch] }
        }
    }
    return (scale, y)
}

private let sigmoidD: (Double) -> Double = { 1 / (1 + Foundation.exp(-$0)) }
private let reluD: (Double) -> Double = { max($0, 0) }
private let hardsigmoidD: (Double) -> Double = { min(max($0 + 3, 0), 6) / 6 }

@Suite("squeeze-excitation")
struct KernelSqueezeExciteTests {
    /// (label, N, C, squeeze, H, W)
    @Test("squeezeExcite equals the naive loop (ReLU + sigmoid, torchvision/timm RegNetY)", arguments: [
        ("RegNetY first block", 1, 48, 8, 56, 56), ("batch 3, odd plane", 3, 24, 6, 7, 9), ("one pixel", 2, 16, 4, 1, 1),
        ("wide, small plane", 2, 440, 110, 7, 7), ("one channel squeeze", 1, 8, 1, 5, 5),
    ])
    func squeezeExcite(_ label: String, _ n: Int, _ c: Int, _ s: Int, _ h: Int, _ w: Int) {
        let x = randomTensor([n, c, h, w], seed: 1, -2, 3)
        let w1 = randomTensor([s, c, 1, 1], seed: 2, -0.3, 0.3), b1 = randomTensor([s], seed: 3)
        let w2 = randomTensor([c, s, 1, 1], seed: 4, -0.5, 0.5), b2 = randomTensor([c], seed: 5)
        let ref = naiveSqueezeExcite(x, w1, b1, w2, b2, act: reluD, gate: sigmoidD)
        let scale = TensorCore.squeezeExciteScale(x, reduceWeight: w1, reduceBias: b1, expandWeight: w2, expandBias: b2,
                                                  activation: .relu, gate: .sigmoid)
        expectClose(scale, ref.scale, shape: [n, c], atol: 1e-6, rtol: 1e-5, "\(label) scale")
        let y = TensorCore.squeezeExcite(x, reduceWeight: w1, reduceBias: b1, expandWeight: w2, expandBias: b2,
                                         activation: .relu, gate: .sigmoid)
        expectClose(y, ref.y, shape: [n, c, h, w], atol: 1e-6, rtol: 1e-5, label)
    }

    @Test("squeezeExcite with hardsigmoid gate (MobileNetV3)", arguments: [("MobileNetV3 block", 2, 72, 24, 28, 28), ("tiny", 1, 4, 2, 3, 3)])
    func hardsigmoidGate(_ label: String, _ n: Int, _ c: Int, _ s: Int, _ h: Int, _ w: Int) {
        let x = randomTensor([n, c, h, w], seed: 11, -1, 4)
        let w1 = randomTensor([s, c, 1, 1], seed: 12), b1 = randomTensor([s], seed: 13)
        let w2 = randomTensor([c, s, 1, 1], seed: 14, -2, 2), b2 = randomTensor([c], seed: 15, -3, 3)
        let ref = naiveSqueezeExcite(x, w1, b1, w2, b2, act: reluD, gate: hardsigmoidD)
        let y = TensorCore.squeezeExcite(x, reduceWeight: w1, reduceBias: b1, expandWeight: w2, expandBias: b2,
                                         activation: .relu, gate: .hardsigmoid)
        // The gate's input sums up to 24 products of magnitude ~10 in Float (rounding ~1e-6), divided by 6, times x
        // up to 4: 1e-5 absolute is that rounding, not a fault (a wrong gate is off by 0.1 or more).
        expectClose(y, ref.y, shape: [n, c, h, w], atol: 1e-5, rtol: 1e-5, label)
    }

    @Test("scaleChannels multiplies each plane by its factor", arguments: [
        ("[N, C] scale", [2, 5, 4, 3], false), ("[N, C, 1, 1] scale", [3, 7, 1, 9], true), ("large plane", [1, 3, 130, 131], false),
    ])
    func scaleChannels(_ label: String, _ shape: [Int], _ fourD: Bool) {
        let x = randomTensor(shape, seed: 21)
        let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3])
        let s = randomTensor(fourD ? [n, c, 1, 1] : [n, c], seed: 22, 0, 2)
        var want = [Double](repeating: 0, count: x.count)
        // One Float multiply per element: the result is exactly the Float product.
        for i in 0..<(n * c) { for p in 0..<hw { want[i * hw + p] = Double(x.data[i * hw + p] * s.data[i]) } }
        expectClose(TensorCore.scaleChannels(x, by: s), want, shape: shape, atol: 0, rtol: 0, label)
    }

    @Test("activation on a tensor equals the per-value activation", arguments: [
        ("relu", Activation.relu), ("sigmoid", .sigmoid), ("silu", .silu), ("hardswish", .hardswish), ("hardsigmoid", .hardsigmoid),
    ])
    func wholeTensorActivation(_ label: String, _ act: Activation) {
        let x = randomTensor([2, 3, 150, 151], seed: 31, -8, 8)
        let y = TensorCore.activation(x, act)
        #expect(y.shape == x.shape)
        #expect(zip(x.data, y.data).allSatisfy { act($0) == $1 || ($1.isNaN && act($0).isNaN) }, "\(label)")
    }
}
