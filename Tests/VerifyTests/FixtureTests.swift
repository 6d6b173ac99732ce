// The committed reference Reference/resnet18, written by tools/make_reference.py from torchvision (synthetic
// weights, `vfw synth --model resnet18 --seed 0`, on Reference/images/chelsea.png), read back as vfw sees it.
// The values are checked by relations the modules imply (relu = max(bn1, 0), maxpool of relu, avgpool = mean
// of layer4.1, an input that is an 8-bit image normalised), computed here without any vfw kernel.

import Foundation
import Testing
import TensorCore
import Safetensors
@testable import Verify

private let folder = repoPath("Reference/resnet18")

private func sha256(_ path: String) -> String {
    let data = FileManager.default.contents(atPath: path)!
    return data.withUnsafeBytes { SHA256.hex($0) }
}

/// Loaded once for the whole suite (Swift Testing makes a suite instance per test).
private let loaded = Result { try ReferenceSet.load(directory: folder) }

private let blockTaps = ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1", "layer2.0", "layer2.1",
                         "layer3.0", "layer3.1", "layer4.0", "layer4.1", "avgpool", "fc"]

@Suite("the committed Reference/resnet18")
struct FixtureTests {
    let ref: ReferenceSet

    init() throws {
        ref = try loaded.get()
    }

    @Test("manifest: architecture, synthetic weights, image identity, preprocessing, generator")
    func manifest() {
        let m = ref.manifest
        #expect(m.schemaVersion == 2 && m.truth?.dtype == "float64" && m.items == [.init(image: 0, copy: 0)])
        #expect(m.architecture.name == "resnet18" && m.architecture.family == "resnet")
        let c = m.architecture.config
        #expect(c["block"]?.stringValue == "basic" && c["layers"]?.intArray == [2, 2, 2, 2])
        #expect(c["groups"]?.intValue == 1 && c["width_per_group"]?.intValue == 64 && c["num_classes"]?.intValue == 1000)
        #expect(m.weights.file == "resnet18-synth.safetensors" && m.weights.format == "safetensors")
        #expect(m.weights.synth == .init(model: "resnet18", seed: 0))
        #expect(m.weights.sha256.count == 64)
        #expect(m.image.file == "chelsea.png" && m.image.width == 451 && m.image.height == 300 && m.image.mode == "RGB")
        #expect(m.image.sha256 == sha256(repoPath("Reference/images/chelsea.png")))
        #expect(m.preprocessing.preset == "torchvision")
        #expect(m.preprocessing.steps.contains("Resize(size=256, interpolation=bilinear, max_size=None, antialias=True)"))
        #expect(m.preprocessing.steps.contains("CenterCrop(size=(224, 224))"))
        #expect(m.batch == 1 && m.tapLevel == "block" && m.runtime.dtype == "float32")
        #expect(m.generator.script == "tools/make_reference.py" && m.generator.revision >= 1)
        #expect(m.versions["torch"] != nil && m.versions["torchvision"] != nil)
    }

    @Test("taps: block level, execution order, shapes")
    func taps() {
        #expect(ref.taps.map(\.name) == blockTaps)
        #expect(ref.input.shape == [1, 3, 224, 224])
        let shapes = Dictionary(uniqueKeysWithValues: ref.taps.map { ($0.name, $0.shape) })
        #expect(shapes["conv1"] == [1, 64, 112, 112] && shapes["maxpool"] == [1, 64, 56, 56])
        #expect(shapes["layer2.0"] == [1, 128, 28, 28] && shapes["layer3.1"] == [1, 256, 14, 14])
        #expect(shapes["layer4.1"] == [1, 512, 7, 7] && shapes["avgpool"] == [1, 512, 1, 1] && shapes["fc"] == [1, 1000])
    }

