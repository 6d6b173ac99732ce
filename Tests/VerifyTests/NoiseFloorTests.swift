// The noise-floor rule on cases small enough to work out by hand: a tap with a float64 truth passes when Swift is
// within the tolerance of PyTorch float32, or when max |swift − truth| ≤ k · max |torch − truth|; the report says
// which rule decided. Real models: Tests/VFWTests/VerifyInProcessTests.swift and the parity job.

import Foundation
import Testing
import TensorCore
@testable import Verify

private func t(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(shape: shape, data: values) }

/// Reference (PyTorch float32) 10, 20, 30, 40; truth 10.001, 20, 30, 40: PyTorch's own error is 1e-3.
private let torchValues: [Float] = [10, 20, 30, 40]
private let truth: [Double] = [Double(Float(10)) + 1e-3, 20, 30, 40]

@Suite("noise floor: the second pass rule against the float64 truth")
struct NoiseFloorTests {
    @Test("Swift as far from PyTorch as PyTorch is from the truth: outside 1e-4, inside the noise floor, decided by it")
    func passesByFloor() {
        // Swift 10.002: |swift - torch| 2e-3 > 1e-4 + 1e-4*10; |swift - truth| 1e-3 = 1 x PyTorch's own.
        let r = compare(tap: "layer4.2", actual: t([4], [10.002, 20, 30, 40]), expected: t([4], torchValues),
                        truth: truth, noiseFloor: NoiseFloor())
        #expect(!r.withinTolerance && r.mismatched == 1)
        #expect(r.withinNoiseFloor == true && r.passed && r.decidedBy == .noiseFloor)
        let e = try! #require(r.truth)
        #expect(abs(e.torch - 1e-3) < 1e-9 && abs(e.swift - 1e-3) < 2e-6 && abs(e.ratio - 1) < 2e-3)
        #expect(r.failureDetail == nil)
    }

    @Test("Swift 5x PyTorch's own error: fails both rules, the detail names the ratio and k", arguments: [4.0, 2.0])
    func failsBoth(k: Double) {
        // |swift - truth| = |10.006 - 10.001| = 5e-3: 5x.
        let r = compare(tap: "layer3.1", actual: t([4], [10.006, 20, 30, 40]), expected: t([4], torchValues),
                        truth: truth, noiseFloor: NoiseFloor(factor: k))
        #expect(!r.passed && r.withinNoiseFloor == false && r.decidedBy == .both)
        #expect(abs(r.truth!.ratio - 5) < 0.01)
        let detail = r.failureDetail ?? ""
        #expect(detail.hasPrefix("max |swift - truth| 5.0e-03 is 5.0x PyTorch float32's own 1.0e-03 (noise floor: at most \(Int(k))x)"), "\(detail)")
    }

    @Test("k = 6 passes the same 5x tap; within the tolerance the tolerance decides whatever the ratio")
    func factorAndTolerance() {
        let r = compare(tap: "x", actual: t([4], [10.006, 20, 30, 40]), expected: t([4], torchValues), truth: truth,
                        noiseFloor: NoiseFloor(factor: 6))
        #expect(r.passed && r.decidedBy == .noiseFloor)
        // Within 1e-2 of PyTorch: the tolerance passes it, even though the ratio is 5.
        let loose = compare(tap: "x", actual: t([4], [10.006, 20, 30, 40]), expected: t([4], torchValues),
                            tolerance: Tolerance(atol: 1e-2, rtol: 1e-2), truth: truth, noiseFloor: NoiseFloor())
        #expect(loose.passed && loose.withinTolerance && loose.decidedBy == .tolerance && loose.withinNoiseFloor == false)
    }

    @Test("--strict (no noise floor) and a tap without a truth: the tolerance alone decides")
    func toleranceOnly() {
        let strict = compare(tap: "x", actual: t([4], [10.002, 20, 30, 40]), expected: t([4], torchValues), truth: truth, noiseFloor: nil)
        #expect(!strict.passed && strict.decidedBy == .toleranceOnly && strict.withinNoiseFloor == nil && strict.truth != nil)
        let noTruth = compare(tap: "x", actual: t([4], [10.002, 20, 30, 40]), expected: t([4], torchValues), noiseFloor: NoiseFloor())
        #expect(!noTruth.passed && noTruth.decidedBy == .toleranceOnly && noTruth.truth == nil)
    }

    @Test("an exact PyTorch lets only an exact Swift through; NaN never passes")
    func edges() {
        let exact = (0..<4).map { Double(torchValues[$0]) }
        let off = compare(tap: "x", actual: t([4], [10.01, 20, 30, 40]), expected: t([4], torchValues), truth: exact, noiseFloor: NoiseFloor())
        #expect(!off.passed && off.truth!.ratio == .infinity)
        let same = compare(tap: "x", actual: t([4], torchValues), expected: t([4], torchValues), truth: exact, noiseFloor: NoiseFloor())
        #expect(same.passed && same.truth!.ratio == 1 && same.decidedBy == .tolerance)
        let nan = compare(tap: "x", actual: t([4], [.nan, 20, 30, 40]), expected: t([4], torchValues), truth: truth, noiseFloor: NoiseFloor(factor: 1e9))
        #expect(!nan.passed && nan.truth!.swift.isNaN && nan.withinNoiseFloor == false)
    }

