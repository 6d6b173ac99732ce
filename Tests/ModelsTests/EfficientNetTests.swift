// The EfficientNet family: recognition of real torchvision and timm state_dicts (key/shape lists the libraries wrote:
// Tests/Fixtures/efficientnet/layouts.json, tools/make_efficientnet_fixtures.py) into the config the Python twin
// infers (with the batch-norm eps each library's model has), strict builds from every layout, strict loading errors.
// Numerical parity with the libraries is proven by `vfw verify` (tools/parity.d/66-efficientnet.sh), not here.

import Foundation
import Testing
import TensorCore
@testable import Models

enum EfficientNetFixture {
    struct Case: Decodable {
        var label: String, name: String
        var config: [String: JSONValue]
        var keys: [[JSONValue]]
        var tensors: [(name: String, shape: [Int])] { keys.map { k in (k[0].stringValue!, k[1].arrayValue!.map { $0.intValue! }) } }
    }

    struct Doc: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/efficientnet/layouts.json")
        guard let data = try? Data(contentsOf: url), let doc = try? JSONDecoder().decode(Doc.self, from: data) else { return [] }
        return doc.cases
    }()
}

@Suite("EfficientNet family")
struct EfficientNetTests {
    @Test("the fixture holds every layout case")
    func fixturePresent() { #expect(EfficientNetFixture.cases.count == 5) }

    @Test("real state_dicts are recognised as the Python twin infers them", arguments: EfficientNetFixture.cases.map(\.label))
    func recognition(_ label: String) throws {
        let c = try #require(EfficientNetFixture.cases.first { $0.label == label })
        let r = try ModelZoo.recognise(c.tensors)
        #expect(r.model.family == "efficientnet")
        #expect(r.model.name == c.name)
        let want: EfficientNetConfig = try decodeConfig(c.config, family: "efficientnet")
        #expect(try r.model.config(of: EfficientNet.self) == want)
        #expect(r.mapping.allSatisfy { $0.canonical.hasPrefix("features.") || $0.canonical.hasPrefix("classifier.1.") })
        #expect(r.dropped.allSatisfy { $0.hasSuffix("num_batches_tracked") })
    }

    @Test("the presets are torchvision's and timm's structures", arguments: [
        ("efficientnet_b0", 32, [16, 24, 40, 80, 112, 192, 320], [1, 2, 2, 3, 3, 4, 1], 1280),
        ("efficientnet_b3", 40, [24, 32, 48, 96, 136, 232, 384], [2, 3, 3, 5, 5, 6, 2], 1536),
        ("efficientnet_b7", 64, [32, 48, 80, 160, 224, 384, 640], [4, 7, 7, 10, 10, 13, 4], 2560),
    ])
    func presets(_ name: String, _ stem: Int, _ widths: [Int], _ depths: [Int], _ head: Int) throws {
        let c = try #require(EfficientNet.config(named: name, numClasses: nil))
        #expect(c.stemWidth == stem && c.widths == widths && c.depths == depths && c.headWidth == head)
        #expect(c.eps == (name == "efficientnet_b7" ? 1e-3 : 1e-5))
    }

    @Test("real layouts build strictly in their own tensor shapes", arguments: EfficientNetFixture.cases.map(\.label))
    func strictBuild(_ label: String) throws {
        let c = try #require(EfficientNetFixture.cases.first { $0.label == label })
        let r = try ModelZoo.recognise(c.tensors)
        let shapes = Dictionary(c.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let tensors = r.mapping.map { e -> (name: String, tensor: RawTensor) in
            let s = shapes[e.source]!
            return (e.canonical, .float32([Float](repeating: 0.01, count: s.reduce(1, *)), shape: s))
        }
        let m = try ModelZoo.build(r.model, weights: WeightStore(tensors))
        let y = m(Tensor(shape: [1, 3, 64, 64], repeating: 0.1))
        let classes = r.model.config["num_classes"]?.intValue ?? -1
        let head = r.model.config["head_width"]?.intValue ?? -1
        #expect(y.shape == [1, classes > 0 ? classes : head])
    }

    @Test("a missing tensor is named with its expected shape")
    func missing() throws {
        let d = try ModelZoo.description(named: "efficientnet_b0", numClasses: 4)
        let t = try ModelZoo.synthesise(d, seed: 0).filter { $0.name != "features.2.0.block.2.fc1.bias" }
        #expect(throws: ModelError.missingTensor(key: "features.2.0.block.2.fc1.bias", expectedShape: [4])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("a mis-shaped depthwise kernel is named with both shapes")
    func misShaped() throws {
        let d = try ModelZoo.description(named: "efficientnet_b0", numClasses: 4)
        var t = try ModelZoo.synthesise(d, seed: 0)
        let i = t.firstIndex { $0.name == "features.3.1.block.1.0.weight" }!
        t[i].tensor = .float32([Float](repeating: 0, count: 240 * 9), shape: [240, 1, 3, 3])
        #expect(throws: ModelError.shapeMismatch(key: "features.3.1.block.1.0.weight", expected: [240, 1, 5, 5], actual: [240, 1, 3, 3])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("a timm key the layout does not know is refused by name")
    func unknownTimmKey() throws {
        let c = try #require(EfficientNetFixture.cases.first { $0.label == "timm efficientnet_b0" })
        let r = try ModelZoo.recognise(c.tensors + [("blocks.1.0.conv_extra.weight", [4])])
        let tensors = r.mapping.map { e -> (name: String, tensor: RawTensor) in
            let s = (c.tensors + [("blocks.1.0.conv_extra.weight", [4])]).first { $0.name == e.source }!.shape
            return (e.canonical, .float32([Float](repeating: 0.01, count: s.reduce(1, *)), shape: s))
        }
        #expect(throws: ModelError.unusedTensors(keys: ["blocks.1.0.conv_extra.weight"])) {
            _ = try ModelZoo.build(r.model, weights: WeightStore(tensors))
        }
    }

    @Test("isolated modules run alone as in the full forward")
    func isolated() throws {
        let d = try ModelZoo.description(named: "efficientnet_b0", numClasses: 5)
        let m = try ModelZoo.build(d, weights: WeightStore(try ModelZoo.synthesise(d, seed: 2)))
        let x = Tensor(shape: [2, 3, 64, 64], data: (0..<(2 * 3 * 64 * 64)).map { Float(($0 * 7919) % 1000) / 500 - 1 })
        let taps = TapRecorder(.all)
        _ = m(x, taps: taps)
        let recorded = Dictionary(taps.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let modules = m.network.isolatedModules()
        #expect(Set(modules.map(\.node.name)) == Set(recorded.keys))
        for mod in modules {
            let want = try #require(recorded[mod.node.name])
            let inputs = try mod.node.inputs.map { i -> Tensor in i == ModuleGraph.modelInput ? x : try #require(recorded[i]) }
            let got = try mod(inputs)
            #expect(got.shape == want.shape && got.maxAbsDifference(want) <= 1e-4, "\(mod.node.name)")
        }
    }
}
