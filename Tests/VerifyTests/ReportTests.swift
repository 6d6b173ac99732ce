// The verify report: table, failure source, histogram, classifier agreement, colour only on request, JSON
// (checked against Schemas/verify-report.schema.json) and JUnit.

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

/// 24 elements of 1, element 17 ([0, 1, 1, 1]) 2 in the reference and `off` in the Swift output.
private func block(_ off: Float) -> (Tensor, Tensor) {
    var e = [Float](repeating: 1, count: 24)
    e[17] = 2
    var a = e
    a[17] = off
    return (t([1, 2, 3, 4], a), t([1, 2, 3, 4], e))
}

/// A chain stem → a → b → c → head where `a` is fine, `b` has a fault and `c`, `head` inherit it.
private func chainReport(isolated: Bool = false) -> VerifyReport {
    var r = VerifyReport(policy: TolerancePolicy(), mode: isolated ? .isolated : .chained, header: [ReportField("model", "toy")])
    let good = block(2)
    let bad = block(2.5)
    r.add(tap: "stem", actual: good.0, expected: good.1, inputs: [])
    r.add(tap: "a", actual: good.0, expected: good.1, inputs: ["stem"])
    r.add(tap: "b", actual: bad.0, expected: bad.1, inputs: ["a"])
    r.add(tap: "c", actual: isolated ? good.0 : bad.0, expected: good.1, inputs: ["b"])
    r.add(tap: "head", actual: t([1, 3], [0.1, 0.9, 0.5]), expected: t([1, 3], [0.1, 0.5, 0.9]), inputs: ["c"], classifier: true)
    return r
}

@Suite("VerifyReport")
struct ReportTests {
    @Test("all pass: summary names the tolerance and the worst tap; no worst-element columns")
    func allPass() {
        let r = VerifyReport(results: passing, tolerance: Tolerance())
        #expect(r.passed && r.failedCount == 0 && r.firstFailure == nil && r.failureSource == nil && r.failureSourceLine == nil)
        #expect(r.worstTap?.name == "layer4.1")
        #expect(r.summary == "PASS: 3 of 3 taps within atol 1e-04 rtol 1e-04 (worst max abs 1.0e-05 at layer4.1)")
        let text = r.text(colour: false)
        #expect(text.hasSuffix(r.summary + "\n"))
        #expect(!text.contains("\u{1B}") && !text.contains("worst at"))
    }

    @Test("the failure source is the first tap failing while its inputs pass, not everything downstream")
    func failureSource() {
        let r = chainReport()
        #expect(r.results.map(\.passed) == [true, true, false, false, false])
        #expect(r.failureSource?.name == "b")
        #expect(r.failureSources.map(\.name) == ["b"])
        #expect(r.summary == "FAIL: 3 of 5 taps outside atol 1e-04 rtol 1e-04 (worst max abs 5.0e-01 at b); failure source: b")
        #expect(r.failureSourceLine == "failure source: b (fails while a passes): worst at [0, 1, 1, 1]: swift 2.5, reference 2 (|diff| 5.0e-01 > allowed 3.0e-04); 1 of 24 elements outside tolerance")
        // Only the failure source gets a histogram: 23 exact, one in [1e-01, 1e+00).
        #expect(r.results[2].histogram?.exact == 23 && r.results[2].histogram?.decades == [-1: 1])
        #expect(r.results.filter { $0.histogram != nil }.count == 1)
    }

    @Test("isolated: a later tap failing on its own passing inputs is a second source")
    func secondSource() {
        var r = chainReport(isolated: true)
        // c passes on the reference output of b; now a tap after c fails on its own too.
        let bad = block(3)
        r.add(tap: "tail", actual: bad.0, expected: bad.1, inputs: ["c"], feed: .isolated(from: ["c"]))
        #expect(r.failureSources.map(\.name) == ["b", "head", "tail"])
        let text = r.text(colour: false)
        #expect(text.contains("also failing on their own: head, tail"))
        #expect(text.contains("mode         isolated: each tapped module runs alone on the reference activations of its inputs"))
        #expect(text.contains("fed from"))
    }

