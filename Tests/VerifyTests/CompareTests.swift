// The comparison rule and metrics on cases small enough to work out by hand.

import Foundation
import Testing
import TensorCore
@testable import Verify

private func t(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(shape: shape, data: values) }

@Suite("compare: metrics on hand-derivable cases")
struct CompareTests {
    @Test("identical tensors: zero error, cosine 1, nothing mismatched")
    func identical() {
        let a = t([2, 3], [1, -2, 3, -4, 5, 0])
        let r = compare(tap: "x", actual: a, expected: a)
        #expect(r.passed)
        #expect(r.status == .compared)
        #expect(r.maxAbs == 0 && r.maxRel == 0 && r.meanAbs == 0 && r.nmse == 0)
        #expect(r.cosine == 1)
        #expect(r.mismatched == 0 && r.elementCount == 6)
        #expect(r.worst?.flatIndex == 0 && r.worst?.withinTolerance == true)
        #expect(r.shape == [2, 3] && r.actualShape == [2, 3])
    }

    @Test("one element off by 0.5 at a known multi-index: max abs, max rel, mean abs, nmse")
    func singlePerturbed() {
        // expected: 24 elements all 2.0 except e[1, 2, 3] (flat 1*12 + 2*4 + 3 = 23) = 4.0; actual differs there by 0.5.
        var e = [Float](repeating: 2, count: 24)
        e[23] = 4
        var a = e
        a[23] = 4.5
        let r = compare(tap: "layer1.0", actual: t([2, 3, 4], a), expected: t([2, 3, 4], e))
        #expect(!r.passed)
        #expect(r.maxAbs == 0.5)
        #expect(r.maxRel == 0.125)           // 0.5 / 4
        #expect(r.meanAbs == 0.5 / 24)
        #expect(r.nmse == 0.25 / (23 * 4 + 16))  // Σd² / Σe² = 0.25 / 108
        #expect(r.mismatched == 1 && r.elementCount == 24)
        let w = try! #require(r.worst)
        #expect(w.index == [1, 2, 3] && w.flatIndex == 23)
        #expect(w.actual == 4.5 && w.expected == 4 && w.absDifference == 0.5 && !w.withinTolerance)
        #expect(abs(w.allowed! - (1e-4 + 1e-4 * 4)) < 1e-18)
        // cosine: Σae = 23*4 + 4*4.5 = 110; |a|² = 92 + 20.25, |e|² = 108.
        #expect(abs(r.cosine - 110 / ((112.25).squareRoot() * (108.0).squareRoot())) < 1e-15)
    }

    @Test("sign flip: cosine -1, nmse 4, max rel 2")
    func signFlip() {
        // Σe² = 25, a perfect square, so the cosine is exactly -25 / (5 * 5).
        let e = t([4], [1, -2, 2, 4])
        let a = t([4], [-1, 2, -2, -4])
        let r = compare(tap: "fc", actual: a, expected: e)
        #expect(r.cosine == -1)
        #expect(r.nmse == 4)
        #expect(r.maxRel == 2)
        #expect(r.maxAbs == 8)
        #expect(r.mismatched == 4 && !r.passed)
        #expect(r.worst?.index == [3])
    }

    @Test("NaN in actual where the reference is finite fails, and is the worst element")
    func nanInActual() {
        let e = t([1, 4], [1, 2, 3, 4])
        let a = t([1, 4], [1, 2.5, .nan, 4])
        let r = compare(tap: "relu", actual: a, expected: e)
        #expect(!r.passed)
        #expect(r.mismatched == 2)
        #expect(r.maxAbs.isNaN && r.meanAbs.isNaN && r.cosine.isNaN && r.nmse.isNaN)
        #expect(r.worst?.index == [0, 2])
        #expect(r.worst?.actual.isNaN == true && r.worst?.expected == 3)
    }

    @Test("NaN fails even with a huge tolerance")
    func nanHugeTolerance() {
        let r = compare(tap: "x", actual: t([2], [.nan, 1]), expected: t([2], [0, 1]), tolerance: Tolerance(atol: 1e30, rtol: 1e30))
        #expect(!r.passed && r.mismatched == 1)
    }

    @Test("+Inf and -Inf in actual fail, max abs is inf")
    func infInActual() {
        let e = t([3], [1, 2, 3])
        let r = compare(tap: "x", actual: t([3], [1, .infinity, -.infinity]), expected: e, tolerance: Tolerance(atol: 1e30, rtol: 0))
        #expect(!r.passed && r.mismatched == 2)
        #expect(r.maxAbs == .infinity)
        #expect(r.worst?.index == [1])      // both infinite; the first of equals
    }

