// The Swift ViT against real PyTorch: tiny models in every layout (Tests/Fixtures/vit, written by
// tools/make_vit_fixtures.py with transformers, timm and torchvision; versions in versions.json), loaded
// through recognition and the canonical mapping exactly as `vfw convert` does, every tap compared to 1e-4.

import Foundation
import Safetensors
import Testing
import TensorCore
import VFWFormat
@testable import Models

enum ViTFixture {
    static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/vit/\(relative)").path
    }

    static func tensors(_ relative: String) throws -> [(name: String, tensor: RawTensor)] {
        let f = try SafetensorsFile(path: path(relative))
        return try f.tensorNames.map { ($0, try f.tensor($0)) }
    }

    static func input() throws -> Tensor { Tensor(try tensors("input.safetensors")[0].tensor) }

    /// Recognises and loads `name`'s weights (as `vfw convert` + `vfw verify` do), with an optional rename
    /// of the source keys first.
    static func load(_ name: String, rename: (String) -> String = { $0 }) throws -> (Recognition, AnyModel) {
        let source = try tensors("\(name)/model.safetensors").map { (rename($0.name), $0.tensor) }
        let config = FileManager.default.contents(atPath: path("\(name)/config.json"))
        let r = try ModelZoo.recognise(source.map { ($0.0, $0.1.shape) }, configJSON: config)
        let canonical = try r.canonicalTensors(source)
        let model = try ModelZoo.build(r.model, weights: WeightStore(canonical.map { ($0.name, $0.tensor) }))
        return (r, model)
    }

    /// Runs `model` on the fixture input and compares every tap PyTorch recorded; returns (tap, max |error|).
    static func compare(_ model: AnyModel, with name: String) throws -> [(String, Float)] {
        let expected = try tensors("\(name)/activations.safetensors").map { ($0.name, Tensor($0.tensor)) }
        let taps = TapRecorder(.all)
        _ = model(try input(), taps: taps)
        // The model offers exactly the canonical taps the reference has (names do not depend on the layout).
        #expect(Set(taps.offered) == Set(expected.map(\.0)), "\(name): offered \(taps.offered)")
        var errors: [(String, Float)] = []
        for (tap, want) in expected {
            guard let got = taps.recorded.first(where: { $0.name == tap })?.value else {
                Issue.record("\(name): tap \(tap) not recorded")
                continue
            }
            #expect(got.shape == want.shape, "\(name) \(tap)")
            guard got.shape == want.shape else { continue }
            let err = got.maxAbsDifference(want)
            #expect(err <= 1e-4, "\(name) \(tap): max |Swift − PyTorch| = \(err)")
            errors.append((tap, err))
        }
        print("ViT parity \(name): " + errors.map { "\($0.0) \(String(format: "%.2e", $0.1))" }.joined(separator: ", "))
        return errors
    }
}

@Suite("ViT parity with PyTorch")
struct ViTParityTests {
    @Test("every tap matches PyTorch to 1e-4", arguments: ["hf-model", "hf-classifier", "timm", "torchvision", "torchvision-prelogits"])
    func parity(_ name: String) throws {
        let (_, model) = try ViTFixture.load(name)
        let errors = try ViTFixture.compare(model, with: name)
        #expect(errors.count >= 5)
    }

    @Test("fixtures are recognised as the layouts they were written in")
    func layouts() throws {
        let expect: [(String, String, Bool, Int, Double, Bool)] = [
            // name, source note, has pooler, labels, eps, qkv bias
            ("hf-model", "transformers 4 layout", true, 0, 1e-12, true),
            ("hf-classifier", "transformers 5 layout with 'vit.' prefix", false, 5, 1e-3, false),
            ("timm", "timm layout", false, 5, 1e-6, true),
            ("torchvision", "torchvision layout", false, 5, 1e-6, true),
            ("torchvision-prelogits", "torchvision layout", true, 5, 1e-6, true),
        ]
        for (name, note, pooler, labels, eps, bias) in expect {
            let (r, _) = try ViTFixture.load(name)
            let c = try r.model.config(of: ViT.self)
            #expect(r.notes.first?.hasSuffix(note) == true, "\(name): \(r.notes)")
            #expect(c.hasPooler == pooler && c.numLabels == labels && c.layerNormEps == eps && c.qkvBias == bias, "\(name)")
            #expect(c.hiddenSize == 32 && c.numHeads == 2 && c.imageSize == 32 && c.patchSize == 8, "\(name)")
        }
        let (r, _) = try ViTFixture.load("hf-classifier")
        #expect(try r.model.config(of: ViT.self).id2label?["4"] == "class E")
    }

    @Test("torchvision files from before MLPBlock version 2 (mlp.linear_1 / linear_2) compute the same")
    func torchvisionLegacy() throws {
        let (r, model) = try ViTFixture.load("torchvision") {
            $0.replacingOccurrences(of: ".mlp.0.", with: ".mlp.linear_1.").replacingOccurrences(of: ".mlp.3.", with: ".mlp.linear_2.")
        }
        #expect(r.mapping.contains { $0.source.hasSuffix("mlp.linear_1.weight") })
        _ = try ViTFixture.compare(model, with: "torchvision")
    }

    @Test("through a .vfw file: canonical names, source names with row ranges, same outputs")
    func throughVFW() throws {
        let source = try ViTFixture.tensors("timm/model.safetensors")
        let r = try ModelZoo.recognise(source.map { ($0.name, $0.tensor.shape) },
                                       configJSON: FileManager.default.contents(atPath: ViTFixture.path("timm/config.json")))
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vit-parity-\(UUID().uuidString).vfw").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        try VFWWriter.write(to: out, header: VFWHeader(architecture: r.model.json, preprocessing: r.preprocessing),
                            tensors: try r.canonicalTensors(source).map { VFWTensorSource(name: $0.name, sourceName: $0.source, tensor: $0.tensor) },
                            force: false)
        let f = try VFWFile(path: out)
        #expect(f.entry("encoder.layer.1.attention.attention.key.weight")?.sourceName == "blocks.1.attn.qkv.weight[32:64]")
        #expect(f.entry("encoder.layer.1.attention.attention.key.weight")?.shape == [32, 32])
        let model = try ModelZoo.build(try ModelDescription(json: f.header.architecture!), weights: WeightStore(f.tensorNames.map { ($0, f.tensor($0)!) }))
        _ = try ViTFixture.compare(model, with: "timm")
    }

    @Test("batch 1 gives the rows of batch 2; features are token 0 of the final layernorm, with or without a pooler",
          arguments: ["hf-classifier", "hf-model"])
    func batchAndFeatures(_ name: String) throws {
        let (_, model) = try ViTFixture.load(name)
        let x = try ViTFixture.input()
        let both = model(x)
        let first = model(Tensor.stack([x.item(0)]))
        #expect(first.shape == [1] + both.shape.dropFirst())
        #expect(first.maxAbsDifference(Tensor.stack([both.item(0)])) <= 1e-5)
        let want = Dictionary(uniqueKeysWithValues: try ViTFixture.tensors("\(name)/activations.safetensors").map { ($0.name, Tensor($0.tensor)) })
        let f = model.features(x)
        #expect(f.shape == [2, 32])
        for i in 0..<2 {
            #expect(f.item(i).maxAbsDifference(Tensor(shape: [32], data: Array(want["layernorm"]!.item(i).data.prefix(32)))) <= 1e-4)
        }
        // torchvision layouts run their image_size only; transformers and timm ones any size (ViTSizeTests).
        #expect(model.imageSize == (name.hasPrefix("torchvision") ? 32 : nil))
    }
}
