// DeiT with its distillation token: transformers DeiTModel / DeiTForImageClassification /
// DeiTForImageClassificationWithTeacher and timm VisionTransformerDistilled (deit_*_distilled_*). DeiT without a
// distillation token (timm deit_tiny/small/base_patch16_*) is a plain VisionTransformer: the ViT family reads it.
// Sources, eval mode:
//   HF   https://github.com/huggingface/transformers/blob/main/src/transformers/models/deit/modeling_deit.py
//   timm https://github.com/huggingface/pytorch-image-models/blob/main/timm/models/deit.py (VisionTransformerDistilled)
//
// Forward (E = hidden_size, P = patch_size, g = image_size / P, T = g² + 2):
//   x [N, C, S, S] → Conv2d(C, E, k=P, s=P) → patch tokens → cat(cls_token, distillation_token, ·)
//     + position_embeddings [1, T, E]                                                         tap `embeddings`
//   per layer: the ViT encoder layer (Transformer.swift; exact GELU)                         tap `encoder.layer.N`
//   layernorm → [N, T, E]                                                                     tap `layernorm`
//   has_pooler (DeiTModel): tanh(pooler.dense(token 0))                                      tap `pooler`
//   head `cls` (DeiTForImageClassification): classifier(token 0)                             tap `classifier`
//   head `averaged` (WithTeacher, timm distilled): cls_classifier(token 0) [tap `cls_classifier`] and
//     distillation_classifier(token 1) [tap `distillation_classifier`], logits = their sum / 2 (both libraries
//     average at inference: HF `(cls_logits + distillation_logits) / 2`, timm forward_head when not
//     distilled_training)
// Feature (`vfw embed`): (token 0 + token 1) / 2 after the final norm, timm's `forward_head(pre_logits=True)`:
// the two tokens the two heads read, averaged as their logits are.
//
// Canonical tensor names (.vfw files; transformers-4 names without `deit.`):
//   embeddings.cls_token, embeddings.distillation_token       [1, 1, E]
//   embeddings.position_embeddings                            [1, T, E]
//   embeddings.patch_embeddings.projection.{weight,bias}      [E, C, P, P], [E]
//   encoder.layer.N.*                                         as ViT.swift (layernorm_before, attention.attention.query ...)
//   layernorm.{weight,bias}                                   [E]
//   pooler.dense.{weight,bias}                                [Q, E], [Q]       has_pooler
//   classifier.{weight,bias}                                  [L, E], [L]       head `cls`
//   cls_classifier.{weight,bias}, distillation_classifier.{weight,bias}   [L, E], [L]   head `averaged`

import TensorCore

// MARK: - Config

/// Hyper-parameters of a distilled DeiT, as stored in the .vfw header's `architecture.config`.
public struct DeiTConfig: Codable, Equatable, Sendable {
    /// The classification head: none, one classifier on the class token, or the two averaged heads.
    public enum Head: String, Codable, Sendable { case none, cls, averaged }

    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var patchSize: Int = 16
    public var imageSize: Int = 224
    public var numChannels: Int = 3
    /// HF 1e-12 by default; timm 1e-6.
    public var layerNormEps: Double = 1e-12
    public var qkvBias: Bool = true
    public var hasPooler: Bool = false
    public var poolerSize: Int
    public var head: Head = .averaged
    public var numLabels: Int = 1000
    public var id2label: [String: String]?

    public init(hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int) {
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        poolerSize = hiddenSize
    }

    public var gridSize: Int { imageSize / patchSize }
    /// Patches, the class token and the distillation token.
    public var tokens: Int { gridSize * gridSize + 2 }

    /// The released distilled models (Touvron et al. 2021; facebook/deit-*-distilled-patch16-224, timm deit_*_distilled_*).
    public static let sizes: [(name: String, hidden: Int, layers: Int, heads: Int, intermediate: Int)] = [
        ("tiny", 192, 12, 3, 768), ("small", 384, 12, 6, 1536), ("base", 768, 12, 12, 3072),
    ]

    /// `deit-{size}-distilled-patch16-224`: DeiTForImageClassificationWithTeacher, 1000 classes.
    public static var presetNames: [String] { sizes.map { "deit-\($0.name)-distilled-patch16-224" } }

    public static func named(_ name: String) -> DeiTConfig? {
        guard let s = sizes.first(where: { "deit-\($0.name)-distilled-patch16-224" == name }) else { return nil }
        return DeiTConfig(hiddenSize: s.hidden, numLayers: s.layers, numHeads: s.heads, intermediateSize: s.intermediate)
    }

