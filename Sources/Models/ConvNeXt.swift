// The ConvNeXt family (Liu et al. 2022) and ConvNeXt V2 (Woo et al. 2023): torchvision convnext_*, timm convnext_* /
// convnextv2_*, transformers ConvNextModel / ConvNextForImageClassification and ConvNextV2*.
//
// Port of timm/models/convnext.py (https://github.com/huggingface/pytorch-image-models), eval mode; torchvision's
// convnext.py and transformers' modeling_convnext(v2).py compute the same network under other names
// (ConvNeXtLayout.swift maps them onto timm's, the canonical names here). Layout: activations NCHW.
//
//   stem:      conv 4x4 stride 4 (3 → dims[0], bias) → LayerNorm over channels                 `stem.0`, `stem.1`
//   stage i:   [i > 0] LayerNorm over channels → conv 2x2 stride 2 (dims[i-1] → dims[i])      `stages.i.downsample.0/1`
//              blocks j: y = x + gamma · fc2(GRN(GELU(fc1(LN(dwconv7x7(x))))))              `stages.i.blocks.j`
//                dwconv: depthwise 7x7, padding 3, bias                                       `conv_dw`
//                LN: over channels, eps 1e-6                                                  `norm`
//                fc1: dims[i] → 4·dims[i] (a 1x1 conv here; torchvision/transformers' Linear) `mlp.fc1`
//                GRN (V2 only): global response norm                                          `mlp.grn`
//                fc2: 4·dims[i] → dims[i]                                                     `mlp.fc2`
//                gamma (layer scale, V1): per channel                                         `gamma`
//                stochastic depth is the identity in eval mode
//   head:      global average pool → LayerNorm over channels → fc                             `head.norm`, `head.fc`
//
// Source shapes differ by library for the same tensor (fc1 [4C, C] or [4C, C, 1, 1], gamma [C] or [C, 1, 1], GRN
// [4C] or [1, 1, 1, 4C]): each is accepted in any of its layouts (`ConvNeXt.tensor(anyOf:)`); synthetic weights
// use timm's. fc2's bias and weight are scaled by gamma once at load, so the block is one conv with a fused
// residual.

import TensorCore

// MARK: - Config

public struct ConvNeXtConfig: Codable, Equatable, Sendable {
    /// Blocks per stage.
    public var depths: [Int]
    /// Channels per stage.
    public var dims: [Int]
    /// ConvNeXt V2: global response norm in every block, no layer scale.
    public var grn: Bool
    /// Per-channel layer scale `gamma` in every block (V1).
    public var layerScale: Bool
    /// Classifier outputs; 0 = none (transformers ConvNextModel, timm num_classes=0).
    public var numClasses: Int
    /// LayerNorm epsilon (1e-6 in every library).
    public var eps: Double

    public init(depths: [Int], dims: [Int], grn: Bool = false, layerScale: Bool = true, numClasses: Int = 1000, eps: Double = 1e-6) {
        self.depths = depths
        self.dims = dims
        self.grn = grn
        self.layerScale = layerScale
        self.numClasses = numClasses
        self.eps = eps
    }

    enum CodingKeys: String, CodingKey {
        case depths, dims, grn, layerScale = "layer_scale", numClasses = "num_classes", eps
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        depths = try c.decode([Int].self, forKey: .depths)
        dims = try c.decode([Int].self, forKey: .dims)
        grn = try c.decodeIfPresent(Bool.self, forKey: .grn) ?? false
        layerScale = try c.decodeIfPresent(Bool.self, forKey: .layerScale) ?? !grn
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-6
    }

    static func v1(_ d: [Int], _ w: [Int]) -> ConvNeXtConfig { ConvNeXtConfig(depths: d, dims: w) }
    static func v2(_ d: [Int], _ w: [Int]) -> ConvNeXtConfig { ConvNeXtConfig(depths: d, dims: w, grn: true, layerScale: false) }

