// The verify report: table, first-failure line, summary line, colour only on request, JSON.

import Foundation
import Testing
import TensorCore
@testable import Verify

private func t(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(shape: shape, data: values) }

private let passing = [
    compare(tap: "conv1", actual: t([1, 2], [1, 2]), expected: t([1, 2], [1, 2])),
    compare(tap: "layer4.1", actual: t([1, 2], [1, 2.00001]), expected: t([1, 2], [1, 2])),
    compare(tap: "fc", actual: t([2], [3, 4]), expected: t([2], [3, 4])),
]

@Suite("VerifyReport")
struct ReportTests {
    @Test("all pass: summary names the tolerance and the worst tap")
    func allPass() {
        let r = VerifyReport(results: passing, tolerance: Tolerance())
        #expect(r.passed && r.failedCount == 0 && r.firstFailure == nil && r.firstFailureLine == nil)
        #expect(r.worstTap?.name == "layer4.1")
        #expect(r.summary == "PASS: 3 of 3 taps within atol 1e-04 rtol 1e-04 (worst max abs 1.0e-05 at layer4.1)")
        let text = r.text(colour: false)
        #expect(text.hasSuffix(r.summary + "\n"))
        #expect(!text.contains("\u{1B}"))
    }

    @Test("failures: count, first failure with its worst element's index and values")
    func failures() {
        var e = [Float](repeating: 1, count: 2 * 3 * 4)
        e[17] = 2
        var a = e
        a[17] = 2.5
        let bad = compare(tap: "layer3.0", actual: t([1, 2, 3, 4], a), expected: t([1, 2, 3, 4], e))
        let shape = compare(tap: "layer4.0", actual: t([1, 3], [0, 0, 0]), expected: t([1, 2], [0, 0]))
        let r = VerifyReport(results: passing + [bad, shape], tolerance: Tolerance())
        #expect(!r.passed && r.failedCount == 2 && r.firstFailure?.name == "layer3.0")
        #expect(r.summary == "FAIL: 2 of 5 taps outside atol 1e-04 rtol 1e-04 (worst max abs 5.0e-01 at layer3.0); first failure: layer3.0")
        // flat 17 in [1, 2, 3, 4] = [0, 1, 1, 1]
        #expect(r.firstFailureLine == "first failure: layer3.0 at [0, 1, 1, 1]: actual 2.5, expected 2 (|diff| 5.0e-01 > allowed 3.0e-04); 1 of 24 elements outside tolerance")
        let text = r.text(colour: false)
        #expect(text.contains(r.firstFailureLine!))
        #expect(text.contains("shape [1, 3]"))
    }

    @Test("a shape mismatch first: the failure line says which shapes")
    func shapeFirst() {
        let r = VerifyReport(results: [compare(tap: "conv1", actual: t([1, 3], [0, 0, 0]), expected: t([1, 2], [0, 0]))], tolerance: Tolerance())
        #expect(r.firstFailureLine == "first failure: conv1: shape [1, 3] differs from the reference [1, 2]")
        #expect(r.summary == "FAIL: 1 of 1 taps outside atol 1e-04 rtol 1e-04; first failure: conv1")
    }

    @Test("no results is a failure")
    func empty() {
        let r = VerifyReport(results: [], tolerance: Tolerance())
        #expect(!r.passed && r.summary == "FAIL: no taps compared")
    }

    @Test("table columns line up; PASS/FAIL coloured only when asked")
    func table() {
        let bad = compare(tap: "layer1.0.relu#2", actual: t([1, 1], [1]), expected: t([1, 1], [2]))
        let r = VerifyReport(results: passing + [bad], tolerance: Tolerance(), header: [ReportField("model", "resnet18 (resnet)")])
        let plain = r.text(colour: false).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(plain[0] == "model      resnet18 (resnet)")
        #expect(plain[1].hasPrefix("tolerance  |a - e| <= atol + rtol*|e| with atol 1e-04 rtol 1e-04"))
        let head = plain.firstIndex { $0.hasPrefix("tap ") }!
        let rows = plain[head...(head + 4)]
        // Every row ends in its result at the same column.
        let resultColumn = plain[head].range(of: "result")!.lowerBound.utf16Offset(in: plain[head])
        for row in rows.dropFirst() {
            let col = (row.range(of: "PASS") ?? row.range(of: "FAIL"))!.lowerBound.utf16Offset(in: row)
            #expect(col == resultColumn, "\(row)")
        }
        #expect(plain[head + 4].hasPrefix("layer1.0.relu#2  [1, 1]"))
        #expect(plain[head + 4].hasSuffix("FAIL"))
        #expect(plain[head + 1].contains("0 / 2"))
        let coloured = r.text(colour: true)
        #expect(coloured.contains("\u{1B}[32mPASS\u{1B}[0m") && coloured.contains("\u{1B}[31mFAIL\u{1B}[0m"))
        #expect(coloured.replacingOccurrences(of: "\u{1B}[32m", with: "").replacingOccurrences(of: "\u{1B}[31m", with: "")
            .replacingOccurrences(of: "\u{1B}[1m", with: "").replacingOccurrences(of: "\u{1B}[0m", with: "") == r.text(colour: false))
    }

    @Test("JSON: taps in order, non-finite numbers as strings")
    func json() throws {
        let nan = compare(tap: "fc", actual: t([2], [.nan, 1]), expected: t([2], [0, 1]))
        let r = VerifyReport(results: passing + [nan], tolerance: Tolerance(atol: 1e-3, rtol: 0))
        let data = try JSONEncoder().encode(r)
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(obj["passed"] as? Bool == false)
        #expect(obj["first_failure"] as? String == "fc")
        let taps = obj["taps"] as! [[String: Any]]
        #expect(taps.map { $0["name"] as! String } == ["conv1", "layer4.1", "fc", "fc"])
        #expect(taps[3]["max_abs"] as? String == "nan")
        #expect((taps[3]["worst"] as! [String: Any])["index"] as? [Int] == [0])
        #expect((obj["tolerance"] as! [String: Any])["atol"] as? Double == 1e-3)
    }
}
