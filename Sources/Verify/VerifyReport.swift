// The verdict on a whole model: one row per tap in execution order, the failure source explained, one
// summary line; the same as JSON (Schemas/verify-report.schema.json) and JUnit XML.
//
// The failure source (coremltools' rule) is the first tap, in execution order, that fails while every tap
// feeding it passes: where the fault is, rather than everything downstream of it. A tap run --isolated was fed
// the reference itself, so it is a source whenever it fails. Other taps failing with passing (or reference)
// inputs are listed too ("also failing on their own").

import Foundation
import TensorCore

/// A labelled line of the report header ("model", "resnet18 (resnet)").
public struct ReportField: Sendable, Equatable, Encodable {
    public var label: String
    public var value: String

    public init(_ label: String, _ value: String) {
        self.label = label
        self.value = value
    }
}

public struct VerifyReport: Sendable, Encodable {
    public enum Mode: String, Sendable, Encodable {
        /// The Swift model ran end to end; errors accumulate downstream.
        case chained
        /// Each module ran alone on the reference activations of its inputs; every module's own error shows.
        case isolated

        var explanation: String {
            switch self {
            case .chained: return "chained: the Swift model runs end to end on the reference input, so drift accumulates"
            case .isolated: return "isolated: each tapped module runs alone on the reference activations of its inputs"
            }
        }
    }

    /// Facts shown above the table, in order (see `ReferenceSet.reportHeader`).
    public var header: [ReportField]
    public var policy: TolerancePolicy
    public var mode: Mode
    /// One result per tap, in execution order.
    public var results: [TapResult]
    /// Extra lines printed under the table (e.g. how the weights were rounded).
    public var notes: [String] = []
    /// Give every failing tap a histogram (the HTML page draws one per failing tap), not only the first failure source.
    public var histogramEveryFailure = false

    /// Batch item labels (the photo of each item), when the batch holds more than one: the `worst image` column.
    public var itemLabels: [String] = []

    public init(results: [TapResult], tolerance: Tolerance, header: [ReportField] = []) {
        self.results = results
        policy = TolerancePolicy(base: tolerance)
        mode = .chained
        self.header = header
    }

    public init(policy: TolerancePolicy, mode: Mode = .chained, header: [ReportField] = []) {
        self.policy = policy
        self.mode = mode
        self.header = header
        results = []
    }

    /// The default tolerance (taps without a matching rule).
    public var tolerance: Tolerance { policy.base }

    /// Compares `actual` (nil: the model produced nothing) with `expected` under the tolerance for `tap` and,
    /// given its float64 `truth`, the policy's noise floor; appends the result. `inputs`: the taps feeding this
    /// one (nil: the previous tap); `classifier`: the tap holds logits, so top-1 / top-5 agreement is computed;
    /// `items`: batch items (> 1: per-item figures). The first failure source gets a histogram (every failing tap
    /// with `histogramEveryFailure`).
    public mutating func add(tap name: String, actual: Tensor?, expected: Tensor, truth: [Double]? = nil,
                             inputs: [String]? = nil, feed: Feed = .chained, classifier: Bool = false, items: Int = 1) {
        let tol = policy.tolerance(for: name)
        var r = actual.map { compare(tap: name, actual: $0, expected: expected, tolerance: tol, truth: truth,
                                     noiseFloor: policy.noiseFloor, items: items) }
            ?? TapResult.missing(tap: name, shape: expected.shape, tolerance: tol)
        r.inputs = inputs
        r.feed = feed
        if classifier, let a = actual { r.agreement = ClassAgreement(actual: a, expected: expected) }
        results.append(r)
        let i = results.count - 1
        if !r.passed, r.status == .compared, let a = actual,
           histogramEveryFailure || (isFailureSource(i) && !results.dropLast().contains(where: { $0.histogram != nil })) {
            results[i].histogram = ErrorHistogram(actual: a, expected: expected)
        }
    }

    // MARK: - Verdict

    /// True when at least one tap was compared and every tap passed.
    public var passed: Bool { !results.isEmpty && results.allSatisfy(\.passed) }
    public var failedCount: Int { results.filter { !$0.passed }.count }
    public var firstFailure: TapResult? { results.first { !$0.passed } }

