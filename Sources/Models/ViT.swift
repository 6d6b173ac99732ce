// The Vision Transformer family: Hugging Face ViTModel / ViTForImageClassification, timm VisionTransformer
// (global_pool='token', no fc_norm) and torchvision vit_b_16 & co. All three compute the same math; only the
// LayerNorm eps differs (HF config layer_norm_eps, default 1e-12; timm and torchvision 1e-6), and it is part
// of the config. Sources, eval mode:
//   HF        https://github.com/huggingface/transformers/blob/main/src/transformers/models/vit/modeling_vit.py
//   timm      https://github.com/huggingface/pytorch-image-models/blob/main/timm/models/vision_transformer.py
//   torchvision https://github.com/pytorch/vision/blob/main/torchvision/models/vision_transformer.py
//
// Forward (E = hidden_size, P = patch_size, g = image_size / P, T = g² + 1 tokens, H heads of D = E / H):
//   x [N, C, S, S] → Conv2d(C, E, k=P, s=P) → [N, E, g, g] → flatten, transpose → [N, g², E] (token p = row·g + col)
//   → cat(cls_token, ·) → + position_embeddings → [N, T, E]                                  tap `embeddings`
//   per layer: h = x + o(MHA(LN_before(x)));  x = h + fc2(GELU(fc1(LN_after(h))))            tap `encoder.layer.N`
//              MHA = softmax(Q·Kᵀ / √D)·V per head, GELU exact (erf)
//   LN_final → [N, T, E]                                                                     tap `layernorm`
//   has_pooler:   tanh(pooler.dense(token 0)) → [N, pooler_output_size]                       tap `pooler`
//   num_labels>0: classifier(token 0 of `layernorm`, or of `pooler` when has_pooler) → [N, L]  tap `classifier`
// "classifier on the pooler" is torchvision's `representation_size` head (heads.pre_logits → tanh → heads.head);
// Hugging Face never has both (ViTForImageClassification builds ViTModel(add_pooling_layer=False)).
//
// Canonical tensor names (.vfw files; Hugging Face transformers-4 names without the `vit.` prefix, so a
// canonical safetensors file loads into transformers' ViTModel / ViTForImageClassification as it is):
//   embeddings.cls_token                                      [1, 1, E]
//   embeddings.position_embeddings                            [1, T, E]
//   embeddings.patch_embeddings.projection.{weight,bias}      [E, C, P, P], [E]
//   encoder.layer.N.layernorm_before.{weight,bias}            [E]
//   encoder.layer.N.attention.attention.query.{weight,bias}   [E, E], [E] (bias only when qkv_bias)
//   encoder.layer.N.attention.attention.key.{weight,bias}     [E, E], [E] (bias only when qkv_bias)
//   encoder.layer.N.attention.attention.value.{weight,bias}   [E, E], [E] (bias only when qkv_bias)
//   encoder.layer.N.attention.output.dense.{weight,bias}      [E, E], [E]
//   encoder.layer.N.layernorm_after.{weight,bias}             [E]
//   encoder.layer.N.intermediate.dense.{weight,bias}          [I, E], [I]
//   encoder.layer.N.output.dense.{weight,bias}                [E, I], [E]
//   layernorm.{weight,bias}                                   [E]
//   pooler.dense.{weight,bias}                                [Q, E], [Q]   has_pooler (Q = pooler_output_size)
//   classifier.{weight,bias}                                  [L, E or Q], [L]   num_labels > 0
// ViTLayout.swift maps each source layout onto these names.
//
// Canonical taps (the same for every source layout and transformers version):
//   embeddings, encoder.layer.0 ... encoder.layer.{L-1}, layernorm, pooler (has_pooler), classifier (num_labels > 0)
//
// Weights are prepared once at load: q, k, v are fused into one [3E, E] projection so each layer runs one
// sgemm for them and attention reads the heads in place (TensorCore `attention(qkv:)`).

import TensorCore

// MARK: - Config

