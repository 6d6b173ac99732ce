// Winograd F(2×2, 3×3) path, PreparedConv2d, and the fused residual of conv2d, against the Double loop.

import Foundation
import Testing
@testable import TensorCore

struct WinogradCase: CustomTestStringConvertible, Sendable {
    var n, c, h, w, o, ph, pw: Int
    var bias = false, residual = false
    var act = Activation.none
    var testDescription: String {
        "n\(n) c\(c) h\(h) w\(w) o\(o) p\(ph == pw ? "\(ph)" : "\(ph),\(pw)")\(bias ? " bias" : "")\(residual ? " residual" : "")\(act == .none ? "" : " \(act)")"
    }
    var conv: ConvCase { ConvCase(n: n, c: c, h: h, w: w, o: o, kh: 3, kw: 3, sh: 1, sw: 1, ph: ph, pw: pw, dh: 1, dw: 1, g: 1, bias: bias, act: .none) }
}

/// Reference: the direct Double conv, plus residual, then the activation.
func naiveConvResidual(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ r: Tensor?, _ cs: ConvCase, _ act: Activation) -> [Double] {
    var ref = naiveConv(x, w, b, cs)
    if let r { for i in ref.indices { ref[i] += Double(r.data[i]) } }
    return ref.map { applyReference(act, $0) }
}

@Suite("Winograd conv and PreparedConv2d")
struct KernelWinogradTests {
    @Test("Winograd F(2x2,3x3) matches the direct loop", arguments: [
        WinogradCase(n: 1, c: 4, h: 6, w: 6, o: 3, ph: 1, pw: 1),
        WinogradCase(n: 2, c: 3, h: 7, w: 9, o: 2, ph: 1, pw: 1, bias: true),               // odd output: half tiles
        WinogradCase(n: 1, c: 2, h: 17, w: 19, o: 3, ph: 0, pw: 0),                          // no padding
        WinogradCase(n: 1, c: 2, h: 5, w: 40, o: 2, ph: 1, pw: 1, act: .relu),               // full 16-wide stores + tail
        WinogradCase(n: 2, c: 5, h: 8, w: 8, o: 4, ph: 2, pw: 2, bias: true),                // padding 2
        WinogradCase(n: 1, c: 3, h: 9, w: 10, o: 2, ph: 1, pw: 0),                           // pH ≠ pW
        WinogradCase(n: 2, c: 6, h: 12, w: 35, o: 5, ph: 1, pw: 1, bias: true, residual: true, act: .relu),  // ResNet block end
        WinogradCase(n: 1, c: 4, h: 4, w: 4, o: 4, ph: 1, pw: 1, bias: true, residual: true, act: .gelu),
        WinogradCase(n: 3, c: 16, h: 14, w: 14, o: 8, ph: 1, pw: 1, bias: true, act: .relu),  // several chunks and threads
        WinogradCase(n: 1, c: 24, h: 20, w: 70, o: 20, ph: 1, pw: 1, bias: true, act: .silu),  // > 32 tiles a row, row edge
        WinogradCase(n: 1, c: 300, h: 6, w: 6, o: 8, ph: 1, pw: 1, bias: true),             // Cin past one K block (atol ∝ Cin)
    ], KernelISA.supported)
    func winograd(_ cs: WinogradCase, _ isa: KernelISA) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 100, -2, 2)
        let w = randomTensor([cs.o, cs.c, 3, 3], seed: 101)
        let b = cs.bias ? randomTensor([cs.o], seed: 102) : nil
        let conv = cs.conv
        let r = cs.residual ? randomTensor([cs.n, cs.o, conv.ho, conv.wo], seed: 103) : nil
        let y = ComputeContext(threads: 2, isa: isa).run {
            winogradConv2d(x, weight: w, bias: b, padding: (cs.ph, cs.pw), activation: cs.act, residual: r)
        }
        expectClose(y, naiveConvResidual(x, w, b, r, conv, cs.act), shape: [cs.n, cs.o, conv.ho, conv.wo],
                    atol: 1e-5 * Double(max(1, cs.c / 16)), rtol: 1e-5, "winograd \(isa) " + cs.testDescription)
    }

    @Test("Winograd F(4x4,3x3) matches the direct loop", arguments: [
        WinogradCase(n: 1, c: 4, h: 6, w: 6, o: 3, ph: 1, pw: 1),                              // one tile
        WinogradCase(n: 2, c: 3, h: 7, w: 9, o: 2, ph: 1, pw: 1, bias: true),                  // partial tiles
        WinogradCase(n: 1, c: 8, h: 30, w: 75, o: 9, ph: 1, pw: 1, act: .relu),                // 19 tiles a row, row edge
        WinogradCase(n: 2, c: 16, h: 14, w: 14, o: 8, ph: 1, pw: 1, bias: true, residual: true, act: .relu),
        WinogradCase(n: 1, c: 5, h: 9, w: 10, o: 4, ph: 2, pw: 0, bias: true, act: .hardswish),
        WinogradCase(n: 1, c: 300, h: 6, w: 6, o: 8, ph: 1, pw: 1, bias: true),                // Cin past one K block
    ], KernelISA.supported)
    func winograd4(_ cs: WinogradCase, _ isa: KernelISA) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 110, -2, 2)
        let w = randomTensor([cs.o, cs.c, 3, 3], seed: 111)
        let b = cs.bias ? randomTensor([cs.o], seed: 112) : nil
        let conv = cs.conv
        let r = cs.residual ? randomTensor([cs.n, cs.o, conv.ho, conv.wo], seed: 113) : nil
        let y = ComputeContext(threads: 2, isa: isa).run {
            winograd4Conv2d(x, weight: w, bias: b, padding: (cs.ph, cs.pw), activation: cs.act, residual: r)
        }
        // F(4×4) rounds more than F(2×2) (README "Parity"): here up to 1e-4 per 16 input channels (inputs ±2, weights ±1).
        expectClose(y, naiveConvResidual(x, w, b, r, conv, cs.act), shape: [cs.n, cs.o, conv.ho, conv.wo],
                    atol: 1.5e-4 * Double(max(1, cs.c / 16)), rtol: 1e-5, "winograd4 \(isa) " + cs.testDescription)
    }

    @Test("conv2d fuses a residual add before the activation", arguments: [
        ConvCase(n: 2, c: 4, h: 6, w: 6, o: 8, k: 1, bias: true, act: .relu),            // bottleneck conv3, batched path
        ConvCase(n: 1, c: 3, h: 8, w: 8, o: 4, k: 3, p: 1, bias: true, act: .relu),      // basic block conv2
        ConvCase(n: 2, c: 2, h: 33, w: 33, o: 3, k: 3, p: 1, act: .gelu),                // per-image path
        ConvCase(n: 1, c: 4, h: 5, w: 5, o: 4, k: 3, s: 2, p: 1, bias: true),
    ])
    func residual(_ cs: ConvCase) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 104)
        let w = randomTensor([cs.o, cs.c / cs.g, cs.kh, cs.kw], seed: 105)
        let b = cs.bias ? randomTensor([cs.o], seed: 106) : nil
        let r = randomTensor([cs.n, cs.o, cs.ho, cs.wo], seed: 107)
        let y = conv2d(x, weight: w, bias: b, stride: cs.sh, padding: cs.ph, activation: cs.act, residual: r)
        var plain = cs
        plain.act = .none
        expectClose(y, naiveConvResidual(x, w, b, r, plain, cs.act), shape: [cs.n, cs.o, cs.ho, cs.wo], "residual " + cs.testDescription)
    }

    @Test("PreparedConv2d equals conv2d, whichever path it takes", arguments: [
        ConvCase(n: 1, c: 16, h: 20, w: 20, o: 8, k: 3, p: 1, bias: true, act: .relu),   // Winograd
        ConvCase(n: 1, c: 16, h: 5, w: 5, o: 8, k: 3, p: 1, bias: true),                 // too few tiles: im2col
        ConvCase(n: 2, c: 4, h: 9, w: 9, o: 4, k: 3, s: 2, p: 1),                         // stride 2: im2col
        ConvCase(n: 1, c: 8, h: 6, w: 6, o: 8, k: 1, bias: true),                         // 1×1
        ConvCase(n: 1, c: 8, h: 9, w: 9, o: 8, k: 3, p: 1, g: 4),                         // grouped: im2col
    ])
    func prepared(_ cs: ConvCase) {
        let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: 108)
        let w = randomTensor([cs.o, cs.c / cs.g, cs.kh, cs.kw], seed: 109)
        let b = cs.bias ? randomTensor([cs.o], seed: 110) : nil
        let layer = PreparedConv2d(weight: w, bias: b, stride: cs.sh, padding: cs.ph, groups: cs.g)
        let expectWinograd = cs.kh == 3 && cs.sh == 1 && cs.g == 1 && cs.c >= 16 && cs.h >= 12
        #expect(layer.usesWinograd(inputShape: x.shape) == expectWinograd, "path for \(cs.testDescription)")
        expectClose(layer(x, activation: cs.act), naiveConv(x, w, b, cs), shape: [cs.n, cs.o, cs.ho, cs.wo], "prepared " + cs.testDescription)
    }
}

