// The ViT family's checkpoint layouts: recognition from key/shape lists written here by hand from each
// library's state_dict (transformers 4 and 5, with and without `vit.`, timm, torchvision old and new MLP
// names), config.json handling, the canonical key table pinned, and strict loading errors.

import Foundation
import Testing
import TensorCore
import VFWFormat
@testable import Models

/// Source key lists, written from the libraries' state_dicts (see /work/shared/research/models.md §3).
enum ViTKeys {
    struct Dims {
        var e = 768, layers = 12, mlp = 3072, patch = 16, image = 224, channels = 3
        var tokens: Int { (image / patch) * (image / patch) + 1 }
    }

    static func hf4(_ d: Dims, prefix: String = "", pooler: Bool = false, labels: Int = 0, qkvBias: Bool = true) -> [(name: String, shape: [Int])] {
        var k: [(String, [Int])] = [
            ("embeddings.cls_token", [1, 1, d.e]), ("embeddings.position_embeddings", [1, d.tokens, d.e]),
            ("embeddings.patch_embeddings.projection.weight", [d.e, d.channels, d.patch, d.patch]),
            ("embeddings.patch_embeddings.projection.bias", [d.e]),
        ]
        for i in 0..<d.layers {
            let l = "encoder.layer.\(i)."
            for q in ["query", "key", "value"] {
                k.append((l + "attention.attention.\(q).weight", [d.e, d.e]))
                if qkvBias { k.append((l + "attention.attention.\(q).bias", [d.e])) }
            }
            k += [(l + "attention.output.dense.weight", [d.e, d.e]), (l + "attention.output.dense.bias", [d.e]),
                  (l + "intermediate.dense.weight", [d.mlp, d.e]), (l + "intermediate.dense.bias", [d.mlp]),
                  (l + "output.dense.weight", [d.e, d.mlp]), (l + "output.dense.bias", [d.e]),
                  (l + "layernorm_before.weight", [d.e]), (l + "layernorm_before.bias", [d.e]),
                  (l + "layernorm_after.weight", [d.e]), (l + "layernorm_after.bias", [d.e])]
        }
        k += [("layernorm.weight", [d.e]), ("layernorm.bias", [d.e])]
        if pooler { k += [("pooler.dense.weight", [d.e, d.e]), ("pooler.dense.bias", [d.e])] }
        var out = k.map { (prefix + $0.0, $0.1) }
        if labels > 0 { out += [("classifier.weight", [labels, d.e]), ("classifier.bias", [labels])] }
        return out
    }

    /// transformers 5's in-memory names (what torch.save(model.state_dict()) writes under transformers 5).
    static func hf5(_ d: Dims, prefix: String = "", pooler: Bool = false, labels: Int = 0) -> [(name: String, shape: [Int])] {
        var k: [(String, [Int])] = [
            ("embeddings.cls_token", [1, 1, d.e]), ("embeddings.position_embeddings", [1, d.tokens, d.e]),
            ("embeddings.patch_embeddings.projection.weight", [d.e, d.channels, d.patch, d.patch]),
            ("embeddings.patch_embeddings.projection.bias", [d.e]),
        ]
        for i in 0..<d.layers {
            let l = "layers.\(i)."
            for q in ["q", "k", "v", "o"] {
                k += [(l + "attention.\(q)_proj.weight", [d.e, d.e]), (l + "attention.\(q)_proj.bias", [d.e])]
            }
            k += [(l + "layernorm_before.weight", [d.e]), (l + "layernorm_before.bias", [d.e]),
                  (l + "layernorm_after.weight", [d.e]), (l + "layernorm_after.bias", [d.e]),
                  (l + "mlp.fc1.weight", [d.mlp, d.e]), (l + "mlp.fc1.bias", [d.mlp]),
                  (l + "mlp.fc2.weight", [d.e, d.mlp]), (l + "mlp.fc2.bias", [d.e])]
        }
        k += [("layernorm.weight", [d.e]), ("layernorm.bias", [d.e])]
        if pooler { k += [("pooler.dense.weight", [d.e, d.e]), ("pooler.dense.bias", [d.e])] }
        var out = k.map { (prefix + $0.0, $0.1) }
        if labels > 0 { out += [("classifier.weight", [labels, d.e]), ("classifier.bias", [labels])] }
        return out
    }

