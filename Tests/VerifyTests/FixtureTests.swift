// The committed reference Tests/Fixtures/reference/tiny-resnet/, written by tools/make_reference.py from the
// torch.save file beside it (tools/make_reference_fixtures.py), read back as vfw sees it. checks.json holds values
// recomputed in Python by calling the modules one after another, without the hooks the script records with.

import Foundation
import Testing
import TensorCore
import Safetensors
@testable import Verify

private struct Checks: Decodable {
    struct Element: Decodable { var index: [Int]; var value: Double }
    struct Tap: Decodable {
        var shape: [Int]
        var sum: Double
        var abs_sum: Double
        var elements: [Element]
    }
    var taps: [String: Tap]
}

private let folder = fixture("reference/tiny-resnet")

private func sha256(_ path: String) -> String {
    let data = FileManager.default.contents(atPath: path)!
    return data.withUnsafeBytes { SHA256.hex($0) }
}

/// Loaded once for the whole suite (Swift Testing makes a suite instance per test).
private let loaded = Result { try ReferenceSet.load(directory: folder) }

@Suite("the committed tiny-resnet reference")
struct FixtureTests {
    let ref: ReferenceSet
    private let checks: Checks

    init() throws {
        ref = try loaded.get()
        checks = try JSONDecoder().decode(Checks.self, from: FileManager.default.contents(atPath: folder + "/checks.json")!)
    }

    @Test("manifest: architecture, weights and image identity, preprocessing, generator")
    func manifest() {
        let m = ref.manifest
        #expect(m.schemaVersion == 1)
        #expect(m.architecture.name == "resnet_custom" && m.architecture.family == "resnet")
        let c = m.architecture.config
        #expect(c["block"]?.stringValue == "basic" && c["layers"]?.intArray == [1, 1, 1, 1])
        #expect(c["groups"]?.intValue == 1 && c["width_per_group"]?.intValue == 64 && c["num_classes"]?.intValue == 10)
        #expect(m.weights.file == "tiny-resnet.pth" && m.weights.format == "torch" && m.weights.synth == nil)
        #expect(m.weights.sha256 == sha256(folder + "/tiny-resnet.pth"))
        #expect(m.image.file == "cat.png" && m.image.width == 145 && m.image.height == 96 && m.image.mode == "RGB")
        #expect(m.image.sha256 == sha256(folder + "/cat.png"))
        #expect(m.preprocessing.preset == "torchvision")
        #expect(m.preprocessing.steps.contains("Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)"))
        #expect(m.preprocessing.steps.contains("CenterCrop(size=(224, 224))"))
        #expect(m.batch == 1 && m.tapLevel == "block" && m.runtime.dtype == "float32")
        #expect(m.generator.script == "tools/make_reference.py" && m.generator.revision >= 1)
        #expect(m.versions["torch"] != nil && m.versions["torchvision"] != nil)
    }

    @Test("taps: block level, execution order, shapes")
    func taps() {
        #expect(ref.taps.map(\.name) == ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer2.0", "layer3.0", "layer4.0",
                                         "avgpool", "fc"])
        #expect(ref.input.shape == [1, 3, 224, 224])
        let shapes = Dictionary(uniqueKeysWithValues: ref.taps.map { ($0.name, $0.shape) })
        #expect(shapes["conv1"] == [1, 64, 112, 112] && shapes["maxpool"] == [1, 64, 56, 56])
        #expect(shapes["layer4.0"] == [1, 512, 7, 7] && shapes["avgpool"] == [1, 512, 1, 1] && shapes["fc"] == [1, 10])
        for (name, c) in checks.taps where name != "input" {
            #expect(shapes[name] == c.shape, "\(name)")
        }
    }

    @Test("values agree with the module-by-module recomputation in checks.json")
    func values() {
        #expect(Set(checks.taps.keys) == Set(ref.taps.map(\.name) + ["input"]))
        for (name, c) in checks.taps {
            let t = ref.activation(named: name)
            #expect(t.shape == c.shape, "\(name)")
            for e in c.elements {
                #expect(t.data[t.offset(e.index)] == Float(e.value), "\(name) \(e.index)")
            }
            let sum = t.data.reduce(0.0) { $0 + Double($1) }
            let absSum = t.data.reduce(0.0) { $0 + abs(Double($1)) }
            #expect(abs(sum - c.sum) <= 1e-9 * c.abs_sum, "\(name): sum \(sum) vs \(c.sum)")
            #expect(abs(absSum - c.abs_sum) <= 1e-9 * c.abs_sum, "\(name)")
        }
    }

    @Test("taps relate as the modules say: relu = max(bn1, 0), avgpool = mean of layer4.0")
    func relations() {
        let bn1 = ref.activation(named: "bn1"), relu = ref.activation(named: "relu")
        #expect(bn1.data.contains { $0 < 0 })  // the hook copied bn1 before the in-place ReLU overwrote it
        #expect(relu.data == bn1.data.map { max($0, 0) })
        let l4 = ref.activation(named: "layer4.0"), pool = ref.activation(named: "avgpool")
        for ch in 0..<512 {
            let mean = (0..<49).reduce(0.0) { $0 + Double(l4.data[ch * 49 + $1]) } / 49
            #expect(abs(Double(pool.data[ch]) - mean) <= 1e-6 * max(1, abs(mean)))
        }
    }

    @Test("the reference compared with itself passes every tap")
    func selfCompare() {
        let results = ref.taps.map { compare(tap: $0.name, actual: ref.activation(named: $0.name), expected: ref.activation(named: $0.name)) }
        let report = VerifyReport(results: results, tolerance: Tolerance(), header: ref.reportHeader)
        #expect(report.passed)
        #expect(report.summary.hasPrefix("PASS: 10 of 10 taps within atol 1e-04 rtol 1e-04 (worst max abs 0.0e+00 at conv1)"))
    }

    @Test("the activations file is what the safetensors reader sees: f32, every tap plus input")
    func rawFile() throws {
        let f = try SafetensorsFile(path: folder + "/activations.safetensors")
        #expect(Set(f.tensorNames) == Set(ref.taps.map(\.name) + ["input"]))
        #expect(f.entries.allSatisfy { $0.dtype == .f32 })
        #expect(f.metadata == ["format": "pt"])
    }
}
