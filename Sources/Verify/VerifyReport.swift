// The verdict on a whole model: one row per tap in execution order, the first failure explained, one summary line.

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
    /// Facts shown above the table, in order (see `ReferenceSet.reportHeader`).
    public var header: [ReportField]
    public var tolerance: Tolerance
    /// One result per tap, in execution order.
    public var results: [TapResult]

    public init(results: [TapResult], tolerance: Tolerance, header: [ReportField] = []) {
        self.results = results
        self.tolerance = tolerance
        self.header = header
    }

    /// True when at least one tap was compared and every tap passed.
    public var passed: Bool { !results.isEmpty && results.allSatisfy(\.passed) }
    public var failedCount: Int { results.filter { !$0.passed }.count }
    public var firstFailure: TapResult? { results.first { !$0.passed } }

    /// The compared tap with the largest max abs (NaN counts as largest; the first of equals).
    public var worstTap: TapResult? {
        var best: TapResult?
        for r in results where r.status == .compared {
            if best == nil || exceeds(r.maxAbs, best!.maxAbs) { best = r }
        }
        return best
    }

    /// `PASS: 17 of 17 taps within atol 1e-04 rtol 1e-04 (worst max abs 3.1e-06 at layer4.1)`, or
    /// `FAIL: 3 of 17 taps outside atol 1e-04 rtol 1e-04 (worst max abs 2.0e-01 at layer4.1); first failure: layer3.0`.
    public var summary: String {
        guard !results.isEmpty else { return "FAIL: no taps compared" }
        let worst = worstTap.map { " (worst max abs \(formatNumber($0.maxAbs, "%.1e")) at \($0.name))" } ?? ""
        if passed {
            return "PASS: \(results.count) of \(results.count) taps within \(tolerance)\(worst)"
        }
        return "FAIL: \(failedCount) of \(results.count) taps outside \(tolerance)\(worst); first failure: \(firstFailure!.name)"
    }

    /// The first failing tap and what is wrong with it; nil when every tap passed.
    public var firstFailureLine: String? {
        guard let f = firstFailure else { return nil }
        if let p = f.problem { return "first failure: \(f.name): \(p)" }
        guard let w = f.worst else { return "first failure: \(f.name)" }
        return "first failure: \(f.name) at \(describeShape(w.index)): actual \(formatNumber(Double(w.actual), "%.8g")), "
            + "expected \(formatNumber(Double(w.expected), "%.8g")) (|diff| \(formatNumber(w.absDifference, "%.1e")) > allowed "
            + "\(formatNumber(w.allowed, "%.1e"))); \(f.mismatched) of \(f.elementCount) elements outside tolerance"
    }

    /// The report as a table. `colour`: ANSI colours for PASS / FAIL (pass isatty of the output).
    public func text(colour: Bool) -> String {
        let green = "\u{1B}[32m", red = "\u{1B}[31m", bold = "\u{1B}[1m", reset = "\u{1B}[0m"
        func paint(_ s: String, _ code: String) -> String { colour ? code + s + reset : s }
        var lines: [String] = []

        if !header.isEmpty {
            let w = (header.map(\.label) + ["tolerance"]).map(\.count).max()!
            for f in header { lines.append(pad(f.label, w) + "  " + f.value) }
            lines.append(pad("tolerance", w) + "  |a - e| <= atol + rtol*|e| with \(tolerance)")
            lines.append("")
        }

        let titles = ["tap", "shape", "max abs", "max rel", "mean abs", "cosine", "mismatched", "result"]
        var rows: [[String]] = []
        for r in results {
            let mismatched: String
            switch r.status {
            case .compared: mismatched = "\(r.mismatched) / \(r.elementCount)"
            case .shapeMismatch: mismatched = "shape \(describeShape(r.actualShape ?? []))"
            case .missing: mismatched = "missing"
            }
            let compared = r.status == .compared
            rows.append([r.name, describeShape(r.shape),
                         compared ? formatNumber(r.maxAbs, "%.1e") : "-",
                         compared ? formatNumber(r.maxRel, "%.1e") : "-",
                         compared ? formatNumber(r.meanAbs, "%.1e") : "-",
                         compared ? formatNumber(r.cosine, "%.6f") : "-",
                         mismatched, r.passed ? "PASS" : "FAIL"])
        }
        var widths = titles.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        // Text columns left-aligned, numbers right-aligned; the last column is not padded.
        let rightAligned: Set<Int> = [2, 3, 4, 5, 6]
        func line(_ cells: [String], _ last: String) -> String {
            var parts: [String] = []
            for (i, c) in cells.dropLast().enumerated() {
                parts.append(rightAligned.contains(i) ? String(repeating: " ", count: widths[i] - c.count) + c : pad(c, widths[i]))
            }
            return parts.joined(separator: "  ") + "  " + last
        }
        lines.append(line(titles, titles.last!))
        for (row, r) in zip(rows, results) {
            lines.append(line(row, paint(row.last!, r.passed ? green : red)))
        }

        lines.append("")
        if let f = firstFailureLine { lines.append(f) }
        lines.append(paint(summary, bold + (passed ? green : red)))
        return lines.joined(separator: "\n") + "\n"
    }

    enum CodingKeys: String, CodingKey { case passed, summary, tolerance, header, taps, firstFailure = "first_failure" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(passed, forKey: .passed)
        try c.encode(summary, forKey: .summary)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(header, forKey: .header)
        try c.encode(results, forKey: .taps)
        try c.encodeIfPresent(firstFailure?.name, forKey: .firstFailure)
    }
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
}
