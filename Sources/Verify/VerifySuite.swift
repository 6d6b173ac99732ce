// `vfw verify --all`: many references in one run, one summary table, one verdict.

import Foundation
import TensorCore

/// One reference folder of a multi-model run: its report, or why it could not be verified.
public struct VerifySuiteEntry: Sendable, Encodable {
    public var directory: String
    /// The model name from the manifest, else the folder name.
    public var model: String
    public var report: VerifyReport?
    /// An input problem (exit-2 kind): bad reference, missing weights, taps that do not fit the model.
    public var error: String?

    public init(directory: String, model: String, report: VerifyReport) {
        self.directory = directory
        self.model = model
        self.report = report
    }

    public init(directory: String, model: String, error: String) {
        self.directory = directory
        self.model = model
        self.error = error
    }

    public var status: String { error != nil ? "error" : report!.passed ? "pass" : "fail" }

    enum CodingKeys: String, CodingKey { case directory, model, status, report, error }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(directory, forKey: .directory)
        try c.encode(model, forKey: .model)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(report, forKey: .report)
        try c.encodeIfPresent(error, forKey: .error)
    }
}

public struct VerifySuite: Sendable, Encodable {
    /// The folder that was walked.
    public var root: String
    public var entries: [VerifySuiteEntry]

    public init(root: String, entries: [VerifySuiteEntry] = []) {
        self.root = root
        self.entries = entries
    }

    public var passed: Bool { !entries.isEmpty && entries.allSatisfy { $0.status == "pass" } }
    public var hasErrors: Bool { entries.contains { $0.error != nil } }

    /// `PASS: 3 of 3 references`, `FAIL: 1 of 3 references failed, 1 could not be verified`.
    public var summary: String {
        guard !entries.isEmpty else { return "FAIL: no reference folders in \(root)" }
        let failed = entries.filter { $0.status == "fail" }.count, errors = entries.filter { $0.status == "error" }.count
        if passed { return "PASS: \(entries.count) of \(entries.count) references" }
        var parts: [String] = []
        if failed > 0 { parts.append("\(failed) of \(entries.count) references failed") }
        if errors > 0 { parts.append("\(errors) could not be verified") }
        return "FAIL: " + parts.joined(separator: ", ")
    }

    /// The summary table: model, taps, worst max abs, result, and the failure source or the error.
    public func text(colour: Bool) -> String {
        let green = "\u{1B}[32m", red = "\u{1B}[31m", bold = "\u{1B}[1m", reset = "\u{1B}[0m"
        func paint(_ s: String, _ code: String) -> String { colour ? code + s + reset : s }
        let titles = ["model", "reference", "taps", "worst max abs", "result", "failure source / problem"]
        var rows: [[String]] = []
        for e in entries {
            if let r = e.report {
                let worst = r.worstTap.map { "\(formatNumber($0.maxAbs, "%.1e")) at \($0.name)" } ?? "-"
                let detail = r.passed ? "" : (r.failureSource ?? r.firstFailure).map { "\($0.name): \($0.failureDetail ?? "")" } ?? ""
                rows.append([e.model, e.directory, "\(r.results.count)", worst, r.passed ? "PASS" : "FAIL", detail])
            } else {
                rows.append([e.model, e.directory, "-", "-", "ERROR", e.error ?? ""])
            }
        }
        var widths = titles.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String], _ colourCode: String?) -> String {
            var parts: [String] = []
            for (i, c) in cells.enumerated() {
                var cell = i == 2 ? String(repeating: " ", count: widths[i] - c.count) + c : pad(c, widths[i])
                if i == 4, let code = colourCode { cell = paint(c, code) + String(repeating: " ", count: widths[i] - c.count) }
                parts.append(cell)
            }
            var s = parts.joined(separator: "  ")
            while s.hasSuffix(" ") { s.removeLast() }
            return s
        }
        var lines = [line(titles, nil)]
        for (row, e) in zip(rows, entries) { lines.append(line(row, e.status == "pass" ? green : red)) }
        lines.append("")
        lines.append(paint(summary, bold + (passed ? green : red)))
        return lines.joined(separator: "\n") + "\n"
    }

    /// JUnit XML: one `<testsuite>` per reference; a reference that could not be verified is a suite with
    /// one `<testcase name="reference">` holding an `<error>`.
    public func junit() -> String {
        var suites: [String] = []
        var tests = 0, failures = 0, errors = 0
        for e in entries {
            if let r = e.report {
                suites.append(r.junitSuite(name: e.model))
                tests += r.results.count
                failures += r.failedCount
            } else {
                let msg = xmlEscape(e.error ?? "")
                suites.append("  <testsuite name=\"\(xmlEscape(e.model))\" tests=\"1\" failures=\"0\" errors=\"1\" skipped=\"0\">\n"
                              + "    <testcase classname=\"vfw.verify.\(xmlEscape(e.model))\" name=\"reference\">\n"
                              + "      <error type=\"input\" message=\"\(msg)\">\(xmlEscape(e.error ?? "", attribute: false))</error>\n"
                              + "    </testcase>\n  </testsuite>\n")
                tests += 1
                errors += 1
            }
        }
        return junitDocument(suites, tests: tests, failures: failures, errors: errors)
    }

    enum CodingKeys: String, CodingKey { case schemaVersion = "schema_version", passed, summary, root, references }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(2, forKey: .schemaVersion)
        try c.encode(passed, forKey: .passed)
        try c.encode(summary, forKey: .summary)
        try c.encode(root, forKey: .root)
        try c.encode(entries, forKey: .references)
    }

    public func json() throws -> Data { try verifyJSON(self) }
}