/// Hyper-parameters of a ViT, as stored in the .vfw header's `architecture.config`.
public struct ViTConfig: Codable, Equatable, Sendable {
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var patchSize: Int
    public var imageSize: Int
    public var numChannels: Int = 3
    /// LayerNorm eps of the framework the weights come from (HF 1e-12 by default; timm, torchvision 1e-6).
    public var layerNormEps: Double
    /// Classes of the classifier head; 0 for none.
    public var numLabels: Int
    /// Hugging Face ViTModel's pooler (or torchvision's representation layer): tanh(Linear(token 0)).
    public var hasPooler: Bool
    /// Output width of the pooler (HF `pooler_output_size`, torchvision `representation_size`); E by default.
    public var poolerSize: Int
    public var qkvBias: Bool
    /// Class index (as a decimal string) → label, when the source config names the classes.
    public var id2label: [String: String]?
    /// How the position table is resampled for an input of another size, as the source library does it:
    /// `bicubic` (transformers' `interpolate_pos_encoding=True`), `bicubic-antialias` (timm's dynamic_img_size,
    /// `resample_abs_pos_embed`); nil (torchvision layouts, headers written before the key existed): the model
    /// runs at `image_size` only.
    public var positionResampling: PositionResampling?

    public init(hiddenSize: Int, numLayers: Int, numHeads: Int, intermediateSize: Int, patchSize: Int, imageSize: Int,
                numChannels: Int = 3, layerNormEps: Double = 1e-12, numLabels: Int = 1000, hasPooler: Bool = false,
                poolerSize: Int? = nil, qkvBias: Bool = true, id2label: [String: String]? = nil,
                positionResampling: PositionResampling? = .bicubic) {
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        self.patchSize = patchSize
        self.imageSize = imageSize
        self.numChannels = numChannels
        self.layerNormEps = layerNormEps
        self.numLabels = numLabels
        self.hasPooler = hasPooler
        self.poolerSize = poolerSize ?? hiddenSize
        self.qkvBias = qkvBias
        self.id2label = id2label
        self.positionResampling = positionResampling
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Tokens per image: the patches and the class token.
    public var tokens: Int { gridSize * gridSize + 1 }
    public var headDim: Int { hiddenSize / numHeads }
    /// Width of the classifier's input.
    public var featureCount: Int { hasPooler ? poolerSize : hiddenSize }

    // MARK: Sizes and names

    /// The standard sizes (Dosovitskiy et al. 2020, Table 1; Ti and S from DeiT / timm).
    public static let sizes: [(name: String, hidden: Int, layers: Int, heads: Int, intermediate: Int)] = [
        ("tiny", 192, 12, 3, 768),
        ("small", 384, 12, 6, 1536),
        ("base", 768, 12, 12, 3072),
        ("large", 1024, 24, 16, 4096),
        ("huge", 1280, 32, 16, 5120),
    ]

    /// Names `--model` / `--arch` list (any `vit-{size}-patch{P}-{S}` is accepted), and the alias `vit-base`.
    public static let presetNames = ["vit-tiny-patch16-224", "vit-small-patch16-224", "vit-base-patch16-224",
                                     "vit-base-patch32-224", "vit-large-patch16-224", "vit-large-patch32-224",
                                     "vit-huge-patch14-224", "vit-base"]

    /// The config a model name stands for, or nil when the name is not a ViT name. `vit-{size}-patch{P}-{S}`
    /// is Hugging Face's ViTForImageClassification default (1000 labels, no pooler, eps 1e-12, qkv bias);
    /// `vit-base` is google/vit-base-patch16-224-in21k (ViTModel: pooler, no classifier).
    public static func named(_ name: String) -> ViTConfig? {
        if name == "vit-base" {
            var c = named("vit-base-patch16-224")!
            c.numLabels = 0
            c.hasPooler = true
            return c
        }
        let parts = name.split(separator: "-").map(String.init)
        guard parts.count == 4, parts[0] == "vit", parts[2].hasPrefix("patch"),
              let size = sizes.first(where: { $0.name == parts[1] }),
              let p = Int(parts[2].dropFirst(5)), let s = Int(parts[3]), p > 0, s > 0, s % p == 0 else { return nil }
        return ViTConfig(hiddenSize: size.hidden, numLayers: size.layers, numHeads: size.heads,
                         intermediateSize: size.intermediate, patchSize: p, imageSize: s)
    }

    /// `vit-{size}-patch{P}-{S}` when the transformer is a standard size, else `vit-custom`.
    public var name: String {
        guard numChannels == 3, let s = ViTConfig.sizes.first(where: {
            $0.hidden == hiddenSize && $0.layers == numLayers && $0.heads == numHeads && $0.intermediate == intermediateSize
        }) else { return "vit-custom" }
        return "vit-\(s.name)-patch\(patchSize)-\(imageSize)"
    }

    /// Heads for a hidden width when nothing says: the standard sizes' counts, else D = 64.
    public static func defaultHeads(hidden: Int) -> Int? {
        if let s = sizes.first(where: { $0.hidden == hidden }) { return s.heads }
        return hidden % 64 == 0 ? hidden / 64 : nil
    }

    // MARK: Coding

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numLayers = "num_hidden_layers", numHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size", patchSize = "patch_size", imageSize = "image_size"
        case numChannels = "num_channels", layerNormEps = "layer_norm_eps", numLabels = "num_labels"
        case hasPooler = "has_pooler", poolerSize = "pooler_output_size", qkvBias = "qkv_bias", id2label
        case positionResampling = "position_resampling"
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
        numLabels = try c.decode(Int.self, forKey: .numLabels)
        hasPooler = try c.decode(Bool.self, forKey: .hasPooler)
        poolerSize = try c.decodeIfPresent(Int.self, forKey: .poolerSize) ?? hiddenSize
        qkvBias = try c.decode(Bool.self, forKey: .qkvBias)
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
        positionResampling = try c.decodeIfPresent(PositionResampling.self, forKey: .positionResampling)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(numLayers, forKey: .numLayers)
        try c.encode(numHeads, forKey: .numHeads)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(patchSize, forKey: .patchSize)
        try c.encode(imageSize, forKey: .imageSize)
        try c.encode(numChannels, forKey: .numChannels)
        try c.encode(layerNormEps, forKey: .layerNormEps)
        try c.encode(numLabels, forKey: .numLabels)
        try c.encode(hasPooler, forKey: .hasPooler)
        if hasPooler { try c.encode(poolerSize, forKey: .poolerSize) }  // HF's pooler_output_size only means something with a pooler
        try c.encode(qkvBias, forKey: .qkvBias)
        try c.encodeIfPresent(id2label, forKey: .id2label)
        try c.encodeIfPresent(positionResampling, forKey: .positionResampling)
    }

