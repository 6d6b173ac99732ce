// The Swift DINOv2 against real PyTorch (Tests/Fixtures/dinov2, written by tools/make_dinov2_fixtures.py with
// transformers and timm; versions in versions.json): tiny models in each layout, loaded through recognition and the
// canonical mapping as `vfw convert` does, every tap compared to 1e-4 at the native grid and at a larger and a
// smaller one (the position table resampled); the resampling alone against F.interpolate; the canonical key table,
// the recognition of every layout and strict loading.

import Foundation
import Safetensors
import Testing
import TensorCore
@testable import Models

enum DINOv2Fixture {
    static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/dinov2/\(relative)").path
    }

    static func tensors(_ relative: String) throws -> [(name: String, tensor: RawTensor)] {
        let f = try SafetensorsFile(path: path(relative))
        return try f.tensorNames.map { ($0, try f.tensor($0)) }
    }

    static func tensor(_ relative: String, _ name: String) throws -> Tensor {
        Tensor(try tensors(relative).first { $0.name == name }!.tensor)
    }

    static func load(_ name: String, drop: String? = nil) throws -> (Recognition, AnyModel) {
        let source = try tensors("\(name)/model.safetensors").filter { $0.name != drop }
        let config = FileManager.default.contents(atPath: path("\(name)/config.json"))
        let r = try ModelZoo.recognise(source.map { ($0.name, $0.tensor.shape) }, configJSON: config)
        let canonical = try r.canonicalTensors(source)
        return (r, try ModelZoo.build(r.model, weights: WeightStore(canonical.map { ($0.name, $0.tensor) })))
    }
}

@Suite("DINOv2")
struct DINOv2Tests {
    @Test("every tap matches PyTorch to 1e-4, at the native grid and resampled up and down",
          arguments: ["hf", "hf-reg", "timm-reg"], [16, 24, 12])
    func parity(_ name: String, _ size: Int) throws {
        let (_, model) = try DINOv2Fixture.load(name)
        let expected = try DINOv2Fixture.tensors("\(name)/activations-\(size).safetensors")
        let taps = TapRecorder(.all)
        _ = model(try DINOv2Fixture.tensor("input.safetensors", "input-\(size)"), taps: taps)
        #expect(Set(taps.offered) == Set(expected.map(\.name)), "\(name): offered \(taps.offered)")
        for (tap, raw) in expected {
            let want = Tensor(raw)
            guard let got = taps.recorded.first(where: { $0.name == tap })?.value, got.shape == want.shape else {
                Issue.record("\(name) \(size): tap \(tap) missing or mis-shaped")
                continue
            }
            let err = got.maxAbsDifference(want)
            #expect(err <= 1e-4, "\(name) \(size) \(tap): max |Swift − PyTorch| = \(err)")
        }
    }

    @Test("position tables resample as F.interpolate(bicubic, align_corners=False) with and without antialias",
          arguments: ["bicubic-2", "bicubic-3", "bicubic-7", "bicubic-9", "aa-2", "aa-3", "aa-7", "aa-9"])
    func resampling(_ label: String) throws {
        let grid = try DINOv2Fixture.tensor("resample.safetensors", "grid")
        let want = try DINOv2Fixture.tensor("resample.safetensors", label)
        let n = Int(label.split(separator: "-")[1])!
        let mode: PositionResampling = label.hasPrefix("aa") ? .bicubicAntialias : .bicubic
        let got = resamplePositions(Tensor(shape: [25, 3], data: grid.data), from: 5, to: n, n, mode)
        #expect(got.shape == [n * n, 3])
        // Values of N(0, 1) size; the summation order (and FMA contraction in ATen's build) moves the last bits.
        #expect(got.maxAbsDifference(want) <= 1e-5, "\(label): \(got.maxAbsDifference(want))")
        // The other mode is measurably different: the test tells them apart.
        let other = resamplePositions(Tensor(shape: [25, 3], data: grid.data), from: 5, to: n, n, mode == .bicubic ? .bicubicAntialias : .bicubic)
        #expect(other.maxAbsDifference(want) > 1e-3, "\(label): both modes agree")
    }