    @Test("inputs unknown: the previous tap is taken as the input")
    func previousTapAssumed() {
        var r = VerifyReport(policy: TolerancePolicy())
        let good = block(2), bad = block(9)
        r.add(tap: "x", actual: good.0, expected: good.1)
        r.add(tap: "y", actual: bad.0, expected: bad.1)
        r.add(tap: "z", actual: bad.0, expected: good.1)
        #expect(r.failureSources.map(\.name) == ["y"])
        #expect(r.failureSourceLine?.hasPrefix("failure source: y (fails while x passes)") == true)
    }

    @Test("the table: aligned columns, worst element and both values for failing taps, * on the source")
    func table() {
        let r = chainReport()
        let plain = r.text(colour: false).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(plain[0] == "model        toy")
        #expect(plain[1] == "tolerance    allclose: |a - e| <= atol + rtol*|e| for every element, atol 1e-04 rtol 1e-04")
        #expect(plain[2] == "noise floor  none: the reference has no float64 truth (tools/make_reference.py records one); the tolerance alone decides")
        #expect(plain[3] == "mode         chained: the Swift model runs end to end on the reference input, so drift accumulates")
        let head = plain.firstIndex { $0.hasPrefix("tap ") }!
        #expect(plain[head] == "tap   shape         max abs  max rel  mean abs    cosine  mismatched  result  worst at      swift  reference")
        #expect(plain[head + 1] == "stem  [1, 2, 3, 4]  0.0e+00  0.0e+00   0.0e+00  1.000000      0 / 24  PASS")
        #expect(plain[head + 3] == "b     [1, 2, 3, 4]  5.0e-01  2.5e-01   2.1e-02  0.996353      1 / 24  FAIL *  [0, 1, 1, 1]    2.5          2")
        #expect(plain[head + 4].hasPrefix("c     [1, 2, 3, 4]  5.0e-01") && plain[head + 4].contains("FAIL    [0, 1, 1, 1]"))
        // Every result sits in the same column.
        let col = plain[head].range(of: "result")!.lowerBound.utf16Offset(in: plain[head])
        for row in plain[(head + 1)...(head + 5)] {
            let at = (row.range(of: "PASS") ?? row.range(of: "FAIL"))!.lowerBound.utf16Offset(in: row)
            #expect(at == col, "\(row)")
        }
        #expect(r.text(colour: false).contains("* failure source: a tap that fails while every tap feeding it passes"))
    }

    @Test("histogram of the failure source: log10 buckets with ASCII bars")
    func histogramText() {
        let e = t([6], [1, 1, 1, 1, 1, 1])
        let a = t([6], [1, 1 + 3e-7, 1 + 2e-3, 1 + 5e-3, Float.nan, 1])
        let h = ErrorHistogram(actual: a, expected: e)
        #expect(h.exact == 2 && h.nonFinite == 1 && h.decades[-3] == 2 && h.decades.values.reduce(0, +) == 3)
        let lines = h.text(width: 10)
        #expect(lines.first == "  0 (exact)       2  ##########")
        #expect(lines.contains("  [1e-03, 1e-02)  2  ##########"))
        #expect(lines.contains("  [1e-05, 1e-04)  0"))
        #expect(lines.last == "  nan / inf       1  #####")
        // Exactly at a power of ten: the decade it starts.
        var edge = ErrorHistogram(actual: t([1], [0]), expected: t([1], [0]))
        edge.add(1e-3)
        edge.add(0.001 * 0.999999)
        #expect(edge.decades == [-3: 1, -4: 1])
    }

    @Test("classifier logits: top-1 and top-5 agreement per item, ties to the lower index")
    func agreement() {
        // 2 items x 7 classes.
        let ref = t([2, 7], [0, 6, 5, 4, 3, 2, 1,   1, 1, 0, 0, 0, 0, 0])
        let swift = t([2, 7], [0, 6, 5, 4, 3, 2.5, 1,   0, 2, 0, 0, 0, 0, 0])
        let a = ClassAgreement(actual: swift, expected: ref)!
        #expect(a.k == 5)
        #expect(a.items[0].swift == [1, 2, 3, 4, 5] && a.items[0].reference == [1, 2, 3, 4, 5])
        #expect(a.items[0].top1Agrees && a.items[0].topKAgrees)
        #expect(a.items[1].reference == [0, 1, 2, 3, 4] && a.items[1].swift == [1, 0, 2, 3, 4])
        #expect(!a.items[1].top1Agrees && a.items[1].topKAgrees)
        #expect(a.top1 == 1 && a.topK == 2 && a.summary == "top-1 1 of 2, top-5 2 of 2")
        #expect(ClassAgreement(actual: t([3], [1, 2, 3]), expected: t([3], [1, 2, 3])) == nil)
        let r = chainReport()
        #expect(r.text(colour: false).contains("head (logits): top-1 0 of 1, top-3 1 of 1 images agree"))
    }