    static func timm(_ d: Dims, labels: Int = 1000, qkvBias: Bool = true) -> [(name: String, shape: [Int])] {
        var k: [(String, [Int])] = [
            ("cls_token", [1, 1, d.e]), ("pos_embed", [1, d.tokens, d.e]),
            ("patch_embed.proj.weight", [d.e, d.channels, d.patch, d.patch]), ("patch_embed.proj.bias", [d.e]),
        ]
        for i in 0..<d.layers {
            let b = "blocks.\(i)."
            k += [(b + "norm1.weight", [d.e]), (b + "norm1.bias", [d.e]), (b + "attn.qkv.weight", [3 * d.e, d.e])]
            if qkvBias { k.append((b + "attn.qkv.bias", [3 * d.e])) }
            k += [(b + "attn.proj.weight", [d.e, d.e]), (b + "attn.proj.bias", [d.e]),
                  (b + "norm2.weight", [d.e]), (b + "norm2.bias", [d.e]),
                  (b + "mlp.fc1.weight", [d.mlp, d.e]), (b + "mlp.fc1.bias", [d.mlp]),
                  (b + "mlp.fc2.weight", [d.e, d.mlp]), (b + "mlp.fc2.bias", [d.e])]
        }
        k += [("norm.weight", [d.e]), ("norm.bias", [d.e])]
        if labels > 0 { k += [("head.weight", [labels, d.e]), ("head.bias", [labels])] }
        return k
    }

    static func torchvision(_ d: Dims, labels: Int = 1000, legacyMLP: Bool = false, representation: Int? = nil) -> [(name: String, shape: [Int])] {
        var k: [(String, [Int])] = [
            ("class_token", [1, 1, d.e]), ("conv_proj.weight", [d.e, d.channels, d.patch, d.patch]), ("conv_proj.bias", [d.e]),
            ("encoder.pos_embedding", [1, d.tokens, d.e]),
        ]
        let (m1, m2) = legacyMLP ? ("mlp.linear_1", "mlp.linear_2") : ("mlp.0", "mlp.3")
        for i in 0..<d.layers {
            let l = "encoder.layers.encoder_layer_\(i)."
            k += [(l + "ln_1.weight", [d.e]), (l + "ln_1.bias", [d.e]),
                  (l + "self_attention.in_proj_weight", [3 * d.e, d.e]), (l + "self_attention.in_proj_bias", [3 * d.e]),
                  (l + "self_attention.out_proj.weight", [d.e, d.e]), (l + "self_attention.out_proj.bias", [d.e]),
                  (l + "ln_2.weight", [d.e]), (l + "ln_2.bias", [d.e]),
                  (l + "\(m1).weight", [d.mlp, d.e]), (l + "\(m1).bias", [d.mlp]),
                  (l + "\(m2).weight", [d.e, d.mlp]), (l + "\(m2).bias", [d.e])]
        }
        k += [("encoder.ln.weight", [d.e]), ("encoder.ln.bias", [d.e])]
        if let r = representation {
            k += [("heads.pre_logits.weight", [r, d.e]), ("heads.pre_logits.bias", [r]),
                  ("heads.head.weight", [labels, r]), ("heads.head.bias", [labels])]
        } else {
            k += [("heads.head.weight", [labels, d.e]), ("heads.head.bias", [labels])]
        }
        return k
    }

    static func json(_ o: [String: Any]) -> Data { try! JSONSerialization.data(withJSONObject: o) }
}

@Suite("ViT recognition")
struct ViTRecognitionTests {
    typealias Dims = ViTKeys.Dims

    func source(_ r: Recognition, _ canonical: String) -> Recognition.Entry? { r.mapping.first { $0.canonical == canonical } }

