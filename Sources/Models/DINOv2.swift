// DINOv2, with and without registers: transformers Dinov2Model / Dinov2WithRegistersModel (and their
// *ForImageClassification), timm vit_*_patch14_dinov2 / vit_*_patch14_reg4_dinov2. Sources, eval mode:
//   HF   https://github.com/huggingface/transformers/blob/main/src/transformers/models/dinov2/modeling_dinov2.py
//        https://github.com/huggingface/transformers/blob/main/src/transformers/models/dinov2_with_registers/modeling_dinov2_with_registers.py
//   timm https://github.com/huggingface/pytorch-image-models/blob/main/timm/models/vision_transformer.py (_pos_embed,
//        LayerScale) and timm/layers/pos_embed.py (resample_abs_pos_embed)
//
// Forward (E = hidden_size, P = patch_size = 14, g₀ = image_size / P the native grid, R register tokens):
//   x [N, C, H, W] → Conv2d(C, E, k=P, s=P) → [N, E, h, w] (h = H // P, w = W // P) → patch tokens [N, h·w, E]
//   positions: the table's patch rows as it is when (h, w) = (g₀, g₀), else resampled to h×w (Transformer.swift
//     `resamplePositions`): bicubic without antialias in transformers' Dinov2Model, with antialias in
//     Dinov2WithRegistersModel and in timm (`resample_abs_pos_embed`, dynamic_img_size or at load)
//   class_position_embedding (HF, timm without registers): [cls + pos₀, patches + pos, ] then the registers
//     inserted after cls (HF: `cat(x[:, :1], register_tokens, x[:, 1:])`)
//   timm with registers (no_embed_class=True): [cls, registers, patches + pos] (timm's converter folds pos₀
//     into cls_token, so the table has only patch rows)                                      tap `embeddings`
//   per layer: h = x + γ1 ⊙ o(MHA(norm1(x)));  x = h + γ2 ⊙ fc2(GELU(fc1(norm2(h))))        tap `encoder.layer.N`
//   layernorm → [N, 1 + R + h·w, E]                                                          tap `layernorm`
//   num_labels > 0: classifier(cat(token 0, mean of the patch tokens)) [HF, input 2E], or classifier(token 0)
//     [timm `head`, input E]                                                                 tap `classifier`
//
// Feature (`vfw embed`): the CLS token after the final norm (HF `pooler_output` = `last_hidden_state[:, 0]`,
// timm `forward_head(pre_logits=True)` with global_pool='token'). The mean of the patch tokens after the norm
// (registers excluded; what Dinov2ForImageClassification concatenates) is `patchTokenMean(_:)`.
//
// Canonical tensor names (.vfw files; the transformers names the Hub files use, without `dinov2.`):
//   embeddings.cls_token                                     [1, 1, E]
//   embeddings.register_tokens                               [1, R, E]          R > 0
//   embeddings.position_embeddings                           [1, 1 + g₀², E]   ([1, g₀², E] without class position)
//   embeddings.patch_embeddings.projection.{weight,bias}     [E, C, P, P], [E]
//   encoder.layer.N.norm1.{weight,bias}                      [E]
//   encoder.layer.N.attention.attention.{query,key,value}.{weight,bias}   [E, E], [E]
//   encoder.layer.N.attention.output.dense.{weight,bias}     [E, E], [E]
//   encoder.layer.N.layer_scale1.lambda1                     [E]
//   encoder.layer.N.norm2.{weight,bias}                      [E]
//   encoder.layer.N.mlp.fc1.{weight,bias}                    [I, E], [I]
//   encoder.layer.N.mlp.fc2.{weight,bias}                    [E, I], [E]
//   encoder.layer.N.layer_scale2.lambda1                     [E]
//   layernorm.{weight,bias}                                  [E]
//   classifier.{weight,bias}                                 [L, 2E or E], [L]   num_labels > 0
// The masked-image-modelling `embeddings.mask_token` is not canonical (unused at inference): recognition drops
// it with a note, and synthetic Hugging Face state_dicts carry it as zeros. DINOv2Layout.swift maps each layout.

import TensorCore

// MARK: - Config

