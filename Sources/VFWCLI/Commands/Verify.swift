// `vfw verify`: run the Swift model on a reference input and compare every tap with PyTorch's activations.
//
// The pipeline is the library's `VerifyRunner` (reference + weights → model → report), which tests run in process
// with a planted fault; `VerifyCommand` parses flags, prints and writes the reports, and sets the exit code.

import ArgumentParser
import Foundation
import Models
import TensorCore
import Verify
import VFW

#if canImport(Glibc)
import Glibc
#endif

extension Metric: ExpressibleByArgument {}

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove, layer by layer, that the Swift model computes what PyTorch computed.",
        discussion: """
        Runs the model on the input of a reference recorded from real PyTorch
        (tools/make_reference.py) and compares every tap in execution order: shape,
        max abs, max rel, mean abs, cosine, mismatched elements, the worst element's
        index and both values. Exit 0 when every tap passes, 1 when any fails
        (numbers), 2 on usage or input errors (bad reference, wrong weights, a tap
        the model does not have).

        Metrics (--metric; NaN or Inf where the reference is finite always fails):
          allclose  every element |swift - ref| <= atol + rtol * |ref|  (default)
          max-abs   max |swift - ref| <= atol
          cosine    1 - cos(swift, ref) <= atol, over the whole tap
          nmse      sum (swift - ref)^2 / sum ref^2 <= atol (mse / mse of ref)
        max-abs, cosine and nmse use one number: atol (--tolerance or --atol).

        The noise floor: a reference made by tools/make_reference.py holds the
        float64 truth of every tap (the same PyTorch model run in float64). A tap
        also passes when max |swift - truth| <= K x max |torch - truth|: Swift no
        less accurate than PyTorch float32 itself is not drift, however far the
        two float32 results are apart (K = 4, --noise-floor K). The report gives
        both errors, their ratio, and which rule decided (tolerance, noise floor,
        both). --strict: the tolerance alone decides.

        Tolerances: --tolerance T sets atol = rtol = T; --atol / --rtol set one.
        Defaults follow the weights' precision (the reference is always f32):
        1e-4 for f32 weights, 1e-2 for f16, 1e-1 for bf16 (--weights-dtype, or a
        file converted with --dtype, unless it is the very checkpoint the reference
        was recorded from, by SHA-256); the half-precision ones are per-module
        budgets (met --isolated; chained, drift grows with depth past them).
        --tolerance-for GLOB=T (or GLOB=ATOL,RTOL) overrides taps whose name
        matches GLOB (* any characters, dots included; ? one; [abc]);
        repeatable, the last matching rule wins.

        Modes: chained (default) runs the model end to end, so drift accumulates;
        --isolated runs each tapped module alone on the reference activations of
        its inputs, so every module's own error shows (a tap whose inputs the
        reference did not record runs chained, with a note). Both name the failure
        source: the first tap that fails while the taps feeding it pass. Both runs
        happen by default (one more pass): the verdict follows the mode, and the
        other run gives each tap the error its module introduces alone next to the
        error it shows end to end, and the gain over what feeds it (--single-run:
        the mode's run only).

        Weights: --weights FILE (.vfw, .pth, .safetensors); else the checkpoint the
        manifest names when it sits in the reference folder; else the synthetic
        weights the manifest names (vfw synth model and seed), regenerated and
        checked against the recorded SHA-256.

        --all [DIR] verifies every reference folder under DIR (default Reference),
        prints each failing report and a summary table; exit 2 if any reference
        could not be verified, else 1 if any failed.

        --html FILE writes one self-contained page (inline CSS, script and SVG; it
        makes no network request): the header, a log-scale chart of every tap's
        error in execution order with the tolerance and the failure source marked
        (hover a tap for its numbers), a histogram per failing tap, top-1 / top-5
        per image and provenance; with --all, one page with a summary linking each
        model's section. An existing page is kept unless --force.

        --model-explorer DIR writes files for Google's Model Explorer
        (pip install ai-edge-model-explorer): NAME.graph.json, the model's modules
        with namespaces from their names, and node data colouring each tapped
        module: NAME.max_abs.json, NAME.cosine.json, NAME.verdict.json (NAME: the
        model; with --all, N-model per reference). Open the graph in Model
        Explorer and add the node data files. Existing files are kept unless --force.

        Examples:
          vfw verify --model resnet18
          vfw verify --reference ref/r50 --weights r50.vfw --junit verify.xml
          vfw verify --model resnet18 --isolated --taps 'layer3.*'
          vfw verify --reference ref/r50 --weights r50.vfw --strict --tolerance 1e-3
          vfw verify --model resnet18 --weights-dtype f16 --tolerance-for 'fc=5e-2'
          vfw verify --all --json verify.json
          vfw verify --reference ref/r50 --weights r50.vfw --html drift.html
          vfw verify --model resnet18 --model-explorer me/
        """)

    @Option(help: "A committed reference by name: Reference/NAME.")
    var model: String?

    @Option(help: "A reference folder made by tools/make_reference.py.")
    var reference: String?

    @Flag(help: "Verify every reference folder under DIR (default: Reference).")
    var all = false

    @Argument(help: "With --all: the folder to walk (default: Reference).")
    var directory: String?

    @Option(help: "Weights to verify (.vfw, .pth, .safetensors).")
    var weights: String?

    @Option(help: "Sets both atol and rtol (default: by weights precision, 1e-4 for f32).")
    var tolerance: Double?

    @Option(help: "Absolute tolerance; the threshold of max-abs, cosine and nmse.")
    var atol: Double?

    @Option(help: "Relative tolerance (allclose only).")
    var rtol: Double?

    @Option(name: .customLong("tolerance-for"), help: ArgumentHelp("Per-tap tolerance: GLOB=T or GLOB=ATOL,RTOL (repeatable; last match wins).", valueName: "rule"))
    var toleranceFor: [String] = []

    @Option(help: "Pass rule (see above).")
    var metric: Metric = .allclose

    @Flag(help: "Feed each tapped module the reference activations of its inputs.")
    var isolated = false

    @Flag(help: "Tolerance only: the noise floor never passes a tap.")
    var strict = false

    @Option(name: .customLong("noise-floor"), help: ArgumentHelp("K of the noise floor: max |swift - truth| <= K x max |torch - truth| passes a tap (default 4).", valueName: "K"))
    var noiseFloor: Double?

    @Flag(name: .customLong("single-run"), help: "Only the mode's own run (no introduced / chained columns).")
    var singleRun = false

    @Option(help: ArgumentHelp("Compare only taps matching GLOB (repeatable).", valueName: "glob"))
    var taps: [String] = []

    @Option(name: .customLong("weights-dtype"), help: "Round the weights to f16 or bf16 (nearest even) before running.")
    var weightsDType: String?

    @Option(help: ArgumentHelp("Write the report as JSON (Schemas/verify-report.schema.json).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report: one testcase per tap.", valueName: "file"))
    var junit: String?

    @Option(help: ArgumentHelp("Write the report as one self-contained HTML page (no network).", valueName: "file"))
    var html: String?

    @Option(name: .customLong("model-explorer"), help: ArgumentHelp("Write Model Explorer files (module graph, node data per metric) into DIR.", valueName: "dir"))
    var modelExplorer: String?

    @Flag(help: "Replace an existing --html page or --model-explorer files.")
    var force = false

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if all {
            if model != nil || reference != nil { throw ValidationError("--all walks a folder of references; do not combine it with --model or --reference") }
            if weights != nil { throw ValidationError("--all uses the weights each reference names; --weights needs --model or --reference") }
        } else {
            if (model == nil) == (reference == nil) { throw ValidationError("give exactly one of --model NAME, --reference DIR or --all [DIR]") }
            if directory != nil { throw ValidationError("a folder argument needs --all; use --reference DIR for one reference") }
        }
        for (flag, v) in [("--tolerance", tolerance), ("--atol", atol), ("--rtol", rtol)] {
            if let v, v < 0 || !v.isFinite { throw ValidationError("\(flag) must be a non-negative number") }
        }
        if let k = noiseFloor, !(k >= 0 && k.isFinite) { throw ValidationError("--noise-floor must be a non-negative number") }
        if strict && noiseFloor != nil { throw ValidationError("--strict turns the noise floor off; do not combine it with --noise-floor") }
        if let d = weightsDType, !["f16", "bf16", "f32"].contains(d) { throw ValidationError("--weights-dtype must be f16, bf16 or f32") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        for r in toleranceFor {
            do { _ = try ToleranceRule.parse(r) } catch { throw ValidationError("\(error)") }
        }
    }

    var settings: VerifySettings {
        var s = VerifySettings(isolated: isolated, tapPatterns: taps, tolerance: tolerance, atol: atol, rtol: rtol, metric: metric,
                               rules: toleranceFor.map { try! ToleranceRule.parse($0) }, weightsDType: weightsDType.flatMap(DType.init(rawValue:)))
        s.histogramEveryFailure = html != nil
        s.strict = strict
        s.noiseFactor = noiseFloor
        s.singleRun = singleRun
        return s
    }

    var colour: Bool { isatty(1) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    func run() throws {
        if let t = threads { setComputeThreads(t) }
        // A page that would not be written is refused before the models run.
        if let html, !force, FileManager.default.fileExists(atPath: html) { throw OutputError.exists(path: html) }
        if all { return try runAll() }
        let dir = try reference ?? ReferenceLocator.find(model!)
        let ref = try VerifyRunner.loadReference(dir)
        _ = try VerifyRunner.selectTaps(ref, settings)  // pattern typos fail before the model is built
        if let modelExplorer { try refuseExisting(ModelExplorerExport.fileNames(ref.manifest.architecture.name), in: modelExplorer) }
        let loaded = try VerifyRunner.loadModel(ref, weights: weights, roundTo: settings.weightsDType)
        let report = try VerifyRunner.report(ref: ref, model: loaded, settings: settings)
        print(report.text(colour: colour), terminator: "")
        if let json { try write(try report.json(), to: json) }
        if let junit { try write(Data(report.junit(suite: ref.manifest.architecture.name).utf8), to: junit) }
        if let html {
            let page = try HTMLReport.page(report: report, model: ref.manifest.architecture.name, directory: dir, provenance: provenance)
            try AtomicOutput.write(Array(page.utf8), to: html, force: force)
        }
        if let modelExplorer {
            try writeFiles(try ModelExplorerExport.files(report: report, graph: loaded.model.moduleGraph, name: ref.manifest.architecture.name), in: modelExplorer)
        }
        if !report.passed { throw ExitCode(1) }
    }

    func runAll() throws {
        let root = directory ?? "Reference"
        let folders = try VerifyRunner.referenceFolders(under: root)
        var suite = VerifySuite(root: root)
        var s = settings
        s.requirePatternsMatch = false
        var tapNames = Set<String>()
        var explorerFiles: [(name: String, data: Data)] = []
        for (index, dir) in folders.enumerated() {
            let name = (try? ReferenceManifest.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json")), path: dir))?.architecture.name
                ?? (dir as NSString).lastPathComponent
            do {
                let ref = try VerifyRunner.loadReference(dir)
                tapNames.formUnion(ref.taps.map(\.name))
                let loaded = try VerifyRunner.loadModel(ref, weights: nil, roundTo: s.weightsDType)
                let report = try VerifyRunner.report(ref: ref, model: loaded, settings: s)
                suite.entries.append(VerifySuiteEntry(directory: dir, model: name, report: report))
                if modelExplorer != nil {
                    explorerFiles += try ModelExplorerExport.files(report: report, graph: loaded.model.moduleGraph, name: "\(index)-\(name)")
                }
                if !report.passed {
                    print("== \(dir) ==")
                    print(report.text(colour: colour))
                }
            } catch let e as ExitCode {
                throw e
            } catch {
                suite.entries.append(VerifySuiteEntry(directory: dir, model: name, error: "\(error)"))
            }
        }
        // A rule or tap pattern that no reference has is a typo, not a model-specific rule.
        for (option, patterns) in [("--tolerance-for", s.rules.map(\.pattern)), ("--taps", s.tapPatterns)] {
            for p in patterns where !tapNames.isEmpty && !tapNames.contains(where: { globMatch(p, $0) }) {
                throw InputError("\(root): \(option) '\(p)' matches no tap of any reference")
            }
        }
        print(suite.text(colour: colour), terminator: "")
        if let json { try write(try suite.json(), to: json) }
        if let junit { try write(Data(suite.junit().utf8), to: junit) }
        if let html { try AtomicOutput.write(Array(try HTMLReport.page(suite: suite, provenance: provenance).utf8), to: html, force: force) }
        if let modelExplorer {
            try refuseExisting(explorerFiles.map(\.name), in: modelExplorer)
            try writeFiles(explorerFiles, in: modelExplorer)
        }
        if suite.hasErrors {
            let bad = suite.entries.filter { $0.error != nil }
            throw InputError("\(bad.count) of \(suite.entries.count) references could not be verified; first: \(bad[0].error!)")
        }
        if !suite.passed { throw ExitCode(1) }
    }

    /// How a page was made: vfw's version, the command line (shell-quoted where needed), the time in UTC.
    var provenance: [ReportField] {
        let args = CommandLine.arguments.dropFirst().map { a -> String in
            let plain = !a.isEmpty && a.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_./=:,+@%".unicodeScalars.contains($0) }
            return plain ? a : "'" + a.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        return [ReportField("made by", "vfw \(vfwVersion)"), ReportField("command", (["vfw"] + args).joined(separator: " ")),
                ReportField("made at", f.string(from: Date()))]
    }

    /// Throws when one of `names` exists in `dir` and --force was not given (before anything is written).
    func refuseExisting(_ names: [String], in dir: String) throws {
        guard !force else { return }
        for n in names where FileManager.default.fileExists(atPath: dir + "/" + n) { throw OutputError.exists(path: dir + "/" + n) }
    }

    /// Writes each file atomically into `dir`, creating the folder when needed.
    func writeFiles(_ files: [(name: String, data: Data)], in dir: String) throws {
        do { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
            throw InputError("\(dir): cannot create the folder (\((error as NSError).localizedDescription))")
        }
        for f in files { try AtomicOutput.write(Array(f.data), to: dir + "/" + f.name, force: force) }
    }

    /// Writes a report file (replacing an older one: reports are regenerated on every run).
    func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw InputError("\(path): cannot write the report (\((error as NSError).localizedDescription))")
        }
    }
}