    @Test("transformers 4 ViTModel (in21k): pooler, no classifier, identity mapping")
    func hf4Model() throws {
        let keys = ViTKeys.hf4(Dims(), pooler: true)
        #expect(keys.count == 200)
        let r = try ModelZoo.recognise(keys)
        #expect(r.model.name == "vit-base-patch16-224")
        #expect(r.model.family == "vit")
        let c = try r.model.config(of: ViT.self)
        #expect(c == ViTConfig.named("vit-base"))
        #expect(c.numHeads == 12 && c.layerNormEps == 1e-12 && c.hasPooler && c.numLabels == 0 && c.qkvBias)
        #expect(r.mapping.count == 200)
        #expect(r.mapping.allSatisfy { $0.canonical == $0.source && $0.rows == nil })
        #expect(r.preprocessing == "hf-vit")
    }

    @Test("transformers 4 ViTForImageClassification: `vit.` prefix stripped, classifier unprefixed")
    func hf4Classifier() throws {
        let r = try ModelZoo.recognise(ViTKeys.hf4(Dims(), prefix: "vit.", labels: 1000))
        #expect(r.model.name == "vit-base-patch16-224")
        #expect(try r.model.config(of: ViT.self) == ViTConfig.named("vit-base-patch16-224"))
        #expect(source(r, "encoder.layer.11.attention.attention.value.bias")?.source == "vit.encoder.layer.11.attention.attention.value.bias")
        #expect(source(r, "classifier.weight")?.source == "classifier.weight")
        #expect(r.mapping.count == 200)
        #expect(!r.mapping.contains { $0.canonical.hasPrefix("vit.") })
    }

    @Test("transformers 5 names, with and without `vit.`", arguments: ["", "vit."])
    func hf5(_ prefix: String) throws {
        let r = try ModelZoo.recognise(ViTKeys.hf5(Dims(), prefix: prefix, pooler: prefix.isEmpty, labels: prefix.isEmpty ? 0 : 10))
        let c = try r.model.config(of: ViT.self)
        #expect(c.hasPooler == prefix.isEmpty && c.numLabels == (prefix.isEmpty ? 0 : 10))
        #expect(source(r, "encoder.layer.3.attention.attention.query.weight")?.source == prefix + "layers.3.attention.q_proj.weight")
        #expect(source(r, "encoder.layer.3.attention.attention.key.bias")?.source == prefix + "layers.3.attention.k_proj.bias")
        #expect(source(r, "encoder.layer.3.attention.output.dense.weight")?.source == prefix + "layers.3.attention.o_proj.weight")
        #expect(source(r, "encoder.layer.3.intermediate.dense.weight")?.source == prefix + "layers.3.mlp.fc1.weight")
        #expect(source(r, "encoder.layer.3.output.dense.bias")?.source == prefix + "layers.3.mlp.fc2.bias")
        #expect(source(r, "embeddings.cls_token")?.source == prefix + "embeddings.cls_token")
        #expect(r.mapping.count == 200)
        // The same canonical names as from transformers 4 names.
        let r4 = try ModelZoo.recognise(ViTKeys.hf4(Dims(), prefix: prefix, pooler: prefix.isEmpty, labels: prefix.isEmpty ? 0 : 10))
        #expect(Set(r.mapping.map(\.canonical)) == Set(r4.mapping.map(\.canonical)))
        #expect(r.model == r4.model)
    }

    @Test("timm: fused qkv split into row blocks, eps 1e-6, head → classifier")
    func timm() throws {
        let r = try ModelZoo.recognise(ViTKeys.timm(Dims()))
        let c = try r.model.config(of: ViT.self)
        #expect(r.model.name == "vit-base-patch16-224")
        #expect(c.layerNormEps == 1e-6 && c.numLabels == 1000 && !c.hasPooler && c.qkvBias)
        #expect(source(r, "encoder.layer.0.attention.attention.query.weight") == .init("encoder.layer.0.attention.attention.query.weight", "blocks.0.attn.qkv.weight", rows: 0..<768))
        #expect(source(r, "encoder.layer.0.attention.attention.key.weight")?.rows == 768..<1536)
        #expect(source(r, "encoder.layer.0.attention.attention.value.bias") == .init("encoder.layer.0.attention.attention.value.bias", "blocks.0.attn.qkv.bias", rows: 1536..<2304))
        #expect(source(r, "encoder.layer.0.attention.attention.value.bias")?.sourceDescription == "blocks.0.attn.qkv.bias[1536:2304]")
        #expect(source(r, "layernorm.weight")?.source == "norm.weight")
        #expect(source(r, "classifier.bias")?.source == "head.bias")
        #expect(r.mapping.count == 200)
    }