    /// timm's and torchvision's model names (timm/models/convnext.py, torchvision/models/convnext.py).
    public static let presets: [(name: String, config: ConvNeXtConfig)] = [
        ("convnext_tiny", .v1([3, 3, 9, 3], [96, 192, 384, 768])),
        ("convnext_small", .v1([3, 3, 27, 3], [96, 192, 384, 768])),
        ("convnext_base", .v1([3, 3, 27, 3], [128, 256, 512, 1024])),
        ("convnext_large", .v1([3, 3, 27, 3], [192, 384, 768, 1536])),
        ("convnext_xlarge", .v1([3, 3, 27, 3], [256, 512, 1024, 2048])),
        ("convnext_atto", .v1([2, 2, 6, 2], [40, 80, 160, 320])),
        ("convnext_femto", .v1([2, 2, 6, 2], [48, 96, 192, 384])),
        ("convnext_pico", .v1([2, 2, 6, 2], [64, 128, 256, 512])),
        ("convnext_nano", .v1([2, 2, 8, 2], [80, 160, 320, 640])),
        ("convnextv2_atto", .v2([2, 2, 6, 2], [40, 80, 160, 320])),
        ("convnextv2_femto", .v2([2, 2, 6, 2], [48, 96, 192, 384])),
        ("convnextv2_pico", .v2([2, 2, 6, 2], [64, 128, 256, 512])),
        ("convnextv2_nano", .v2([2, 2, 8, 2], [80, 160, 320, 640])),
        ("convnextv2_tiny", .v2([3, 3, 9, 3], [96, 192, 384, 768])),
        ("convnextv2_base", .v2([3, 3, 27, 3], [128, 256, 512, 1024])),
        ("convnextv2_large", .v2([3, 3, 27, 3], [192, 384, 768, 1536])),
        ("convnextv2_huge", .v2([3, 3, 27, 3], [352, 704, 1408, 2816])),
    ]

    public var name: String {
        ConvNeXtConfig.presets.first { $0.config.depths == depths && $0.config.dims == dims && $0.config.grn == grn
            && $0.config.layerScale == layerScale }?.name ?? (grn ? "convnextv2-custom" : "convnext-custom")
    }

    public var featureCount: Int { dims.last ?? 0 }
}

// MARK: - Family

extension ConvNeXt: ModelFamily {
    public static let name = "convnext"
    public static var modelNames: [String] { ConvNeXtConfig.presets.map(\.name) }

    public static func config(named name: String, numClasses: Int?) -> ConvNeXtConfig? {
        guard var c = ConvNeXtConfig.presets.first(where: { $0.name == name })?.config else { return nil }
        if let n = numClasses { c.numClasses = n }
        return c
    }

    public static func modelName(_ c: ConvNeXtConfig) -> String { c.name }

    public static func validate(_ c: ConvNeXtConfig) throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: name, reason: r) }
        guard !c.depths.isEmpty, c.dims.count == c.depths.count else { throw fail("'depths' and 'dims' must have one entry per stage") }
        guard (c.depths + c.dims).allSatisfy({ $0 >= 1 }) else { throw fail("'depths' and 'dims' must be positive integers") }
        guard c.numClasses >= 0 else { throw fail("'num_classes' must be 0 (no classifier) or more") }
        guard c.eps.isFinite, c.eps >= 0 else { throw fail("'eps' must be a number ≥ 0") }
    }

    /// torchvision's ConvNeXt_*_Weights transforms resize to 236 (tiny), 230 (small) or 232 (base, large) bilinear
    /// before a 224 crop; timm's pretrained configs (and transformers' ConvNextImageProcessor) use bicubic with
    /// crop_pct 0.875 (0.95 for the in12k fine-tunes): Imaging's spec preset `timm`. `vfw embed` takes only the
    /// old `Preprocess` names so far, so `torchvision` (Resize(256) bilinear) is the default until specs are wired.
    public static func preprocessing(_ c: ConvNeXtConfig) -> String { "torchvision" }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try ConvNeXtLayout.recognise(checkpoint)
    }

    public var featureName: String { "pooled" }
    public var imageSize: Int? { nil }
    public var logitsModule: String? { config.numClasses > 0 ? "head.fc" : nil }
}

// MARK: - Layers

/// A tensor whose layout differs between libraries: the first shape that the store has (synthesised as the first).
func tensor(_ s: WeightScope, _ name: String, anyOf shapes: [[Int]], synth: SynthInit) throws -> Tensor {
    var lastError: Error?
    for shape in shapes {
        do { return try s.tensor(name, shape: shape, synth: synth) } catch let e as ModelError {
            guard case .shapeMismatch = e else { throw e }
            lastError = e
        }
    }
    throw lastError!
}

/// LayerNorm over channels of an NCHW tensor.
struct ChannelNorm {
    let name: String
    let weight: Tensor, bias: Tensor
    let eps: Float

    init(_ s: WeightScope, _ name: String, channels c: Int, eps: Float) throws {
        self.name = s.key(name)
        let n = s.child(name)
        weight = try n.tensor("weight", shape: [c], synth: .uniform(0.7, 1.3))
        bias = try n.tensor("bias", shape: [c], synth: .normal(std: 0.1))
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNormChannels(x, weight: weight, bias: bias, eps: eps) }
}

