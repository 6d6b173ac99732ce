// Recognising a Vision Transformer checkpoint (Hugging Face transformers 4 or 5 names, with or without
// `vit.`, timm, torchvision), reading its config, and mapping its tensors onto the canonical names of ViT.swift.
//
// Layouts (layer N; HF4 names are the canonical ones, see ViT.swift):
//   transformers 4 / Hub files   encoder.layer.N.attention.attention.query ...   (save_pretrained writes these)
//   transformers 5 in memory     layers.N.attention.q_proj / k_proj / v_proj / o_proj, layers.N.mlp.fc1 / fc2
//       (transformers/conversion_mapping.py renames on load and back on save, so torch.save(model.state_dict())
//        under transformers 5 has these names; there is no `encoder.` level in 5)
//   ViTForImageClassification adds `vit.` in front of everything but `classifier.*`.
//   timm VisionTransformer       blocks.N.attn.qkv [3E, E] fused: rows [0, E) q, [E, 2E) k, [2E, 3E) v, the
//       same per-head layout as HF's separate projections (timm Attention.forward reshapes to (3, H, D); HF's
//       timm converter read_in_q_k_v slices rows the same way:
//       https://github.com/huggingface/transformers/blob/main/src/transformers/models/vit/convert_vit_timm_to_pytorch.py)
//   torchvision                  encoder.layers.encoder_layer_N.self_attention.in_proj_weight [3E, E], the same
//       q/k/v row order (nn.MultiheadAttention `_in_projection_packed` chunks it in 3); MLP `mlp.0` / `mlp.3`, or
//       `mlp.linear_1` / `mlp.linear_2` in files saved before MLPBlock's _version 2
//       (https://github.com/pytorch/vision/blob/main/torchvision/models/vision_transformer.py, MLPBlock._load_from_state_dict).
//       `heads.pre_logits` (representation_size) → tanh → `heads.head` is the canonical pooler → classifier.

import Foundation
import TensorCore

enum ViTLayout {
    enum Source: String {
        case transformers4 = "Hugging Face transformers 4"
        case transformers5 = "Hugging Face transformers 5"
        case timm = "timm"
        case torchvision = "torchvision"
    }

    /// Tensors outside the layers: canonical name, transformers 4/5 (under the optional `vit.` prefix;
    /// `classifier.` is never prefixed), timm, torchvision. "" = the layout has no such tensor.
    static let topTable: [(canonical: String, hf: String, timm: String, torchvision: String)] = [
        ("embeddings.cls_token", "embeddings.cls_token", "cls_token", "class_token"),
        ("embeddings.position_embeddings", "embeddings.position_embeddings", "pos_embed", "encoder.pos_embedding"),
        ("embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight", "conv_proj.weight"),
        ("embeddings.patch_embeddings.projection.bias", "embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias", "conv_proj.bias"),
    ]
    static let finalTable: [(canonical: String, hf: String, timm: String, torchvision: String)] = [
        ("layernorm.weight", "layernorm.weight", "norm.weight", "encoder.ln.weight"),
        ("layernorm.bias", "layernorm.bias", "norm.bias", "encoder.ln.bias"),
        ("pooler.dense.weight", "pooler.dense.weight", "", "heads.pre_logits.weight"),
        ("pooler.dense.bias", "pooler.dense.bias", "", "heads.pre_logits.bias"),
        ("classifier.weight", "classifier.weight", "head.weight", "heads.head.weight"),
        ("classifier.bias", "classifier.bias", "head.bias", "heads.head.bias"),
    ]

