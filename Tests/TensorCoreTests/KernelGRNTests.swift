// Global response normalisation (ConvNeXt V2) against a naive loop in Double.

import Foundation
import Testing
import TensorCore

/// Naive GRN in Double (timm's GlobalResponseNorm on NCHW):
/// g[n, c] = sqrt(Σ_hw x²), r = g / (mean_c g + eps), y = x + bias[c] + weight[c] · x · r.
private func naiveGRN(_ x: Tensor, _ weight: Tensor, _ bias: Tensor, eps: Double) -> [Double] {
    let (n, c, hw) = (x.shape[0], x.shape[1], x.shape[2] * x.shape[3])
    var y = [Double](repeating: 0, count: x.count)
    for i in 0..<n {
        var g = [Double](repeating: 0, count: c)
        for ch in 0..<c {
            var s = 0.0
            for p in 0..<hw { let v = Double(x.data[(i * c + ch) * hw + p]); s += v * v }
            g[ch] = s.squareRoot()
        }
        let mean = g.reduce(0, +) / Double(c)
        for ch in 0..<c {
            let r = g[ch] / (mean + eps)
            for p in 0..<hw {
                let k = (i * c + ch) * hw + p, v = Double(x.data[k])
                y[k] = v + Double(bias.data[ch]) + Double(weight.data[ch]) * v * r
            }
        }
    }
    return y
}

@Suite("global response normalisation")
struct KernelGRNTests {
    /// (label, N, C, H, W)
    @Test("globalResponseNormInPlace equals the naive loop", arguments: [
        ("convnextv2_atto stage 0 (56x56)", 1, 160, 56, 56), ("convnextv2_atto stage 3 (7x7)", 2, 1280, 7, 7),
        ("batch 3, odd plane", 3, 24, 7, 9), ("one pixel", 2, 16, 1, 1), ("one channel", 2, 1, 5, 6),
        ("wide plane, few channels", 1, 3, 130, 131),
    ])
    func grn(_ label: String, _ n: Int, _ c: Int, _ h: Int, _ w: Int) {
        let x = randomTensor([n, c, h, w], seed: 41, -2, 3)
        let weight = randomTensor([c], seed: 42, -1, 1), bias = randomTensor([c], seed: 43, -0.5, 0.5)
        let want = naiveGRN(x, weight, bias, eps: 1e-6)
        var y = x
        globalResponseNormInPlace(&y, weight: weight, bias: bias)
        // r is O(1) (a plane's norm over the mean norm); |x| ≤ 3: Float rounding of x + b + w·x·r is ~1e-6.
        expectClose(y, want, shape: [n, c, h, w], atol: 1e-5, rtol: 1e-5, label)
    }

    @Test("an all-zero image stays its bias (eps keeps the ratio finite)")
    func zeros() {
        let c = 8
        let weight = randomTensor([c], seed: 44), bias = randomTensor([c], seed: 45)
        var y = Tensor(shape: [2, c, 3, 3], repeating: 0)
        globalResponseNormInPlace(&y, weight: weight, bias: bias)
        let want = (0..<(2 * c * 9)).map { Double(bias.data[($0 / 9) % c]) }
        expectClose(y, want, shape: [2, c, 3, 3], atol: 0, rtol: 0, "zeros")
    }

    @Test("an empty batch is left as it is")
    func empty() {
        var y = Tensor(shape: [0, 4, 3, 3], repeating: 0)
        globalResponseNormInPlace(&y, weight: Tensor(shape: [4], repeating: 1), bias: Tensor(shape: [4], repeating: 0))
        #expect(y.shape == [0, 4, 3, 3])
    }
}