struct ConvNeXtBlock {
    let name: String
    let dwWeight: Tensor, dwBias: Tensor
    let norm: ChannelNorm
    let fc1: PreparedConv2d
    let grnWeight: Tensor?, grnBias: Tensor?
    /// fc2 with gamma folded in: [C, 4C, 1, 1].
    let fc2: PreparedConv2d

    init(_ s: WeightScope, dim c: Int, config cfg: ConvNeXtConfig) throws {
        name = s.prefix
        let eps = Float(cfg.eps)
        var gamma: Tensor? = nil
        if cfg.layerScale {
            // Trained ConvNeXts have small layer scales (init 1e-6, trained to ~0.1-1): synthetic ones about 0.3.
            gamma = try tensor(s, "gamma", anyOf: [[c], [c, 1, 1]], synth: .uniform(0.1, 0.5))
        }
        let dw = s.child("conv_dw")
        dwWeight = try dw.tensor("weight", shape: [c, 1, 7, 7], synth: .conv(fanIn: 49))
        dwBias = try dw.tensor("bias", shape: [c], synth: .normal(std: 0.1))
        norm = try ChannelNorm(s, "norm", channels: c, eps: eps)
        let mlp = s.child("mlp")
        let f1 = mlp.child("fc1"), f2 = mlp.child("fc2")
        let w1 = try tensor(f1, "weight", anyOf: [[4 * c, c, 1, 1], [4 * c, c]], synth: .conv(fanIn: c))
        let b1 = try f1.tensor("bias", shape: [4 * c], synth: .normal(std: 0.1))
        fc1 = PreparedConv2d(weight: w1.reshaped([4 * c, c, 1, 1]), bias: b1)
        if cfg.grn {
            let g = mlp.child("grn")
            grnWeight = try tensor(g, "weight", anyOf: [[4 * c], [1, 1, 1, 4 * c]], synth: .normal(std: 0.3)).reshaped([4 * c])
            grnBias = try tensor(g, "bias", anyOf: [[4 * c], [1, 1, 1, 4 * c]], synth: .normal(std: 0.1)).reshaped([4 * c])
        } else {
            grnWeight = nil
            grnBias = nil
        }
        var w2 = try tensor(f2, "weight", anyOf: [[c, 4 * c, 1, 1], [c, 4 * c]], synth: .conv(fanIn: 4 * c, gain: 0.5)).reshaped([c, 4 * c, 1, 1])
        var b2 = try f2.tensor("bias", shape: [c], synth: .normal(std: 0.1))
        if let g = gamma {
            for o in 0..<c {
                let f = g.data[o]
                b2.data[o] *= f
                for k in 0..<(4 * c) { w2.data[o * 4 * c + k] *= f }
            }
        }
        fc2 = PreparedConv2d(weight: w2, bias: b2)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = norm(depthwiseConv2d(x, weight: dwWeight, bias: dwBias, stride: (1, 1), padding: (3, 3, 3, 3)))
        var h = fc1(y, activation: .gelu)
        if let grnWeight, let grnBias { globalResponseNormInPlace(&h, weight: grnWeight, bias: grnBias) }
        return fc2(h, residual: x)
    }
}

struct ConvNeXtDownsample {
    let name: String
    let norm: ChannelNorm
    let conv: PreparedConv2d

    init(_ s: WeightScope, from cin: Int, to cout: Int, eps: Float) throws {
        name = s.prefix
        norm = try ChannelNorm(s, "0", channels: cin, eps: eps)
        let c = s.child("1")
        conv = PreparedConv2d(weight: try c.tensor("weight", shape: [cout, cin, 2, 2], synth: .conv(fanIn: cin * 4, gain: 0.7)),
                              bias: try c.tensor("bias", shape: [cout], synth: .normal(std: 0.1)), stride: 2)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv(norm(x)) }
}

// MARK: - Model

public struct ConvNeXt {
    public let config: ConvNeXtConfig
    let stemConv: PreparedConv2d
    let stemNorm: ChannelNorm
    let downsamples: [ConvNeXtDownsample?]
    let stages: [[ConvNeXtBlock]]
    let headNorm: ChannelNorm
    let fcWeight: Tensor?, fcBias: Tensor?

