// Recognising a distilled DeiT checkpoint and mapping it onto the canonical names of DeiT.swift.
//
// Layouts (the encoder layers are ViT's, so ViTLayout's layer table maps them):
//   transformers 4 / Hub files   embeddings.distillation_token, encoder.layer.N.* (ViT's names), under `deit.` in
//       DeiTForImageClassification(WithTeacher); `classifier.*` / `cls_classifier.*` / `distillation_classifier.*`
//       unprefixed
//   transformers 5 in memory     layers.N.attention.q_proj ... (ViT's transformers-5 names)
//   timm VisionTransformerDistilled   cls_token, dist_token, pos_embed, blocks.N (fused qkv), norm, head, head_dist

import Foundation
import TensorCore

enum DeiTLayout {
    /// Tensors outside the layers: canonical name, transformers name (under the prefix; heads unprefixed), timm.
    static let topTable: [(canonical: String, hf: String, timm: String)] = [
        ("embeddings.cls_token", "embeddings.cls_token", "cls_token"),
        ("embeddings.distillation_token", "embeddings.distillation_token", "dist_token"),
        ("embeddings.position_embeddings", "embeddings.position_embeddings", "pos_embed"),
        ("embeddings.patch_embeddings.projection.weight", "embeddings.patch_embeddings.projection.weight", "patch_embed.proj.weight"),
        ("embeddings.patch_embeddings.projection.bias", "embeddings.patch_embeddings.projection.bias", "patch_embed.proj.bias"),
    ]
    static let finalTable: [(canonical: String, hf: String, timm: String)] = [
        ("layernorm.weight", "layernorm.weight", "norm.weight"),
        ("layernorm.bias", "layernorm.bias", "norm.bias"),
        ("pooler.dense.weight", "pooler.dense.weight", ""),
        ("pooler.dense.bias", "pooler.dense.bias", ""),
        ("classifier.weight", "classifier.weight", ""),
        ("classifier.bias", "classifier.bias", ""),
        ("cls_classifier.weight", "cls_classifier.weight", "head.weight"),
        ("cls_classifier.bias", "cls_classifier.bias", "head.bias"),
        ("distillation_classifier.weight", "distillation_classifier.weight", "head_dist.weight"),
        ("distillation_classifier.bias", "distillation_classifier.bias", "head_dist.bias"),
    ]
    static let headPrefixes = ["classifier.", "cls_classifier.", "distillation_classifier."]

