// Verification as a library call: a reference folder and weights in, the report data out (what `vfw verify`
// prints, writes as JSON / JUnit, and gates its exit code on).
//
//   let ref = try VerifyRunner.loadReference("Reference/resnet18")
//   let model = try VerifyRunner.loadModel(ref, weights: nil, roundTo: nil)   // nil: the manifest's weights
//   let report = try VerifyRunner.report(ref: ref, model: model, settings: VerifySettings())
//   print(report.text(colour: false)); report.passed

import Foundation
import Models
import Safetensors
import TensorCore
import Verify

/// Everything a verification needs besides the reference and the model.
public struct VerifySettings {
    public var isolated = false
    /// Globs selecting the taps to compare (empty: all).
    public var tapPatterns: [String] = []
    public var tolerance: Double?
    public var atol: Double?
    public var rtol: Double?
    public var metric: Metric = .allclose
    public var rules: [ToleranceRule] = []
    /// Round the weights to this type before building the model (f16, bf16; f32 or nil: as stored).
    public var weightsDType: DType?
    /// Patterns that match no tap are input errors (off for --all, where the union is checked).
    public var requirePatternsMatch = true
    /// A histogram for every failing tap, not only the failure source (the HTML page draws them all).
    public var histogramEveryFailure = false
    /// Tolerance only (`--strict`): the noise floor does not pass a tap even when the reference has a truth.
    public var strict = false
    /// k of the noise floor (`--noise-floor K`; nil: `NoiseFloor.defaultFactor`).
    public var noiseFactor: Double?
    /// Run only the mode's own pass: no isolated run beside a chained one (or the reverse), so no
    /// introduced / inherited columns (`--single-run`).
    public var singleRun = false

    public init(isolated: Bool = false, tapPatterns: [String] = [], tolerance: Double? = nil, atol: Double? = nil,
                rtol: Double? = nil, metric: Metric = .allclose, rules: [ToleranceRule] = [], weightsDType: DType? = nil) {
        self.isolated = isolated
        self.tapPatterns = tapPatterns
        self.tolerance = tolerance
        self.atol = atol
        self.rtol = rtol
        self.metric = metric
        self.rules = rules
        self.weightsDType = weightsDType
    }
}

/// A model ready to verify, with what the report says about its weights.
public struct ModelUnderTest {
    public var model: AnyModel
    public var architecture: ModelDescription
    /// Which weights these are ("vfw synth ... (tensor digest matches the reference)", a path).
    public var note: String
    /// The lowest floating-point precision among the weights as run (f32, f16 or bf16).
    public var precision: DType
    /// Set when --weights-dtype rounded them.
    public var roundedTo: DType?
}

public enum VerifyRunner {
    public static func loadReference(_ dir: String) throws -> ReferenceSet {
        do { return try ReferenceSet.load(directory: dir) } catch let e as VerifyError { throw PipelineError.input("\(e)") }
    }

    /// Every folder holding a manifest.json under `root` (itself included), sorted; not descending into one.
    public static func referenceFolders(under root: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw PipelineError.input("\(root): no such folder; --all walks a folder of references made by tools/make_reference.py")
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
        guard !found.isEmpty else { throw PipelineError.input("\(root): no reference folders (folders holding manifest.json) found") }
        return found
    }