    @Test("the same infinity on both sides matches (only a hand-built reference can hold one)")
    func sameInfinity() {
        let r = compare(tap: "x", actual: t([2], [.infinity, 1]), expected: t([2], [.infinity, 1]))
        #expect(r.passed && r.maxAbs == 0)
    }

    @Test("shape mismatch fails with both shapes and NaN metrics")
    func shapeMismatch() {
        let r = compare(tap: "layer2.0", actual: t([1, 4], [1, 2, 3, 4]), expected: t([2, 2], [1, 2, 3, 4]))
        #expect(!r.passed)
        #expect(r.status == .shapeMismatch)
        #expect(r.shape == [2, 2] && r.actualShape == [1, 4])
        #expect(r.problem == "shape [1, 4] differs from the reference [2, 2]")
        #expect(r.mismatched == 4 && r.elementCount == 4)
        #expect(r.maxAbs.isNaN && r.worst == nil)
    }

    @Test("tolerance boundary: |a - e| exactly atol + rtol*|e| passes, the next float up fails")
    func boundary() {
        // atol 0.25 + rtol 0.5 * |2| = 1.25, all exact in binary.
        let tol = Tolerance(atol: 0.25, rtol: 0.5)
        let at = compare(tap: "x", actual: t([1], [3.25]), expected: t([1], [2]), tolerance: tol)
        #expect(at.passed && at.maxAbs == 1.25 && at.worst?.allowed == 1.25)
        let below = compare(tap: "x", actual: t([1], [0.75]), expected: t([1], [2]), tolerance: tol)
        #expect(below.passed)
        let over = compare(tap: "x", actual: t([1], [Float(3.25).nextUp]), expected: t([1], [2]), tolerance: tol)
        #expect(!over.passed && over.mismatched == 1)
        let under = compare(tap: "x", actual: t([1], [Float(0.75).nextDown]), expected: t([1], [2]), tolerance: tol)
        #expect(!under.passed)
        // Negative reference: |e| is used.
        let neg = compare(tap: "x", actual: t([1], [-3.25]), expected: t([1], [-2]), tolerance: tol)
        #expect(neg.passed)
    }

    @Test("rtol scales with |e|: the same absolute error passes on a large value and fails on a small one")
    func relativeScaling() {
        let r = compare(tap: "x", actual: t([2], [1000.05, 0.05]), expected: t([2], [1000, 0]), tolerance: Tolerance(atol: 1e-3, rtol: 1e-4))
        #expect(r.mismatched == 1)
        #expect(r.worst?.index == [1])      // the failing element, though its |diff| is not larger
        #expect(r.worst?.withinTolerance == false)
        // max rel skips e = 0: only 0.05 / 1000.
        #expect(abs(r.maxRel - Double(Float(1000.05) - 1000) / 1000) < 1e-15)
    }

    @Test("default tolerance is atol 1e-4 rtol 1e-4 and prints as such")
    func defaultTolerance() {
        #expect(Tolerance() == Tolerance(atol: 1e-4, rtol: 1e-4))
        #expect("\(Tolerance())" == "atol 1e-04 rtol 1e-04")
        #expect("\(Tolerance(atol: 1.5e-5, rtol: 0))" == "atol 1.5e-05 rtol 0e+00")
        #expect(Tolerance().metric == .allclose)
        #expect("\(Tolerance(atol: 1e-3, metric: .maxAbs))" == "max abs <= 1e-03")
        #expect("\(Tolerance(atol: 1e-6, metric: .cosine))" == "1 - cosine <= 1e-06")
        #expect("\(Tolerance(atol: 1e-8, metric: .nmse))" == "nmse <= 1e-08")
    }

    @Test("all-zero tensors: cosine 1, nmse 0; zero reference against non-zero: cosine 0, nmse inf")
    func zeros() {
        let z = Tensor.zeros([3])
        let same = compare(tap: "x", actual: z, expected: z)
        #expect(same.cosine == 1 && same.nmse == 0 && same.maxRel == 0 && same.passed)
        let off = compare(tap: "x", actual: t([3], [0, 1, 0]), expected: z)
        #expect(off.cosine == 0 && off.nmse == .infinity && off.maxRel == 0 && off.maxAbs == 1)
    }

    @Test("empty tensors compare equal, with no worst element")
    func empty() {
        let r = compare(tap: "x", actual: Tensor.zeros([0, 4]), expected: Tensor.zeros([0, 4]))
        #expect(r.passed && r.elementCount == 0 && r.worst == nil && r.meanAbs == 0)
    }

    @Test("worst element of a passing tap is the largest difference")
    func worstOfPassing() {
        let r = compare(tap: "x", actual: t([2, 2], [1, 2.00001, 3, 4.00003]), expected: t([2, 2], [1, 2, 3, 4]), tolerance: Tolerance(atol: 1e-3, rtol: 0))
        #expect(r.passed && r.worst?.index == [1, 1] && r.worst?.withinTolerance == true)
    }