    /// Checks what the forward pass relies on.
    public func validate() throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: ViT.name, reason: r) }
        for (k, v) in [("hidden_size", hiddenSize), ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
                       ("intermediate_size", intermediateSize), ("patch_size", patchSize), ("image_size", imageSize),
                       ("num_channels", numChannels)] where v < 1 {
            throw fail("'\(k)' must be an integer ≥ 1")
        }
        guard numLabels >= 0 else { throw fail("'num_labels' must be an integer ≥ 0") }
        guard layerNormEps >= 0 else { throw fail("'layer_norm_eps' must be a number ≥ 0") }
        guard hiddenSize % numHeads == 0 else { throw fail("hidden_size \(hiddenSize) does not split into \(numHeads) heads") }
        guard imageSize >= patchSize else { throw fail("image_size \(imageSize) is smaller than patch_size \(patchSize)") }
        guard poolerSize >= 1 else { throw fail("pooler_output_size must be positive") }
    }
}

// MARK: - Family

extension ViT: ModelFamily {
    public static let name = "vit"
    public static var modelNames: [String] { ViTConfig.presetNames }

    public static func config(named name: String, numClasses: Int?) -> ViTConfig? {
        guard var c = ViTConfig.named(name) else { return nil }
        if let n = numClasses {
            c.numLabels = n
            c.hasPooler = false  // a classifier on token 0, as ViTForImageClassification
        }
        return c
    }

