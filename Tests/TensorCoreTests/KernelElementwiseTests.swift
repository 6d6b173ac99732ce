// Activations (ReLU, GELU, tanh), the vectorised exp/erf behind softmax and GELU, and residual adds.

import Foundation
import Testing
import TensorCore

/// Distance in units in the last place of `expected` rounded to Float.
func ulps(_ got: Float, _ expected: Double) -> Double {
    let e = Float(expected)
    let ulp = Double(e == 0 ? Float.leastNonzeroMagnitude : e.ulp)
    return abs(Double(got) - expected) / ulp
}

/// `count` evenly spaced Floats over [lo, hi].
func grid(_ lo: Float, _ hi: Float, _ count: Int) -> [Float] {
    (0..<count).map { lo + (hi - lo) * Float($0) / Float(count - 1) }
}

@Suite("elementwise")
struct KernelElementwiseTests {
    // MARK: exp and erf

    @Test("glibc erff is within 1 ulp of Double erf (why it is the reference we aim at)")
    func glibcErf() {
        var worst = 0.0
        for x in grid(-6, 6, 24_001) { worst = max(worst, ulps(erff(x), erf(Double(x)))) }
        #expect(worst <= 1, "erff max error \(worst) ulp")
    }

    @Test("fastErf is within 2.5 ulp and 1.2e-7 of Double erf", arguments: [
        ("around 0", Float(-1), Float(1)), ("the 0.875 seam", Float(0.8), Float(0.95)),
        ("tails", Float(-6), Float(6)), ("tiny", Float(-1e-5), Float(1e-5)),
    ])
    func fastErfAccuracy(_ label: String, _ lo: Float, _ hi: Float) {
        var worstUlp = 0.0, worstAbs = 0.0, at: Float = 0
        for x in grid(lo, hi, 8_001) {
            let got = fastErf(x), ref = erf(Double(x))
            let u = ulps(got, ref)
            if u > worstUlp { worstUlp = u; at = x }
            worstAbs = max(worstAbs, abs(Double(got) - ref))
        }
        #expect(worstUlp <= 2.5 && worstAbs <= 1.2e-7, "\(label): \(worstUlp) ulp at \(at), max abs \(worstAbs)")
    }

    @Test("fastErf special values")
    func fastErfSpecials() {
        #expect(fastErf(0) == 0)
        #expect(fastErf(.infinity) == 1 && fastErf(-.infinity) == -1)
        #expect(fastErf(10) == 1 && fastErf(-10) == -1)
        #expect(fastErf(.nan).isNaN)
        #expect(fastErf(-0.5) == -fastErf(0.5), "odd")
    }

    @Test("fastExp is within 1 ulp of Double exp over the normal range", arguments: [
        ("softmax range", Float(-30), Float(0)), ("full range", Float(-87), Float(88.7)), ("near 0", Float(-0.01), Float(0.01)),
    ])
    func fastExpAccuracy(_ label: String, _ lo: Float, _ hi: Float) {
        var worst = 0.0, at: Float = 0
        for x in grid(lo, hi, 8_001) {
            let u = ulps(fastExp(x), Foundation.exp(Double(x)))
            if u > worst { worst = u; at = x }
        }
        #expect(worst <= 1, "\(label): \(worst) ulp at \(at)")
    }

    @Test("fastExp special values")
    func fastExpSpecials() {
        #expect(fastExp(0) == 1)
        #expect(fastExp(-.infinity) == 0 && fastExp(-200) == 0)
        #expect(fastExp(.infinity) == .infinity && fastExp(89) == .infinity)
        #expect(fastExp(.nan).isNaN)
        #expect(abs(Double(fastExp(-100)) - Foundation.exp(-100.0)) <= Double(Float.leastNonzeroMagnitude), "subnormal result")
    }

    // MARK: Activations

    @Test("GELU matches 0.5·x·(1 + erf(x/√2)) in Double", arguments: [
        ("typical", Float(-4), Float(4), 4_001), ("tails", Float(-12), Float(12), 2_001), ("odd count", Float(-1), Float(1), 13),
    ])
    func geluCase(_ label: String, _ lo: Float, _ hi: Float, _ count: Int) {
        let x = Tensor(shape: [count], data: grid(lo, hi, count))
        let ref = x.data.map { v -> Double in let d = Double(v); return 0.5 * d * (1 + erf(d / 2.0.squareRoot())) }
        expectClose(gelu(x), ref, shape: [count], atol: 2e-7, rtol: 2e-7, "gelu \(label)")
    }

