// Depthwise convolution (direct loop) and layer norm over channels against naive loops in Double.

import Foundation
import Testing
import TensorCore

/// Naive depthwise convolution in Double, asymmetric zero padding.
private func naiveDepthwise(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), pad: (Int, Int, Int, Int)) -> (shape: [Int], y: [Double]) {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (kh, kw) = (w.shape[2], w.shape[3])
    let ho = (h + pad.0 + pad.1 - kh) / stride.0 + 1, wo = (wd + pad.2 + pad.3 - kw) / stride.1 + 1
    var y = [Double](repeating: 0, count: n * c * ho * wo)
    for i in 0..<n { for ch in 0..<c { for oy in 0..<ho { for ox in 0..<wo {
        var s = Double(b?.data[ch] ?? 0)
        for ki in 0..<kh { for kj in 0..<kw {
            let iy = oy * stride.0 - pad.0 + ki, ix = ox * stride.1 - pad.2 + kj
            if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
            s += Double(w.data[(ch * kh + ki) * kw + kj]) * Double(x.data[((i * c + ch) * h + iy) * wd + ix])
        } }
        y[((i * c + ch) * ho + oy) * wo + ox] = s
    } } } }
    return ([n, c, ho, wo], y)
}

@Suite("depthwise convolution and channel layer norm")
struct KernelDepthwiseTests {
    /// (label, [N, C, H, W], kernel, stride, padding (top, bottom, left, right), bias)
    @Test("depthwiseConv2d equals the naive loop", arguments: [
        ("ConvNeXt 7x7 pad 3", [2, 8, 14, 14], 7, 1, [3, 3, 3, 3], true),
        ("MobileNet 3x3 stride 2", [1, 16, 15, 16], 3, 2, [1, 1, 1, 1], true),
        ("EfficientNet 5x5 stride 2", [2, 5, 17, 12], 5, 2, [2, 2, 2, 2], false),
        ("TF SAME 3x3 stride 2 (pad 0 top/left, 1 bottom/right)", [1, 4, 16, 16], 3, 2, [0, 1, 0, 1], true),
        ("TF SAME 5x5 stride 2 (1 top/left, 2 bottom/right)", [1, 3, 16, 9], 5, 2, [1, 2, 1, 2], true),
        ("kernel wider than the image", [1, 2, 3, 3], 7, 1, [3, 3, 3, 3], true),
        ("1x1 plane", [3, 6, 1, 1], 3, 1, [1, 1, 1, 1], true),
        ("no padding", [1, 3, 9, 11], 3, 1, [0, 0, 0, 0], true),
    ] as [(String, [Int], Int, Int, [Int], Bool)])
    func depthwise(_ label: String, _ shape: [Int], _ k: Int, _ s: Int, _ p: [Int], _ hasBias: Bool) {
        let x = randomTensor(shape, seed: 41), w = randomTensor([shape[1], 1, k, k], seed: 42)
        let b = hasBias ? randomTensor([shape[1]], seed: 43) : nil
        let ref = naiveDepthwise(x, w, b, stride: (s, s), pad: (p[0], p[1], p[2], p[3]))
        let y = depthwiseConv2d(x, weight: w, bias: b, stride: (s, s), padding: (p[0], p[1], p[2], p[3]))
        expectClose(y, ref.y, shape: ref.shape, atol: 1e-5, rtol: 1e-5, label)
    }

    @Test("depthwiseConv2d equals conv2d with groups = channels (symmetric padding)", arguments: [("7x7", 7, 1, 3), ("3x3 stride 2", 3, 2, 1)])
    func matchesGroupedConv(_ label: String, _ k: Int, _ s: Int, _ p: Int) {
        let x = randomTensor([2, 12, 20, 20], seed: 51), w = randomTensor([12, 1, k, k], seed: 52), b = randomTensor([12], seed: 53)
        let a = depthwiseConv2d(x, weight: w, bias: b, stride: (s, s), padding: (p, p, p, p), activation: .silu)
        let g = conv2d(x, weight: w, bias: b, stride: s, padding: p, groups: 12, activation: .silu)
        expectClose(a, g, atol: 1e-5, rtol: 1e-5, label)
    }

    @Test("layerNormChannels equals the naive per-pixel normalisation", arguments: [
        ("ConvNeXt stem", [2, 96, 7, 9], Float(1e-6)), ("offset values", [1, 40, 5, 5], Float(1e-6)), ("one channel", [1, 1, 3, 3], Float(1e-5)),
        ("more than one pixel block", [1, 8, 13, 11], Float(1e-6)),
    ])
    func layerNormChannels(_ label: String, _ shape: [Int], _ eps: Float) {
        let (n, c, hw) = (shape[0], shape[1], shape[2] * shape[3])
        var x = randomTensor(shape, seed: 61, -2, 2)
        if label == "offset values" { x = Tensor(shape: shape, data: x.data.map { $0 * 0.5 + 100 }) }
        let g = randomTensor([c], seed: 62, 0.5, 1.5), b = randomTensor([c], seed: 63)
        var want = [Double](repeating: 0, count: x.count)
        for i in 0..<n { for p in 0..<hw {
            var m = 0.0
            for ch in 0..<c { m += Double(x.data[(i * c + ch) * hw + p]) }
            m /= Double(c)
            var v = 0.0
            for ch in 0..<c { let d = Double(x.data[(i * c + ch) * hw + p]) - m; v += d * d }
            v /= Double(c)
            for ch in 0..<c {
                want[(i * c + ch) * hw + p] = (Double(x.data[(i * c + ch) * hw + p]) - m) / (v + Double(eps)).squareRoot() * Double(g.data[ch]) + Double(b.data[ch])
            }
        } }
        expectClose(TensorCore.layerNormChannels(x, weight: g, bias: b, eps: eps), want, shape: shape, atol: 1e-5, rtol: 1e-5, label)
    }
}