    @Test("per batch item: max abs and both errors per item, the worst item")
    func items() {
        // Two items of two elements; item 1 holds the larger error.
        let r = compare(tap: "fc", actual: t([2, 2], [1, 2, 3.5, 4]), expected: t([2, 2], [1, 2, 3, 4]),
                        truth: [1, 2, 3, 4], noiseFloor: NoiseFloor(), items: 2)
        let items = try! #require(r.items)
        #expect(items.map(\.maxAbs) == [0, 0.5])
        #expect(items[1].truth?.swift == 0.5 && items[1].truth?.torch == 0)
        #expect(r.worstItem == 1)
    }

    @Test("JSON: truth, rule and decision per tap; the report's noise floor; the document fits the schema")
    func json() throws {
        var report = VerifyReport(policy: TolerancePolicy(), mode: .chained, header: [ReportField("model", "toy")])
        report.add(tap: "a", actual: t([4], torchValues), expected: t([4], torchValues), truth: truth, inputs: [])
        report.add(tap: "b", actual: t([4], [10.002, 20, 30, 40]), expected: t([4], torchValues), truth: truth, inputs: ["a"])
        report.add(tap: "c", actual: t([4], [10.006, 20, 30, 40]), expected: t([4], torchValues), truth: truth, inputs: ["b"])
        #expect(report.results.map(\.decidedBy) == [.tolerance, .noiseFloor, .both])
        #expect(report.failureSource?.name == "c")
        #expect(report.summary.hasPrefix("FAIL: 1 of 3 taps outside atol 1e-04 rtol 1e-04 and the noise floor (worst max abs "))
        #expect(report.summary.contains("worst swift/torch 5.0x at c"))
        let doc = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        try SchemaCheck.validate(doc)
        #expect(doc["schema_version"] as? Int == 2 && doc["strict"] as? Bool == false)
        #expect((doc["noise_floor"] as? [String: Any])?["factor"] as? Double == 4)
        #expect(doc["worst_ratio_tap"] as? String == "c")
        let taps = doc["taps"] as! [[String: Any]]
        #expect(taps.map { $0["decided_by"] as? String } == ["tolerance", "noise-floor", "tolerance+noise-floor"])
        let b = taps[1]["truth"] as! [String: Any]
        #expect(b.keys.sorted() == ["ratio", "swift", "swift_rms", "torch", "torch_rms"])
        #expect(taps[1]["within_tolerance"] as? Bool == false && taps[1]["within_noise_floor"] as? Bool == true)

        // Text: both errors, the ratio and the deciding rule per tap; the rule in the header.
        let text = report.text(colour: false)
        #expect(text.contains("noise floor  max |swift - truth| <= 4 x max |torch - truth|, per tap"), "\(text)")
        let rows = text.split(separator: "\n").map(String.init)
        let rowB = try #require(rows.first { $0.hasPrefix("b ") })
        #expect(rowB.contains("2.0e-03") && rowB.contains("1.0e-03") && rowB.contains("1.0x") && rowB.contains("PASS    noise floor"), "\(rowB)")
        let rowC = try #require(rows.first { $0.hasPrefix("c ") })
        #expect(rowC.contains("5.0x") && rowC.contains("FAIL *  both"), "\(rowC)")

        // JUnit: the figures of every tap with a truth, and why the failing one failed.
        let xml = report.junit(suite: "toy")
        #expect(xml.contains("<system-out>max abs 2.000e-03; max |swift - truth| 9.99"), "\(xml)")
        #expect(xml.contains(", max |torch - truth| 1.000e-03, ratio 1.000; decided by noise-floor</system-out>"), "\(xml)")
        #expect(xml.contains("message=\"failure source; outside atol 1e-04 rtol 1e-04 and the noise floor: max |swift - truth| 5.0e-03 is 5.0x PyTorch float32&apos;s own 1.0e-03"), "\(xml)")
    }

    @Test("--strict in the report: the noise floor is off and says so; JSON strict true, no noise_floor")
    func strictReport() throws {
        var report = VerifyReport(policy: TolerancePolicy(noiseFloor: nil), mode: .chained, header: [ReportField("model", "toy")])
        report.add(tap: "b", actual: t([4], [10.002, 20, 30, 40]), expected: t([4], torchValues), truth: truth, inputs: [])
        #expect(!report.passed && report.results[0].decidedBy == .toleranceOnly)
        #expect(report.text(colour: false).contains("noise floor  off (--strict): the tolerance alone decides"))
        let doc = try JSONSerialization.jsonObject(with: report.json()) as! [String: Any]
        try SchemaCheck.validate(doc)
        #expect(doc["strict"] as? Bool == true && doc["noise_floor"] == nil)
    }

    @Test("introduced vs inherited: gain is chained over the largest chained error feeding the tap")
    func attribution() {
        let a = Attribution(introduced: 1e-5, chained: 4e-4, inherited: 2e-4)
        #expect(a.gain == 2)
        #expect(Attribution(introduced: 1e-5, chained: 4e-4).gain == nil)
        #expect(Attribution(introduced: 1e-5, chained: 4e-4, inherited: 0).gain == nil)
    }
}