    @Test("PASS/FAIL coloured only when asked")
    func colour() {
        let r = chainReport()
        let coloured = r.text(colour: true)
        #expect(coloured.contains("\u{1B}[32mPASS\u{1B}[0m") && coloured.contains("\u{1B}[31mFAIL *\u{1B}[0m"))
        let stripped = ["\u{1B}[32m", "\u{1B}[31m", "\u{1B}[1m", "\u{1B}[0m"].reduce(coloured) { $0.replacingOccurrences(of: $1, with: "") }
        #expect(stripped == r.text(colour: false))
    }

    @Test("per-tap rules: a tolerance column, the rules in the header, the summary counts them")
    func rules() {
        var p = TolerancePolicy(base: Tolerance(atol: 1e-4, rtol: 1e-4), rules: [ToleranceRule(pattern: "b", atol: 1, rtol: 1)], origin: "--tolerance")
        p.rules.append(ToleranceRule(pattern: "c*", atol: 0.75, rtol: 0))
        var r = VerifyReport(policy: p, header: [ReportField("model", "toy")])
        let bad = block(2.5)
        r.add(tap: "a", actual: bad.1, expected: bad.1)
        r.add(tap: "b", actual: bad.0, expected: bad.1)
        r.add(tap: "c", actual: bad.0, expected: bad.1)
        #expect(r.passed)
        #expect(r.results.map(\.tolerance.atol) == [1e-4, 1, 0.75])
        #expect(r.summary.hasPrefix("PASS: 3 of 3 taps within atol 1e-04 rtol 1e-04 and 2 per-tap rules"))
        let text = r.text(colour: false)
        #expect(text.contains("tolerance    allclose: |a - e| <= atol + rtol*|e| for every element, atol 1e-04 rtol 1e-04 (--tolerance)"))
        #expect(text.contains("             c*: atol 7.5e-01 rtol 0e+00 (--tolerance-for; the last matching rule wins)"))
        #expect(text.contains("  tolerance  mismatched") && text.contains("7.5e-01,0e+00"))
    }

    @Test("shape mismatch and missing activations fail with their own words")
    func problems() {
        var r = VerifyReport(policy: TolerancePolicy())
        r.add(tap: "conv1", actual: t([1, 3], [0, 0, 0]), expected: t([1, 2], [0, 0]))
        r.add(tap: "fc", actual: nil, expected: t([1, 2], [0, 0]))
        #expect(r.failureSourceLine == "failure source: conv1 (the first tap, fed by the model input): shape [1, 3] differs from the reference [1, 2]")
        let text = r.text(colour: false)
        #expect(text.contains("shape [1, 3]") && text.contains("missing"))
        #expect(r.summary == "FAIL: 2 of 2 taps outside atol 1e-04 rtol 1e-04; failure source: conv1")
    }

    @Test("no results is a failure")
    func empty() {
        let r = VerifyReport(results: [], tolerance: Tolerance())
        #expect(!r.passed && r.summary == "FAIL: no taps compared")
    }

    @Test("JSON: valid against Schemas/verify-report.schema.json; taps in order, non-finite numbers as strings")
    func json() throws {
        var r = chainReport()
        r.add(tap: "nan", actual: t([2], [.nan, 1]), expected: t([2], [0, 1]), inputs: [], feed: .chainedFallback(reason: "its input x is not in the reference"))
        r.notes.append("a note")
        let data = try r.json()
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        try SchemaCheck.validate(obj)
        #expect(obj["passed"] as? Bool == false)
        #expect(obj["first_failure"] as? String == "b" && obj["failure_source"] as? String == "b")
        #expect(obj["failure_sources"] as? [String] == ["b", "nan"])
        let taps = obj["taps"] as! [[String: Any]]
        #expect(taps.map { $0["name"] as! String } == ["stem", "a", "b", "c", "head", "nan"])
        #expect(taps[5]["max_abs"] as? String == "nan" && taps[5]["feed"] as? String == "chained-fallback")
        #expect(taps[5]["feed_note"] as? String == "its input x is not in the reference")
        #expect((taps[2]["worst"] as! [String: Any])["index"] as? [Int] == [0, 1, 1, 1])
        #expect((taps[2]["histogram"] as! [String: Any])["exact"] as? Int == 23)
        #expect((taps[4]["agreement"] as! [String: Any])["top1_agreeing"] as? Int == 0)
        #expect((obj["tolerance"] as! [String: Any])["metric"] as? String == "allclose")
        // The schema rejects what it should: a wrong metric name.
        var broken = obj
        broken["tolerance"] = ["metric": "close-enough", "atol": 1, "rtol": 1]
        #expect(throws: SchemaCheck.Failure.self) { try SchemaCheck.validate(broken) }
    }