    @Test("the input is an 8-bit image normalised with ImageNet's mean and std")
    func input() {
        let mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]
        let x = ref.input
        var worst: Float = 0, lo = Float.infinity, hi = -Float.infinity
        for c in 0..<3 {
            for i in 0..<(224 * 224) {
                let level = (x.data[c * 224 * 224 + i] * std[c] + mean[c]) * 255
                worst = max(worst, abs(level - level.rounded()))
                lo = min(lo, level)
                hi = max(hi, level)
            }
        }
        #expect(worst < 1e-3, "pixel levels are not whole numbers: \(worst)")
        #expect(lo > -0.01 && hi < 255.01 && hi - lo > 128, "levels span \(lo)...\(hi)")
    }

    @Test("taps relate as the modules say: relu = max(bn1, 0), maxpool 3x3/2 of relu, avgpool = mean of layer4.1")
    func relations() {
        let bn1 = ref.activation(named: "bn1"), relu = ref.activation(named: "relu")
        #expect(bn1.data.contains { $0 < 0 })  // the hook copied bn1 before the in-place ReLU overwrote it
        #expect(relu.data == bn1.data.map { max($0, 0) })

        // nn.MaxPool2d(3, stride 2, padding 1) on [64, 112, 112] → [64, 56, 56]; max is exact.
        let pool = ref.activation(named: "maxpool")
        var mismatches = 0
        for c in 0..<64 {
            for oy in 0..<56 {
                for ox in 0..<56 {
                    var m = -Float.infinity
                    for dy in -1...1 {
                        for dx in -1...1 {
                            let (y, x) = (oy * 2 + dy, ox * 2 + dx)
                            if y >= 0 && y < 112 && x >= 0 && x < 112 { m = max(m, relu.data[(c * 112 + y) * 112 + x]) }
                        }
                    }
                    if pool.data[(c * 56 + oy) * 56 + ox] != m { mismatches += 1 }
                }
            }
        }
        #expect(mismatches == 0)

        let l4 = ref.activation(named: "layer4.1"), avg = ref.activation(named: "avgpool")
        for ch in 0..<512 {
            let mean = (0..<49).reduce(0.0) { $0 + Double(l4.data[ch * 49 + $1]) } / 49
            #expect(abs(Double(avg.data[ch]) - mean) <= 1e-6 * max(1, abs(mean)))
        }
        // Every block ends in a ReLU.
        for name in blockTaps where name.hasPrefix("layer") {
            #expect(ref.activation(named: name).data.allSatisfy { $0 >= 0 }, "\(name)")
        }
    }

    @Test("the reference compared with itself passes every tap")
    func selfCompare() {
        var report = VerifyReport(policy: TolerancePolicy())
        for t in ref.taps {
            let a = ref.activation(named: t.name)
            report.add(tap: t.name, actual: a, expected: a, classifier: t.name == "fc")
        }
        #expect(report.passed)
        #expect(report.summary == "PASS: 14 of 14 taps within atol 1e-04 rtol 1e-04 (worst max abs 0.0e+00 at conv1)")
        #expect(report.results.last?.agreement?.top1 == 1 && report.results.last?.agreement?.topK == 1)
    }

    @Test("every tap has its float64 truth: PyTorch float32 is within 1e-5 of it, and not equal to it")
    func truth() throws {
        for t in ref.taps {
            let truth = try #require(ref.truth(named: t.name), "\(t.name)")
            let a = ref.activation(named: t.name).data
            var worst = 0.0
            for i in a.indices { worst = max(worst, abs(Double(a[i]) - truth[i])) }
            #expect(worst > 0 && worst < 1e-5, "\(t.name): \(worst)")
        }
    }

    @Test("the activations file is what the safetensors reader sees: f32 input and taps, a bf16 truth difference per tap")
    func rawFile() throws {
        let f = try SafetensorsFile(path: folder + "/activations.safetensors")
        #expect(Set(f.tensorNames) == Set(ref.taps.map(\.name) + ["input"] + ref.taps.map { "truth/" + $0.name }))
        #expect(f.entries.allSatisfy { $0.dtype == ($0.name.hasPrefix("truth/") ? .bf16 : .f32) })
        #expect(f.metadata == ["format": "pt"])
    }
}