    public static func modelName(_ c: ViTConfig) -> String { c.name }
    public static func validate(_ c: ViTConfig) throws { try c.validate() }

    /// transformers 5's ViTImageProcessor (torchvision backend; Hugging Face and timm layouts) resized to the
    /// model's own image size (`hf-vit` is 224x224); torchvision layouts say `torchvision` in their recognition.
    public static func preprocessing(_ c: ViTConfig) -> String {
        c.imageSize == 224 ? "hf-vit" : "hf-vit,resize=\(c.imageSize)x\(c.imageSize)"
    }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try ViTLayout.recognise(checkpoint.tensors, configJSON: checkpoint.configJSON, arch: checkpoint.arch)
    }

    public var featureName: String { "cls" }
    /// Any size of at least one patch runs when the layout says how its library resamples the position table;
    /// otherwise (torchvision) only `image_size`.
    public var imageSize: Int? { config.positionResampling == nil ? config.imageSize : nil }
    public var logitsModule: String? { classifier == nil ? nil : "classifier" }
}

// MARK: - Layers

extension ViT {
    /// The keys of one encoder layer under `encoder.layer.N` (Transformer.swift runs it).
    static let layerKeys = EncoderLayerKeys(
        norm1: "layernorm_before",
        query: "attention.attention.query", key: "attention.attention.key", value: "attention.attention.value",
        out: "attention.output.dense", norm2: "layernorm_after", fc1: "intermediate.dense", fc2: "output.dense")
}

// MARK: - Model

public struct ViT {
    public let config: ViTConfig
    let patchEmbedding: TransformerPatchEmbedding
    let clsToken: Tensor, positions: Tensor
    var layers: [TransformerEncoderLayer]
    let finalNorm: TransformerLayerNorm
    let pooler: TransformerLinear?
    let classifier: TransformerLinear?

    /// Builds the network from `scope`, asking for every tensor by its canonical name (table above).
    public init(config c: ViTConfig, weights scope: WeightScope) throws {
        try c.validate()
        config = c
        let e = c.hiddenSize
        let emb = scope.child("embeddings")
        clsToken = try emb.tensor("cls_token", shape: [1, 1, e], synth: .normal(std: 0.5))
        positions = try emb.tensor("position_embeddings", shape: [1, c.tokens, e], synth: .normal(std: 0.5))
        patchEmbedding = try TransformerPatchEmbedding(emb.child("patch_embeddings").child("projection"), hidden: e,
                                                       channels: c.numChannels, patch: c.patchSize)
        let encoder = scope.child("encoder").child("layer")
        let shape = EncoderLayerShape(hidden: e, intermediate: c.intermediateSize, heads: c.numHeads, eps: c.layerNormEps,
                                      qkvBias: c.qkvBias, activation: .gelu)
        layers = try (0..<c.numLayers).map { try TransformerEncoderLayer(encoder.child($0), keys: ViT.layerKeys, shape: shape) }
        finalNorm = try TransformerLayerNorm(scope, "layernorm", width: e, eps: c.layerNormEps)
        pooler = c.hasPooler ? try TransformerLinear(scope.child("pooler"), "dense", out: c.poolerSize, in: e) : nil
        classifier = c.numLabels > 0 ? try TransformerLinear(scope, "classifier", out: c.numLabels, in: c.featureCount) : nil
    }