    @Test("timm without qkv bias and without head")
    func timmNoBias() throws {
        let r = try ModelZoo.recognise(ViTKeys.timm(Dims(e: 384, mlp: 1536), labels: 0, qkvBias: false))
        let c = try r.model.config(of: ViT.self)
        #expect(r.model.name == "vit-small-patch16-224")
        #expect(c.numHeads == 6 && !c.qkvBias && c.numLabels == 0)
        #expect(source(r, "encoder.layer.0.attention.attention.query.bias") == nil)
    }

    @Test("torchvision, new and legacy MLP names", arguments: [false, true])
    func torchvision(_ legacy: Bool) throws {
        let r = try ModelZoo.recognise(ViTKeys.torchvision(Dims(e: 1024, layers: 24, mlp: 4096, patch: 32), legacyMLP: legacy))
        let c = try r.model.config(of: ViT.self)
        #expect(r.model.name == "vit-large-patch32-224")
        #expect(c.numHeads == 16 && c.layerNormEps == 1e-6 && c.numLabels == 1000 && c.imageSize == 224)
        #expect(source(r, "encoder.layer.23.attention.attention.key.weight")
                == .init("encoder.layer.23.attention.attention.key.weight", "encoder.layers.encoder_layer_23.self_attention.in_proj_weight", rows: 1024..<2048))
        #expect(source(r, "encoder.layer.5.intermediate.dense.weight")?.source == "encoder.layers.encoder_layer_5.\(legacy ? "mlp.linear_1" : "mlp.0").weight")
        #expect(source(r, "encoder.layer.5.output.dense.bias")?.source == "encoder.layers.encoder_layer_5.\(legacy ? "mlp.linear_2" : "mlp.3").bias")
        #expect(source(r, "embeddings.position_embeddings")?.source == "encoder.pos_embedding")
        #expect(source(r, "layernorm.bias")?.source == "encoder.ln.bias")
        #expect(source(r, "classifier.weight")?.source == "heads.head.weight")
        #expect(r.mapping.count == 4 + 16 * 24 + 4)
        #expect(r.preprocessing == "torchvision")
    }

    @Test("torchvision representation_size: heads.pre_logits is the pooler, the classifier reads it")
    func torchvisionPreLogits() throws {
        let r = try ModelZoo.recognise(ViTKeys.torchvision(Dims(), labels: 10, representation: 512))
        let c = try r.model.config(of: ViT.self)
        #expect(c.hasPooler && c.poolerSize == 512 && c.numLabels == 10 && c.featureCount == 512)
        #expect(source(r, "pooler.dense.weight")?.source == "heads.pre_logits.weight")
    }

    @Test("the huge size has 16 heads of 80, patch 14")
    func huge() throws {
        let r = try ModelZoo.recognise(ViTKeys.hf4(Dims(e: 1280, layers: 32, mlp: 5120, patch: 14), pooler: true))
        let c = try r.model.config(of: ViT.self)
        #expect(r.model.name == "vit-huge-patch14-224" && c.numHeads == 16 && c.headDim == 80)
    }

    @Test("config.json: heads, eps, image size, labels (transformers and timm forms)")
    func configJSON() throws {
        let d = Dims(e: 32, layers: 2, mlp: 64, patch: 8, image: 32)
        // A 32-wide model's heads cannot be inferred.
        #expect(throws: ModelError.self) { try ModelZoo.recognise(ViTKeys.hf4(d, labels: 3)) }
        let hf = ViTKeys.json(["num_attention_heads": 2, "layer_norm_eps": 1e-5, "image_size": 32, "hidden_size": 32,
                               "id2label": ["0": "cat", "1": "dog", "2": "bird"], "hidden_act": "gelu"])
        var c = try try ModelZoo.recognise(ViTKeys.hf4(d, labels: 3), configJSON: hf).model.config(of: ViT.self)
        #expect(c.numHeads == 2 && c.layerNormEps == 1e-5 && c.id2label == ["0": "cat", "1": "dog", "2": "bird"])
        #expect(c.name == "vit-custom")
        // timm's hub config: model_args.num_heads and label_names; eps stays timm's.
        let timm = ViTKeys.json(["architecture": "vit_custom", "global_pool": "token", "model_args": ["num_heads": 4],
                                 "label_names": ["a", "b", "c"], "layer_norm_eps": 0.5])
        c = try try ModelZoo.recognise(ViTKeys.timm(d, labels: 3), configJSON: timm).model.config(of: ViT.self)
        #expect(c.numHeads == 4 && c.layerNormEps == 1e-6 && c.id2label?["2"] == "c")
        // An HF image_size that is not a multiple of the patch: the conv floors, the grid must agree.
        c = try try ModelZoo.recognise(ViTKeys.hf4(d), configJSON: ViTKeys.json(["num_attention_heads": 2, "image_size": 39])).model.config(of: ViT.self)
        #expect(c.imageSize == 39 && c.gridSize == 4)
    }

    @Test("config.json that contradicts the tensors or asks for other math is refused", arguments: [
        #"{"num_attention_heads": 2, "hidden_size": 64}"#,
        #"{"num_attention_heads": 2, "num_hidden_layers": 3}"#,
        #"{"num_attention_heads": 2, "hidden_act": "gelu_new"}"#,
        #"{"num_attention_heads": 3}"#,
        #"{"num_attention_heads": 2, "image_size": 48}"#,
        #"{"num_attention_heads": 2, "image_size": [32, 40]}"#,
        #"{"num_attention_heads": 2, "global_pool": "avg"}"#,
        #"[2]"#,
    ])
    func configRefused(_ json: String) throws {
        let d = Dims(e: 32, layers: 2, mlp: 64, patch: 8, image: 32)
        #expect(throws: ModelError.self) { try ModelZoo.recognise(ViTKeys.hf4(d), configJSON: Data(json.utf8)) }
    }

    @Test("unknown tensors fail recognition (convert must not drop them); mask_token is dropped with a note")
    func leftovers() throws {
        var keys = ViTKeys.timm(Dims())
        keys += [("fc_norm.weight", [768]), ("fc_norm.bias", [768])]
        #expect {
            try ModelZoo.recognise(keys)
        } throws: { e in
            "\(e)".contains("fc_norm.weight") && "\(e)".contains("global_pool='avg'")
        }
        let r = try ModelZoo.recognise(ViTKeys.hf4(Dims(), pooler: true) + [("embeddings.mask_token", [1, 1, 768])])
        #expect(r.dropped == ["embeddings.mask_token"])
        #expect(r.notes.contains { $0.contains("mask_token") })
        #expect(!r.mapping.contains { $0.source == "embeddings.mask_token" })
    }

    @Test("a fused qkv whose rows are not 3·E is reported by name")
    func badQKV() throws {
        var keys = ViTKeys.timm(Dims())
        keys[keys.firstIndex { $0.name == "blocks.4.attn.qkv.weight" }!].shape = [2305, 768]
        #expect { try ModelZoo.recognise(keys) } throws: { "\($0)".contains("blocks.4.attn.qkv.weight") }
    }

    @Test("--arch: the name gives the structure, the checkpoint its head and eps")
    func arch() throws {
        let r = try ModelZoo.recognise(ViTKeys.timm(Dims()), arch: "vit-base-patch16-224")
        let c = try r.model.config(of: ViT.self)
        #expect(c.layerNormEps == 1e-6 && c.numLabels == 1000 && c.numHeads == 12)
        #expect(throws: ModelError.self) { try ModelZoo.recognise(ViTKeys.timm(Dims()), arch: "vit-large-patch16-224") }
        #expect(throws: ModelError.self) { try ModelZoo.recognise(ViTKeys.timm(Dims()), arch: "vit-base-patch32-224") }
        #expect(throws: ModelError.self) { try ModelZoo.recognise(ViTKeys.timm(Dims()), arch: "resnet50") }
    }

    @Test("names: presets, the vit-base alias, any vit-{size}-patch{P}-{S}")
    func names() throws {
        for n in ViTConfig.presetNames {
            #expect(ModelZoo.knownNames.contains(n))
            let a = try ModelZoo.description(named: n)
            #expect(a.family == "vit")
            #expect(try a.config(of: ViT.self) == ViTConfig.named(n))
        }
        let base = try ModelZoo.description(named: "vit-base").config(of: ViT.self)
        #expect(base.hasPooler && base.numLabels == 0 && base.layerNormEps == 1e-12 && base.hiddenSize == 768)
        let withHead = try ModelZoo.description(named: "vit-base", numClasses: 10).config(of: ViT.self)
        #expect(!withHead.hasPooler && withHead.numLabels == 10)
        #expect(ViTConfig.named("vit-base-patch16-384")?.tokens == 577)
        #expect(ViTConfig.named("vit-base-patch16-100") == nil)
        #expect(ViTConfig.named("vit-medium-patch16-224") == nil)
        #expect(throws: ModelError.self) { try ModelZoo.description(named: "vit-giant-patch14-224") }
    }

    @Test("a ResNet is still a ResNet")
    func resnetUntouched() throws {
        let r = try ModelZoo.recognise(try ModelZoo.synthesise(try ModelZoo.description(named: "resnet18"), seed: 0).map { ($0.name, $0.tensor.shape) })
        #expect(r.model.family == "resnet")
    }
}