    /// Tensors of layer N, under `encoder.layer.N.` (canonical = transformers 4), `layers.N.` (transformers 5),
    /// `blocks.N.` (timm), `encoder.layers.encoder_layer_N.` (torchvision). `[k/3]` is row block k of a fused
    /// [3E, ...] q/k/v tensor; `a|b` are alternative names (the first present is used).
    static let layerTable: [(canonical: String, hf5: String, timm: String, torchvision: String)] = [
        ("layernorm_before.weight", "layernorm_before.weight", "norm1.weight", "ln_1.weight"),
        ("layernorm_before.bias", "layernorm_before.bias", "norm1.bias", "ln_1.bias"),
        ("attention.attention.query.weight", "attention.q_proj.weight", "attn.qkv.weight[0/3]", "self_attention.in_proj_weight[0/3]"),
        ("attention.attention.query.bias", "attention.q_proj.bias", "attn.qkv.bias[0/3]", "self_attention.in_proj_bias[0/3]"),
        ("attention.attention.key.weight", "attention.k_proj.weight", "attn.qkv.weight[1/3]", "self_attention.in_proj_weight[1/3]"),
        ("attention.attention.key.bias", "attention.k_proj.bias", "attn.qkv.bias[1/3]", "self_attention.in_proj_bias[1/3]"),
        ("attention.attention.value.weight", "attention.v_proj.weight", "attn.qkv.weight[2/3]", "self_attention.in_proj_weight[2/3]"),
        ("attention.attention.value.bias", "attention.v_proj.bias", "attn.qkv.bias[2/3]", "self_attention.in_proj_bias[2/3]"),
        ("attention.output.dense.weight", "attention.o_proj.weight", "attn.proj.weight", "self_attention.out_proj.weight"),
        ("attention.output.dense.bias", "attention.o_proj.bias", "attn.proj.bias", "self_attention.out_proj.bias"),
        ("layernorm_after.weight", "layernorm_after.weight", "norm2.weight", "ln_2.weight"),
        ("layernorm_after.bias", "layernorm_after.bias", "norm2.bias", "ln_2.bias"),
        ("intermediate.dense.weight", "mlp.fc1.weight", "mlp.fc1.weight", "mlp.0.weight|mlp.linear_1.weight"),
        ("intermediate.dense.bias", "mlp.fc1.bias", "mlp.fc1.bias", "mlp.0.bias|mlp.linear_1.bias"),
        ("output.dense.weight", "mlp.fc2.weight", "mlp.fc2.weight", "mlp.3.weight|mlp.linear_2.weight"),
        ("output.dense.bias", "mlp.fc2.bias", "mlp.fc2.bias", "mlp.3.bias|mlp.linear_2.bias"),
    ]

    /// Known tensors the model does not compute with, dropped with a note: the masked-image-modelling token
    /// of ViTModel(use_mask_token=True), unused unless bool_masked_pos is passed.
    static let droppable = ["embeddings.mask_token"]

    /// Tensors of features vfw's ViT does not implement, with why (for the error message).
    static let unsupported: [(name: String, why: String)] = [
        ("fc_norm.weight", "timm global_pool='avg' with fc_norm"),
        ("norm_pre.weight", "timm pre_norm (CLIP-style) ViTs"),
        ("reg_token", "timm register tokens"),
        ("blocks.0.ls1.gamma", "timm LayerScale (init_values)"),
        ("decoder.0.weight", "ViTForMaskedImageModeling"),
    ]

    struct Detected {
        var source: Source
        var prefix: String
        /// Source name prefix of layer `i`.
        func layerPrefix(_ i: Int) -> String {
            switch source {
            case .transformers4: return "\(prefix)encoder.layer.\(i)."
            case .transformers5: return "\(prefix)layers.\(i)."
            case .timm: return "blocks.\(i)."
            case .torchvision: return "encoder.layers.encoder_layer_\(i)."
            }
        }
    }

    static func detect(_ shapes: [String: [Int]]) -> Detected? {
        for prefix in ["", "vit."] where shapes["\(prefix)embeddings.patch_embeddings.projection.weight"] != nil {
            if shapes["\(prefix)encoder.layer.0.layernorm_before.weight"] != nil { return Detected(source: .transformers4, prefix: prefix) }
            if shapes["\(prefix)layers.0.layernorm_before.weight"] != nil { return Detected(source: .transformers5, prefix: prefix) }
        }
        if shapes["patch_embed.proj.weight"] != nil && shapes["blocks.0.norm1.weight"] != nil { return Detected(source: .timm, prefix: "") }
        if shapes["conv_proj.weight"] != nil && shapes["encoder.layers.encoder_layer_0.ln_1.weight"] != nil {
            return Detected(source: .torchvision, prefix: "")
        }
        return nil
    }