    @Test("JUnit: one testcase per tap, failures carry the message, XML escaped")
    func junit() {
        var r = chainReport()
        r.add(tap: "q<&\">", actual: t([1], [1]), expected: t([1], [1]))
        let xml = r.junit(suite: "toy")
        #expect(xml.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"vfw verify\" tests=\"6\" failures=\"3\" errors=\"0\">\n"))
        #expect(xml.contains("  <testsuite name=\"toy\" tests=\"6\" failures=\"3\" errors=\"0\" skipped=\"0\">"))
        #expect(xml.contains("<testcase classname=\"vfw.verify.toy\" name=\"stem\"/>"))
        #expect(xml.contains("<testcase classname=\"vfw.verify.toy\" name=\"q&lt;&amp;&quot;&gt;\"/>"))
        #expect(xml.contains("<failure type=\"numeric\" message=\"failure source; outside atol 1e-04 rtol 1e-04: worst at [0, 1, 1, 1]: swift 2.5, reference 2 (|diff| 5.0e-01 &gt; allowed 3.0e-04); 1 of 24 elements outside tolerance\">"))
        #expect(xml.components(separatedBy: "<testcase ").count - 1 == 6)
        #expect(xml.components(separatedBy: "<failure ").count - 1 == 3)
        #expect(xml.hasSuffix("</testsuites>\n"))
    }
}

@Suite("VerifySuite: many references")
struct SuiteTests {
    @Test("summary table, verdict, JUnit errors for references that could not be verified, JSON")
    func suite() throws {
        var ok = VerifyReport(policy: TolerancePolicy())
        ok.add(tap: "conv1", actual: t([1], [1]), expected: t([1], [1]))
        var s = VerifySuite(root: "refs", entries: [VerifySuiteEntry(directory: "refs/a", model: "resnet18", report: ok)])
        #expect(s.passed && !s.hasErrors && s.summary == "PASS: 1 of 1 references")
        s.entries.append(VerifySuiteEntry(directory: "refs/b", model: "resnet50", report: chainReport()))
        s.entries.append(VerifySuiteEntry(directory: "refs/c", model: "c", error: "refs/c/manifest.json: no such file"))
        #expect(!s.passed && s.hasErrors)
        #expect(s.summary == "FAIL: 1 of 3 references failed, 1 could not be verified")
        let lines = s.text(colour: false).split(separator: "\n").map(String.init)
        #expect(lines[0] == "model     reference  taps  worst max abs     result  failure source / problem")
        #expect(lines[1] == "resnet18  refs/a        1  0.0e+00 at conv1  PASS")
        #expect(lines[2].hasPrefix("resnet50  refs/b        5  5.0e-01 at b      FAIL    b: worst at [0, 1, 1, 1]"))
        #expect(lines[3] == "c         refs/c        -  -                 ERROR   refs/c/manifest.json: no such file")
        let xml = s.junit()
        #expect(xml.contains("<testsuites name=\"vfw verify\" tests=\"7\" failures=\"3\" errors=\"1\">"))
        #expect(xml.contains("<error type=\"input\" message=\"refs/c/manifest.json: no such file\">"))
        let obj = try JSONSerialization.jsonObject(with: try s.json()) as! [String: Any]
        try SchemaCheck.validate(obj)
        #expect((obj["references"] as! [[String: Any]]).map { $0["status"] as! String } == ["pass", "fail", "error"])
        #expect(VerifySuite(root: "x").summary == "FAIL: no reference folders in x")
    }
}
