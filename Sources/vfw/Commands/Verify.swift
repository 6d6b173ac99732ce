// `vfw verify`: run the Swift model on a reference input and compare every tap with PyTorch's activations.

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

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Prove, layer by layer, that the Swift model computes what PyTorch computed.",
        discussion: """
        Runs the model on the reference input (recorded by tools/make_reference.py from real PyTorch) and
        compares every tap in execution order: shape, max abs error, max relative error, mean abs error,
        cosine similarity, mismatched elements. An element passes when |swift - ref| <= atol + rtol * |ref|;
        NaN or Inf where the reference is finite fails. Exit 0 when every tap passes, 1 when any fails,
        2 on usage or input errors.

        Weights: --weights FILE (.vfw, .pth or .safetensors); else the checkpoint named in the reference's
        manifest when it sits in the reference folder; else the synthetic weights the manifest names
        (`vfw synth` model and seed), regenerated in memory and checked against the recorded SHA-256.

        Examples:
          vfw verify --model resnet18                       # the committed Reference/resnet18
          vfw verify --reference out/r50 --weights resnet50.vfw --tolerance 1e-4
        """)

    @Option(help: "A committed reference by name: Reference/NAME.")
    var model: String?

    @Option(help: "A reference folder made by tools/make_reference.py.")
    var reference: String?

    @Option(help: "Weights to verify (.vfw, .pth, .safetensors).")
    var weights: String?

    @Option(help: "Sets both atol and rtol.")
    var tolerance: Double = 1e-4

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if (model == nil) == (reference == nil) { throw ValidationError("give exactly one of --model NAME or --reference DIR") }
        if tolerance < 0 || !tolerance.isFinite { throw ValidationError("--tolerance must be a non-negative number") }
    }

    func run() throws {
        if let t = threads { setComputeThreads(t) }
        let dir = try reference ?? ReferenceLocator.find(model!)
        let ref: ReferenceSet
        do { ref = try ReferenceSet.load(directory: dir) } catch let e as VerifyError { throw InputError("\(e)") }
        let (network, weightsNote) = try loadModel(ref)

        let taps = TapRecorder(.names(Set(ref.taps.map(\.name))))
        _ = network(ref.input, taps: taps)
        let produced = Dictionary(taps.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let absent = ref.taps.map(\.name).filter { produced[$0] == nil }
        if !absent.isEmpty {
            throw InputError("\(ref.manifestPath): the model has no module named \(absent.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); its modules are named like \(taps.offered.prefix(5).joined(separator: ", "))")
        }
        let tol = Tolerance(atol: tolerance, rtol: tolerance)
        let results = ref.taps.map { compare(tap: $0.name, actual: produced[$0.name]!, expected: ref.activation(named: $0.name), tolerance: tol) }
        let report = VerifyReport(results: results, tolerance: tol, header: ref.reportHeader + [ReportField("weights used", weightsNote)])
        print(report.text(colour: isatty(1) != 0))
        if !report.passed { throw ExitCode(1) }
    }

    /// The model with the weights to verify, and a note saying which weights those are.
    func loadModel(_ ref: ReferenceSet) throws -> (AnyModel, String) {
        let m = ref.manifest
        if let w = weights ?? localCheckpoint(ref) {
            let c = try Canonical.tensors(of: try WeightSource.open(w), arch: nil)
            return (try c.model(path: w), w)
        }
        guard let synth = m.weights.synth else {
            throw InputError("\(ref.manifestPath): the reference was made with \(m.weights.file), which is not in \(ref.directory); pass --weights FILE")
        }
        let arch = VFWHeader.Architecture(name: m.architecture.name, family: m.architecture.family,
                                          config: m.architecture.config.mapValues(JSONValue.init))
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
        let c = try Canonical.tensors(of: source, arch: nil)
        return (try c.model(path: ref.manifestPath), "vfw synth --model \(synth.model) --seed \(synth.seed) (sha256 matches the reference)")
    }

    /// The checkpoint named by the manifest, when it was committed beside the reference.
    func localCheckpoint(_ ref: ReferenceSet) -> String? {
        let p = ref.directory + "/" + ref.manifest.weights.file
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }
}

extension JSONValue {
    init(_ v: ReferenceManifest.Value) {
        switch v {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .array(a.map(JSONValue.init))
        case .object(let o): self = .object(o.mapValues(JSONValue.init))
        }
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