    /// The recognition of a ViT checkpoint, or nil when the tensors are not one of the ViT layouts.
    /// Throws when they are, but something in them or in config.json is not what vfw's ViT computes.
    static func recognise(_ tensors: [(name: String, shape: [Int])], configJSON: Data?, arch: String?) throws -> Recognition? {
        let shapes = Dictionary(tensors.map { ($0.name, $0.shape) }, uniquingKeysWith: { a, _ in a })
        guard let d = detect(shapes) else { return nil }
        func fail(_ reason: String) -> ModelError { .unrecognised(reason: "ViT (\(d.source.rawValue) layout): \(reason)") }

        // Canonical → source entries, in model order; a row block of a fused tensor is resolved from its shape.
        var layout = LayoutMapping(shapes: shapes, fail: fail)
        func hfName(_ n: String) -> String { n.hasPrefix("classifier.") ? n : d.prefix + n }
        func topSpec(_ row: (canonical: String, hf: String, timm: String, torchvision: String)) -> String {
            switch d.source {
            case .transformers4, .transformers5: return hfName(row.hf)
            case .timm: return row.timm
            case .torchvision: return row.torchvision
            }
        }
        for row in topTable { try layout.resolve(row.canonical, topSpec(row)) }
        var layerCount = 0
        while shapes[d.layerPrefix(layerCount) + layerSpec(layerTable[0], d.source)] != nil { layerCount += 1 }
        for i in 0..<layerCount {
            for row in layerTable {
                let spec = layerSpec(row, d.source).split(separator: "|").map { d.layerPrefix(i) + $0 }.joined(separator: "|")
                try layout.resolve("encoder.layer.\(i).\(row.canonical)", spec)
            }
        }
        for row in finalTable { try layout.resolve(row.canonical, topSpec(row)) }
        let mapping = layout.entries

        // Everything else must be known-droppable: convert must never lose a tensor silently.
        var dropped: [String] = []
        var notes: [String] = []
        var unknown: [String] = []
        for t in tensors where !layout.consumed.contains(t.name) {
            if d.source == .transformers4 || d.source == .transformers5, droppable.contains(where: { d.prefix + $0 == t.name }) {
                dropped.append(t.name)
            } else {
                unknown.append(t.name)
            }
        }
        if !unknown.isEmpty {
            let hint = unsupported.first { u in unknown.contains(u.name) }.map { " (\($0.why) is not supported)" } ?? ""
            throw fail("tensors vfw's ViT does not use: \(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", ..." : "")\(hint)")
        }
        if !dropped.isEmpty { notes.append("dropped \(dropped.joined(separator: ", ")) (masked image modelling only)") }

        // Config: structure from shapes, what shapes cannot tell from config.json (or defaults).
        func shape(_ canonical: String) -> [Int]? { layout.shape(canonical) }
        guard let patch = shape("embeddings.patch_embeddings.projection.weight"), patch.count == 4, patch[2] == patch[3], patch[2] > 0 else {
            throw fail("the patch embedding weight must be [E, C, P, P]")
        }
        let (e, channels, p) = (patch[0], patch[1], patch[2])
        guard let pos = shape("embeddings.position_embeddings"), pos.count == 3, pos[2] == e, pos[1] >= 2 else {
            throw fail("the position embeddings must be [1, T, \(e)]")
        }
        let grid = Int(Double(pos[1] - 1).squareRoot().rounded())
        guard grid * grid == pos[1] - 1 else {
            throw fail("\(pos[1]) position embeddings are not a class token plus a square grid of patches")
        }
        guard let fc1 = shape("encoder.layer.0.intermediate.dense.weight"), fc1.count == 2 else {
            throw fail("layer 0 has no MLP input weight")
        }
        let config = try HubConfig(configJSON, source: d.source)
        var c = ViTConfig(hiddenSize: e, numLayers: layerCount, numHeads: 0, intermediateSize: fc1[0], patchSize: p,
                          imageSize: grid * p, numChannels: channels)
        c.layerNormEps = d.source == .timm || d.source == .torchvision
            ? 1e-6  // timm: norm_layer LayerNorm(eps=1e-6); torchvision: partial(nn.LayerNorm, eps=1e-6)
            : config.layerNormEps ?? 1e-12  // ViTConfig.layer_norm_eps default
        c.qkvBias = layout.entry("encoder.layer.0.attention.attention.query.bias") != nil
        // Inputs of another size: transformers' interpolate_pos_encoding (bicubic), timm's dynamic_img_size
        // (bicubic with antialias); torchvision's VisionTransformer runs its image_size only.
        switch d.source {
        case .transformers4, .transformers5: c.positionResampling = .bicubic
        case .timm: c.positionResampling = .bicubicAntialias
        case .torchvision: c.positionResampling = nil
        }
        c.numLabels = shape("classifier.weight")?.first ?? 0
        c.hasPooler = layout.entry("pooler.dense.weight") != nil
        c.poolerSize = c.hasPooler ? (shape("pooler.dense.weight")?.first ?? e) : e
        try config.check(against: c, fail: fail)
        // HF's image_size may not be a multiple of the patch (the conv floors); it must give the same grid.
        if let s = config.imageSize {
            guard s / p == grid else { throw fail("config.json image_size \(s) with patch \(p) gives \(s / p)² patches, the tensors have \(grid)²") }
            c.imageSize = s
        }
        if let h = config.heads {
            c.numHeads = h
        } else if let h = ViTConfig.defaultHeads(hidden: e) {
            c.numHeads = h
            if ViTConfig.sizes.first(where: { $0.hidden == e }) == nil {
                notes.append("assumed \(h) attention heads of 64 features (no config.json says otherwise)")
            }
        } else {
            throw fail("cannot tell the number of attention heads for hidden size \(e); put a config.json with num_attention_heads beside the weights")
        }
        if c.numLabels > 0, let labels = config.id2label {
            if labels.count == c.numLabels && (0..<c.numLabels).allSatisfy({ labels[String($0)] != nil }) {
                c.id2label = labels
            } else {
                notes.append("config.json names \(labels.count) labels for \(c.numLabels) classes; labels not kept")
            }
        }

        if let arch {
            guard var named = ViTConfig.named(arch) else {
                throw ModelError.unrecognised(reason: "the tensors are a ViT (\(d.source.rawValue) layout), not \(arch)")
            }
            for (what, a, b) in [("hidden size", named.hiddenSize, c.hiddenSize), ("layers", named.numLayers, c.numLayers),
                                 ("MLP size", named.intermediateSize, c.intermediateSize), ("patch size", named.patchSize, c.patchSize),
                                 ("patches per side", named.gridSize, c.gridSize)] where a != b {
                throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch): \(what) \(b), \(arch) has \(a)")
            }
            // The name gives the structure; the checkpoint says which head it has and its framework's eps.
            named.numChannels = c.numChannels
            named.layerNormEps = c.layerNormEps
            named.qkvBias = c.qkvBias
            named.numLabels = c.numLabels
            named.hasPooler = c.hasPooler
            named.poolerSize = c.poolerSize
            named.id2label = c.id2label
            named.positionResampling = c.positionResampling
            c = named
        }
        try c.validate()