    /// x: [N, C, H, W] normalised images (H = W = image_size, or any H, W ≥ patch_size when the config has a
    /// `position_resampling` rule: the grid is ⌊H/P⌋ x ⌊W/P⌋ and the table is resampled to it) → logits [N, num_labels] when the model has a
    /// classifier, else the pooler output [N, pooler_output_size] when it has a pooler, else the final
    /// layernorm output (`last_hidden_state`) [N, T, E]. Taps: see the table at the top of this file.
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        let out = run(x, taps: taps)
        return out.logits ?? out.pooled ?? out.sequence
    }

    /// The everyday feature vector [N, E]: token 0 of the final layernorm output, whatever head the model has.
    public func features(_ x: Tensor) -> Tensor {
        // The CLS token of the last hidden state (after the final layer norm): what feature-extraction
        // recipes take from Hugging Face's ViTModel (`last_hidden_state[:, 0]`), not the tanh pooler output.
        classToken(run(x, taps: nil, heads: false).sequence)
    }

    /// The forward pass; `heads: false` stops after the final layernorm (no pooler, no classifier).
    func run(_ x: Tensor, taps: TapRecorder?, heads: Bool = true) -> (sequence: Tensor, pooled: Tensor?, logits: Tensor?) {
        let c = config
        if c.positionResampling == nil {
            precondition(x.rank == 4 && x.shape[1] == c.numChannels && x.shape[2] == c.imageSize && x.shape[3] == c.imageSize,
                         "ViT: input must be [N, \(c.numChannels), \(c.imageSize), \(c.imageSize)], got \(describeShape(x.shape))")
        } else {
            precondition(x.rank == 4 && x.shape[1] == c.numChannels && x.shape[2] >= c.patchSize && x.shape[3] >= c.patchSize,
                         "ViT: input must be [N, \(c.numChannels), H, W] with H, W ≥ \(c.patchSize), got \(describeShape(x.shape))")
        }
        var h = embed(x)
        taps.record("embeddings", h)
        for layer in layers { h = layer(h, taps: taps) }
        let sequence = finalNorm(h)
        taps.record("layernorm", sequence)
        var pooled: Tensor? = nil
        if heads, let pooler {
            var p = pooler(classToken(sequence))
            tanhInPlace(&p)
            taps.record("pooler", p)
            pooled = p
        }
        var logits: Tensor? = nil
        if heads, let classifier {
            let l = classifier(pooled ?? classToken(sequence))
            taps.record("classifier", l)
            logits = l
        }
        return (sequence, pooled, logits)
    }

    /// Patch embedding, class token and position embeddings: [N, C, H, W] → [N, 1 + h·w, E].
    /// PyTorch order: conv (with its bias), flatten(2).transpose(1, 2), cat(cls, ·), + positions.
    func embed(_ x: Tensor) -> Tensor {
        let c = config
        let h = x.shape[2] / c.patchSize, w = x.shape[3] / c.patchSize
        if x.shape[0] == 0 { return Tensor.zeros([0, 1 + h * w, c.hiddenSize]) }
        let conv = patchEmbedding(x)  // [N, E, h, w]
        return assembleTokens(conv: conv, posed: [clsToken], positions: positionTable(height: h, width: w))
    }

    /// The position rows for an h x w grid of patches [1, 1 + h·w, E]: the table as it is for its own grid
    /// (transformers and timm both return it untouched then), else its class row and its patch rows resampled
    /// (`resamplePositions`) by the config's rule.
    func positionTable(height h: Int, width w: Int) -> Tensor {
        let c = config, g = c.gridSize, e = c.hiddenSize
        if h == g && w == g { return positions }
        guard let mode = c.positionResampling else {
            preconditionFailure("ViT: a \(h)x\(w) grid of patches for a \(g)x\(g) position table and no resampling rule")
        }
        let patchRows = Tensor(shape: [g * g, e], data: Array(positions.data[e...]))
        let resampled = resamplePositions(patchRows, from: g, to: h, w, mode)
        return Tensor(shape: [1, 1 + h * w, e], data: Array(positions.data[..<e]) + resampled.data)
    }

    /// Token 0 of every image: [N, T, E] → [N, E].
    func classToken(_ s: Tensor) -> Tensor { token(s, 0) }
}
