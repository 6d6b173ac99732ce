// The distilled DeiT family: recognition of every layout from key/shape lists (the ViT lists of
// ViTRecognitionTests plus DeiT's distillation token and heads, as transformers' DeiTForImageClassificationWithTeacher
// and timm's VisionTransformerDistilled state_dicts hold them), the canonical key table, strict loading, and the
// averaged heads. Parity with the real libraries is the parity job's (tools/parity.d/37-deit.sh, five layouts) and
// Reference/deit-tiny-distilled-patch16-224's.

import Foundation
import Testing
import TensorCore
@testable import Models

enum DeiTKeys {
    static let d = ViTKeys.Dims(e: 64, layers: 2, mlp: 128, patch: 8, image: 32)

    /// A ViT key list turned into DeiT's: the distillation token beside the class token, one more position.
    static func deit(_ vit: [(name: String, shape: [Int])], cls: String, dist: String, pos: String) -> [(name: String, shape: [Int])] {
        var out: [(name: String, shape: [Int])] = []
        for (n, s) in vit {
            if n == pos { out.append((n, [1, s[1] + 1, s[2]])) } else { out.append((n, s)) }
            if n == cls { out.append((dist, s)) }
        }
        return out
    }

    static func hf4Teacher(prefix: String = "deit.", labels: Int = 5) -> [(name: String, shape: [Int])] {
        deit(ViTKeys.hf4(d, prefix: prefix), cls: prefix + "embeddings.cls_token", dist: prefix + "embeddings.distillation_token",
             pos: prefix + "embeddings.position_embeddings")
            + [("cls_classifier.weight", [labels, d.e]), ("cls_classifier.bias", [labels]),
               ("distillation_classifier.weight", [labels, d.e]), ("distillation_classifier.bias", [labels])]
    }

    static func timm(labels: Int = 5) -> [(name: String, shape: [Int])] {
        deit(ViTKeys.timm(d, labels: labels), cls: "cls_token", dist: "dist_token", pos: "pos_embed")
            + (labels > 0 ? [("head_dist.weight", [labels, d.e]), ("head_dist.bias", [labels])] : [])
    }
}

@Suite("DeiT")
struct DeiTTests {
    func source(_ r: Recognition, _ canonical: String) -> Recognition.Entry? { r.mapping.first { $0.canonical == canonical } }

    @Test("transformers 4 DeiTForImageClassificationWithTeacher: `deit.` stripped, the two heads averaged")
    func hf4Teacher() throws {
        let r = try ModelZoo.recognise(DeiTKeys.hf4Teacher())
        #expect(r.model.family == "deit" && r.notes.first == "Hugging Face transformers 4 layout with 'deit.' prefix")
        let c = try r.model.config(of: DeiT.self)
        #expect(c.head == .averaged && c.numLabels == 5 && c.layerNormEps == 1e-12 && c.tokens == 18)
        #expect(source(r, "embeddings.distillation_token")?.source == "deit.embeddings.distillation_token")
        #expect(source(r, "distillation_classifier.weight")?.source == "distillation_classifier.weight")
    }

    @Test("transformers 5 names and DeiTModel with its pooler")
    func hf5Model() throws {
        let keys = DeiTKeys.deit(ViTKeys.hf5(DeiTKeys.d, pooler: true), cls: "embeddings.cls_token",
                                 dist: "embeddings.distillation_token", pos: "embeddings.position_embeddings")
        let r = try ModelZoo.recognise(keys)
        let c = try r.model.config(of: DeiT.self)
        #expect(c.head == DeiTConfig.Head.none && c.hasPooler && r.notes.first == "Hugging Face transformers 5 layout")
        #expect(source(r, "encoder.layer.1.attention.attention.query.weight")?.source == "layers.1.attention.q_proj.weight")
    }

    @Test("timm VisionTransformerDistilled: fused qkv split, head → cls_classifier, head_dist → distillation_classifier, eps 1e-6")
    func timm() throws {
        let r = try ModelZoo.recognise(DeiTKeys.timm())
        let c = try r.model.config(of: DeiT.self)
        #expect(c.head == .averaged && c.layerNormEps == 1e-6 && r.notes.first == "timm layout")
        #expect(source(r, "encoder.layer.0.attention.attention.value.weight").map { $0.source == "blocks.0.attn.qkv.weight" && $0.rows == 128..<192 } == true)
        #expect(source(r, "cls_classifier.weight")?.source == "head.weight")
        #expect(source(r, "distillation_classifier.weight")?.source == "head_dist.weight")
        // Without a distillation token timm's DeiT is a plain ViT, and the ViT family reads it.
        #expect(try ModelZoo.recognise(ViTKeys.timm(DeiTKeys.d, labels: 5)).model.family == "vit")
    }

    @Test("a tensor DeiT does not use is named at recognition; a missing one at the build")
    func strict() throws {
        #expect { _ = try ModelZoo.recognise(DeiTKeys.timm() + [("fc_norm.weight", [64])]) } throws: { "\($0)".contains("fc_norm.weight") }
        let r = try ModelZoo.recognise(DeiTKeys.timm())
        let tensors = try ModelZoo.synthesise(r.model, seed: 3).filter { $0.name != "distillation_classifier.bias" }
        #expect { _ = try ModelZoo.build(r.model, weights: WeightStore(tensors)) } throws: { "\($0)".contains("distillation_classifier.bias") }
    }

    @Test("deit-tiny-distilled-patch16-224's canonical keys: transformers-4 names, both heads")
    func keyTable() throws {
        let d = try ModelZoo.description(named: "deit-tiny-distilled-patch16-224")
        let names = try ModelZoo.synthesise(d, seed: 0).map(\.name)
        #expect(names.count == 5 + 12 * 16 + 2 + 4)  // tokens, positions, patch conv; 12 layers; layernorm; two heads
        #expect(Array(names.prefix(3)) == ["embeddings.cls_token", "embeddings.distillation_token", "embeddings.position_embeddings"])
        #expect(Array(names.suffix(4)) == ["cls_classifier.weight", "cls_classifier.bias", "distillation_classifier.weight", "distillation_classifier.bias"])
    }

    @Test("the output is the mean of the two heads' taps; the feature the mean of tokens 0 and 1 after the norm")
    func averaged() throws {
        let r = try ModelZoo.recognise(DeiTKeys.timm())
        let model = try ModelZoo.build(r.model, weights: WeightStore(try ModelZoo.synthesise(r.model, seed: 5)))
        var g = SplitMix64(seed: 9)
        let x = g.tensor(shape: [2, 3, 32, 32], .normal(std: 1))
        let taps = TapRecorder(.all)
        let y = model(x, taps: taps)
        func tap(_ n: String) -> Tensor { taps.recorded.first { $0.name == n }!.value }
        let a = tap("cls_classifier"), b = tap("distillation_classifier")
        #expect(y.shape == [2, 5])
        #expect(y.data == zip(a.data, b.data).map { ($0 + $1) * 0.5 })
        let norm = tap("layernorm")
        #expect(model.features(x).data == zip(token(norm, 0).data, token(norm, 1).data).map { ($0 + $1) * 0.5 })
    }
}
