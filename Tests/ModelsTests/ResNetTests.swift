// The ResNet family: key tables pinned (a rename is a compatibility break), strict loading, recognition.
// Numerical parity with torchvision is proven by `vfw verify` against references PyTorch recorded
// (Tests/CLITests/VerifyTests.swift, the CI parity job), not here.

import Testing
import TensorCore
import VFWFormat
@testable import Models

@Suite("ResNet family")
struct ResNetTests {
    /// torchvision state_dict sizes without the 20/36/53/104/155 num_batches_tracked buffers
    /// (models.md §2.3: 122, 218, 320, 626, 932 keys with them).
    @Test("synthetic weights have torchvision's keys", arguments: [
        ("resnet18", 102), ("resnet34", 182), ("resnet50", 267), ("resnet101", 522), ("resnet152", 777),
        ("wide_resnet50_2", 267), ("resnext50_32x4d", 267), ("resnext101_32x8d", 522),
    ])
    func keyCounts(_ c: (String, Int)) throws {
        let t = try ModelZoo.synthesise(try ModelZoo.description(named: c.0), seed: 1)
        #expect(t.count == c.1, "\(c.0)")
        let withBuffers = try ModelZoo.synthesiseCheckpoint(try ModelZoo.description(named: c.0), seed: 1)
        #expect(withBuffers.filter { $0.name.hasSuffix("num_batches_tracked") }.count == t.filter { $0.name.hasSuffix("running_var") }.count)
    }

    @Test("key shapes match torchvision's (models.md §2.3)", arguments: [
        ("resnet18", "conv1.weight", [64, 3, 7, 7]), ("resnet18", "layer2.0.downsample.0.weight", [128, 64, 1, 1]),
        ("resnet18", "fc.weight", [1000, 512]), ("resnet50", "layer1.0.conv1.weight", [64, 64, 1, 1]),
        ("resnet50", "layer1.0.conv3.weight", [256, 64, 1, 1]), ("resnet50", "layer1.0.downsample.0.weight", [256, 64, 1, 1]),
        ("wide_resnet50_2", "layer1.0.conv2.weight", [128, 128, 3, 3]), ("resnext50_32x4d", "layer1.0.conv2.weight", [128, 4, 3, 3]),
        ("resnext101_64x4d", "layer4.2.conv2.weight", [2048, 32, 3, 3]), ("resnet50", "fc.weight", [1000, 2048]),
        ("resnet50", "layer3.5.bn3.running_var", [1024]),
    ] as [(String, String, [Int])])
    func keyShapes(_ c: (String, String, [Int])) throws {
        let t = try ModelZoo.synthesise(try ModelZoo.description(named: c.0), seed: 1)
        #expect(t.first { $0.name == c.1 }?.tensor.shape == c.2, "\(c.0) \(c.1)")
    }

    @Test("every preset is recognised from its own keys and shapes", arguments: ResNetConfig.presets.map(\.name))
    func recognition(_ name: String) throws {
        let arch = try ModelZoo.description(named: name, numClasses: 17)
        let t = try ModelZoo.synthesiseCheckpoint(arch, seed: 0)
        let r = try ModelZoo.recognise(t.map { ($0.name, $0.tensor.shape) })
        #expect(r.model.name == name)
        #expect(r.model.config["num_classes"] == .int(17))
        #expect(r.dropped.count == t.filter { $0.name.hasSuffix("num_batches_tracked") }.count)
        #expect(r.preprocessing == "torchvision")
    }

    @Test("synthetic weights are deterministic and vary every BN parameter")
    func synthDeterministic() throws {
        let arch = try ModelZoo.description(named: "resnet18")
        let a = try ModelZoo.synthesise(arch, seed: 3), b = try ModelZoo.synthesise(arch, seed: 3), c = try ModelZoo.synthesise(arch, seed: 4)
        #expect(a.map { $0.tensor.floats() } == b.map { $0.tensor.floats() })
        #expect(a[0].tensor.floats() != c[0].tensor.floats())
        for (name, t) in a where name.contains("bn") {
            let v = t.floats()
            let defaultValue: Float = name.hasSuffix("weight") || name.hasSuffix("running_var") ? 1 : 0
            #expect(v.filter { $0 == defaultValue }.count < v.count / 10, "\(name) left at its default")
        }
    }

    // MARK: - Strict loading

    private func resnet18Tensors() throws -> [(name: String, tensor: RawTensor)] {
        try ModelZoo.synthesise(try ModelZoo.description(named: "resnet18", numClasses: 4), seed: 0)
    }

    @Test("a missing tensor is named with its expected shape")
    func missing() throws {
        let t = try resnet18Tensors().filter { $0.name != "layer3.1.bn2.running_mean" }
        #expect(throws: ModelError.missingTensor(key: "layer3.1.bn2.running_mean", expectedShape: [256])) {
            _ = try ModelZoo.build(try ModelZoo.description(named: "resnet18", numClasses: 4), weights: WeightStore(t))
        }
    }

    @Test("a mis-shaped tensor is named with both shapes")
    func misShaped() throws {
        var t = try resnet18Tensors()
        let i = t.firstIndex { $0.name == "fc.weight" }!
        t[i].tensor = .float32([Float](repeating: 0, count: 5 * 512), shape: [5, 512])
        #expect(throws: ModelError.shapeMismatch(key: "fc.weight", expected: [4, 512], actual: [5, 512])) {
            _ = try ModelZoo.build(try ModelZoo.description(named: "resnet18", numClasses: 4), weights: WeightStore(t))
        }
        #expect(ModelError.shapeMismatch(key: "fc.weight", expected: [4, 512], actual: [5, 512]).description
            == "tensor 'fc.weight' has shape [5, 512], the model expects [4, 512]; check --arch and the config")
    }

    @Test("an unused tensor is an error")
    func unused() throws {
        let t = try resnet18Tensors() + [("extra.weight", .float32([1], shape: [1]))]
        #expect(throws: ModelError.unusedTensors(keys: ["extra.weight"])) {
            _ = try ModelZoo.build(try ModelZoo.description(named: "resnet18", numClasses: 4), weights: WeightStore(t))
        }
    }

    @Test("config round-trips through the header's JSON and rejects nonsense", arguments: [
        (["block": JSONValue.string("basic"), "layers": .array([.int(2), .int(2), .int(2)]), "groups": .int(1), "width_per_group": .int(64), "num_classes": .int(10)], "'layers' must be four positive block counts"),
        (["block": .string("triple"), "layers": .array([.int(2), .int(2), .int(2), .int(2)]), "groups": .int(1), "width_per_group": .int(64), "num_classes": .int(10)], "'block' must be"),
        (["block": .string("basic"), "layers": .array([.int(2), .int(2), .int(2), .int(2)]), "groups": .int(32), "width_per_group": .int(4), "num_classes": .int(10)], "BasicBlock only supports"),
    ] as [([String: JSONValue], String)])
    func config(_ c: ([String: JSONValue], String)) throws {
        let r50 = ModelDescription(ResNet.self, ResNetConfig.presets[2].config)
        #expect(try r50.config(of: ResNet.self) == ResNetConfig.presets[2].config)
        let bad = ModelDescription(name: "x", family: "resnet", config: c.0)
        do { _ = try bad.config(of: ResNet.self); Issue.record("accepted \(c.0)") } catch { #expect("\(error)".contains(c.1), "\(error)") }
    }
}