    /// The taps feeding result `i` that are in this report.
    func upstream(_ i: Int) -> [String] {
        let names = Set(results.map(\.name))
        let given = results[i].inputs ?? (i > 0 ? [results[i - 1].name] : [])
        return given.filter { names.contains($0) && $0 != results[i].name }
    }

    func isFailureSource(_ i: Int) -> Bool {
        guard !results[i].passed else { return false }
        // Fed the reference activations: its inputs are right by construction, so the fault is its own.
        if case .isolated = results[i].feed { return true }
        let passedByName = Dictionary(results.map { ($0.name, $0.passed) }, uniquingKeysWith: { a, _ in a })
        return upstream(i).allSatisfy { passedByName[$0] ?? true }
    }

    /// Every tap that fails while the taps feeding it pass, in execution order.
    public var failureSources: [TapResult] { results.indices.filter(isFailureSource).map { results[$0] } }
    /// The first of `failureSources`: where to look first.
    public var failureSource: TapResult? { results.indices.first(where: isFailureSource).map { results[$0] } }

    /// The compared tap with the largest max abs (NaN counts as largest; the first of equals).
    public var worstTap: TapResult? {
        var best: TapResult?
        for r in results where r.status == .compared {
            if best == nil || exceeds(r.maxAbs, best!.maxAbs) { best = r }
        }
        return best
    }

    /// The default tolerance, and the per-tap rules when there are any.
    var toleranceSummary: String {
        policy.rules.isEmpty ? "\(tolerance)" : "\(tolerance) and \(policy.rules.count) per-tap rule\(policy.rules.count == 1 ? "" : "s")"
    }

    /// The compared tap with the largest swift / torch error ratio against the truth (nil without truths).
    public var worstRatioTap: TapResult? {
        var best: TapResult?
        for r in results where r.status == .compared {
            guard let t = r.truth else { continue }
            if best == nil || exceeds(t.ratio, best!.truth!.ratio) { best = r }
        }
        return best
    }

    /// Taps judged by the noise floor as well as the tolerance.
    var floorApplies: Bool { results.contains { $0.withinNoiseFloor != nil } }

    /// `PASS: 17 of 17 taps within atol 1e-04 rtol 1e-04 (worst max abs 3.1e-06 at layer4.1)`;
    /// `PASS: 22 of 22 taps: 19 within atol 1e-04 rtol 1e-04, 3 within the noise floor (worst max abs 6.1e-04 at layer4.2; worst swift/torch 1.3x at layer4.1)`;
    /// `FAIL: 3 of 17 taps outside atol 1e-04 rtol 1e-04 (worst max abs 2.0e-01 at layer4.1); failure source: layer3.0`
    /// (`... outside atol 1e-04 rtol 1e-04 and the noise floor ...` when it applied).
    public var summary: String {
        guard !results.isEmpty else { return "FAIL: no taps compared" }
        var worst = worstTap.map { "worst max abs \(formatNumber($0.maxAbs, "%.1e")) at \($0.name)" } ?? ""
        if let r = worstRatioTap, let t = r.truth {
            worst += (worst.isEmpty ? "" : "; ") + "worst swift/torch \(formatRatio(t.ratio)) at \(r.name)"
        }
        let paren = worst.isEmpty ? "" : " (\(worst))"
        if passed {
            let byFloor = results.filter { $0.decidedBy == .noiseFloor }.count
            if byFloor == 0 { return "PASS: \(results.count) of \(results.count) taps within \(toleranceSummary)\(paren)" }
            return "PASS: \(results.count) of \(results.count) taps: \(results.count - byFloor) within \(toleranceSummary), "
                + "\(byFloor) within the noise floor\(paren)"
        }
        let source = failureSource ?? firstFailure!
        let floor = floorApplies ? " and the noise floor" : ""
        return "FAIL: \(failedCount) of \(results.count) taps outside \(toleranceSummary)\(floor)\(paren); failure source: \(source.name)"
    }