    /// The model with the weights to verify: `weights`, else the manifest's checkpoint beside the reference,
    /// else the manifest's synthetic weights (checked by SHA-256). `roundTo` f16 / bf16 rounds every
    /// floating-point tensor to that type (nearest even) before building.
    public static func loadModel(_ ref: ReferenceSet, weights: String?, roundTo: DType?) throws -> ModelUnderTest {
        let m = ref.manifest
        let canonical: CanonicalWeights
        let note: String
        let path: String
        /// The weights are the very checkpoint the reference was recorded from (by SHA-256), not a conversion.
        var recordedFrom = false
        if let w = weights ?? localCheckpoint(ref) {
            let source = try WeightSource.open(w)
            canonical = try CanonicalWeights.of(source)
            (note, path) = (w, w)
            let halfPrecision = canonical.tensors.contains { $0.tensor.dtype == .f16 || $0.tensor.dtype == .bf16 }
            if halfPrecision, let data = try? Data(contentsOf: URL(fileURLWithPath: source.weightsPath), options: .alwaysMapped) {
                recordedFrom = data.withUnsafeBytes { SHA256.hex($0) } == m.weights.sha256
            }
        } else {
            guard let synth = m.weights.synth else {
                throw PipelineError.input("\(ref.manifestPath): the reference was made with \(m.weights.file), which is not in \(ref.directory); pass --weights FILE")
            }
            let tensors: [(name: String, tensor: RawTensor)]
            do { tensors = try Synthetic.checkpoint(m.architecture, seed: UInt64(synth.seed)) } catch { throw PipelineError.input("\(ref.manifestPath): \(error)") }
            // The reference was computed from the tensors `vfw synth` wrote: the same tensors must come out again.
            // They identify themselves by their tensor digest; a manifest from before digests existed names only
            // the file's SHA-256, which covered the .safetensors bytes `vfw synth` wrote (metadata included).
            if let want = m.weights.tensorsSHA256 {
                let have = TensorDigest.sha256(tensors)
                if have != want {
                    throw PipelineError.input("\(ref.manifestPath): synthetic weights of \(synth.model) seed \(synth.seed) are not the ones the reference was made with (tensor digest \(have.prefix(12))… vs \(want.prefix(12))…); regenerate the reference with tools/make_reference.py")
                }
            } else {
                let bytes = SafetensorsWriter.serialize(tensors, metadata: Synthetic.metadata(m.architecture, seed: UInt64(synth.seed)))
                let sha = bytes.withUnsafeBytes { SHA256.hex($0) }
                if sha != m.weights.sha256 {
                    throw PipelineError.input("\(ref.manifestPath): synthetic weights of \(synth.model) seed \(synth.seed) are not the ones the reference was made with (sha256 \(sha.prefix(12))… vs \(m.weights.sha256.prefix(12))…); regenerate the reference with tools/make_reference.py")
                }
            }
            canonical = try CanonicalWeights.of(WeightSource(tensors: tensors, path: "vfw synth"))
            note = "vfw synth --model \(synth.model) --seed \(synth.seed) (\(m.weights.tensorsSHA256 == nil ? "sha256" : "tensor digest") matches the reference)"
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
        guard let arch = c.model else { throw PipelineError.input("\(path): cannot tell which model these weights are for") }
        try checkArchitecture(ref, arch, weights: path)
        c.path = path
        return ModelUnderTest(model: try c.build(), architecture: arch, note: note, precision: precision,
                           roundedTo: roundTo == .f32 ? nil : roundTo)
    }

    /// The checkpoint named by the manifest, when it was committed beside the reference.
    public static func localCheckpoint(_ ref: ReferenceSet) -> String? {
        let p = ref.directory + "/" + ref.manifest.weights.file
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// The weights must be for the model the reference was recorded from: same family, and every config
    /// entry the manifest records (eps aside: a wrong eps is a numeric fault for verify to show) the same.
    public static func checkArchitecture(_ ref: ReferenceSet, _ arch: ModelDescription, weights: String) throws {
        let m = ref.manifest.architecture
        func fail(_ what: String) -> PipelineError {
            PipelineError.input("\(ref.manifestPath): the reference was recorded from \(m.name) but \(weights) holds \(arch.name) (\(what)); pass the weights the reference was made with")
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
    public static func selectTaps(_ ref: ReferenceSet, _ s: VerifySettings) throws -> [String] {
        let allTaps = ref.taps.map(\.name)
        if s.requirePatternsMatch {
            for (option, patterns) in [("--taps", s.tapPatterns), ("--tolerance-for", s.rules.map(\.pattern))] {
                for p in patterns where !allTaps.contains(where: { globMatch(p, $0) }) {
                    throw PipelineError.input("\(VerifyError.patternMatchesNoTap(path: ref.manifestPath, option: option, pattern: p, taps: allTaps))")
                }
            }
        }
        guard !s.tapPatterns.isEmpty else { return allTaps }
        let selected = allTaps.filter { t in s.tapPatterns.contains { globMatch($0, t) } }
        if selected.isEmpty {
            throw PipelineError.input("\(ref.manifestPath): --taps \(s.tapPatterns.map { "'\($0)'" }.joined(separator: ", ")) matches no tap of this reference")
        }
        return selected
    }

    /// Runs `model` on the reference (or on `input`, to plant an input fault) and compares the taps.
    public static func report(ref: ReferenceSet, model loaded: ModelUnderTest, settings s: VerifySettings, input: Tensor? = nil) throws -> VerifyReport {
        let model = loaded.model
        let x = input ?? ref.input
        let allTaps = ref.taps.map(\.name)
        // A model built for one input size (a ViT without a position-table rule) cannot run another.
        if let side = model.imageSize, x.rank == 4, x.shape[2] != side || x.shape[3] != side {
            throw PipelineError.input("\(ref.activationsPath): the reference input is \(x.shape[2])x\(x.shape[3]) but the model takes only \(side)x\(side) images (its layout has no rule for resampling the position table); make the reference at \(side)x\(side)")
        }

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
                                     rules: s.rules, origin: origin,
                                     noiseFloor: s.strict ? nil : NoiseFloor(factor: s.noiseFactor ?? NoiseFloor.defaultFactor))

        // Taps the model does not have are a reference / model mismatch (exit 2), found before running.
        let g = model.moduleGraph
        let unknown = allTaps.filter { !g.contains($0) }
        if !unknown.isEmpty {
            throw PipelineError.input("\(ref.manifestPath): the model has no module named \(unknown.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); its modules are named like \(g.nodes.prefix(5).map(\.name).joined(separator: ", "))")
        }

        // Both runs by default: the verdict's (the mode's) and the other one, for introduced vs inherited. Isolated
        // runs need the reference to record a module's inputs; the chained run is one forward pass.
        let recorded = Set(allTaps)
        var feeds: [String: [String]] = [:]
        if s.isolated || !s.singleRun {
            for t in selected { if let from = g.recordedInputs(of: t, recorded: recorded) { feeds[t] = from } }
        }
        let needChained = s.isolated && s.singleRun ? selected.filter { feeds[$0] == nil } : selected
        var produced: [String: Tensor] = [:]
        if !needChained.isEmpty {
            let recorder = TapRecorder(.names(Set(needChained)))
            _ = model(x, taps: recorder)
            produced = Dictionary(recorder.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
            let absent = needChained.filter { produced[$0] == nil }
            if !absent.isEmpty {
                throw PipelineError.input("\(ref.manifestPath): the model has no module named \(absent.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); its modules are named like \(recorder.offered.prefix(5).joined(separator: ", "))")
            }
        }
        var isolatedOut: [String: Tensor] = [:]
        for (t, from) in feeds {
            let inputs = from.map { $0 == ModuleGraph.modelInput ? x : ref.activation(named: $0) }
            do { isolatedOut[t] = try model.runIsolated(t, inputs: inputs) } catch let e as ModelError { throw PipelineError.input("\(ref.activationsPath): \(e)") }
        }

        var report = VerifyReport(policy: policy, mode: s.isolated ? .isolated : .chained,
                                  header: ref.reportHeader + [ReportField("weights used", loaded.note)])
        report.histogramEveryFailure = s.histogramEveryFailure
        if let r = loaded.roundedTo {
            report.notes.append("weights rounded to \(r.rawValue) (round to nearest even) before running: --weights-dtype \(r.rawValue)")
        }
        let items = ref.manifest.batch
        if items > 1 { report.itemLabels = (0..<items).map(ref.manifest.itemLabel) }
        let selectedSet = Set(selected)
        for t in selected {
            let actual: Tensor
            let feed: Feed
            if s.isolated, let from = feeds[t] {
                actual = isolatedOut[t]!
                feed = .isolated(from: from)
            } else {
                actual = produced[t]!
                if s.isolated {
                    let missing = g.node(t)?.inputs.filter { g.recordedAlias(of: $0, recorded: recorded) == nil } ?? []
                    feed = .chainedFallback(reason: missing.isEmpty ? "this model family cannot run its modules alone yet"
                                            : "its input \(missing.joined(separator: " and ")) is not in the reference")
                } else {
                    feed = .chained
                }
            }
            let expected = ref.activation(named: t)
            report.add(tap: t, actual: actual, expected: expected, truth: ref.truth(named: t),
                       inputs: g.upstreamTaps(of: t, recorded: selectedSet), feed: feed, classifier: g.logits == t, items: items)
            // Introduced vs inherited, when both runs have this tap.
            if let iso = isolatedOut[t], let chained = produced[t], iso.shape == expected.shape, chained.shape == expected.shape {
                let i = report.results.count - 1
                report.results[i].attribution = Attribution(introduced: maxAbsError(iso, expected), chained: maxAbsError(chained, expected))
            }
        }
        // What each tap inherits: the largest chained error among the taps feeding it.
        let chainedByName = Dictionary(report.results.compactMap { r in r.attribution.map { (r.name, $0.chained) } }, uniquingKeysWith: { a, _ in a })
        for i in report.results.indices where report.results[i].attribution != nil {
            let ups = report.results[i].inputs ?? []
            let inherited = ups.compactMap { chainedByName[$0] }
            if !inherited.isEmpty, inherited.count == ups.count { report.results[i].attribution!.inherited = inherited.max() }
        }
        return report
    }
}


/// Finds the committed Reference/NAME: VFW_REFERENCE_DIR, then ./Reference, then beside the executable's checkout.
public enum ReferenceLocator {
    public static func find(_ name: String) throws -> String {
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
        throw PipelineError.input("Reference/\(name): no such committed reference\(known.isEmpty ? "" : " (known: \(known.sorted().joined(separator: ", ")))"); use --reference DIR for another folder")
    }
}