    static func detect(_ shapes: [String: [Int]]) -> (source: ViTLayout.Source, prefix: String)? {
        for prefix in ["", "deit."] where shapes["\(prefix)embeddings.distillation_token"] != nil {
            if shapes["\(prefix)encoder.layer.0.layernorm_before.weight"] != nil { return (.transformers4, prefix) }
            if shapes["\(prefix)layers.0.layernorm_before.weight"] != nil { return (.transformers5, prefix) }
        }
        if shapes["dist_token"] != nil && shapes["patch_embed.proj.weight"] != nil && shapes["blocks.0.norm1.weight"] != nil {
            return (.timm, "")
        }
        return nil
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        let shapes = checkpoint.shapes
        guard let (source, prefix) = detect(shapes) else { return nil }
        func fail(_ reason: String) -> ModelError { .unrecognised(reason: "DeiT (\(source.rawValue) layout): \(reason)") }
        var layout = LayoutMapping(shapes: shapes, fail: fail)
        func top(_ row: (canonical: String, hf: String, timm: String)) -> String {
            if source == .timm { return row.timm }
            return headPrefixes.contains(where: row.hf.hasPrefix) ? row.hf : prefix + row.hf
        }
        func layerPrefix(_ i: Int) -> String {
            switch source {
            case .transformers4: return "\(prefix)encoder.layer.\(i)."
            case .transformers5: return "\(prefix)layers.\(i)."
            default: return "blocks.\(i)."
            }
        }
        for row in topTable { try layout.resolve(row.canonical, top(row)) }
        var layerCount = 0
        while shapes[layerPrefix(layerCount) + ViTLayout.layerSpec(ViTLayout.layerTable[0], source)] != nil { layerCount += 1 }
        for i in 0..<layerCount {
            for row in ViTLayout.layerTable {
                try layout.resolve("encoder.layer.\(i).\(row.canonical)", layerPrefix(i) + ViTLayout.layerSpec(row, source))
            }
        }
        for row in finalTable { try layout.resolve(row.canonical, top(row)) }

        let unknown = checkpoint.tensors.map(\.name).filter { !layout.consumed.contains($0) }
        if !unknown.isEmpty {
            throw fail("tensors vfw's DeiT does not use: \(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", ..." : "")")
        }
        func shape(_ canonical: String) -> [Int]? { layout.shape(canonical) }
        guard let patch = shape("embeddings.patch_embeddings.projection.weight"), patch.count == 4, patch[2] == patch[3], patch[2] > 0 else {
            throw fail("the patch embedding weight must be [E, C, P, P]")
        }
        let (e, channels, p) = (patch[0], patch[1], patch[2])
        guard let pos = shape("embeddings.position_embeddings"), pos.count == 3, pos[2] == e, pos[1] >= 3 else {
            throw fail("the position embeddings must be [1, T, \(e)]")
        }
        let grid = Int(Double(pos[1] - 2).squareRoot().rounded())
        guard grid * grid == pos[1] - 2 else { throw fail("\(pos[1]) position embeddings are not two tokens plus a square grid of patches") }
        guard layerCount > 0, let fc1 = shape("encoder.layer.0.intermediate.dense.weight"), fc1.count == 2 else {
            throw fail("layer 0 has no MLP input weight")
        }
        var c = DeiTConfig(hiddenSize: e, numLayers: layerCount, numHeads: 0, intermediateSize: fc1[0])
        c.patchSize = p
        c.imageSize = grid * p
        c.numChannels = channels
        c.layerNormEps = source == .timm ? 1e-6 : 1e-12  // timm LayerNorm(eps=1e-6); DeiTConfig.layer_norm_eps default
        c.qkvBias = layout.entry("encoder.layer.0.attention.attention.query.bias") != nil
        c.hasPooler = layout.entry("pooler.dense.weight") != nil
        c.poolerSize = c.hasPooler ? (shape("pooler.dense.weight")?.first ?? e) : e
        let hasCls = layout.entry("classifier.weight") != nil, hasAveraged = layout.entry("cls_classifier.weight") != nil
        switch (hasCls, hasAveraged) {
        case (false, false): c.head = .none; c.numLabels = 0
        case (true, false): c.head = .cls; c.numLabels = shape("classifier.weight")?.first ?? 0
        case (false, true): c.head = .averaged; c.numLabels = shape("cls_classifier.weight")?.first ?? 0
        case (true, true): throw fail("both 'classifier' and 'cls_classifier' heads; a DeiT has one or the other")
        }

        var notes = ["\(source.rawValue) layout\(prefix.isEmpty ? "" : " with '\(prefix)' prefix")"]
        var heads: Int? = nil
        if let data = checkpoint.configJSON {
            let config = try HubConfig(data, source: source)
            try config.check(against: ViTConfig(hiddenSize: e, numLayers: layerCount, numHeads: 1, intermediateSize: fc1[0],
                                                patchSize: p, imageSize: c.imageSize, numChannels: channels), fail: fail)
            heads = config.heads
            if source != .timm, let eps = config.layerNormEps { c.layerNormEps = eps }
            if let s = config.imageSize {
                guard s / p == grid else { throw fail("config.json image_size \(s) with patch \(p) gives \(s / p)² patches, the tensors have \(grid)²") }
                c.imageSize = s
            }
            if c.numLabels > 0, let labels = config.id2label {
                if labels.count == c.numLabels && (0..<c.numLabels).allSatisfy({ labels[String($0)] != nil }) { c.id2label = labels }
                else { notes.append("config.json names \(labels.count) labels for \(c.numLabels) classes; labels not kept") }
            }
        }
        if let h = heads {
            c.numHeads = h
        } else if let s = DeiTConfig.sizes.first(where: { $0.hidden == e }) {
            c.numHeads = s.heads
        } else if e % 64 == 0 {
            c.numHeads = e / 64
            notes.append("assumed \(e / 64) attention heads of 64 features (no config.json says otherwise)")
        } else {
            throw fail("cannot tell the number of attention heads for hidden size \(e); put a config.json with num_attention_heads beside the weights")
        }
        if let arch = checkpoint.arch {
            guard let named = DeiTConfig.named(arch) else {
                throw ModelError.unrecognised(reason: "the tensors are a distilled DeiT (\(source.rawValue) layout), not \(arch)")
            }
            for (what, a, b) in [("hidden size", named.hiddenSize, c.hiddenSize), ("layers", named.numLayers, c.numLayers),
                                 ("MLP size", named.intermediateSize, c.intermediateSize), ("patch size", named.patchSize, c.patchSize)] where a != b {
                throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch): \(what) \(b), \(arch) has \(a)")
            }
            c.numHeads = named.numHeads
        }
        try c.validate()
        return Recognition(model: ModelDescription(DeiT.self, c),
                           preprocessing: source == .timm ? DeiT.preprocessing(c) : DeiT.transformersPreprocessing(c),
                           mapping: layout.entries, notes: notes)
    }
}