    @Test("ReLU in place and copying, NaN kept", arguments: [[7], [3, 5, 8], [2, 200_000]])
    func reluCase(_ shape: [Int]) {
        var x = randomTensor(shape, seed: 80)
        x.data[0] = .nan
        let ref = x.data.map { $0.isNaN ? Double.nan : Double(max($0, 0)) }
        expectClose(relu(x), ref, shape: shape, atol: 0, rtol: 0, "relu \(shape)")
        reluInPlace(&x)
        expectClose(x, ref, shape: shape, atol: 0, rtol: 0, "reluInPlace \(shape)")
    }

    @Test("tanh matches Double tanh")
    func tanhCase() {
        let x = Tensor(shape: [2, 1001], data: grid(-10, 10, 2002))
        expectClose(TensorCore.tanh(x), x.data.map { Foundation.tanh(Double($0)) }, shape: [2, 1001], atol: 1e-7, rtol: 2e-7, "tanh")
    }

    // MARK: Add

    struct AddCase: CustomTestStringConvertible, Sendable {
        var a, b: [Int]
        var act: Activation
        var testDescription: String { "\(a) + \(b)\(act == .none ? "" : " \(act)")" }
    }

    @Test("add with broadcasting over leading dims", arguments: [
        AddCase(a: [2, 3, 4], b: [2, 3, 4], act: .none),
        AddCase(a: [2, 3, 4], b: [2, 3, 4], act: .relu),          // ResNet block output
        AddCase(a: [2, 5, 6], b: [1, 5, 6], act: .none),          // position embedding
        AddCase(a: [3, 7], b: [7], act: .none),                   // bias row
        AddCase(a: [3, 9], b: [9], act: .gelu),
        AddCase(a: [4, 64, 32, 32], b: [4, 64, 32, 32], act: .relu), // parallel path
    ])
    func addCase(_ cs: AddCase) {
        let a = randomTensor(cs.a, seed: 81), b = randomTensor(cs.b, seed: 82)
        let ref = a.data.enumerated().map { i, v in applyReference(cs.act, Double(v) + Double(b.data[i % b.count])) }
        expectClose(add(a, b, activation: cs.act), ref, shape: cs.a, atol: 2e-7, rtol: 2e-7, cs.testDescription)
        if cs.act == .relu && cs.a == cs.b { #expect(addReLU(a, b) == add(a, b, activation: .relu)) }
    }

    @Test("scale multiplies every element")
    func scaleCase() {
        var x = randomTensor([3, 4], seed: 83)
        let before = x
        scaleInPlace(&x, by: 0.125)
        expectClose(x, before.data.map { Double($0) * 0.125 }, shape: [3, 4], atol: 0, rtol: 0, "scale")
    }
}

@Suite("Tensor")
struct KernelTensorTests {
    @Test("row-major indexing, strides and reshape with -1")
    func indexing() {
        var t = Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init))
        #expect(t[1, 2, 3] == 23 && t[0, 1, 2] == 6 && t[1, 0, 0] == 12)
        #expect(t.strides == [12, 4, 1] && t.rank == 3 && t.count == 24)
        t[0, 0, 1] = -1
        #expect(t.data[1] == -1)
        #expect(t.reshaped([4, -1]).shape == [4, 6])
        #expect(t.reshaped([-1]).shape == [24])
        #expect(Tensor.zeros([2, 0]).count == 0 && Tensor(scalar: 3).shape == [])
    }

    @Test("item and stack are inverse")
    func itemStack() {
        let t = randomTensor([3, 2, 2], seed: 90)
        #expect(t.item(1).shape == [2, 2] && t.item(1).data == Array(t.data[4..<8]))
        #expect(Tensor.stack([t.item(0), t.item(1), t.item(2)]) == t)
    }

    @Test("init from a RawTensor converts to f32")
    func fromRaw() {
        let raw = RawTensor.float32([1, 2, 3, 4], shape: [2, 2]).converted(to: .f16)
        #expect(Tensor(raw) == Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
    }

    @Test("setComputeThreads changes the thread count and results do not depend on it")
    func threads() {
        let x = randomTensor([2, 8, 40, 40], seed: 91), w = randomTensor([8, 8, 3, 3], seed: 92)
        let before = computeThreads
        setComputeThreads(1)
        #expect(computeThreads == 1)
        let one = conv2d(x, weight: w, padding: 1, activation: .relu)
        setComputeThreads(max(2, before))
        let many = conv2d(x, weight: w, padding: 1, activation: .relu)
        setComputeThreads(before)
        expectClose(one, many, atol: 1e-6, rtol: 1e-6, "1 thread vs \(max(2, before))")
    }
}