@Suite("ViT key table and strict loading")
struct ViTLoadingTests {
    static let tinyConfig = ViTConfig(hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, patchSize: 8, imageSize: 32,
                                      numLabels: 5, hasPooler: false)
    static var tiny: ModelDescription { ModelDescription(ViT.self, tinyConfig) }

    @Test("vit-base's canonical key table: 200 tensors, transformers-4 names and shapes")
    func baseTable() throws {
        // vit-tiny has vit-base's key structure at 1/15 of the weights, so it is cheap to synthesise in a
        // debug build; the shapes at base width are checked through recognition's shape reading below.
        let t = try ModelZoo.synthesise(try ModelZoo.description(named: "vit-tiny-patch16-224"), seed: 1)
        #expect(t.count == 200)
        let hf = ViTKeys.hf4(Dims(e: 192, mlp: 768), labels: 1000)
        #expect(t.map(\.name) .sorted() == hf.map(\.name).sorted())
        let shapes = Dictionary(uniqueKeysWithValues: t.map { ($0.name, $0.tensor.shape) })
        for (name, shape) in hf { #expect(shapes[name] == shape, "\(name)") }
        #expect(t.first?.name == "embeddings.cls_token")
        #expect(t.last?.name == "classifier.bias")
        // vit-base (= in21k): the key list transformers writes, recognised as exactly the vit-base architecture.
        let base = ViTKeys.hf4(Dims(), pooler: true)
        let r = try ModelZoo.recognise(base)
        #expect(r.model.config == (try ModelZoo.description(named: "vit-base")).config)
        #expect(r.model.name == "vit-base-patch16-224")
        let b = Dictionary(uniqueKeysWithValues: base.map { ($0.name, $0.shape) })
        #expect(b["embeddings.position_embeddings"] == [1, 197, 768])
        #expect(b["encoder.layer.11.intermediate.dense.weight"] == [3072, 768])
        #expect(b["embeddings.patch_embeddings.projection.weight"] == [768, 3, 16, 16])
    }
    typealias Dims = ViTKeys.Dims

    @Test("every layout maps onto exactly the tensors the model asks for", arguments: ["hf4", "hf5", "timm", "torchvision", "torchvision-legacy"])
    func layoutsCoverModel(_ layout: String) throws {
        let d = Dims(e: 32, layers: 2, mlp: 64, patch: 8, image: 32)
        let keys: [(name: String, shape: [Int])]
        switch layout {
        case "hf4": keys = ViTKeys.hf4(d, prefix: "vit.", labels: 5)
        case "hf5": keys = ViTKeys.hf5(d, prefix: "vit.", labels: 5)
        case "timm": keys = ViTKeys.timm(d, labels: 5)
        case "torchvision": keys = ViTKeys.torchvision(d, labels: 5)
        default: keys = ViTKeys.torchvision(d, labels: 5, legacyMLP: true)
        }
        let r = try ModelZoo.recognise(keys, configJSON: ViTKeys.json(["num_attention_heads": 2]))
        let synth = try ModelZoo.synthesise(r.model, seed: 0)
        #expect(r.mapping.map(\.canonical) == synth.map(\.name), "mapping follows the model's order")
        // Each mapped shape is the shape the model asks for.
        let byName = Dictionary(keys.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        for (e, s) in zip(r.mapping, synth) {
            var shape = byName[e.source]!
            if let rows = e.rows { shape[0] = rows.count }
            #expect(shape == s.tensor.shape, "\(e.canonical)")
        }
    }

    func store(_ edit: (inout [(name: String, tensor: RawTensor)]) -> Void) throws -> WeightStore {
        var t = try ModelZoo.synthesise(Self.tiny, seed: 2)
        edit(&t)
        return WeightStore(t)
    }

    @Test("a missing tensor is named with its expected shape")
    func missing() throws {
        let s = try store { $0.removeAll { $0.name == "encoder.layer.1.attention.attention.key.weight" } }
        #expect(throws: ModelError.missingTensor(key: "encoder.layer.1.attention.attention.key.weight", expectedShape: [32, 32])) {
            try ModelZoo.build(Self.tiny, weights: s)
        }
    }

    @Test("a mis-shaped tensor is named with both shapes")
    func misShaped() throws {
        let s = try store { t in
            let i = t.firstIndex { $0.name == "encoder.layer.0.intermediate.dense.weight" }!
            t[i].tensor = .float32([Float](repeating: 0, count: 48 * 32), shape: [48, 32])
        }
        #expect {
            try ModelZoo.build(Self.tiny, weights: s)
        } throws: { e in
            e as? ModelError == .shapeMismatch(key: "encoder.layer.0.intermediate.dense.weight", expected: [64, 32], actual: [48, 32])
                && "\(e)".contains("[48, 32]") && "\(e)".contains("[64, 32]")
        }
    }