    @Test("multiIndex converts row-major flat offsets")
    func multiIndexConversion() {
        #expect(multiIndex(119, shape: [2, 3, 4, 5]) == [1, 2, 3, 4])
        #expect(multiIndex(0, shape: [2, 3]) == [0, 0])
        #expect(multiIndex(5, shape: [2, 3]) == [1, 2])
        #expect(multiIndex(0, shape: []) == [])
    }

    @Test("missing activation: a failing result with every element mismatched")
    func missing() {
        let r = TapResult.missing(tap: "layer4.1", shape: [1, 512, 7, 7])
        #expect(!r.passed && r.status == .missing && r.mismatched == 25088 && r.actualShape == nil)
        #expect(r.problem == "the model produced no activation for this tap")
    }
}

@Suite("compare: the four metrics")
struct MetricTests {
    // e = [1, 2, 3, 4]; a differs by 0.1 at index 3 only: d = 0.1, Σe² = 30, Σd² = 0.01.
    let e = t([4], [1, 2, 3, 4])
    let a = t([4], [1, 2, 3, 4.1])

    @Test("allclose: 0.1 > 0.01 + 0.01*4 fails; 0.1 <= 0.02 + 0.02*4 passes")
    func allclose() {
        #expect(!compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 0.01, rtol: 0.01)).passed)
        #expect(compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 0.02, rtol: 0.02)).passed)
    }

    @Test("max-abs ignores rtol: atol 0.05 fails however large rtol is, atol 0.11 passes")
    func maxAbs() {
        let fail = compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 0.05, rtol: 100, metric: .maxAbs))
        #expect(!fail.passed && fail.mismatched == 1 && fail.worst?.allowed == 0.05 && fail.measured == fail.maxAbs)
        #expect(fail.failureDetail?.contains("> allowed 5.0e-02") == true)
        #expect(compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 0.11, rtol: 0, metric: .maxAbs)).passed)
    }

    @Test("cosine: the threshold is on 1 - cos; no per-element rule, so nothing is 'mismatched'")
    func cosine() {
        let r = compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 1e-6, metric: .cosine))
        let oneMinus = 1 - r.cosine
        #expect(oneMinus > 7.5e-5 && oneMinus < 7.6e-5)   // 1 - 30.4 / √(30.81 · 30)
        #expect(!r.passed && r.mismatched == 0 && r.measured == oneMinus)
        #expect(r.worst?.allowed == nil && r.worst?.index == [3])
        #expect(r.failureDetail?.hasPrefix("1 - cosine 7.6e-05 > 1e-06") == true, "\(r.failureDetail ?? "")")
        #expect(compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 1e-4, metric: .cosine)).passed)
        // A scaled copy has cosine 1: the metric is blind to scale, which is why it is not the default.
        let scaled = t([4], [2, 4, 6, 8])
        #expect(compare(tap: "x", actual: scaled, expected: e, tolerance: Tolerance(atol: 1e-12, metric: .cosine)).passed)
    }

    @Test("nmse: Σ(a - e)² / Σe² = 0.01 / 30 against atol")
    func nmse() {
        let r = compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 3e-4, metric: .nmse))
        #expect(abs(r.nmse - 0.01 / 30) < 1e-9)
        #expect(!r.passed && r.failureDetail?.hasPrefix("nmse 3.3e-04 > 3e-04") == true, "\(r.failureDetail ?? "")")
        #expect(compare(tap: "x", actual: a, expected: e, tolerance: Tolerance(atol: 4e-4, metric: .nmse)).passed)
    }

    @Test("NaN fails under every metric, whatever the threshold", arguments: Metric.allCases)
    func nanFails(_ m: Metric) {
        let r = compare(tap: "x", actual: t([4], [1, 2, .nan, 4]), expected: e, tolerance: Tolerance(atol: 1e30, rtol: 1e30, metric: m))
        #expect(!r.passed && r.mismatched == 1 && r.worst?.index == [2])
    }

    @Test("an all-zero reference: nmse is +inf against a non-zero actual and fails; zero against zero passes")
    func zeroReference() {
        let z = Tensor.zeros([3])
        #expect(!compare(tap: "x", actual: t([3], [0, 1e-9, 0]), expected: z, tolerance: Tolerance(atol: 1, metric: .nmse)).passed)
        #expect(compare(tap: "x", actual: z, expected: z, tolerance: Tolerance(atol: 0, metric: .nmse)).passed)
        #expect(compare(tap: "x", actual: z, expected: z, tolerance: Tolerance(atol: 0, metric: .cosine)).passed)
    }
}