        notes.insert("\(d.source.rawValue) layout\(d.prefix.isEmpty ? "" : " with '\(d.prefix)' prefix")", at: 0)
        if d.source == .timm {
            notes.append("timm evaluates with its own transform (bicubic resize, crop_pct, mean/std per model: the pretrained_cfg of its config.json, used when there); without one the stored preprocessing is \(ViT.preprocessing(c)), pass --preprocess to change it")
        }
        return Recognition(model: ModelDescription(ViT.self, c),
                           preprocessing: d.source == .torchvision ? "torchvision" : ViT.preprocessing(c),
                           mapping: mapping, dropped: dropped, notes: notes)
    }

    static func layerSpec(_ row: (canonical: String, hf5: String, timm: String, torchvision: String), _ s: Source) -> String {
        switch s {
        case .transformers4: return row.canonical
        case .transformers5: return row.hf5
        case .timm: return row.timm
        case .torchvision: return row.torchvision
        }
    }
}

// MARK: - config.json

/// What a config.json beside the weights says about a ViT: Hugging Face ViTConfig fields, or timm's hub
/// config (`model_args.num_heads`, `label_names`, `global_pool`).
struct HubConfig {
    var json: [String: JSONValue] = [:]
    var heads: Int?
    var layerNormEps: Double?
    var imageSize: Int?
    var id2label: [String: String]?