/// Hyper-parameters of a DINOv2 model, as stored in the .vfw header's `architecture.config`.
public struct DINOv2Config: Codable, Equatable, Sendable {
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var patchSize: Int = 14
    /// The native input size: the position table is a (image_size / patch_size)² grid.
    public var imageSize: Int = 518
    public var numChannels: Int = 3
    public var layerNormEps: Double = 1e-6
    public var numRegisterTokens: Int = 0
    public var qkvBias: Bool = true
    /// How the position table is resampled for another grid (bicubic: HF Dinov2Model; bicubic-antialias:
    /// Dinov2WithRegistersModel, timm).
    public var positionResampling: PositionResampling = .bicubic
    /// Whether the table has a row for the class token (false: timm's no_embed_class register models).
    public var classPositionEmbedding: Bool = true
    /// Classes of the classifier head; 0 for none.
    public var numLabels: Int = 0
    /// The classifier reads cat(CLS, patch-token mean) [2E] (HF) rather than the CLS token [E] (timm).
    public var classifierPatchMean: Bool = true
    public var id2label: [String: String]?

    public init(hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int, registers: Int = 0) {
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        numRegisterTokens = registers
        positionResampling = registers > 0 ? .bicubicAntialias : .bicubic
    }

    /// Patches per side of the position table.
    public var gridSize: Int { imageSize / patchSize }
    public var prefixTokens: Int { 1 + numRegisterTokens }

    /// The released sizes (Oquab et al. 2023; facebook/dinov2-*). Giant's SwiGLU MLP is not implemented.
    public static let sizes: [(name: String, hidden: Int, layers: Int, heads: Int, intermediate: Int)] = [
        ("small", 384, 12, 6, 1536),
        ("base", 768, 12, 12, 3072),
        ("large", 1024, 24, 16, 4096),
    ]

    /// `dinov2-{size}` (facebook/dinov2-*, Dinov2Model) and `dinov2-with-registers-{size}`
    /// (facebook/dinov2-with-registers-*, Dinov2WithRegistersModel, 4 registers).
    public static var presetNames: [String] {
        sizes.map { "dinov2-\($0.name)" } + sizes.map { "dinov2-with-registers-\($0.name)" }
    }

    public static func named(_ name: String) -> DINOv2Config? {
        for s in sizes {
            if name == "dinov2-\(s.name)" { return DINOv2Config(hiddenSize: s.hidden, numLayers: s.layers, numHeads: s.heads, intermediateSize: s.intermediate) }
            if name == "dinov2-with-registers-\(s.name)" {
                return DINOv2Config(hiddenSize: s.hidden, numLayers: s.layers, numHeads: s.heads, intermediateSize: s.intermediate, registers: 4)
            }
        }
        return nil
    }

    public var name: String {
        guard numChannels == 3, patchSize == 14, let s = DINOv2Config.sizes.first(where: {
            $0.hidden == hiddenSize && $0.layers == numLayers && $0.heads == numHeads && $0.intermediate == intermediateSize
        }) else { return "dinov2-custom" }
        return numRegisterTokens > 0 ? "dinov2-with-registers-\(s.name)" : "dinov2-\(s.name)"
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numLayers = "num_hidden_layers", numHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", patchSize = "patch_size", imageSize = "image_size"
        case numChannels = "num_channels", layerNormEps = "layer_norm_eps", numRegisterTokens = "num_register_tokens"
        case qkvBias = "qkv_bias", positionResampling = "position_resampling"
        case classPositionEmbedding = "class_position_embedding", numLabels = "num_labels"
        case classifierPatchMean = "classifier_patch_mean", id2label
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
        numRegisterTokens = try c.decodeIfPresent(Int.self, forKey: .numRegisterTokens) ?? 0
        qkvBias = try c.decodeIfPresent(Bool.self, forKey: .qkvBias) ?? true
        positionResampling = try c.decode(PositionResampling.self, forKey: .positionResampling)
        classPositionEmbedding = try c.decodeIfPresent(Bool.self, forKey: .classPositionEmbedding) ?? true
        numLabels = try c.decodeIfPresent(Int.self, forKey: .numLabels) ?? 0
        classifierPatchMean = try c.decodeIfPresent(Bool.self, forKey: .classifierPatchMean) ?? true
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
    }

    public func validate() throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: DINOv2.name, reason: r) }
        for (k, v) in [("hidden_size", hiddenSize), ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
                       ("intermediate_size", intermediateSize), ("patch_size", patchSize), ("image_size", imageSize),
                       ("num_channels", numChannels)] where v < 1 {
            throw fail("'\(k)' must be an integer ≥ 1")
        }
        guard numRegisterTokens >= 0, numLabels >= 0 else { throw fail("'num_register_tokens' and 'num_labels' must be ≥ 0") }
        guard layerNormEps >= 0 else { throw fail("'layer_norm_eps' must be a number ≥ 0") }
        guard hiddenSize % numHeads == 0 else { throw fail("hidden_size \(hiddenSize) does not split into \(numHeads) heads") }
        guard imageSize >= patchSize else { throw fail("image_size \(imageSize) is smaller than patch_size \(patchSize)") }
    }
}