    /// The failure source and what is wrong with it; nil when every tap passed.
    public var failureSourceLine: String? {
        guard let f = failureSource ?? firstFailure, let i = results.firstIndex(where: { $0.name == f.name }) else { return nil }
        let ups = upstream(i)
        var why: String
        switch f.feed {
        case .isolated(let from):
            why = "fails on the reference \(from.joined(separator: " and "))"
        case .chained, .chainedFallback:
            why = ups.isEmpty ? "the first tap, fed by the model input" : "fails while \(ups.joined(separator: " and ")) \(ups.count == 1 ? "passes" : "pass")"
        }
        if !isFailureSource(i) { why = "the first failing tap" }
        return "failure source: \(f.name) (\(why)): \(f.failureDetail ?? "")"
    }

    /// Kept for callers of the first version: the first failing tap and what is wrong with it.
    public var firstFailureLine: String? {
        guard let f = firstFailure else { return nil }
        return "first failure: \(f.name): \(f.failureDetail ?? "")"
    }

    // MARK: - Text

    /// The report as a table. `colour`: ANSI colours (pass isatty of the output and respect NO_COLOR).
    public func text(colour: Bool) -> String {
        let green = "\u{1B}[32m", red = "\u{1B}[31m", bold = "\u{1B}[1m", reset = "\u{1B}[0m"
        func paint(_ s: String, _ code: String) -> String { colour ? code + s + reset : s }
        var lines: [String] = []

        if !header.isEmpty {
            let w = (header.map(\.label) + ["tolerance", "noise floor"]).map(\.count).max()!
            for f in header { lines.append(pad(f.label, w) + "  " + f.value) }
            let origin = policy.origin.isEmpty ? "" : " (\(policy.origin))"
            lines.append(pad("tolerance", w) + "  \(tolerance.metric.rawValue): \(tolerance.metric.rule), \(tolerance)\(origin)")
            for r in policy.rules {
                lines.append(pad("", w) + "  \(r.pattern): \(Tolerance(atol: r.atol, rtol: r.rtol, metric: tolerance.metric)) (--tolerance-for; the last matching rule wins)")
            }
            let withTruth = results.filter { $0.truth != nil }.count
            if let f = policy.noiseFloor, withTruth > 0 {
                lines.append(pad("noise floor", w) + "  \(f), per tap, against the float64 truth (\(withTruth) of \(results.count) taps have one); a tap passes by either rule")
            } else if policy.noiseFloor == nil {
                lines.append(pad("noise floor", w) + "  off (--strict): the tolerance alone decides")
            } else {
                lines.append(pad("noise floor", w) + "  none: the reference has no float64 truth (tools/make_reference.py records one); the tolerance alone decides")
            }
            lines.append(pad("mode", w) + "  " + mode.explanation)
            if results.contains(where: { $0.attribution != nil }) {
                lines.append(pad("", w) + "  " + (mode == .chained
                    ? "introduced: each module run alone on the reference activations of its inputs (isolated); gain: chained / the largest chained error feeding it"
                    : "chained: the same taps end to end; gain: chained / the largest chained error feeding it"))
            }
            lines.append("")
        }

        let sources = Set(failureSources.map(\.name))
        let showFeed = mode == .isolated
        let showNMSE = tolerance.metric == .nmse
        let showRule = results.contains { policy.rule(for: $0.name) != nil }
        let showTruth = results.contains { $0.truth != nil }
        let showAttribution = results.contains { $0.attribution != nil }
        let showItems = itemLabels.count > 1 && results.contains { $0.items != nil }
        var titles = ["tap", "shape"]
        if showFeed { titles.append("fed from") }
        // With a truth, its three columns replace max rel and mean abs (both stay in the JSON).
        titles += showTruth ? ["max abs", "cosine"] : ["max abs", "max rel", "mean abs", "cosine"]
        if showNMSE { titles.append("nmse") }
        if showRule { titles.append("tolerance") }
        titles.append("mismatched")
        if showTruth { titles += ["swift err", "torch err", "ratio"] }
        if showAttribution { titles += [mode == .chained ? "introduced" : "chained", "gain"] }
        if showItems { titles.append("worst image") }
        titles.append("result")
        if showTruth { titles.append("by") }
        // The worst element of each failing tap: its index and both values.
        let showWorst = results.contains { !$0.passed && $0.worst != nil }
        if showWorst { titles += ["worst at", "swift", "reference"] }
        let numericFrom = showFeed ? 3 : 2
        let resultColumn = titles.firstIndex(of: "result")!
        let textColumns = Set(["worst image", "by", "result", "worst at"].compactMap { titles.firstIndex(of: $0) })
        var rows: [[String]] = []
        for r in results {
            let compared = r.status == .compared
            func num(_ v: Double, _ f: String) -> String { compared ? formatNumber(v, f) : "-" }
            var row = [r.name, describeShape(r.shape)]
            if showFeed {
                switch r.feed {
                case .isolated(let from): row.append("ref " + from.joined(separator: " + "))
                case .chained: row.append("chained")
                case .chainedFallback: row.append("chained (see note)")
                }
            }
            row += showTruth ? [num(r.maxAbs, "%.1e"), num(r.cosine, "%.6f")]
                             : [num(r.maxAbs, "%.1e"), num(r.maxRel, "%.1e"), num(r.meanAbs, "%.1e"), num(r.cosine, "%.6f")]
            if showNMSE { row.append(num(r.nmse, "%.1e")) }
            if showRule { row.append(policy.rule(for: r.name).map { $0.atol == $0.rtol ? formatExp($0.atol) : "\(formatExp($0.atol)),\(formatExp($0.rtol))" } ?? "default") }
            switch r.status {
            case .compared: row.append("\(r.mismatched) / \(r.elementCount)")
            case .shapeMismatch: row.append("shape \(describeShape(r.actualShape ?? []))")
            case .missing: row.append("missing")
            }
            if showTruth {
                if let t = r.truth, compared {
                    row += [formatNumber(t.swift, "%.1e"), formatNumber(t.torch, "%.1e"), formatRatio(t.ratio)]
                } else {
                    row += ["-", "-", "-"]
                }
            }
            if showAttribution {
                if let a = r.attribution {
                    row.append(formatNumber(mode == .chained ? a.introduced : a.chained, "%.1e"))
                    row.append(a.gain.map { formatRatio($0) } ?? "-")
                } else {
                    row += ["-", "-"]
                }
            }
            if showItems { row.append(r.worstItem.map { $0 < itemLabels.count ? itemLabels[$0] : "item \($0)" } ?? "-") }
            row.append(r.passed ? "PASS" : sources.contains(r.name) ? "FAIL *" : "FAIL")
            if showTruth { row.append(r.decidedBy.label) }
            if showWorst {
                if !r.passed, let w = r.worst {
                    row += [describeShape(w.index), formatNumber(Double(w.actual), "%.6g"), formatNumber(Double(w.expected), "%.6g")]
                } else {
                    row += ["", "", ""]
                }
            }
            rows.append(row)
        }
        var widths = titles.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        // Text columns left-aligned, numbers right-aligned; trailing blanks trimmed.
        let rightAligned = Set(numericFrom..<titles.count).subtracting(textColumns)
        func line(_ cells: [String], result: String? = nil) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() {
                let padded = rightAligned.contains(i) ? String(repeating: " ", count: widths[i] - c.count) + c : pad(c, widths[i])
                if i == resultColumn, let result { parts.append(result + String(repeating: " ", count: widths[i] - c.count)) } else { parts.append(padded) }
            }
            var s = parts.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        lines.append(line(titles))
        for (row, r) in zip(rows, results) {
            lines.append(line(row, result: paint(row[resultColumn], r.passed ? green : red)))
        }

        lines.append("")
        if !sources.isEmpty { lines.append("* failure source: a tap that fails while every tap feeding it passes") }
        if showTruth {
            lines.append("swift err, torch err: max |swift - truth|, max |torch float32 - truth| against the float64 truth; ratio: swift / torch; "
                         + "by: the rule that decided (tolerance, noise floor, both: failed both)")
        }
        for r in results {
            if case .chainedFallback(let reason) = r.feed { lines.append("note: \(r.name) ran chained: \(reason)") }
        }
        if let f = failureSourceLine { lines.append(paint(f, colour ? bold : "")) }
        let others = failureSources.dropFirst().map(\.name)
        if !others.isEmpty { lines.append("also failing on their own: \(others.joined(separator: ", "))") }
        if let h = results.first(where: { $0.histogram != nil }), let hist = h.histogram {
            lines.append("|swift - reference| at \(h.name), \(h.elementCount) elements, by decade:")
            lines += hist.text()
        }
        for r in results {
            guard let a = r.agreement else { continue }
            var s = "\(r.name) (logits): \(a.summary) images agree"
            let bad = a.items.enumerated().filter { !$0.element.topKAgrees }
            if !bad.isEmpty && itemLabels.count <= 1 {
                s += "; " + bad.prefix(3).map { "item \($0.offset): swift top-\(a.k) \($0.element.swift), reference \($0.element.reference)" }.joined(separator: "; ")
            }
            lines.append(s)
            if itemLabels.count > 1 {
                // One line per image: which photo, and whether Swift picks PyTorch's classes.
                let w = itemLabels.map(\.count).max() ?? 0
                for (i, it) in a.items.enumerated() {
                    let label = i < itemLabels.count ? itemLabels[i] : "item \(i)"
                    var line = "  " + pad(label, w) + "  top-1 " + (it.top1Agrees ? "agrees (\(it.reference[0]))" : "differs: swift \(it.swift[0]), reference \(it.reference[0])")
                    line += ", top-\(a.k) " + (it.topKAgrees ? "agrees" : "differs: swift \(it.swift), reference \(it.reference)")
                    lines.append(line)
                }
            }
        }
        lines += notes
        lines.append(paint(summary, bold + (passed ? green : red)))
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - JSON

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", passed, summary, mode, tolerance, toleranceOrigin = "tolerance_origin"
        case toleranceRules = "tolerance_rules", header, taps, firstFailure = "first_failure"
        case failureSource = "failure_source", failureSources = "failure_sources", notes
        case noiseFloor = "noise_floor", strict, items, worstRatio = "worst_ratio_tap"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(2, forKey: .schemaVersion)
        try c.encode(passed, forKey: .passed)
        try c.encode(summary, forKey: .summary)
        try c.encode(mode, forKey: .mode)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(policy.origin, forKey: .toleranceOrigin)
        try c.encode(policy.rules, forKey: .toleranceRules)
        try c.encode(header, forKey: .header)
        try c.encode(results, forKey: .taps)
        try c.encodeIfPresent(firstFailure?.name, forKey: .firstFailure)
        try c.encodeIfPresent(failureSource?.name, forKey: .failureSource)
        try c.encode(failureSources.map(\.name), forKey: .failureSources)
        try c.encode(notes, forKey: .notes)
        try c.encodeIfPresent(policy.noiseFloor, forKey: .noiseFloor)
        try c.encode(policy.noiseFloor == nil, forKey: .strict)
        try c.encode(itemLabels, forKey: .items)
        try c.encodeIfPresent(worstRatioTap?.name, forKey: .worstRatio)
    }