    public var name: String {
        guard numChannels == 3, patchSize == 16, imageSize == 224, let s = DeiTConfig.sizes.first(where: {
            $0.hidden == hiddenSize && $0.layers == numLayers && $0.heads == numHeads && $0.intermediate == intermediateSize
        }) else { return "deit-distilled-custom" }
        return "deit-\(s.name)-distilled-patch16-224"
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numLayers = "num_hidden_layers", numHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", patchSize = "patch_size", imageSize = "image_size"
        case numChannels = "num_channels", layerNormEps = "layer_norm_eps", qkvBias = "qkv_bias"
        case hasPooler = "has_pooler", poolerSize = "pooler_output_size", head, numLabels = "num_labels", id2label
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numLayers = try c.decode(Int.self, forKey: .numLayers)
        numHeads = try c.decode(Int.self, forKey: .numHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        patchSize = try c.decode(Int.self, forKey: .patchSize)
        imageSize = try c.decode(Int.self, forKey: .imageSize)
        numChannels = try c.decodeIfPresent(Int.self, forKey: .numChannels) ?? 3
        layerNormEps = try c.decode(Double.self, forKey: .layerNormEps)
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? true
        hasPooler = try c.decodeIfPresent(Bool.self, forKey: .hasPooler) ?? false
        poolerSize = try c.decodeIfPresent(Int.self, forKey: .poolerSize) ?? hiddenSize
        head = try c.decode(Head.self, forKey: .head)
        numLabels = try c.decodeIfPresent(Int.self, forKey: .numLabels) ?? 0
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
    }

    public func validate() throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: DeiT.name, reason: r) }
        for (k, v) in [("hidden_size", hiddenSize), ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
                       ("intermediate_size", intermediateSize), ("patch_size", patchSize), ("image_size", imageSize),
                       ("num_channels", numChannels), ("pooler_output_size", poolerSize)] where v < 1 {
            throw fail("'\(k)' must be an integer ≥ 1")
        }
        guard layerNormEps >= 0 else { throw fail("'layer_norm_eps' must be a number ≥ 0") }
        guard hiddenSize % numHeads == 0 else { throw fail("hidden_size \(hiddenSize) does not split into \(numHeads) heads") }
        guard imageSize >= patchSize else { throw fail("image_size \(imageSize) is smaller than patch_size \(patchSize)") }
        guard head == .none || numLabels >= 1 else { throw fail("a '\(head.rawValue)' head needs num_labels ≥ 1") }
    }
}

// MARK: - Family

extension DeiT: ModelFamily {
    public static let name = "deit"
    public static var modelNames: [String] { DeiTConfig.presetNames }

    public static func config(named name: String, numClasses: Int?) -> DeiTConfig? {
        guard var c = DeiTConfig.named(name) else { return nil }
        if let n = numClasses {
            c.numLabels = n
            c.head = n > 0 ? .averaged : .none
        }
        return c
    }

    public static func modelName(_ c: DeiTConfig) -> String { c.name }
    public static func validate(_ c: DeiTConfig) throws { try c.validate() }

    /// timm's eval transform of deit_* (timm/models/deit.py `_cfg`: crop_pct 0.9, bicubic, ImageNet mean/std:
    /// shorter side floor(224 / 0.9) = 248, center crop 224), for timm layouts and synthetic weights.
    /// transformers layouts get `transformersPreprocessing` (facebook/deit-* preprocessor_config.json).
    public static func preprocessing(_ c: DeiTConfig) -> String {
        c.imageSize == 224 ? "timm,crop_pct=0.9" : "timm,crop_pct=0.9,crop=\(c.imageSize)"
    }

    /// facebook/deit-*-distilled-patch16-224's preprocessor_config.json as transformers 5's AutoImageProcessor
    /// runs it (DeiTImageProcessor, torchvision backend): 256x256 bicubic (exact, not the shorter side), center
    /// crop 224, ImageNet mean/std (the Hub file's; the class defaults would be 0.5).
    public static func transformersPreprocessing(_ c: DeiTConfig) -> String {
        let r = c.imageSize * 256 / 224
        return "timm,backend=hf-torchvision,resize=\(r)x\(r),crop=\(c.imageSize)"
    }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? { try DeiTLayout.recognise(checkpoint) }

    public var featureName: String { "cls+distillation" }
    public var imageSize: Int? { config.imageSize }
    public var logitsModule: String? {
        switch config.head {
        case .none: return nil
        case .cls: return "classifier"
        // The average has no module of its own; the class-token head stands for it in top-k agreement.
        case .averaged: return "cls_classifier"
        }
    }
}

// MARK: - Model

public struct DeiT {
    public let config: DeiTConfig
    let patchEmbedding: TransformerPatchEmbedding
    let clsToken: Tensor, distillationToken: Tensor, positions: Tensor
    let layers: [TransformerEncoderLayer]
    let finalNorm: TransformerLayerNorm
    let pooler: TransformerLinear?
    let classifier: TransformerLinear?
    let distillationClassifier: TransformerLinear?