// MARK: - Family

extension DINOv2: ModelFamily {
    public static let name = "dinov2"
    public static var modelNames: [String] { DINOv2Config.presetNames }

    public static func config(named name: String, numClasses: Int?) -> DINOv2Config? {
        guard var c = DINOv2Config.named(name) else { return nil }
        if let n = numClasses { c.numLabels = n }
        return c
    }

    public static func modelName(_ c: DINOv2Config) -> String { c.name }
    public static func validate(_ c: DINOv2Config) throws { try c.validate() }

    /// facebook/dinov2-* preprocessor_config.json (BitImageProcessor): shorter side 256 bicubic, crop 224,
    /// ImageNet mean/std (Imaging's `dinov2` preset).
    public static func preprocessing(_ c: DINOv2Config) -> String { "dinov2" }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try DINOv2Layout.recognise(checkpoint)
    }

    /// transformers' Dinov2Model always holds the masked-image-modelling token; synthetic checkpoints carry it as
    /// zeros (its init) so they load with strict=True.
    public static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)] {
        guard let cls = canonical.first(where: { $0.name == "embeddings.cls_token" }), let e = cls.tensor.shape.last,
              !canonical.contains(where: { $0.name == "embeddings.mask_token" }) else { return canonical }
        var out = canonical
        let at = (out.firstIndex { $0.name == "embeddings.cls_token" } ?? 0) + 1
        out.insert(("embeddings.mask_token", RawTensor.float32([Float](repeating: 0, count: e), shape: [1, e])), at: at)
        return out
    }

    public var featureName: String { "cls" }
    /// Any size of at least one patch runs (the position table is resampled).
    public var imageSize: Int? { nil }
    public var logitsModule: String? { classifier == nil ? nil : "classifier" }
}

// MARK: - Model

public struct DINOv2 {
    public let config: DINOv2Config
    let patchEmbedding: TransformerPatchEmbedding
    let clsToken: Tensor
    let registers: Tensor?
    let positions: Tensor
    let layers: [TransformerEncoderLayer]
    let finalNorm: TransformerLayerNorm
    let classifier: TransformerLinear?

    static let layerKeys = EncoderLayerKeys(
        norm1: "norm1",
        query: "attention.attention.query", key: "attention.attention.key", value: "attention.attention.value",
        out: "attention.output.dense", norm2: "norm2", fc1: "mlp.fc1", fc2: "mlp.fc2",
        layerScale1: "layer_scale1.lambda1", layerScale2: "layer_scale2.lambda1")

    public init(config c: DINOv2Config, weights scope: WeightScope) throws {
        try c.validate()
        config = c
        let e = c.hiddenSize
        let emb = scope.child("embeddings")
        clsToken = try emb.tensor("cls_token", shape: [1, 1, e], synth: .normal(std: 0.5))
        registers = c.numRegisterTokens > 0
            ? try emb.tensor("register_tokens", shape: [1, c.numRegisterTokens, e], synth: .normal(std: 0.5)) : nil
        let rows = (c.classPositionEmbedding ? 1 : 0) + c.gridSize * c.gridSize
        positions = try emb.tensor("position_embeddings", shape: [1, rows, e], synth: .normal(std: 0.5))
        patchEmbedding = try TransformerPatchEmbedding(emb.child("patch_embeddings").child("projection"), hidden: e,
                                                       channels: c.numChannels, patch: c.patchSize)
        let shape = EncoderLayerShape(hidden: e, intermediate: c.intermediateSize, heads: c.numHeads, eps: c.layerNormEps,
                                      qkvBias: c.qkvBias, activation: .gelu)
        let encoder = scope.child("encoder").child("layer")
        layers = try (0..<c.numLayers).map { try TransformerEncoderLayer(encoder.child($0), keys: DINOv2.layerKeys, shape: shape) }
        finalNorm = try TransformerLayerNorm(scope, "layernorm", width: e, eps: c.layerNormEps)
        classifier = c.numLabels > 0
            ? try TransformerLinear(scope, "classifier", out: c.numLabels, in: c.classifierPatchMean ? 2 * e : e) : nil
    }

