// Recognising a DINOv2 checkpoint and mapping its tensors onto the canonical names of DINOv2.swift.
//
// Layouts (layer N; the transformers-4 / Hub names are the canonical ones):
//   transformers 4 / Hub files   encoder.layer.N.norm1, attention.attention.query ..., layer_scale1.lambda1, mlp.fc1
//       under `dinov2.` / `dinov2_with_registers.` in *ForImageClassification (`classifier.*` unprefixed)
//   transformers 5 in memory     encoder.layer.N.attention.q_proj / k_proj / v_proj / o_proj (the rest as in 4;
//       transformers/conversion_mapping.py renames on load and back on save_pretrained)
//   timm vit_*_patch14_dinov2    cls_token, pos_embed, patch_embed.proj, blocks.N.{norm1, attn.qkv [3E, E] fused
//       (rows q, k, v), attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2, ls2.gamma}, norm, head
//   timm *_reg4_dinov2           + reg_token [1, R, E]; no_embed_class: pos_embed has no class row
// The two libraries resample the position table differently (see DINOv2.swift); the layout decides which.

import Foundation
import TensorCore

enum DINOv2Layout {
    enum Source: String {
        case transformers4 = "Hugging Face transformers 4"
        case transformers5 = "Hugging Face transformers 5"
        case timm = "timm"
    }

    /// Tensors outside the layers: canonical name, transformers name (under the prefix; `classifier.` never
    /// is), timm name. "" = the layout has no such tensor.
    static let topTable: [(canonical: String, hf: String, timm: String)] = [
        ("embeddings.cls_token", "embeddings.cls_token", "cls_token"),
        ("embeddings.register_tokens", "embeddings.register_tokens", "reg_token"),
        ("embeddings.position_embeddings", "embeddings.position_embeddings", "pos_embed"),
        ("embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight"),
        ("embeddings.patch_embeddings.projection.bias", "embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias"),
    ]
    static let finalTable: [(canonical: String, hf: String, timm: String)] = [
        ("layernorm.weight", "layernorm.weight", "norm.weight"),
        ("layernorm.bias", "layernorm.bias", "norm.bias"),
        ("classifier.weight", "classifier.weight", "head.weight"),
        ("classifier.bias", "classifier.bias", "head.bias"),
    ]
    /// Tensors of layer N (canonical, under `encoder.layer.N.`), transformers 5, timm (under `blocks.N.`);
    /// `[k/3]` is row block k of a fused [3E, ...] tensor.
    static let layerTable: [(canonical: String, hf5: String, timm: String)] = [
        ("norm1.weight", "norm1.weight", "norm1.weight"),
        ("norm1.bias", "norm1.bias", "norm1.bias"),
        ("attention.attention.query.weight", "attention.q_proj.weight", "attn.qkv.weight[0/3]"),
        ("attention.attention.query.bias", "attention.q_proj.bias", "attn.qkv.bias[0/3]"),
        ("attention.attention.key.weight", "attention.k_proj.weight", "attn.qkv.weight[1/3]"),
        ("attention.attention.key.bias", "attention.k_proj.bias", "attn.qkv.bias[1/3]"),
        ("attention.attention.value.weight", "attention.v_proj.weight", "attn.qkv.weight[2/3]"),
        ("attention.attention.value.bias", "attention.v_proj.bias", "attn.qkv.bias[2/3]"),
        ("attention.output.dense.weight", "attention.o_proj.weight", "attn.proj.weight"),
        ("attention.output.dense.bias", "attention.o_proj.bias", "attn.proj.bias"),
        ("layer_scale1.lambda1", "layer_scale1.lambda1", "ls1.gamma"),
        ("norm2.weight", "norm2.weight", "norm2.weight"),
        ("norm2.bias", "norm2.bias", "norm2.bias"),
        ("mlp.fc1.weight", "mlp.fc1.weight", "mlp.fc1.weight"),
        ("mlp.fc1.bias", "mlp.fc1.bias", "mlp.fc1.bias"),
        ("mlp.fc2.weight", "mlp.fc2.weight", "mlp.fc2.weight"),
        ("mlp.fc2.bias", "mlp.fc2.bias", "mlp.fc2.bias"),
        ("layer_scale2.lambda1", "layer_scale2.lambda1", "ls2.gamma"),
    ]

    /// Tensors of features vfw's DINOv2 does not implement, with why.
    static let unsupported: [(suffix: String, why: String)] = [
        ("mlp.weights_in.weight", "the SwiGLU MLP of ViT-g (use_swiglu_ffn)"),
        ("mlp.w12.weight", "the SwiGLU MLP of ViT-g"),
        ("mlp.gate_proj.weight", "the SwiGLU MLP of ViT-g (use_swiglu_ffn)"),
        ("fc_norm.weight", "timm global_pool='avg' with fc_norm"),
    ]

    struct Detected {
        var source: Source
        var prefix: String
        func layerPrefix(_ i: Int) -> String {
            source == .timm ? "blocks.\(i)." : "\(prefix)encoder.layer.\(i)."
        }
    }