    public init(config c: DeiTConfig, weights scope: WeightScope) throws {
        try c.validate()
        config = c
        let e = c.hiddenSize
        let emb = scope.child("embeddings")
        clsToken = try emb.tensor("cls_token", shape: [1, 1, e], synth: .normal(std: 0.5))
        distillationToken = try emb.tensor("distillation_token", shape: [1, 1, e], synth: .normal(std: 0.5))
        positions = try emb.tensor("position_embeddings", shape: [1, c.tokens, e], synth: .normal(std: 0.5))
        patchEmbedding = try TransformerPatchEmbedding(emb.child("patch_embeddings").child("projection"), hidden: e,
                                                       channels: c.numChannels, patch: c.patchSize)
        let shape = EncoderLayerShape(hidden: e, intermediate: c.intermediateSize, heads: c.numHeads, eps: c.layerNormEps,
                                      qkvBias: c.qkvBias, activation: .gelu)
        let encoder = scope.child("encoder").child("layer")
        layers = try (0..<c.numLayers).map { try TransformerEncoderLayer(encoder.child($0), keys: ViT.layerKeys, shape: shape) }
        finalNorm = try TransformerLayerNorm(scope, "layernorm", width: e, eps: c.layerNormEps)
        pooler = c.hasPooler ? try TransformerLinear(scope.child("pooler"), "dense", out: c.poolerSize, in: e) : nil
        switch c.head {
        case .none:
            classifier = nil
            distillationClassifier = nil
        case .cls:
            classifier = try TransformerLinear(scope, "classifier", out: c.numLabels, in: e)
            distillationClassifier = nil
        case .averaged:
            classifier = try TransformerLinear(scope, "cls_classifier", out: c.numLabels, in: e)
            distillationClassifier = try TransformerLinear(scope, "distillation_classifier", out: c.numLabels, in: e)
        }
    }

    /// x: [N, C, S, S] → logits [N, L] (the two heads averaged for `averaged`), else the pooler output, else the
    /// final layernorm output [N, T, E].
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        let sequence = encode(x, taps: taps)
        var pooled: Tensor? = nil
        if let pooler {
            var p = pooler(token(sequence, 0))
            tanhInPlace(&p)
            taps.record("pooler", p)
            pooled = p
        }
        guard let classifier else { return pooled ?? sequence }
        let logits = classifier(token(sequence, 0))
        taps.record(config.head == .cls ? "classifier" : "cls_classifier", logits)
        guard let distillationClassifier else { return logits }
        let distilled = distillationClassifier(token(sequence, 1))
        taps.record("distillation_classifier", distilled)
        return DeiT.average(logits, distilled)
    }

    /// The feature vector [N, E]: (class token + distillation token) / 2 after the final norm.
    public func features(_ x: Tensor) -> Tensor {
        let s = encode(x, taps: nil)
        return DeiT.average(token(s, 0), token(s, 1))
    }

    /// (a + b) / 2 elementwise, as PyTorch computes `(x + x_dist) / 2`.
    static func average(_ a: Tensor, _ b: Tensor) -> Tensor {
        var y = add(a, b)
        scaleInPlace(&y, by: 0.5)  // ÷ 2 and × 0.5 are the same float operation
        return y
    }

    func encode(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        let c = config
        precondition(x.rank == 4 && x.shape[1] == c.numChannels && x.shape[2] == c.imageSize && x.shape[3] == c.imageSize,
                     "DeiT: input must be [N, \(c.numChannels), \(c.imageSize), \(c.imageSize)], got \(describeShape(x.shape))")
        var h = embed(x)
        taps.record("embeddings", h)
        for layer in layers { h = layer(h, taps: taps) }
        let sequence = finalNorm(h)
        taps.record("layernorm", sequence)
        return sequence
    }

    /// [N, C, S, S] → [N, T, E]: cat(cls, distillation, patches) + positions.
    func embed(_ x: Tensor) -> Tensor {
        let c = config
        if x.shape[0] == 0 { return Tensor.zeros([0, c.tokens, c.hiddenSize]) }
        let conv = patchEmbedding(x)
        return assembleTokens(conv: conv, posed: [clsToken, distillationToken], positions: positions)
    }

    /// embeddings(input) → encoder.layer.0 → ... → layernorm → [pooler] → [classifier | cls_classifier,
    /// distillation_classifier]
    public func isolatedModules() -> [IsolatedModule] {
        let c = config, model = self
        let sequence: [Int?] = [c.tokens, c.hiddenSize]
        var out = [IsolatedModule("embeddings", inputs: [ModuleGraph.modelInput], itemShapes: [[c.numChannels, c.imageSize, c.imageSize]],
                                  run: { model.embed($0[0]) })]
        let (encoder, last) = encoderModules(layers, after: "embeddings", sequence: sequence)
        out += encoder
        let norm = finalNorm
        out.append(IsolatedModule("layernorm", inputs: [last], itemShapes: [sequence], run: { norm($0[0]) }))
        if let pooler {
            out.append(IsolatedModule("pooler", inputs: ["layernorm"], itemShapes: [sequence], run: { x in
                var p = pooler(token(x[0], 0))
                tanhInPlace(&p)
                return p
            }))
        }
        if let classifier {
            out.append(IsolatedModule(c.head == .cls ? "classifier" : "cls_classifier", inputs: ["layernorm"], itemShapes: [sequence],
                                      run: { classifier(token($0[0], 0)) }))
        }
        if let distillationClassifier {
            out.append(IsolatedModule("distillation_classifier", inputs: ["layernorm"], itemShapes: [sequence],
                                      run: { distillationClassifier(token($0[0], 1)) }))
        }
        return out
    }
}