    @Test("fixtures are recognised as their layouts, with the library's resampling")
    func layouts() throws {
        let (hf, _) = try DINOv2Fixture.load("hf")
        #expect(hf.notes.first == "Hugging Face transformers 4 layout")
        #expect(hf.dropped == ["embeddings.mask_token"])
        let c = try hf.model.config(of: DINOv2.self)
        #expect(c.positionResampling == .bicubic && c.numRegisterTokens == 0 && c.classPositionEmbedding && c.imageSize == 16)

        let (reg, _) = try DINOv2Fixture.load("hf-reg")
        #expect(reg.notes.first == "Hugging Face transformers 4 layout with 'dinov2_with_registers.' prefix")
        let rc = try reg.model.config(of: DINOv2.self)
        #expect(rc.positionResampling == .bicubicAntialias && rc.numRegisterTokens == 2 && rc.numLabels == 3 && rc.classifierPatchMean)
        #expect(reg.mapping.contains { $0.canonical == "classifier.weight" && $0.source == "classifier.weight" })

        let (timm, _) = try DINOv2Fixture.load("timm-reg")
        #expect(timm.notes.first == "timm layout")
        let tc = try timm.model.config(of: DINOv2.self)
        #expect(tc.positionResampling == .bicubicAntialias && !tc.classPositionEmbedding && !tc.classifierPatchMean && tc.numHeads == 2)
        #expect(timm.mapping.contains { $0.canonical == "encoder.layer.1.attention.attention.key.weight" && $0.source == "blocks.1.attn.qkv.weight" && $0.rows == 32..<64 })
        #expect(timm.mapping.contains { $0.canonical == "embeddings.register_tokens" && $0.source == "reg_token" })
    }

    @Test("the canonical keys of a layer are Hugging Face's Hub names")
    func keyTable() throws {
        var c = DINOv2Config(hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16, registers: 4)
        c.patchSize = 2
        c.imageSize = 4
        let names = try ModelZoo.synthesise(ModelDescription(DINOv2.self, c), seed: 1).map(\.name)
        #expect(names == [
            "embeddings.cls_token", "embeddings.register_tokens", "embeddings.position_embeddings",
            "embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.bias",
            "encoder.layer.0.norm1.weight", "encoder.layer.0.norm1.bias",
            "encoder.layer.0.attention.attention.query.weight", "encoder.layer.0.attention.attention.query.bias",
            "encoder.layer.0.attention.attention.key.weight", "encoder.layer.0.attention.attention.key.bias",
            "encoder.layer.0.attention.attention.value.weight", "encoder.layer.0.attention.attention.value.bias",
            "encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.dense.bias",
            "encoder.layer.0.layer_scale1.lambda1", "encoder.layer.0.norm2.weight", "encoder.layer.0.norm2.bias",
            "encoder.layer.0.mlp.fc1.weight", "encoder.layer.0.mlp.fc1.bias", "encoder.layer.0.mlp.fc2.weight",
            "encoder.layer.0.mlp.fc2.bias", "encoder.layer.0.layer_scale2.lambda1", "layernorm.weight", "layernorm.bias",
        ])
        // Synthetic Hugging Face state_dicts carry the mask token Dinov2Model always has, as zeros.
        let framework = DINOv2.frameworkStateDict(try ModelZoo.synthesise(ModelDescription(DINOv2.self, c), seed: 1))
        #expect(framework[1].name == "embeddings.mask_token" && framework[1].tensor.shape == [1, 8])
    }

    @Test("a checkpoint missing a tensor is refused, naming it")
    func missing() throws {
        #expect {
            _ = try DINOv2Fixture.load("hf", drop: "encoder.layer.1.layer_scale2.lambda1")
        } throws: { "\($0)".contains("encoder.layer.1.layer_scale2.lambda1") }
    }

    @Test("a checkpoint with a tensor DINOv2 does not use is refused at recognition, naming it")
    func unused() throws {
        let shapes = try DINOv2Fixture.tensors("timm-reg/model.safetensors").map { ($0.name, $0.tensor.shape) } + [("fc_norm.weight", [32])]
        #expect {
            _ = try ModelZoo.recognise(shapes)
        } throws: { "\($0)".contains("fc_norm.weight") && "\($0)".contains("not supported") }
    }

    @Test("features are the CLS token of the final norm; the patch mean excludes the registers")
    func features() throws {
        let (_, model) = try DINOv2Fixture.load("hf-reg")
        let x = try DINOv2Fixture.tensor("input.safetensors", "input-24")
        let norm = try DINOv2Fixture.tensor("hf-reg/activations-24.safetensors", "layernorm")  // [2, 1 + 2 + 36, 32]
        let f = model.features(x)
        #expect(f.shape == [2, 32])
        #expect(f.maxAbsDifference(token(norm, 0)) <= 1e-4)
        let dino = try #require(model.network as? DINOv2)
        #expect(dino.patchTokenMean(x).maxAbsDifference(tokenMean(norm, from: 3)) <= 1e-4)
    }
}