    static func detect(_ shapes: [String: [Int]]) -> Detected? {
        for prefix in ["", "dinov2.", "dinov2_with_registers."] where shapes["\(prefix)embeddings.patch_embeddings.projection.weight"] != nil {
            guard shapes["\(prefix)encoder.layer.0.layer_scale1.lambda1"] != nil else { continue }
            if shapes["\(prefix)encoder.layer.0.attention.attention.query.weight"] != nil { return Detected(source: .transformers4, prefix: prefix) }
            if shapes["\(prefix)encoder.layer.0.attention.q_proj.weight"] != nil { return Detected(source: .transformers5, prefix: prefix) }
        }
        // timm: a VisionTransformer with LayerScale (plain ViTs are the ViT family's). DeiT III (LayerScale,
        // no_embed_class) computes the same and is read the same way.
        if shapes["patch_embed.proj.weight"]?.count == 4, shapes["blocks.0.ls1.gamma"] != nil {
            return Detected(source: .timm, prefix: "")
        }
        return nil
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        let shapes = checkpoint.shapes
        guard let d = detect(shapes) else { return nil }
        func fail(_ reason: String) -> ModelError { .unrecognised(reason: "DINOv2 (\(d.source.rawValue) layout): \(reason)") }

        var layout = LayoutMapping(shapes: shapes, fail: fail)
        func top(_ row: (canonical: String, hf: String, timm: String)) -> String {
            if d.source == .timm { return row.timm }
            return row.hf.hasPrefix("classifier.") ? row.hf : d.prefix + row.hf
        }
        for row in topTable { try layout.resolve(row.canonical, top(row)) }
        func layerSpec(_ row: (canonical: String, hf5: String, timm: String)) -> String {
            switch d.source {
            case .transformers4: return row.canonical
            case .transformers5: return row.hf5
            case .timm: return row.timm
            }
        }
        var layerCount = 0
        while shapes[d.layerPrefix(layerCount) + layerSpec(layerTable[0])] != nil { layerCount += 1 }
        for i in 0..<layerCount {
            for row in layerTable { try layout.resolve("encoder.layer.\(i).\(row.canonical)", d.layerPrefix(i) + layerSpec(row)) }
        }
        for row in finalTable { try layout.resolve(row.canonical, top(row)) }
        let mapping = layout.entries

        var dropped: [String] = []
        var unknown: [String] = []
        for t in checkpoint.tensors where !layout.consumed.contains(t.name) {
            if d.source != .timm && t.name == d.prefix + "embeddings.mask_token" { dropped.append(t.name) } else { unknown.append(t.name) }
        }
        if !unknown.isEmpty {
            let hint = unsupported.first { u in unknown.contains { $0.hasSuffix(u.suffix) } }.map { " (\($0.why) is not supported)" } ?? ""
            throw fail("tensors vfw's DINOv2 does not use: \(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", ..." : "")\(hint)")
        }
        var notes = ["\(d.source.rawValue) layout\(d.prefix.isEmpty ? "" : " with '\(d.prefix)' prefix")"]
        if !dropped.isEmpty { notes.append("dropped \(dropped.joined(separator: ", ")) (masked image modelling only)") }

        // Structure from shapes.
        func shape(_ canonical: String) -> [Int]? { layout.shape(canonical) }
        guard let patch = shape("embeddings.patch_embeddings.projection.weight"), patch.count == 4, patch[2] == patch[3], patch[2] > 0 else {
            throw fail("the patch embedding weight must be [E, C, P, P]")
        }
        let (e, channels, p) = (patch[0], patch[1], patch[2])
        guard let fc1 = shape("encoder.layer.0.mlp.fc1.weight"), fc1.count == 2, layerCount > 0 else { throw fail("layer 0 has no MLP input weight") }
        let registers = shape("embeddings.register_tokens").map { $0.count == 3 ? $0[1] : -1 } ?? 0
        guard registers >= 0 else { throw fail("the register tokens must be [1, R, \(e)]") }
        guard let pos = shape("embeddings.position_embeddings"), pos.count == 3, pos[2] == e, pos[1] >= 1 else {
            throw fail("the position embeddings must be [1, T, \(e)]")
        }
        // HF: a class row and a square grid. timm: the same, or only the grid when the model has no_embed_class
        // (the register models, DeiT III); g² and g² + 1 are never both squares, so the shape tells.
        var classRow = true
        if d.source == .timm, let pos = shape("embeddings.position_embeddings"), pos.count == 3 {
            let g = Int(Double(pos[1]).squareRoot().rounded())
            classRow = g * g != pos[1]
        }
        let rows = pos[1] - (classRow ? 1 : 0)
        let grid = Int(Double(rows).squareRoot().rounded())
        guard grid >= 1, grid * grid == rows else {
            throw fail("\(pos[1]) position embeddings are not \(classRow ? "a class row plus " : "")a square grid of patches")
        }

        var c = DINOv2Config(hiddenSize: e, numLayers: layerCount, numHeads: 0, intermediateSize: fc1[0], registers: registers)
        c.patchSize = p
        c.imageSize = grid * p
        c.numChannels = channels
        c.classPositionEmbedding = classRow
        c.qkvBias = layout.entry("encoder.layer.0.attention.attention.query.bias") != nil
        c.numLabels = shape("classifier.weight")?.first ?? 0
        if c.numLabels > 0, let w = shape("classifier.weight"), w.count == 2 {
            guard w[1] == 2 * e || w[1] == e else { throw fail("the classifier takes \(w[1]) features; DINOv2 heads take \(e) or \(2 * e)") }
            c.classifierPatchMean = w[1] == 2 * e
        }

        // What shapes cannot tell: config.json (HF Dinov2Config / timm's hub config), else the released models'.
        var heads: Int? = nil
        if let data = checkpoint.configJSON {
            guard let j = try? JSONDecoder().decode(JSONValue.self, from: data).objectValue else {
                throw ModelError.invalidConfig(family: DINOv2.name, reason: "config.json is not a JSON object")
            }
            let modelArgs = j["model_args"]?.objectValue ?? [:]
            heads = j["num_attention_heads"]?.intValue ?? modelArgs["num_heads"]?.intValue
            if let a = j["hidden_act"]?.stringValue, a != "gelu" { throw fail("config.json hidden_act '\(a)' is not supported (only the exact 'gelu')") }
            if j["use_swiglu_ffn"]?.boolValue == true { throw fail("config.json use_swiglu_ffn: the SwiGLU MLP of ViT-g is not supported") }
            if let eps = j["layer_norm_eps"]?.doubleValue { c.layerNormEps = eps }
            if let s = j["image_size"]?.intValue {
                guard s / p == grid else { throw fail("config.json image_size \(s) with patch \(p) gives \((s / p))² patches, the position table has \(grid)²") }
                c.imageSize = s
            }
            for (key, value) in [("hidden_size", e), ("num_hidden_layers", layerCount), ("patch_size", p), ("num_channels", channels)] {
                if let v = j[key]?.intValue, v != value { throw fail("config.json says \(key) \(v), the tensors have \(value)") }
            }
            if let r = j["num_register_tokens"]?.intValue, r != registers { throw fail("config.json says \(r) register tokens, the tensors have \(registers)") }
            if let g = j["global_pool"]?.stringValue, g != "token" { throw fail("config.json global_pool '\(g)' is not supported (only 'token')") }
            if c.numLabels > 0, let labels = j["id2label"]?.objectValue?.compactMapValues(\.stringValue) {
                if labels.count == c.numLabels && (0..<c.numLabels).allSatisfy({ labels[String($0)] != nil }) { c.id2label = labels }
                else { notes.append("config.json names \(labels.count) labels for \(c.numLabels) classes; labels not kept") }
            }
        }
        // transformers resamples Dinov2Model's table without antialias and Dinov2WithRegistersModel's with it;
        // timm always with it.
        c.positionResampling = d.source == .timm || registers > 0 || d.prefix == "dinov2_with_registers." ? .bicubicAntialias : .bicubic
        if let h = heads {
            c.numHeads = h
        } else if let s = DINOv2Config.sizes.first(where: { $0.hidden == e }) {
            c.numHeads = s.heads
        } else if e % 64 == 0 {
            c.numHeads = e / 64
            notes.append("assumed \(e / 64) attention heads of 64 features (no config.json says otherwise)")
        } else {
            throw fail("cannot tell the number of attention heads for hidden size \(e); put a config.json with num_attention_heads beside the weights")
        }
        if let h = heads, h < 1 || e % h != 0 { throw fail("config.json says \(h) attention heads, which do not divide hidden size \(e)") }

        if let arch = checkpoint.arch {
            guard let named = DINOv2Config.named(arch) else {
                throw ModelError.unrecognised(reason: "the tensors are a DINOv2 (\(d.source.rawValue) layout), not \(arch)")
            }
            for (what, a, b) in [("hidden size", named.hiddenSize, c.hiddenSize), ("layers", named.numLayers, c.numLayers),
                                 ("MLP size", named.intermediateSize, c.intermediateSize), ("patch size", named.patchSize, c.patchSize),
                                 ("register tokens", named.numRegisterTokens, c.numRegisterTokens)] where a != b {
                throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch): \(what) \(b), \(arch) has \(a)")
            }
            c.numHeads = named.numHeads
        }
        try c.validate()
        if d.source == .timm {
            notes.append("timm evaluates DINOv2 with its own transform; stored preset dinov2 (transformers' BitImageProcessor), pass --preprocess to change it")
        }
        return Recognition(model: ModelDescription(DINOv2.self, c), preprocessing: DINOv2.preprocessing(c),
                           mapping: mapping, dropped: dropped, notes: notes)
    }
}