@Suite("Winograd accuracy at ResNet scale")
struct KernelWinogradScaleTests {
    @Test("error vs Double stays close to the im2col path's (64 channels, activations ~5, He-init weights)")
    func scale() {
        let (n, c, h, o) = (1, 64, 14, 32)
        let x = randomTensor([n, c, h, h], seed: 120, 0, 10)              // post-ReLU-like inputs
        let bound = Float(3 * (2.0 / Double(c * 9)).squareRoot())
        let w = randomTensor([o, c, 3, 3], seed: 121, -bound, bound)
        let b = randomTensor([o], seed: 122)
        let cs = ConvCase(n: n, c: c, h: h, w: h, o: o, k: 3, p: 1, bias: true)
        let ref = naiveConv(x, w, b, cs)
        func maxErr(_ y: Tensor) -> Double { zip(y.data, ref).map { abs(Double($0) - $1) }.max()! }
        let direct = maxErr(conv2d(x, weight: w, bias: b, padding: 1))
        let wino = maxErr(winogradConv2d(x, weight: w, bias: b, padding: (1, 1), activation: .none, residual: nil))
        let scale = ref.map(abs).max()!
        #expect(wino <= 1e-5 * scale && wino <= 4 * max(direct, 1e-7),
                "max |error|: winograd \(wino), im2col \(direct), output scale \(scale)")
    }
}

@Suite("parallel loops")
struct KernelThreadingTests {
    @Test("parallelFor and parallelItems visit every index exactly once", arguments: [0, 1, 7, 64, 1000])
    func coverage(_ count: Int) {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: max(count, 1))
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: max(count, 1))
        parallelFor(count, grain: 3) { range in for i in range { hits[i] += 1 } }
        #expect((0..<count).allSatisfy { hits[$0] == 1 }, "parallelFor over \(count)")
        hits.initialize(repeating: 0, count: max(count, 1))
        parallelItems(count, threads: 3) { i in hits[i] += 1 }
        #expect((0..<count).allSatisfy { hits[$0] == 1 }, "parallelItems over \(count)")
    }
}