    init(_ data: Data?, source: ViTLayout.Source) throws {
        guard let data else { return }
        guard let j = try? JSONDecoder().decode(JSONValue.self, from: data).objectValue else {
            throw ModelError.invalidConfig(family: ViT.name, reason: "config.json is not a JSON object")
        }
        json = j
        let modelArgs = j["model_args"]?.objectValue ?? [:]
        heads = j["num_attention_heads"]?.intValue ?? modelArgs["num_heads"]?.intValue ?? j["num_heads"]?.intValue
        layerNormEps = j["layer_norm_eps"]?.doubleValue
        if let s = j["image_size"] {
            // HF accepts an int or an (h, w) pair; vfw's ViT is square.
            if let i = s.intValue { imageSize = i }
            else if let a = s.arrayValue?.compactMap(\.intValue), a.count == 2, a[0] == a[1] { imageSize = a[0] }
            else { throw ModelError.invalidConfig(family: ViT.name, reason: "config.json image_size \(s) is not square") }
        }
        if let o = j["id2label"]?.objectValue {
            id2label = o.compactMapValues(\.stringValue)
        } else if let names = j["label_names"] ?? j["pretrained_cfg"]?["label_names"] {
            if let a = names.arrayValue {
                id2label = Dictionary(uniqueKeysWithValues: a.enumerated().compactMap { i, v in v.stringValue.map { (String(i), $0) } })
            } else if let o = names.objectValue {
                id2label = o.compactMapValues(\.stringValue)
            }
        }
    }

    /// Fails when config.json describes a different model than the tensors, or math vfw does not implement.
    func check(against c: ViTConfig, fail: (String) -> ModelError) throws {
        if let a = json["hidden_act"]?.stringValue, a != "gelu" {
            // ACT2FN["gelu"] is exact erf GELU; gelu_new / gelu_pytorch_tanh are the tanh approximation.
            throw fail("config.json hidden_act '\(a)' is not supported (only the exact 'gelu')")
        }
        if let a = json["pooler_act"]?.stringValue, a != "tanh" {
            throw fail("config.json pooler_act '\(a)' is not supported (only 'tanh')")
        }
        if let g = json["global_pool"]?.stringValue, g != "token" {
            throw fail("config.json global_pool '\(g)' is not supported (only 'token')")
        }
        for (key, value) in [("hidden_size", c.hiddenSize), ("num_hidden_layers", c.numLayers), ("intermediate_size", c.intermediateSize),
                             ("patch_size", c.patchSize), ("num_channels", c.numChannels)] {
            if let v = json[key]?.intValue, v != value { throw fail("config.json says \(key) \(v), the tensors have \(value)") }
        }
        if let h = heads, h < 1 || c.hiddenSize % h != 0 {
            throw fail("config.json says \(h) attention heads, which do not divide hidden size \(c.hiddenSize)")
        }
    }
}
