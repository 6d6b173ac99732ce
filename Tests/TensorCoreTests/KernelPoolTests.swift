// Max pool, adaptive and global average pool against direct loops.

import Testing
import TensorCore

struct MaxPoolCase: CustomTestStringConvertible, Sendable {
    var n, c, h, w, k, s, p: Int
    var testDescription: String { "n\(n) c\(c) h\(h) w\(w) k\(k) s\(s) p\(p)" }
    var ho: Int { (h + 2 * p - k) / s + 1 }
    var wo: Int { (w + 2 * p - k) / s + 1 }
}

/// Max over each window with −∞ padding, NaN winning as in PyTorch.
func naiveMaxPool(_ x: Tensor, _ cs: MaxPoolCase) -> [Double] {
    var out: [Double] = []
    for n in 0..<cs.n { for c in 0..<cs.c { for oy in 0..<cs.ho { for ox in 0..<cs.wo {
        var m = -Double.infinity
        for i in 0..<cs.k { for j in 0..<cs.k {
            let iy = oy * cs.s - cs.p + i, ix = ox * cs.s - cs.p + j
            if iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w { continue }
            let v = Double(x[n, c, iy, ix])
            if v > m || v.isNaN { m = v }
        } }
        out.append(m)
    } } } }
    return out
}

struct AvgPoolCase: CustomTestStringConvertible, Sendable {
    var n, c, h, w, oh, ow: Int
    var testDescription: String { "n\(n) c\(c) h\(h) w\(w) → \(oh)x\(ow)" }
}

/// PyTorch's windows: start = ⌊i·H/out⌋, end = ⌈(i+1)·H/out⌉.
func naiveAdaptiveAvg(_ x: Tensor, _ cs: AvgPoolCase) -> [Double] {
    var out: [Double] = []
    for n in 0..<cs.n { for c in 0..<cs.c { for i in 0..<cs.oh { for j in 0..<cs.ow {
        let y0 = Int((Double(i * cs.h) / Double(cs.oh)).rounded(.down)), y1 = Int((Double((i + 1) * cs.h) / Double(cs.oh)).rounded(.up))
        let x0 = Int((Double(j * cs.w) / Double(cs.ow)).rounded(.down)), x1 = Int((Double((j + 1) * cs.w) / Double(cs.ow)).rounded(.up))
        var s = 0.0
        for iy in y0..<y1 { for ix in x0..<x1 { s += Double(x[n, c, iy, ix]) } }
        out.append(s / Double((y1 - y0) * (x1 - x0)))
    } } } }
    return out
}

@Suite("pooling")
struct KernelPoolTests {
    @Test("max pool matches the direct loop", arguments: [
        MaxPoolCase(n: 1, c: 2, h: 8, w: 8, k: 3, s: 2, p: 1),     // ResNet stem pool
        MaxPoolCase(n: 2, c: 3, h: 7, w: 9, k: 3, s: 2, p: 1),     // odd sizes
        MaxPoolCase(n: 1, c: 1, h: 6, w: 6, k: 2, s: 2, p: 0),
        MaxPoolCase(n: 1, c: 2, h: 5, w: 5, k: 3, s: 1, p: 1),
        MaxPoolCase(n: 1, c: 1, h: 4, w: 7, k: 4, s: 3, p: 2),     // padding = kernel/2
        MaxPoolCase(n: 2, c: 16, h: 56, w: 56, k: 3, s: 2, p: 1),  // parallel path
        MaxPoolCase(n: 1, c: 2, h: 6, w: 21, k: 3, s: 1, p: 1),    // stride 1, 8-wide body + tail
        MaxPoolCase(n: 1, c: 2, h: 9, w: 37, k: 2, s: 2, p: 1),    // stride 2, even kernel
        MaxPoolCase(n: 1, c: 1, h: 7, w: 30, k: 5, s: 3, p: 2),    // other strides: scalar windows
    ])
    func maxPool(_ cs: MaxPoolCase) {
        // Negative inputs: zero padding would win where −∞ padding must not.
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 50, -2, -0.5)
        let y = maxPool2d(x, kernel: cs.k, stride: cs.s, padding: cs.p)
        expectClose(y, naiveMaxPool(x, cs), shape: [cs.n, cs.c, cs.ho, cs.wo], atol: 0, rtol: 0, cs.testDescription)
    }

    @Test("max pool: a NaN in a window makes that output NaN")
    func maxPoolNaN() {
        var x = randomTensor([1, 1, 4, 4], seed: 51)
        x[0, 0, 1, 1] = .nan
        let y = maxPool2d(x, kernel: 2, stride: 2)
        #expect(y[0, 0, 0, 0].isNaN)
        #expect(!y[0, 0, 0, 1].isNaN && !y[0, 0, 1, 0].isNaN && !y[0, 0, 1, 1].isNaN)
        #expect(maxPool2d(x, kernel: 2).shape == [1, 1, 2, 2], "stride defaults to the kernel")
        // In the 8-wide paths too: one NaN per window position it touches, nowhere else.
        var wide = randomTensor([1, 1, 5, 40], seed: 53)
        wide[0, 0, 2, 17] = .nan
        let p = maxPool2d(wide, kernel: 3, stride: 2, padding: 1)  // [1, 1, 3, 20]
        for oy in 0..<3 { for ox in 0..<20 {
            let covers = (2 * oy - 1...2 * oy + 1).contains(2) && (2 * ox - 1...2 * ox + 1).contains(17)
            #expect(p[0, 0, oy, ox].isNaN == covers, "output \(oy),\(ox)")
        } }
    }

    @Test("adaptive average pool matches PyTorch's windows", arguments: [
        AvgPoolCase(n: 2, c: 3, h: 7, w: 7, oh: 1, ow: 1),     // ResNet head
        AvgPoolCase(n: 1, c: 2, h: 10, w: 9, oh: 3, ow: 4),    // uneven, overlapping windows
        AvgPoolCase(n: 1, c: 1, h: 3, w: 2, oh: 5, ow: 3),     // output larger than input
        AvgPoolCase(n: 1, c: 2, h: 8, w: 8, oh: 2, ow: 2),     // even split
        AvgPoolCase(n: 2, c: 64, h: 14, w: 14, oh: 1, ow: 1),  // parallel path
    ])
    func adaptive(_ cs: AvgPoolCase) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 52)
        let y = adaptiveAvgPool2d(x, outputHeight: cs.oh, outputWidth: cs.ow)
        expectClose(y, naiveAdaptiveAvg(x, cs), shape: [cs.n, cs.c, cs.oh, cs.ow], atol: 1e-7, rtol: 1e-6, cs.testDescription)
        if cs.oh == 1 && cs.ow == 1 { #expect(globalAvgPool2d(x) == y) }
    }
}
