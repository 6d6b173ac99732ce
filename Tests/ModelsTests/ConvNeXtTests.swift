// The ConvNeXt family: recognition of real timm, torchvision and transformers state_dicts (V1 and V2; key/shape
// lists the libraries wrote: Tests/Fixtures/convnext/layouts.json, tools/make_convnext_fixtures.py) into the config
// the Python twin infers, strict builds from every layout (each library's tensor shapes), strict loading errors.
// Numerical parity with the libraries is proven by `vfw verify` (tools/parity.d/65-convnext.sh), not here.

import Foundation
import Testing
import TensorCore
@testable import Models

enum ConvNeXtFixture {
    struct Case: Decodable {
        var label: String, name: String
        var config: [String: JSONValue]
        var keys: [[JSONValue]]
        var tensors: [(name: String, shape: [Int])] { keys.map { k in (k[0].stringValue!, k[1].arrayValue!.map { $0.intValue! }) } }
    }

    struct Doc: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/convnext/layouts.json")
        guard let data = try? Data(contentsOf: url), let doc = try? JSONDecoder().decode(Doc.self, from: data) else { return [] }
        return doc.cases
    }()
}

@Suite("ConvNeXt family")
struct ConvNeXtTests {
    @Test("the fixture holds every layout case")
    func fixturePresent() { #expect(ConvNeXtFixture.cases.count == 8) }

    @Test("real state_dicts are recognised as the Python twin infers them", arguments: ConvNeXtFixture.cases.map(\.label))
    func recognition(_ label: String) throws {
        let c = try #require(ConvNeXtFixture.cases.first { $0.label == label })
        let r = try ModelZoo.recognise(c.tensors)
        #expect(r.model.family == "convnext")
        #expect(r.model.name == c.name)
        let want: ConvNeXtConfig = try decodeConfig(c.config, family: "convnext")
        #expect(try r.model.config(of: ConvNeXt.self) == want)
        #expect(r.mapping.allSatisfy { $0.canonical.hasPrefix("stem.") || $0.canonical.hasPrefix("stages.") || $0.canonical.hasPrefix("head.") })
    }

    @Test("real layouts build strictly in their own tensor shapes", arguments: ConvNeXtFixture.cases.map(\.label))
    func strictBuild(_ label: String) throws {
        let c = try #require(ConvNeXtFixture.cases.first { $0.label == label })
        let r = try ModelZoo.recognise(c.tensors)
        let shapes = Dictionary(c.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let tensors = r.mapping.map { e -> (name: String, tensor: RawTensor) in
            let s = shapes[e.source]!
            return (e.canonical, .float32([Float](repeating: 0.01, count: s.reduce(1, *)), shape: s))
        }
        let m = try ModelZoo.build(r.model, weights: WeightStore(tensors))
        let y = m(Tensor(shape: [1, 3, 64, 64], repeating: 0.1))
        let classes = r.model.config["num_classes"]?.intValue ?? -1
        let dims = r.model.config["dims"]?.arrayValue?.last?.intValue ?? -1
        #expect(y.shape == [1, classes > 0 ? classes : dims])
    }

    @Test("a missing tensor is named with its expected shape")
    func missing() throws {
        let d = try ModelZoo.description(named: "convnextv2_atto", numClasses: 4)
        let t = try ModelZoo.synthesise(d, seed: 0).filter { $0.name != "stages.2.blocks.3.mlp.grn.bias" }
        #expect(throws: ModelError.missingTensor(key: "stages.2.blocks.3.mlp.grn.bias", expectedShape: [640])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("a mis-shaped tensor is named with both shapes (the last layout tried)")
    func misShaped() throws {
        let d = try ModelZoo.description(named: "convnext_atto", numClasses: 4)
        var t = try ModelZoo.synthesise(d, seed: 0)
        let i = t.firstIndex { $0.name == "stages.0.blocks.1.gamma" }!
        t[i].tensor = .float32([Float](repeating: 0, count: 41), shape: [41])
        #expect(throws: ModelError.shapeMismatch(key: "stages.0.blocks.1.gamma", expected: [40, 1, 1], actual: [41])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("isolated modules run alone as in the full forward", arguments: ["convnext_atto", "convnextv2_atto"])
    func isolated(_ name: String) throws {
        let d = try ModelZoo.description(named: name, numClasses: 5)
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
