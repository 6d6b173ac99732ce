// The HTML page around a report: the report's JSON embedded so no text from a file can end the script element
// early or become markup, the plain summary escaped, anchors safe. (The page drawn in a browser is tested in
// Tests/CLITests/VerifyHTMLTests.swift and by tools/check_html_report.py.)

import Foundation
import Testing
import TensorCore
@testable import Verify

private func t(_ shape: [Int], _ values: [Float]) -> Tensor { Tensor(shape: shape, data: values) }

/// A two-tap report whose second tap, named `name`, fails.
private func report(tapNamed name: String) -> VerifyReport {
    var r = VerifyReport(policy: TolerancePolicy(), header: [ReportField("model", "toy <b>")])
    r.add(tap: "stem", actual: t([1, 2], [1, 2]), expected: t([1, 2], [1, 2]), inputs: [])
    r.add(tap: name, actual: t([1, 2], [1, 3]), expected: t([1, 2], [1, 2]), inputs: ["stem"])
    return r
}

@Suite("HTML report page")
struct HTMLReportTests {
    @Test("hostile tap names stay text: no early </script>, no markup, the JSON reads back the same name",
          arguments: ["</script><script>alert(1)</script>", "<!--", "a&b \"q\" 'x'", "x\u{2028}y"])
    func hostileNames(name: String) throws {
        let html = try HTMLReport.page(report: report(tapNamed: name), model: "m</script>", directory: "ref", provenance: [])
        // Exactly the page's two script elements close.
        #expect(html.components(separatedBy: "</script>").count == 3)
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("toy <b>"), "header text became markup")
        let open = "<script type=\"application/json\" id=\"vfw-report\">\n"
        let start = try #require(html.range(of: open))
        let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
        let data = try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8)) as! [String: Any]
        let entry = ((data["suite"] as! [String: Any])["references"] as! [[String: Any]])[0]
        #expect(entry["model"] as? String == "m</script>")
        let taps = (entry["report"] as! [String: Any])["taps"] as! [[String: Any]]
        #expect(taps.map { $0["name"] as! String } == ["stem", name])
        #expect((entry["report"] as! [String: Any])["failure_source"] as? String == name)
    }

    @Test("anchors: position first, then the name's ASCII letters, digits, - and _",
          arguments: [("resnet18", 0, "ref-0-resnet18"), ("vit-base", 3, "ref-3-vit-base"), ("a b/ü\"<", 1, "ref-1-a-b----")])
    func anchors(model: String, index: Int, expected: String) {
        #expect(HTMLReport.anchor(model, index: index) == expected)
    }

    @Test("the plain summary (read without script) names the verdict and the failure source")
    func plainSummary() throws {
        let html = try HTMLReport.page(report: report(tapNamed: "block"), model: "toy", directory: "ref", provenance: [ReportField("made by", "vfw test")])
        #expect(html.contains("<title>vfw verify: toy: FAIL</title>"))
        #expect(html.contains("<b>toy</b>: FAIL: 1 of 2 taps outside atol 1e-04 rtol 1e-04"))
        #expect(html.contains("<br>failure source: block (fails while stem passes): worst at [0, 1]"))
    }
}