    /// Pretty, key-sorted JSON with a final newline.
    public func json() throws -> Data {
        try verifyJSON(self)
    }

    // MARK: - JUnit

    /// A JUnit `<testsuite>` named `suite`: one `<testcase>` per tap, failing taps with a `<failure>`.
    public func junitSuite(name suite: String, indent: String = "  ") -> String {
        let sourceNames = Set(failureSources.map(\.name))
        var out = "\(indent)<testsuite name=\"\(xmlEscape(suite))\" tests=\"\(results.count)\" failures=\"\(failedCount)\" errors=\"0\" skipped=\"0\">\n"
        out += "\(indent)  <properties>\n"
        for f in header { out += "\(indent)    <property name=\"\(xmlEscape(f.label))\" value=\"\(xmlEscape(f.value))\"/>\n" }
        out += "\(indent)    <property name=\"tolerance\" value=\"\(xmlEscape("\(tolerance.metric.rawValue) \(tolerance)"))\"/>\n"
        out += "\(indent)    <property name=\"mode\" value=\"\(mode.rawValue)\"/>\n"
        out += "\(indent)    <property name=\"noise floor\" value=\"\(xmlEscape(policy.noiseFloor.map { "\($0)" } ?? "off (--strict)"))\"/>\n"
        out += "\(indent)  </properties>\n"
        for r in results {
            let open = "\(indent)  <testcase classname=\"vfw.verify.\(xmlEscape(suite))\" name=\"\(xmlEscape(r.name))\""
            // Both errors against the truth and the other run's figure, for every tap that has them.
            var figures: [String] = []
            if r.status == .compared, let t = r.truth {
                figures.append("max abs \(formatNumber(r.maxAbs, "%.3e")); max |swift - truth| \(formatNumber(t.swift, "%.3e")), "
                               + "max |torch - truth| \(formatNumber(t.torch, "%.3e")), ratio \(formatNumber(t.ratio, "%.3f")); decided by \(r.decidedBy.rawValue)")
            }
            if let a = r.attribution {
                figures.append("introduced \(formatNumber(a.introduced, "%.3e")), chained \(formatNumber(a.chained, "%.3e"))"
                               + (a.inherited.map { ", inherited \(formatNumber($0, "%.3e"))" } ?? "") + (a.gain.map { ", gain \(formatNumber($0, "%.2f"))" } ?? ""))
            }
            let systemOut = figures.isEmpty ? "" : "\(indent)    <system-out>\(xmlEscape(figures.joined(separator: "\n"), attribute: false))</system-out>\n"
            if r.passed {
                out += systemOut.isEmpty ? open + "/>\n" : open + ">\n" + systemOut + "\(indent)  </testcase>\n"
                continue
            }
            let source = sourceNames.contains(r.name) ? "failure source; " : ""
            let floor = r.withinNoiseFloor == false ? " and the noise floor" : ""
            let message = "\(source)outside \(r.tolerance)\(floor): \(r.failureDetail ?? "")"
            var body = "tap \(r.name) \(describeShape(r.shape))\n"
            if r.status == .compared {
                body += "max abs \(formatNumber(r.maxAbs, "%.3e")), max rel \(formatNumber(r.maxRel, "%.3e")), mean abs \(formatNumber(r.meanAbs, "%.3e")), "
                body += "cosine \(formatNumber(r.cosine, "%.9f")), nmse \(formatNumber(r.nmse, "%.3e")), mismatched \(r.mismatched) of \(r.elementCount)\n"
            }
            body += message
            out += open + ">\n"
            out += "\(indent)    <failure type=\"numeric\" message=\"\(xmlEscape(message))\">\(xmlEscape(body, attribute: false))</failure>\n"
            out += systemOut
            out += "\(indent)  </testcase>\n"
        }
        out += "\(indent)</testsuite>\n"
        return out
    }

    /// A complete JUnit XML document holding this report as one suite.
    public func junit(suite: String) -> String {
        junitDocument([junitSuite(name: suite, indent: "  ")], tests: results.count, failures: failedCount, errors: 0)
    }
}

// MARK: - Helpers

/// A JUnit `<testsuites>` document around already rendered `<testsuite>` elements.
func junitDocument(_ suites: [String], tests: Int, failures: Int, errors: Int) -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        + "<testsuites name=\"vfw verify\" tests=\"\(tests)\" failures=\"\(failures)\" errors=\"\(errors)\">\n"
        + suites.joined()
        + "</testsuites>\n"
}

/// Text safe inside XML attributes and elements (control characters other than tab and newline dropped).
func xmlEscape(_ s: String, attribute: Bool = true) -> String {
    var out = ""
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        case "\n": out += attribute ? "&#10;" : "\n"
        case "\t": out += attribute ? "&#9;" : "\t"
        default:
            if ch.value < 0x20 || ch.value == 0xFFFE || ch.value == 0xFFFF { continue }
            out.unicodeScalars.append(ch)
        }
    }
    return out
}

func verifyJSON<T: Encodable>(_ value: T) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var data = try e.encode(value)
    data.append(0x0A)
    return data
}

func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
