// The family seam, tested generically over Families.all: what holds for one registered family must hold for
// every one, so a new family is checked by these tests the moment its registry line exists.

import Foundation
import Testing
import Models
import Safetensors
import TensorCore
@testable import VFW

/// The smallest model name of each family (cheap to synthesise in a debug build). Synthesising every preset to
/// count its parameters would take minutes and gigabytes (RegNet has 44, up to regnet_y_128gf's 644M parameters),
/// so the two presets whose configuration numbers multiply to the least are the candidates, and the one with the
/// fewest parameters of the two wins.
private let smallest: [String: String] = Dictionary(uniqueKeysWithValues: Families.all.map { f in
    let candidates = f.modelNames.map { ($0, configWeight($0)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.prefix(2).map(\.0)
    let counted = candidates.map { n in
        (n, (try? Synthetic.canonical(try ModelZoo.description(named: n), seed: 0).reduce(0) { $0 + $1.tensor.elementCount }) ?? .max)
    }
    return (f.name, counted.min { ($0.1, $0.0) < ($1.1, $1.0) }!.0)
})

/// Σ log(1 + |x|) over every number in a preset's configuration (widths, depths, sizes, groups): the log of their
/// product, zeros (an absent SE ratio) counting as one; a proxy for its size.
private func configWeight(_ name: String) -> Double {
    func sum(_ v: JSONValue) -> Double {
        switch v {
        case .int(let i): return log1p(Double(abs(i)))
        case .double(let d): return log1p(abs(d))
        case .array(let a): return a.reduce(0) { $0 + sum($1) }
        case .object(let o): return o.values.reduce(0) { $0 + sum($1) }
        default: return 0
        }
    }
    guard let d = try? ModelZoo.description(named: name) else { return .infinity }
    return sum(.object(d.config))
}

@Suite("the family registry")
struct FamilyRegistryTests {
    @Test("every family registers a unique name and model names that no other family claims")
    func uniqueNames() {
        let names = Families.all.map(\.name)
        #expect(Set(names).count == names.count)
        let models = Families.all.flatMap(\.modelNames)
        #expect(Set(models).count == models.count)
        for f in Families.all { #expect(Families.named(f.name)?.name == f.name) }
    }

    @Test("synthesise → framework state_dict → recognise gives back the same description and canonical tensors",
          arguments: Families.all.map(\.name))
    func roundTrip(_ family: String) throws {
        let name = try #require(smallest[family])
        let d = try ModelZoo.description(named: name, numClasses: 3)
        #expect(d.family == family)
        let canonical = try Synthetic.canonical(d, seed: 5)
        let checkpoint = try Synthetic.checkpoint(d, seed: 5)
        let r = try ModelZoo.recognise(checkpoint.map { ($0.name, $0.tensor.shape) })
        #expect(r.model == d, "\(r.model) vs \(d)")
        let mapped = try r.canonicalTensors(checkpoint)
        #expect(mapped.map(\.name) == canonical.map(\.name))
        for (a, b) in zip(mapped, canonical) { #expect(a.tensor.floats() == b.tensor.floats(), "\(a.name)") }
        // The description survives the JSON a file stores, and the family's preprocessing is a spec vfw runs
        // (a preset name or the text form), making the image size the model takes.
        #expect(try ModelDescription(json: d.json) == d)
        let spec = try PreprocessSpec.parse(try ModelZoo.preprocessing(for: d), source: family)
        if let s = try ModelZoo.build(d, weights: WeightStore(canonical)).imageSize {
            #expect(spec.fixedOutputSize == PreprocessSpec.Size(s), "\(spec.text)")
        }
    }

    @Test("every tapped module runs alone and reproduces the forward's own output; the graph has every module",
          arguments: Families.all.map(\.name))
    func isolatedModules(_ family: String) throws {
        let d = try ModelZoo.description(named: try #require(smallest[family]), numClasses: 3)
        let model = try ModelZoo.build(d, weights: WeightStore(try Synthetic.canonical(d, seed: 1)))
        let s = model.imageSize ?? 64
        let x = Tensor(shape: [2, 3, s, s], uninitialized: { b in for i in 0..<b.count { b[i] = Float((i * 7919) % 2001) / 1000 - 1 } })
        let recorder = TapRecorder(.all)
        _ = model(x, taps: recorder)
        let values = Dictionary(recorder.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let g = model.moduleGraph
        #expect(!g.nodes.isEmpty)
        var checked = 0
        for n in g.nodes where values[n.name] != nil {
            guard let inputs = n.inputs.map({ $0 == ModuleGraph.modelInput ? x : g.aliases(of: $0).lazy.compactMap { values[$0] }.first }) as? [Tensor] else { continue }
            let y = try model.runIsolated(n.name, inputs: inputs)
            #expect(y.shape == values[n.name]!.shape, "\(n.name)")
            #expect(y.maxAbsDifference(values[n.name]!) <= 1e-4 * max(1, values[n.name]!.data.map(abs).max() ?? 0), "\(n.name)")
            checked += 1
        }
        #expect(checked >= 3, "only \(checked) modules could be run alone")
        if let logits = g.logits { #expect(g.contains(logits)) }
        #expect(!model.featureName.isEmpty && model.features(x).shape[0] == 2)
    }

    @Test("a description naming no registered family is refused, naming the known ones")
    func unknownFamily() throws {
        let d = ModelDescription(name: "x", family: "transformer-xl", config: [:])
        #expect { try ModelZoo.build(d, weights: WeightStore([])) } throws: { "\($0)".contains("resnet") && "\($0)".contains("transformer-xl") }
    }

    @Test("a config with a wrong field is refused naming the field", arguments: [
        (["block": JSONValue.string("basic"), "layers": .array([.int(2), .int(2), .int(2), .int(2)]), "groups": .int(1), "width_per_group": .int(64)], "'num_classes' is missing"),
        (["block": .string("basic"), "layers": .string("2,2,2,2"), "groups": .int(1), "width_per_group": .int(64), "num_classes": .int(3)], "'layers' must be an array"),
    ] as [([String: JSONValue], String)])
    func badConfig(_ c: ([String: JSONValue], String)) throws {
        let d = ModelDescription(name: "resnet18", family: "resnet", config: c.0)
        #expect { try ModelZoo.build(d, weights: WeightStore([])) } throws: { "\($0)".contains(c.1) }
    }
}

@Suite("synthetic weights identify themselves by their tensors")
struct SyntheticIdentityTests {
    private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the committed references' tensor digests (computed by Python from the files it loaded) are the digests of the regenerated weights",
          arguments: ["resnet18"])
    func referenceDigest(_ name: String) throws {
        let ref = try VerifyRunner.loadReference(repoRoot + "/Reference/" + name)
        let synth = try #require(ref.manifest.weights.synth)
        let want = try #require(ref.manifest.weights.tensorsSHA256)
        #expect(TensorDigest.sha256(try Synthetic.checkpoint(ref.manifest.architecture, seed: UInt64(synth.seed))) == want)
    }

    @Test("the digest covers the tensors, not the file: other metadata, another vfw version, another order")
    func digestIgnoresContainer() throws {
        let d = try ModelZoo.description(named: "resnet18", numClasses: 2)
        let t = try Synthetic.checkpoint(d, seed: 9)
        let a = SafetensorsWriter.serialize(t, metadata: Synthetic.metadata(d, seed: 9))
        let b = SafetensorsWriter.serialize(Array(t.reversed()), metadata: ["vfw.version": "9.9.9", "other": "x"])
        #expect(a != b)
        func digest(_ bytes: [UInt8]) throws -> String {
            try bytes.withUnsafeBytes { raw in
                let f = try SafetensorsFile(bytes: raw, name: "mem")
                return TensorDigest.sha256(try f.tensorNames.map { ($0, try f.tensor($0)) })
            }
        }
        #expect(try digest(a) == digest(b))
        #expect(try digest(a) == TensorDigest.sha256(t))
        // One changed element changes it.
        var changed = t
        changed[0].tensor = .float32(changed[0].tensor.floats().enumerated().map { $0.offset == 0 ? $0.element + 1 : $0.element }, shape: changed[0].tensor.shape)
        #expect(TensorDigest.sha256(changed) != TensorDigest.sha256(t))
    }
}
