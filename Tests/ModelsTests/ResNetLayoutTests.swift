// Hugging Face transformers' ResNet layout against torchvision's names for the same network: key lists and
// config.json files written by real transformers and torchvision (Tests/Fixtures/resnet/hf-layouts.json, made by
// tools/make_resnet_layout_fixtures.py; versions inside). Numerical parity with transformers' own model is the
// parity job's (tools/parity.d/36-hf-resnet.sh): here, that every tensor lands on the canonical name and shape
// torchvision's state_dict has, that the model builds strictly from them, and that configs torchvision's ResNet
// does not compute are refused by name.

import Foundation
import Testing
import TensorCore
@testable import Models

enum HFResNetFixture {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let keys: [(name: String, shape: [Int])]
        let config: Data
        let torchvisionKeys: [(name: String, shape: [Int])]
        let numClasses: Int?
        let layers: [Int]?
        let refused: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/resnet/hf-layouts.json")
        guard let data = try? Data(contentsOf: url), let j = try? JSONDecoder().decode(JSONValue.self, from: data),
              let cases = j["cases"]?.arrayValue else { return [] }
        func keys(_ v: JSONValue?) -> [(name: String, shape: [Int])] {
            (v?.arrayValue ?? []).compactMap { e in
                guard let a = e.arrayValue, a.count == 2, let n = a[0].stringValue, let s = a[1].arrayValue?.compactMap(\.intValue) else { return nil }
                return (n, s)
            }
        }
        return cases.map { c in
            let config = (try? JSONEncoder().encode(c["config"] ?? .null)) ?? Data()
            return Case(name: c["name"]?.stringValue ?? "?", keys: keys(c["keys"]), config: config,
                        torchvisionKeys: keys(c["torchvision_keys"]), numClasses: c["num_classes"]?.intValue,
                        layers: c["layers"]?.arrayValue?.compactMap(\.intValue), refused: c["refused"]?.stringValue)
        }
    }()
}

@Suite("ResNet: Hugging Face transformers layout")
struct ResNetLayoutTests {
    @Test("the fixture holds every case") func fixture() {
        #expect(HFResNetFixture.cases.count == 7)
    }

    @Test("transformers' names map onto torchvision's, shape for shape; the model builds strictly from them",
          arguments: HFResNetFixture.cases.filter { $0.refused == nil })
    func mapsOntoTorchvision(_ c: HFResNetFixture.Case) throws {
        let r = try ModelZoo.recognise(c.keys, configJSON: c.config)
        #expect(r.model.family == "resnet")
        let sourceShapes = Dictionary(c.keys.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let mapped = Dictionary(r.mapping.map { ($0.canonical, sourceShapes[$0.source] ?? []) }, uniquingKeysWith: { a, _ in a })
        let want = Dictionary(c.torchvisionKeys.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        #expect(mapped == want)
        #expect(r.mapping.count == c.torchvisionKeys.count, "every tensor mapped once")
        #expect(r.dropped.allSatisfy { $0.hasSuffix(".num_batches_tracked") } && !r.dropped.isEmpty)
        let config = try r.model.config(of: ResNet.self)
        #expect(config.numClasses == c.numClasses)
        #expect(config.layers == c.layers)
        // transformers 5 writes id2label only when it is not the 2-label default.
        let labels = (try? JSONDecoder().decode(JSONValue.self, from: c.config))?["id2label"]?.objectValue
        #expect(config.id2label?.count == labels?.count, "labels kept from config.json")
        // Strict build on zero tensors of the mapped shapes: every canonical tensor asked for exactly once.
        let store = WeightStore(r.mapping.map { e in
            let s = sourceShapes[e.source]!
            let n = s.reduce(1, *)
            return (e.canonical, RawTensor(dtype: .f32, shape: s, bytes: ByteView(owned: OwnedBytes(count: n * 4))))
        })
        let model = try ModelZoo.build(r.model, weights: store)
        #expect(model.network.logitsModule == (c.numClasses == 0 ? nil : "fc"))
    }

    @Test("without config.json the tensors alone are recognised, with a note", arguments: HFResNetFixture.cases.filter { $0.refused == nil })
    func withoutConfig(_ c: HFResNetFixture.Case) throws {
        let r = try ModelZoo.recognise(c.keys)
        #expect(try r.model.config(of: ResNet.self).layers == c.layers)
        #expect(r.notes.contains { $0.contains("no config.json") })
    }

    @Test("configs torchvision's ResNet does not compute are refused, naming the key",
          arguments: HFResNetFixture.cases.filter { $0.refused != nil })
    func refused(_ c: HFResNetFixture.Case) throws {
        do {
            _ = try ModelZoo.recognise(c.keys, configJSON: c.config)
            Issue.record("\(c.name) was recognised")
        } catch let ModelError.unrecognised(reason) {
            #expect(reason.contains(c.refused!), "\(reason)")
            #expect(reason.contains("Hugging Face transformers"))
        }
    }

    @Test("a transformers name with an unknown module is refused, not dropped")
    func unknownTensor() throws {
        let c = try #require(HFResNetFixture.cases.first)
        do {
            _ = try ModelZoo.recognise(c.keys + [("resnet.encoder.stages.0.layers.0.extra.weight", [4])], configJSON: c.config)
            Issue.record("recognised")
        } catch let ModelError.unrecognised(reason) {
            #expect(reason.contains("resnet.encoder.stages.0.layers.0.extra.weight"))
        }
    }

    @Test("the name map, pinned", arguments: [
        ("resnet.embedder.embedder.convolution.weight", "resnet.", "conv1.weight"),
        ("embedder.embedder.normalization.running_var", "", "bn1.running_var"),
        ("resnet.encoder.stages.2.layers.5.layer.1.convolution.weight", "resnet.", "layer3.5.conv2.weight"),
        ("encoder.stages.0.layers.0.layer.2.normalization.bias", "", "layer1.0.bn3.bias"),
        ("resnet.encoder.stages.3.layers.0.shortcut.convolution.weight", "resnet.", "layer4.0.downsample.0.weight"),
        ("encoder.stages.1.layers.0.shortcut.normalization.running_mean", "", "layer2.0.downsample.1.running_mean"),
        ("classifier.1.weight", "resnet.", "fc.weight"),
        ("resnet.pooler.weight", "resnet.", nil),
        ("encoder.stages.x.layers.0.layer.0.convolution.weight", "", nil),
    ] as [(String, String, String?)])
    func nameMap(_ c: (String, String, String?)) {
        #expect(HFResNet.canonical(c.0, prefix: c.1) == c.2)
    }
}
