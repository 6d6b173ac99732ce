// The RegNet family: recognition of real torchvision and timm state_dicts (key/shape lists the libraries wrote:
// Tests/Fixtures/regnet/layouts.json, tools/make_regnet_fixtures.py) into the config the Python twin infers,
// strict builds from those layouts, the canonical key table pinned, strict loading errors. Numerical parity
// with torchvision and timm is proven by `vfw verify` against references PyTorch recorded (tools/parity.d/
// 60-regnet.sh, Reference/regnet_y_400mf), not here.

import Foundation
import Testing
import TensorCore
@testable import Models

enum RegNetFixture {
    struct Case: Decodable {
        var library: String, model: String, name: String
        var num_classes: Int
        var config: [String: JSONValue]
        var keys: [[JSONValue]]

        var tensors: [(name: String, shape: [Int])] {
            keys.map { k in (k[0].stringValue!, k[1].arrayValue!.map { $0.intValue! }) }
        }
    }

    struct Doc: Decodable { var cases: [Case] }

    static let cases: [Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/regnet/layouts.json")
        guard let data = try? Data(contentsOf: url), let doc = try? JSONDecoder().decode(Doc.self, from: data) else { return [] }
        return doc.cases
    }()
}

@Suite("RegNet family")
struct RegNetTests {
    @Test("the fixture holds every layout case")
    func fixturePresent() {
        #expect(RegNetFixture.cases.count == 7)
    }

    @Test("real state_dicts are recognised as the Python twin infers them", arguments: RegNetFixture.cases.map { "\($0.library) \($0.model)" })
    func recognition(_ label: String) throws {
        let c = try #require(RegNetFixture.cases.first { "\($0.library) \($0.model)" == label })
        let r = try ModelZoo.recognise(c.tensors)
        #expect(r.model.family == "regnet")
        #expect(r.model.name == c.name)
        let want: RegNetConfig = try decodeConfig(c.config, family: "regnet")
        #expect(try r.model.config(of: RegNet.self) == want)
        #expect(r.dropped.count == c.tensors.filter { $0.name.hasSuffix("num_batches_tracked") }.count)
        #expect(r.preprocessing == "torchvision")
        // Every canonical name is torchvision's, whatever the source.
        #expect(r.mapping.allSatisfy { $0.canonical == "fc.weight" || $0.canonical == "fc.bias" || $0.canonical.hasPrefix("stem.") || $0.canonical.hasPrefix("trunk_output.") })
    }