@Suite("Tensor layout")
struct KernelLayoutTests {
    struct PermuteCase: CustomTestStringConvertible, Sendable {
        var shape: [Int], order: [Int]
        var testDescription: String { "\(shape) permuted \(order)" }
    }

    @Test("permuted moves element [i0, i1, ...] to [i_order[0], ...]", arguments: [
        PermuteCase(shape: [2, 3, 4], order: [0, 2, 1]),   // ViT patches: [N, D, T] → [N, T, D]
        PermuteCase(shape: [2, 3, 4], order: [2, 0, 1]),
        PermuteCase(shape: [2, 3, 4, 5], order: [0, 2, 1, 3]),   // heads: view(B,T,H,D).transpose(1,2)
        PermuteCase(shape: [5, 7], order: [1, 0]),
        PermuteCase(shape: [3, 1, 2], order: [1, 2, 0]),
        PermuteCase(shape: [4], order: [0]),
    ])
    func permute(_ cs: PermuteCase) {
        let t = Tensor(shape: cs.shape, data: (0..<Tensor.count(of: cs.shape)).map(Float.init))
        let p = t.permuted(cs.order)
        #expect(p.shape == cs.order.map { cs.shape[$0] })
        // Check every element through the index map.
        var bad = 0
        let pStrides = p.strides, tStrides = t.strides
        for flat in 0..<p.count {
            var rem = flat, src = 0
            for d in 0..<p.rank { let i = rem / pStrides[d]; rem %= pStrides[d]; src += i * tStrides[cs.order[d]] }
            if p.data[flat] != t.data[src] { bad += 1 }
        }
        #expect(bad == 0, "\(cs.testDescription): \(bad) misplaced elements")
    }

    @Test("narrowed and concat along each axis are inverse", arguments: [0, 1, 2])
    func narrowConcat(_ axis: Int) {
        let t = randomTensor([3, 4, 5], seed: 95)
        let n = t.shape[axis]
        let a = t.narrowed(axis: axis, start: 0, length: 1), b = t.narrowed(axis: axis, start: 1, length: n - 1)
        #expect(a.shape[axis] == 1 && b.shape[axis] == n - 1)
        #expect(Tensor.concat([a, b], axis: axis) == t)
        // Element check: narrowed picks the right slice.
        #expect(t.narrowed(axis: axis, start: 2, length: 1).data.first == t.data[2 * t.strides[axis]])
    }
}

@Suite("activations")
struct KernelActivationSweepTests {
    /// Values from −12 to 12 (both tails, the knees of hardswish at ±3, zero) and the special values.
    static let inputs: [Float] = stride(from: -12.0, through: 12.0, by: 0.0371).map { Float($0) } + [0, -0.0, 3, -3, 1e-8, -1e-8]

    @Test("each activation matches its PyTorch definition in Double", arguments: Activation.allCases)
    func activation(_ act: Activation) {
        let x = Tensor(shape: [Self.inputs.count], data: Self.inputs)
        // Through a 1×1 conv with weight 1 (the fused output pass) and through the scalar entry point.
        let viaConv = conv2d(x.reshaped([1, 1, 1, Self.inputs.count]), weight: Tensor(shape: [1, 1, 1, 1], data: [1]), activation: act)
        let ref = Self.inputs.map { applyReference(act, Double($0)) }
        expectClose(viaConv.reshaped([Self.inputs.count]), ref, shape: [Self.inputs.count], atol: 3e-7, rtol: 3e-7, "\(act) fused")
        expectClose(Tensor(shape: [Self.inputs.count], data: Self.inputs.map { act($0) }), ref, shape: [Self.inputs.count],
                    atol: 3e-7, rtol: 3e-7, "\(act) scalar")
    }
}