    @Test("an unused tensor is named")
    func unused() throws {
        let s = try store { $0.append(("pooler.dense.weight", .float32([Float](repeating: 1, count: 32 * 32), shape: [32, 32]))) }
        #expect(throws: ModelError.unusedTensors(keys: ["pooler.dense.weight"])) { try ModelZoo.build(Self.tiny, weights: s) }
    }

    @Test("synthetic weights are deterministic and vary every LayerNorm, the class token and the positions")
    func synth() throws {
        let a = try ModelZoo.synthesise(Self.tiny, seed: 5), b = try ModelZoo.synthesise(Self.tiny, seed: 5)
        #expect(a.map { $0.tensor.floats() } == b.map { $0.tensor.floats() })
        for (name, t) in a where name.contains("layernorm") || name.contains("token") || name.contains("position") {
            let v = t.floats()
            let defaultValue: Float = name.hasSuffix("layernorm_before.weight") || name.hasSuffix("layernorm_after.weight") || name == "layernorm.weight" ? 1 : 0
            #expect(v.filter { $0 == defaultValue }.count == 0, "\(name) left at its default")
            #expect(Set(v).count > v.count / 2, "\(name) not varied")
        }
    }

    @Test("row slices are zero-copy views of the source bytes")
    func slice() throws {
        let raw = RawTensor.float32((0..<24).map(Float.init), shape: [6, 4])
        let s = try Recognition.slice(raw, rows: 2..<4, name: "x")
        #expect(s.shape == [2, 4] && s.floats() == (8..<16).map(Float.init))
        #expect(s.bytes.owner === raw.bytes.owner && s.bytes.offset == raw.bytes.offset + 32)
        let half = raw.converted(to: .f16)
        #expect(try Recognition.slice(half, rows: 5..<6, name: "x").floats() == [20, 21, 22, 23])
        #expect(throws: ModelError.self) { try Recognition.slice(raw, rows: 4..<7, name: "x") }
    }
}