    @Test("real layouts build strictly: every tensor used, none missing", arguments: RegNetFixture.cases.map { "\($0.library) \($0.model)" })
    func strictBuild(_ label: String) throws {
        let c = try #require(RegNetFixture.cases.first { "\($0.library) \($0.model)" == label })
        let r = try ModelZoo.recognise(c.tensors)
        let shapes = Dictionary(c.tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        let zeros = r.mapping.map { e -> (name: String, tensor: RawTensor) in
            let s = shapes[e.source]!
            return (e.canonical, .float32([Float](repeating: 0.5, count: s.reduce(1, *)), shape: s))
        }
        let m = try ModelZoo.build(r.model, weights: WeightStore(zeros))
        #expect(m.network.logitsModule == (c.num_classes > 0 ? "fc" : nil))
        let y = m(Tensor(shape: [1, 3, 64, 64], repeating: 0.1))
        #expect(y.shape == [1, c.num_classes > 0 ? c.num_classes : (r.model.config["widths"]?.arrayValue?.last?.intValue ?? -1)])
    }

    @Test("synthetic weights have torchvision's keys", arguments: [("regnet_y_400mf", 331), ("regnet_x_400mf", 357), ("regnetx_002", 222)])
    func keyCounts(_ c: (String, Int)) throws {
        let t = try ModelZoo.synthesise(try ModelZoo.description(named: c.0), seed: 1)
        #expect(t.count == c.1, "\(c.0)")
        let tv = try #require(RegNetFixture.cases.first { $0.model == c.0 })
        if tv.library == "torchvision" {
            let want = tv.tensors.filter { !$0.name.hasSuffix("num_batches_tracked") }
            let have = try ModelZoo.synthesise(try ModelZoo.description(named: c.0, numClasses: tv.num_classes), seed: 1)
            #expect(Set(have.map(\.name)) == Set(want.map(\.name)))
            let shapes = Dictionary(want.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
            #expect(have.allSatisfy { shapes[$0.name] == $0.tensor.shape })
        }
    }

    /// torchvision's state_dict names and shapes for a config, written from regnet.py's module structure
    /// (SimpleStemIN, AnyStage, ResBottleneckBlock, BottleneckTransform, SqueezeExcitation) without building weights.
    static func torchvisionKeys(_ c: RegNetConfig) -> [(name: String, shape: [Int])] {
        var k: [(String, [Int])] = []
        func convBN(_ p: String, _ cin: Int, _ cout: Int, _ kernel: Int, groups: Int = 1) {
            k.append(("\(p).0.weight", [cout, cin / groups, kernel, kernel]))
            for b in ["weight", "bias", "running_mean", "running_var"] { k.append(("\(p).1.\(b)", [cout])) }
            k.append(("\(p).1.num_batches_tracked", []))
        }
        convBN("stem", 3, c.stemWidth, 3)
        var win = c.stemWidth
        for s in 0..<c.depths.count {
            let wout = c.widths[s], wb = Int((Double(wout) * c.bottleneckMultiplier).rounded(.toNearestOrEven))
            for b in 0..<c.depths[s] {
                let p = "trunk_output.block\(s + 1).block\(s + 1)-\(b)"
                if b == 0 { convBN("\(p).proj", win, wout, 1) }
                convBN("\(p).f.a", win, wb, 1)
                convBN("\(p).f.b", wb, wb, 3, groups: wb / c.groupWidths[s])
                if c.seRatio > 0 {
                    let sq = Int((c.seRatio * Double(win)).rounded(.toNearestOrEven))
                    k += [("\(p).f.se.fc1.weight", [sq, wb, 1, 1]), ("\(p).f.se.fc1.bias", [sq]),
                          ("\(p).f.se.fc2.weight", [wb, sq, 1, 1]), ("\(p).f.se.fc2.bias", [wb])]
                }
                convBN("\(p).f.c", wb, wout, 1)
                win = wout
            }
        }
        k += [("fc.weight", [c.numClasses, win]), ("fc.bias", [c.numClasses])]
        return k
    }

    @Test("every preset is recognised from torchvision's keys and shapes for it", arguments: RegNetConfig.presets.map(\.name))
    func presetRecognition(_ name: String) throws {
        let config = try #require(RegNet.config(named: name, numClasses: 7))
        let r = try ModelZoo.recognise(RegNetTests.torchvisionKeys(config))
        // Aliases (timm's regnetx_008 is torchvision's regnet_x_800mf) report the first name with the structure.
        let first = RegNetConfig.presets.first { $0.config.sameStructure(as: config) }!.name
        #expect(r.model.name == first)
        #expect(try r.model.config(of: RegNet.self) == config)
    }

    @Test("the key table derived from torchvision's structure is what the family asks for", arguments: ["regnet_y_400mf", "regnetx_002", "regnetx_006"])
    func keyTable(_ name: String) throws {
        let config = try #require(RegNet.config(named: name, numClasses: 3))
        let want = RegNetTests.torchvisionKeys(config).filter { !$0.name.hasSuffix("num_batches_tracked") }
        let have = try ModelZoo.synthesise(ModelDescription(RegNet.self, config), seed: 0)
        // Same names in the same order (torchvision registers proj before f; so does the family).
        #expect(have.map(\.name) == want.map(\.name))
        #expect(zip(have, want).allSatisfy { $0.tensor.shape == $1.shape })
    }

    @Test("timm keys map onto torchvision's", arguments: [
        ("stem.conv.weight", "stem.0.weight"), ("stem.bn.running_var", "stem.1.running_var"),
        ("s1.b1.conv1.conv.weight", "trunk_output.block1.block1-0.f.a.0.weight"),
        ("s2.b3.conv2.bn.bias", "trunk_output.block2.block2-2.f.b.1.bias"),
        ("s4.b7.conv3.bn.weight", "trunk_output.block4.block4-6.f.c.1.weight"),
        ("s3.b1.downsample.conv.weight", "trunk_output.block3.block3-0.proj.0.weight"),
        ("s3.b1.downsample.bn.running_mean", "trunk_output.block3.block3-0.proj.1.running_mean"),
        ("s1.b1.se.fc2.bias", "trunk_output.block1.block1-0.f.se.fc2.bias"), ("head.fc.weight", "fc.weight"),
        ("s1.b1.unknown.conv.weight", "s1.b1.unknown.conv.weight"), ("final_conv.weight", "final_conv.weight"),
    ])
    func timmNames(_ c: (String, String)) {
        #expect(RegNetLayout.canonical(timm: c.0) == c.1)
    }

    @Test("a missing tensor is named with its expected shape")
    func missing() throws {
        let d = try ModelZoo.description(named: "regnet_y_400mf", numClasses: 4)
        let t = try ModelZoo.synthesise(d, seed: 0).filter { $0.name != "trunk_output.block2.block2-1.f.se.fc1.bias" }
        #expect(throws: ModelError.missingTensor(key: "trunk_output.block2.block2-1.f.se.fc1.bias", expectedShape: [26])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("an unused tensor is an error")
    func unused() throws {
        let d = try ModelZoo.description(named: "regnetx_002", numClasses: 4)
        let t = try ModelZoo.synthesise(d, seed: 0) + [("trunk_output.block1.block1-0.f.se.fc1.weight", .float32([1], shape: [1]))]
        #expect(throws: ModelError.unusedTensors(keys: ["trunk_output.block1.block1-0.f.se.fc1.weight"])) {
            _ = try ModelZoo.build(d, weights: WeightStore(t))
        }
    }

    @Test("configs that cannot be built are refused with a sentence", arguments: [
        (["stem_width": JSONValue.int(32), "depths": .array([.int(1)]), "widths": .array([.int(24), .int(48)]), "group_widths": .array([.int(8)]), "se_ratio": .double(0), "num_classes": .int(10)], "one entry per stage"),
        (["stem_width": .int(32), "depths": .array([.int(1)]), "widths": .array([.int(24)]), "group_widths": .array([.int(7)]), "se_ratio": .double(0), "num_classes": .int(10)], "not a multiple of its group width"),
        (["stem_width": .int(32), "depths": .array([.int(1)]), "widths": .array([.int(24)]), "group_widths": .array([.int(8)]), "num_classes": .int(10)], "'se_ratio' is missing"),
    ] as [([String: JSONValue], String)])
    func badConfig(_ c: ([String: JSONValue], String)) {
        let bad = ModelDescription(name: "x", family: "regnet", config: c.0)
        do { _ = try bad.config(of: RegNet.self); Issue.record("accepted \(c.0)") } catch { #expect("\(error)".contains(c.1), "\(error)") }
    }

    @Test("isolated modules run alone as in the full forward (every tap of regnetx_002 and regnety_002)", arguments: ["regnetx_002", "regnety_002"])
    func isolated(_ name: String) throws {
        let d = try ModelZoo.description(named: name, numClasses: 5)
        let m = try ModelZoo.build(d, weights: WeightStore(try ModelZoo.synthesise(d, seed: 2)))
        let x = Tensor(shape: [2, 3, 64, 64], data: (0..<(2 * 3 * 64 * 64)).map { Float(($0 * 7919) % 1000) / 500 - 1 })
        let taps = TapRecorder(.all)
        _ = m(x, taps: taps)
        let recorded = Dictionary(taps.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let modules = m.network.isolatedModules()
        #expect(Set(modules.map(\.node.name)).isSuperset(of: Set(recorded.keys)), "every tap has an isolated module")
        for mod in modules {
            guard let want = recorded[mod.node.name] else { continue }
            let inputs = try mod.node.inputs.map { i -> Tensor in i == ModuleGraph.modelInput ? x : try #require(recorded[i], "\(mod.node.name) input \(i)") }
            let got = try mod(inputs)
            #expect(got.shape == want.shape && got.maxAbsDifference(want) <= 1e-4, "\(mod.node.name)")
        }
    }
}
