// `vfw verify --html FILE`: the report as one self-contained page a person looks at.
//
// The page is the report's own JSON (the same document `--json` writes: a suite of one entry for one reference,
// the whole suite for `--all`) embedded in a `<script type="application/json">` element, plus inline CSS and a
// script (HTMLReportAssets.swift) that draws everything from it as SVG: the header, a log-scale chart of every
// tap in execution order (Swift vs PyTorch, the other run's error, both errors against the float64 truth when
// the reference has one, the tolerance line, the failure source marked), histograms of the failing taps, top-1 /
// top-5 per image, the table, and provenance. Whatever the JSON gains, the page can show without a second
// serialisation to keep in step.
//
// Offline by construction: no URL is referenced, and a Content-Security-Policy of `default-src 'none'` makes the
// browser refuse any request the page might still try (tools/check_html_report.py watches for one in Chromium).
// The verdict, the summary and the failure source are also written as plain HTML, so they read without script.

import Foundation
import TensorCore

public enum HTMLReport {
    /// One page for one reference: `model` names the section, `provenance` lists how the page was made
    /// (vfw version, command line, time).
    public static func page(report: VerifyReport, model: String, directory: String, provenance: [ReportField]) throws -> String {
        let suite = VerifySuite(root: directory, entries: [VerifySuiteEntry(directory: directory, model: model, report: report)])
        return try page(suite: suite, single: true, provenance: provenance)
    }

    /// One page for `vfw verify --all`: a summary of every reference linking to each model's section.
    public static func page(suite: VerifySuite, provenance: [ReportField]) throws -> String {
        try page(suite: suite, single: false, provenance: provenance)
    }

    /// The anchor of a reference's section (`#ref-0-resnet18`): its position, then its name's ASCII letters,
    /// digits, `-` and `_` (anything else as `-`). The page data carries it, so the script uses the same one.
    public static func anchor(_ model: String, index: Int) -> String {
        let safe = String(model.unicodeScalars.map { c -> Character in
            let ok = (c.value < 128) && (CharacterSet.alphanumerics.contains(c) || c == "-" || c == "_")
            return ok ? Character(c) : "-"
        })
        return "ref-\(index)-\(safe)"
    }

    /// What the script reads: the suite's JSON and, per entry, what the text report says in words.
    struct PageData: Encodable {
        struct Entry: Encodable {
            var anchor: String
            /// `VerifyReport.failureSourceLine`: the failure source and why.
            var failureSourceLine: String?
            /// Other taps failing while their inputs pass.
            var alsoFailing: [String]

            enum CodingKeys: String, CodingKey { case anchor, failureSourceLine = "failure_source_line", alsoFailing = "also_failing" }
        }
        var single: Bool
        var provenance: [ReportField]
        var entries: [Entry]
        var suite: VerifySuite
    }

    static func page(suite: VerifySuite, single: Bool, provenance: [ReportField]) throws -> String {
        let entries = suite.entries.enumerated().map { i, e in
            PageData.Entry(anchor: anchor(e.model, index: i), failureSourceLine: e.report?.failureSourceLine,
                           alsoFailing: e.report.map { Array($0.failureSources.dropFirst().map(\.name)) } ?? [])
        }
        let data = try verifyJSON(PageData(single: single, provenance: provenance, entries: entries, suite: suite))
        let json = scriptSafe(String(decoding: data, as: UTF8.self))
        let verdict = suite.passed ? "PASS" : "FAIL"
        let title = single ? "\(suite.entries[0].model): \(verdict)" : "\(suite.entries.count) references: \(verdict)"

        // What reads without script: the verdict and, per reference, its summary and failure source.
        var plain = ""
        for (i, e) in suite.entries.enumerated() {
            plain += "<p class=\"plain\" data-anchor=\"\(anchor(e.model, index: i))\"><b>\(escape(e.model))</b>: "
            if let r = e.report {
                plain += escape(r.summary)
                if let f = r.failureSourceLine { plain += "<br>" + escape(f) }
            } else {
                plain += "ERROR: " + escape(e.error ?? "")
            }
            plain += "</p>\n"
        }
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="vfw verify --html">
        <title>vfw verify: \(escape(title))</title>
        <style>
        \(HTMLReportAssets.css)
        </style>
        </head>
        <body>
        <header class="page"><h1>vfw verify: <span class="\(suite.passed ? "pass" : "fail")">\(escape(title))</span></h1>
        <div id="plain">
        \(plain)</div>
        <noscript><p>The chart, histograms and tables are drawn by the page's script; the numbers are in the JSON below.</p></noscript>
        </header>
        <main id="app"></main>
        <div id="tooltip" role="tooltip" hidden></div>
        <script type="application/json" id="vfw-report">
        \(json)</script>
        <script>
        \(HTMLReportAssets.script)
        </script>
        </body>
        </html>

        """
    }

    /// JSON text safe inside a `<script>` element: `<`, `>` and `&` only occur inside JSON strings, where
    /// `\u003c` etc. read back as the same characters, so `</script>` or `<!--` in a tap name cannot end the
    /// element early.
    static func scriptSafe(_ json: String) -> String {
        json.replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// Text for HTML element content and attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                if ch.value < 0x20 && ch != "\n" && ch != "\t" { continue }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}