    public init(config c: ConvNeXtConfig, weights scope: WeightScope) throws {
        config = c
        let eps = Float(c.eps)
        let stem = scope.child("stem")
        let s0 = stem.child("0")
        stemConv = PreparedConv2d(weight: try s0.tensor("weight", shape: [c.dims[0], 3, 4, 4], synth: .conv(fanIn: 48, gain: 0.7)),
                                  bias: try s0.tensor("bias", shape: [c.dims[0]], synth: .normal(std: 0.1)), stride: 4)
        stemNorm = try ChannelNorm(stem, "1", channels: c.dims[0], eps: eps)
        var downs: [ConvNeXtDownsample?] = [], stages: [[ConvNeXtBlock]] = []
        for i in 0..<c.depths.count {
            let st = scope.child("stages").child(i)
            downs.append(i == 0 ? nil : try ConvNeXtDownsample(st.child("downsample"), from: c.dims[i - 1], to: c.dims[i], eps: eps))
            stages.append(try (0..<c.depths[i]).map { try ConvNeXtBlock(st.child("blocks").child($0), dim: c.dims[i], config: c) })
        }
        downsamples = downs
        self.stages = stages
        let head = scope.child("head")
        headNorm = try ChannelNorm(head, "norm", channels: c.featureCount, eps: eps)
        if c.numClasses > 0 {
            let fc = head.child("fc")
            fcWeight = try fc.tensor("weight", shape: [c.numClasses, c.featureCount], synth: .normal(std: 1 / Float(c.featureCount).squareRoot()))
            fcBias = try fc.tensor("bias", shape: [c.numClasses], synth: .normal(std: 0.1))
        } else {
            fcWeight = nil
            fcBias = nil
        }
    }

    /// x: [N, 3, H, W] → logits [N, classes] (or the normalised pooled features [N, C] without a classifier).
    /// Taps (timm's module names): stem, stages.i.downsample, stages.i.blocks.j, stages.i, head.global_pool,
    /// head.norm, head.fc.
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        var y = stemNorm(stemConv(x))
        taps.record("stem", y)
        for (i, blocks) in stages.enumerated() {
            if let d = downsamples[i] {
                y = d(y)
                taps.record(d.name, y)
            }
            for b in blocks {
                y = b(y)
                taps.record(b.name, y)
            }
            taps.record("stages.\(i)", y)
        }
        y = globalAvgPool2d(y)
        taps.record("head.global_pool", y)
        y = headNorm(y)
        taps.record("head.norm", y)
        let pooled = y.reshaped([y.shape[0], config.featureCount])
        guard let w = fcWeight else { return pooled }
        let logits = linear(pooled, weight: w, bias: fcBias)
        taps.record("head.fc", logits)
        return logits
    }

    /// The pooled, normalised feature vector [N, C] (the input of `head.fc`).
    public func features(_ x: Tensor) -> Tensor {
        let taps = TapRecorder(.names(["head.norm"]))
        _ = self(x, taps: taps)
        let v = taps.recorded[0].value
        return v.reshaped([v.shape[0], config.featureCount])
    }

    public func isolatedModules() -> [IsolatedModule] {
        var out: [IsolatedModule] = []
        func add(_ name: String, _ inputs: [String], _ items: [[Int?]], same: String? = nil, _ run: @escaping ([Tensor]) -> Tensor) {
            out.append(IsolatedModule(name, inputs: inputs, itemShapes: items, sameOutputAs: same, run: run))
        }
        let (conv, norm) = (stemConv, stemNorm)
        add("stem", [ModuleGraph.modelInput], [[3, nil, nil]]) { norm(conv($0[0])) }
        var previous = "stem", channels = config.dims[0]
        for (i, blocks) in stages.enumerated() {
            let stageInput = previous, stageChannels = channels
            if let d = downsamples[i] {
                add(d.name, [previous], [[channels, nil, nil]]) { d($0[0]) }
                previous = d.name
                channels = config.dims[i]
            }
            for b in blocks {
                add(b.name, [previous], [[channels, nil, nil]]) { b($0[0]) }
                previous = b.name
            }
            let (down, bs) = (downsamples[i], blocks)
            add("stages.\(i)", [stageInput], [[stageChannels, nil, nil]], same: previous) { xs in
                bs.reduce(down.map { $0(xs[0]) } ?? xs[0]) { y, b in b(y) }
            }
            previous = "stages.\(i)"
        }
        let f = config.featureCount, hn = headNorm
        add("head.global_pool", [previous], [[f, nil, nil]]) { globalAvgPool2d($0[0]) }
        add("head.norm", ["head.global_pool"], [[f, 1, 1]]) { hn($0[0]) }
        if let w = fcWeight {
            let b = fcBias
            add("head.fc", ["head.norm"], [[f, 1, 1]]) { xs in linear(xs[0].reshaped([xs[0].shape[0], f]), weight: w, bias: b) }
        }
        return out
    }
}