    /// x: [N, C, H, W] normalised images (H, W ≥ patch_size) → logits [N, num_labels] with a classifier, else
    /// the final layernorm output (`last_hidden_state`) [N, 1 + R + h·w, E].
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        let sequence = encode(x, taps: taps)
        guard let classifier else { return sequence }
        let logits = classify(sequence, classifier)
        taps.record("classifier", logits)
        return logits
    }

    /// The everyday feature vector [N, E]: the CLS token after the final norm.
    public func features(_ x: Tensor) -> Tensor { token(encode(x, taps: nil), 0) }

    /// The alternative feature [N, E]: the mean of the patch tokens after the final norm (registers excluded),
    /// the second half of Dinov2ForImageClassification's classifier input.
    public func patchTokenMean(_ x: Tensor) -> Tensor { tokenMean(encode(x, taps: nil), from: config.prefixTokens) }

    func encode(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        let c = config
        precondition(x.rank == 4 && x.shape[1] == c.numChannels && x.shape[2] >= c.patchSize && x.shape[3] >= c.patchSize,
                     "DINOv2: input must be [N, \(c.numChannels), H, W] with H, W ≥ \(c.patchSize), got \(describeShape(x.shape))")
        var h = embed(x)
        taps.record("embeddings", h)
        for layer in layers { h = layer(h, taps: taps) }
        let sequence = finalNorm(h)
        taps.record("layernorm", sequence)
        return sequence
    }

    func classify(_ sequence: Tensor, _ classifier: TransformerLinear) -> Tensor {
        let cls = token(sequence, 0)
        guard config.classifierPatchMean else { return classifier(cls) }
        let mean = tokenMean(sequence, from: config.prefixTokens)
        let n = cls.shape[0], e = cls.shape[1]
        var both = [Float](repeating: 0, count: n * 2 * e)
        for b in 0..<n {
            for j in 0..<e {
                both[b * 2 * e + j] = cls.data[b * e + j]
                both[b * 2 * e + e + j] = mean.data[b * e + j]
            }
        }
        return classifier(Tensor(shape: [n, 2 * e], data: both))
    }

    /// Patch embedding, class and register tokens, position embeddings (resampled for another grid):
    /// [N, C, H, W] → [N, 1 + R + h·w, E].
    func embed(_ x: Tensor) -> Tensor {
        let c = config, e = c.hiddenSize
        let h = x.shape[2] / c.patchSize, w = x.shape[3] / c.patchSize
        if x.shape[0] == 0 { return Tensor.zeros([0, c.prefixTokens + h * w, e]) }
        let conv = patchEmbedding(x)  // [N, E, h, w]
        let classRows = c.classPositionEmbedding ? 1 : 0
        var table = positions
        if h != c.gridSize || w != c.gridSize {
            let g = c.gridSize
            let patchRows = Tensor(shape: [g * g, e], data: Array(positions.data[(classRows * e)...]))
            let resampled = resamplePositions(patchRows, from: g, to: h, w, c.positionResampling)
            table = Tensor(shape: [1, classRows + h * w, e], data: Array(positions.data[..<(classRows * e)]) + resampled.data)
        }
        let extra = registers.map { [$0] } ?? []
        return c.classPositionEmbedding
            ? assembleTokens(conv: conv, posed: [clsToken], unposed: extra, positions: table)
            : assembleTokens(conv: conv, posed: [], unposed: [clsToken] + extra, positions: table)
    }

    /// The tapped modules in forward order, with their inputs; each runs alone as in the full forward.
    ///   embeddings(input) → encoder.layer.0 → ... → encoder.layer.{L-1} → layernorm → [classifier]
    public func isolatedModules() -> [IsolatedModule] {
        let c = config, model = self
        let sequence: [Int?] = [nil, c.hiddenSize]
        var out = [IsolatedModule("embeddings", inputs: [ModuleGraph.modelInput], itemShapes: [[c.numChannels, nil, nil]],
                                  run: { model.embed($0[0]) })]
        let (encoder, previous) = encoderModules(layers, after: "embeddings", sequence: sequence)
        out += encoder
        let norm = finalNorm
        out.append(IsolatedModule("layernorm", inputs: [previous], itemShapes: [sequence], run: { norm($0[0]) }))
        if let classifier {
            out.append(IsolatedModule("classifier", inputs: ["layernorm"], itemShapes: [sequence], run: { model.classify($0[0], classifier) }))
        }
        return out
    }
}
