// `vfw verify`: run the Swift model on a reference input and compare every tap with PyTorch's activations.
//
// The wiring lives in `VerifyRunner` (reference + weights → model → report) so tests can run it in process
// with a planted fault; `VerifyCommand` parses flags, prints and writes the reports, and sets the exit code.

import ArgumentParser
import Foundation
import Models
import Safetensors
import TensorCore
import Verify
import VFWFormat

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
        source: the first tap that fails while the taps feeding it pass.

        Weights: --weights FILE (.vfw, .pth, .safetensors); else the checkpoint the
        manifest names when it sits in the reference folder; else the synthetic
        weights the manifest names (vfw synth model and seed), regenerated and
        checked against the recorded SHA-256.

        --all [DIR] verifies every reference folder under DIR (default Reference),
        prints each failing report and a summary table; exit 2 if any reference
        could not be verified, else 1 if any failed.

        Examples:
          vfw verify --model resnet18
          vfw verify --reference ref/r50 --weights r50.vfw --junit verify.xml
          vfw verify --model resnet18 --isolated --taps 'layer3.*'
          vfw verify --model resnet18 --weights-dtype f16 --tolerance-for 'fc=5e-2'
          vfw verify --all --json verify.json
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

    @Option(help: ArgumentHelp("Compare only taps matching GLOB (repeatable).", valueName: "glob"))
    var taps: [String] = []

    @Option(name: .customLong("weights-dtype"), help: "Round the weights to f16 or bf16 (nearest even) before running.")
    var weightsDType: String?

    @Option(help: ArgumentHelp("Write the report as JSON (Schemas/verify-report.schema.json).", valueName: "file"))
    var json: String?

    @Option(help: ArgumentHelp("Write a JUnit XML report: one testcase per tap.", valueName: "file"))
    var junit: String?

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
        if let d = weightsDType, !["f16", "bf16", "f32"].contains(d) { throw ValidationError("--weights-dtype must be f16, bf16 or f32") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        for r in toleranceFor {
            do { _ = try ToleranceRule.parse(r) } catch { throw ValidationError("\(error)") }
        }
    }

    var settings: VerifySettings {
        VerifySettings(isolated: isolated, tapPatterns: taps, tolerance: tolerance, atol: atol, rtol: rtol, metric: metric,
                       rules: toleranceFor.map { try! ToleranceRule.parse($0) }, weightsDType: weightsDType.flatMap(DType.init(rawValue:)))
    }

    var colour: Bool { isatty(1) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

    func run() throws {
        if let t = threads { setComputeThreads(t) }
        if all { return try runAll() }
        let dir = try reference ?? ReferenceLocator.find(model!)
        let ref = try VerifyRunner.loadReference(dir)
        _ = try VerifyRunner.selectTaps(ref, settings)  // pattern typos fail before the model is built
        let loaded = try VerifyRunner.loadModel(ref, weights: weights, roundTo: settings.weightsDType)
        let report = try VerifyRunner.report(ref: ref, model: loaded, settings: settings)
        print(report.text(colour: colour), terminator: "")
        if let json { try write(try report.json(), to: json) }
        if let junit { try write(Data(report.junit(suite: ref.manifest.architecture.name).utf8), to: junit) }
        if !report.passed { throw ExitCode(1) }
    }

    func runAll() throws {
        let root = directory ?? "Reference"
        let folders = try VerifyRunner.referenceFolders(under: root)
        var suite = VerifySuite(root: root)
        var s = settings
        s.requirePatternsMatch = false
        var tapNames = Set<String>()
        for dir in folders {
            let name = (try? ReferenceManifest.decode(Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json")), path: dir))?.architecture.name
                ?? (dir as NSString).lastPathComponent
            do {
                let ref = try VerifyRunner.loadReference(dir)
                tapNames.formUnion(ref.taps.map(\.name))
                let loaded = try VerifyRunner.loadModel(ref, weights: nil, roundTo: s.weightsDType)
                let report = try VerifyRunner.report(ref: ref, model: loaded, settings: s)
                suite.entries.append(VerifySuiteEntry(directory: dir, model: name, report: report))
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
        if suite.hasErrors {
            let bad = suite.entries.filter { $0.error != nil }
            throw InputError("\(bad.count) of \(suite.entries.count) references could not be verified; first: \(bad[0].error!)")
        }
        if !suite.passed { throw ExitCode(1) }
    }

    /// Writes a report file (replacing an older one: reports are regenerated on every run).
    func write(_ data: Data, to path: String) throws {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw InputError("\(path): cannot write the report (\((error as NSError).localizedDescription))")
        }
    }
}

// MARK: - The pipeline

/// Everything a verification needs besides the reference and the model.
struct VerifySettings {
    var isolated = false
    /// Globs selecting the taps to compare (empty: all).
    var tapPatterns: [String] = []
    var tolerance: Double?
    var atol: Double?
    var rtol: Double?
    var metric: Metric = .allclose
    var rules: [ToleranceRule] = []
    /// Round the weights to this type before building the model (f16, bf16; f32 or nil: as stored).
    var weightsDType: DType?
    /// Patterns that match no tap are input errors (off for --all, where the union is checked).
    var requirePatternsMatch = true
}

/// A model ready to verify, with what the report says about its weights.
struct ModelUnderTest {
    var model: AnyModel
    var architecture: VFWHeader.Architecture
    /// Which weights these are ("vfw synth ... (sha256 matches the reference)", a path).
    var note: String
    /// The lowest floating-point precision among the weights as run (f32, f16 or bf16).
    var precision: DType
    /// Set when --weights-dtype rounded them.
    var roundedTo: DType?
}

enum VerifyRunner {
    static func loadReference(_ dir: String) throws -> ReferenceSet {
        do { return try ReferenceSet.load(directory: dir) } catch let e as VerifyError { throw InputError("\(e)") }
    }

    /// Every folder holding a manifest.json under `root` (itself included), sorted; not descending into one.
    static func referenceFolders(under root: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("\(root): no such folder; --all walks a folder of references made by tools/make_reference.py")
        }
        var found: [String] = []
        func walk(_ dir: String) {
            if FileManager.default.fileExists(atPath: dir + "/" + ReferenceSet.manifestFileName) { found.append(dir); return }
            let children = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
            for c in children where !c.hasPrefix(".") {
                var d: ObjCBool = false
                let p = dir.hasSuffix("/") ? dir + c : dir + "/" + c
                if FileManager.default.fileExists(atPath: p, isDirectory: &d), d.boolValue { walk(p) }
            }
        }
        walk(root)
        guard !found.isEmpty else { throw InputError("\(root): no reference folders (folders holding manifest.json) found") }
        return found
    }

    /// The model with the weights to verify: `weights`, else the manifest's checkpoint beside the reference,
    /// else the manifest's synthetic weights (checked by SHA-256). `roundTo` f16 / bf16 rounds every
    /// floating-point tensor to that type (nearest even) before building.
    static func loadModel(_ ref: ReferenceSet, weights: String?, roundTo: DType?) throws -> ModelUnderTest {
        let m = ref.manifest
        let canonical: Canonical
        let note: String
        let path: String
        /// The weights are the very checkpoint the reference was recorded from (by SHA-256), not a conversion.
        var recordedFrom = false
        if let w = weights ?? localCheckpoint(ref) {
            let source = try WeightSource.open(w)
            canonical = try Canonical.tensors(of: source, arch: nil)
            (note, path) = (w, w)
            let halfPrecision = canonical.tensors.contains { $0.tensor.dtype == .f16 || $0.tensor.dtype == .bf16 }
            if halfPrecision, let data = try? Data(contentsOf: URL(fileURLWithPath: source.weightsPath), options: .alwaysMapped) {
                recordedFrom = data.withUnsafeBytes { SHA256.hex($0) } == m.weights.sha256
            }
        } else {
            guard let synth = m.weights.synth else {
                throw InputError("\(ref.manifestPath): the reference was made with \(m.weights.file), which is not in \(ref.directory); pass --weights FILE")
            }
            let arch = VFWHeader.Architecture(name: m.architecture.name, family: m.architecture.family,
                                              config: m.architecture.config)
            let tensors: [(name: String, tensor: RawTensor)]
            do { tensors = try ModelZoo.synthesiseCheckpoint(arch, seed: UInt64(synth.seed)) } catch { throw InputError("\(ref.manifestPath): \(error)") }
            // The reference was computed from the file `vfw synth` wrote; the same bytes must come out again.
            let bytes = SafetensorsWriter.serialize(tensors, metadata: SynthWeights.metadata(arch, seed: UInt64(synth.seed)))
            let sha = bytes.withUnsafeBytes { SHA256.hex($0) }
            guard sha == m.weights.sha256 else {
                throw InputError("\(ref.manifestPath): synthetic weights of \(synth.model) seed \(synth.seed) are not the ones the reference was made with (sha256 \(sha.prefix(12))… vs \(m.weights.sha256.prefix(12))…); regenerate the reference with tools/make_reference.py")
            }
            let source = WeightSource(path: "vfw synth", weightsPath: "", kind: .safetensors, tensors: tensors, metadata: [:],
                                      notes: [], vfw: nil, configJSON: nil)
            canonical = try Canonical.tensors(of: source, arch: nil)
            note = "vfw synth --model \(synth.model) --seed \(synth.seed) (sha256 matches the reference)"
            path = ref.manifestPath
            recordedFrom = true
        }
        var c = canonical
        let floats: Set<DType> = [.f64, .f32, .f16, .bf16]
        var precision = DType.f32
        if let target = roundTo, target != .f32 {
            c.tensors = c.tensors.map { t in floats.contains(t.tensor.dtype) ? (t.name, t.source, t.tensor.converted(to: target)) : t }
            precision = target
        } else if !recordedFrom {
            // Half-precision weights the reference was not computed from (e.g. `vfw convert --dtype f16` of
            // the f32 checkpoint) carry their rounding error into every tap: the defaults scale.
            let types = Set(c.tensors.map(\.tensor.dtype))
            precision = types.contains(.bf16) ? .bf16 : types.contains(.f16) ? .f16 : .f32
        }
        guard let arch = c.architecture else { throw InputError("\(path): cannot tell which model these weights are for") }
        try checkArchitecture(ref, arch, weights: path)
        return ModelUnderTest(model: try c.model(path: path), architecture: arch, note: note, precision: precision,
                           roundedTo: roundTo == .f32 ? nil : roundTo)
    }

    /// The checkpoint named by the manifest, when it was committed beside the reference.
    static func localCheckpoint(_ ref: ReferenceSet) -> String? {
        let p = ref.directory + "/" + ref.manifest.weights.file
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// The weights must be for the model the reference was recorded from: same family, and every config
    /// entry the manifest records (eps aside: a wrong eps is a numeric fault for verify to show) the same.
    static func checkArchitecture(_ ref: ReferenceSet, _ arch: VFWHeader.Architecture, weights: String) throws {
        let m = ref.manifest.architecture
        func fail(_ what: String) -> InputError {
            InputError("\(ref.manifestPath): the reference was recorded from \(m.name) but \(weights) holds \(arch.name) (\(what)); pass the weights the reference was made with")
        }
        guard m.family == arch.family else { throw fail("family \(arch.family), not \(m.family)") }
        for (key, value) in m.config.sorted(by: { $0.key < $1.key }) where !key.contains("eps") {
            guard let mine = arch.config[key] else { continue }
            let theirs = value
            if !sameJSON(mine, theirs) { throw fail("\(key) \(mine), not \(theirs)") }
        }
    }

    static func sameJSON(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(sameJSON)
        default: return a == b
        }
    }

    /// The taps to compare, in execution order; a --taps or --tolerance-for pattern matching no tap is an
    /// input error (for --all: only when no tap at all is selected).
    static func selectTaps(_ ref: ReferenceSet, _ s: VerifySettings) throws -> [String] {
        let allTaps = ref.taps.map(\.name)
        if s.requirePatternsMatch {
            for (option, patterns) in [("--taps", s.tapPatterns), ("--tolerance-for", s.rules.map(\.pattern))] {
                for p in patterns where !allTaps.contains(where: { globMatch(p, $0) }) {
                    throw InputError("\(VerifyError.patternMatchesNoTap(path: ref.manifestPath, option: option, pattern: p, taps: allTaps))")
                }
            }
        }
        guard !s.tapPatterns.isEmpty else { return allTaps }
        let selected = allTaps.filter { t in s.tapPatterns.contains { globMatch($0, t) } }
        if selected.isEmpty {
            throw InputError("\(ref.manifestPath): --taps \(s.tapPatterns.map { "'\($0)'" }.joined(separator: ", ")) matches no tap of this reference")
        }
        return selected
    }

    /// Runs `model` on the reference (or on `input`, to plant an input fault) and compares the taps.
    static func report(ref: ReferenceSet, model loaded: ModelUnderTest, settings s: VerifySettings, input: Tensor? = nil) throws -> VerifyReport {
        let model = loaded.model
        let x = input ?? ref.input
        let allTaps = ref.taps.map(\.name)

        // Which taps, and which tolerances.
        let selected = try selectTaps(ref, s)
        let value = s.tolerance ?? TolerancePolicy.defaultValue(weights: loaded.precision)
        let origin: String
        if s.tolerance != nil || s.atol != nil || s.rtol != nil {
            origin = [("--tolerance", s.tolerance), ("--atol", s.atol), ("--rtol", s.rtol)].filter { $0.1 != nil }.map(\.0).joined(separator: ", ")
        } else {
            origin = "default for \(loaded.precision.rawValue) weights"
        }
        let policy = TolerancePolicy(base: Tolerance(atol: s.atol ?? value, rtol: s.rtol ?? value, metric: s.metric),
                                     rules: s.rules, origin: origin)

        // Taps the model does not have are a reference / model mismatch (exit 2), found before running.
        let graph = model.moduleGraph
        if let g = graph {
            let unknown = allTaps.filter { !g.contains($0) }
            if !unknown.isEmpty {
                throw InputError("\(ref.manifestPath): the model has no module named \(unknown.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); its modules are named like \(g.nodes.prefix(5).map(\.name).joined(separator: ", "))")
            }
        }

        // Chained activations: always in chained mode; in isolated mode only for taps that cannot run alone.
        let recorded = Set(allTaps)
        var feeds: [String: [String]] = [:]
        if s.isolated, let g = graph {
            for t in selected { if let from = g.recordedInputs(of: t, recorded: recorded) { feeds[t] = from } }
        }
        let needChained = selected.filter { feeds[$0] == nil }
        var produced: [String: Tensor] = [:]
        if !needChained.isEmpty {
            let recorder = TapRecorder(.names(Set(needChained)))
            _ = model(x, taps: recorder)
            produced = Dictionary(recorder.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let absent = needChained.filter { produced[$0] == nil }
            if !absent.isEmpty {
                throw InputError("\(ref.manifestPath): the model has no module named \(absent.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); its modules are named like \(recorder.offered.prefix(5).joined(separator: ", "))")
            }
        }

        var report = VerifyReport(policy: policy, mode: s.isolated ? .isolated : .chained,
                                  header: ref.reportHeader + [ReportField("weights used", loaded.note)])
        if let r = loaded.roundedTo {
            report.notes.append("weights rounded to \(r.rawValue) (round to nearest even) before running: --weights-dtype \(r.rawValue)")
        }
        let selectedSet = Set(selected)
        for t in selected {
            let actual: Tensor
            let feed: Feed
            if let from = feeds[t] {
                let inputs = from.map { $0 == ModuleGraph.modelInput ? x : ref.activation(named: $0) }
                do { actual = try model.runIsolated(t, inputs: inputs) } catch let e as ModelError { throw InputError("\(ref.activationsPath): \(e)") }
                feed = .isolated(from: from)
            } else {
                actual = produced[t]!
                if s.isolated {
                    let missing = graph.flatMap { g in g.node(t)?.inputs.filter { g.recordedAlias(of: $0, recorded: recorded) == nil } } ?? []
                    feed = .chainedFallback(reason: missing.isEmpty ? "this model family cannot run its modules alone yet"
                                            : "its input \(missing.joined(separator: " and ")) is not in the reference")
                } else {
                    feed = .chained
                }
            }
            report.add(tap: t, actual: actual, expected: ref.activation(named: t),
                       inputs: graph?.upstreamTaps(of: t, recorded: selectedSet), feed: feed, classifier: graph?.logits == t)
        }
        return report
    }
}


/// Finds the committed Reference/NAME: VFW_REFERENCE_DIR, then ./Reference, then beside the executable's checkout.
enum ReferenceLocator {
    static func find(_ name: String) throws -> String {
        var roots: [String] = []
        if let env = ProcessInfo.processInfo.environment["VFW_REFERENCE_DIR"] { roots.append(env) }
        roots.append(FileManager.default.currentDirectoryPath + "/Reference")
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            roots.append(dir.appendingPathComponent("Reference").path)
            dir = dir.deletingLastPathComponent()
        }
        for r in roots where FileManager.default.fileExists(atPath: r + "/" + name + "/manifest.json") { return r + "/" + name }
        let known = roots.lazy.compactMap { try? FileManager.default.contentsOfDirectory(atPath: $0) }.first ?? []
        throw InputError("Reference/\(name): no such committed reference\(known.isEmpty ? "" : " (known: \(known.sorted().joined(separator: ", ")))"); use --reference DIR for another folder")
    }
}
