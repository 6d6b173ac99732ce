// The RegNet family (Radosavovic et al. 2020, "Designing Network Design Spaces"): RegNetX and RegNetY as
// torchvision builds them (regnet_x_400mf ... regnet_y_32gf) and timm (regnetx_002 ... regnety_2560).
//
// Port of torchvision/models/regnet.py (https://github.com/pytorch/vision/blob/main/torchvision/models/regnet.py),
// eval mode; timm/models/regnet.py computes the same network under other names (RegNetLayout.swift maps them).
// Canonical keys are torchvision's state_dict keys, written once below where each layer is built.
// Layout: activations NCHW; conv weights [out, in/groups, kH, kW]; fc weight [classes, features].
//
//   stem:   conv 3x3 stride 2 (3 → stem_width) → BN → ReLU                              `stem.0/1/2`
//   stage s (1...4), block b: `trunk_output.block{s}.block{s}-{b}` (ResBottleneckBlock)
//     proj: conv 1x1 stride 2 → BN, when the shape changes (first block of a stage)      `proj.0/1`
//     f.a:  conv 1x1 (w_in → w_b) → BN → ReLU                                            `f.a.0/1/2`
//     f.b:  conv 3x3 stride 2 on a stage's first block, groups = w_b / group_width → BN → ReLU  `f.b.0/1/2`
//     f.se: squeeze-excitation (RegNetY only): mean → fc1 1x1 (w_b → round(se_ratio·w_in)) → ReLU → fc2 → sigmoid,
//           times its input                                                              `f.se.*`
//     f.c:  conv 1x1 (w_b → w_out) → BN                                                 `f.c.0/1`
//     out = ReLU(proj(x) or x  +  f(x))                                                  `activation`
//   avgpool (global mean) → fc.
// w_b = round(w_out · bottleneck_multiplier) (Python round, half to even); a stage's group width and width are
// the adjusted ones torchvision and timm compute (`_adjust_widths_groups_compatibilty`), stored as they are.
//
// Batch norm is folded into the preceding convolution at load time (ConvBN, ResNet.swift); a module whose own
// output is tapped runs unfused, so every PyTorch module boundary can still be observed.

import TensorCore

// MARK: - Config

/// Hyper-parameters of a RegNet, as stored in the description's `config` (torchvision's BlockParams, per stage).
public struct RegNetConfig: Codable, Equatable, Sendable {
    /// Output channels of the stem (32 in every published RegNet).
    public var stemWidth: Int
    /// Blocks per stage.
    public var depths: [Int]
    /// Output channels per stage.
    public var widths: [Int]
    /// Channels per group of each stage's 3x3 convolution.
    public var groupWidths: [Int]
    /// Bottleneck width over output width (1 in every published RegNet).
    public var bottleneckMultiplier: Double
    /// Squeeze-excitation width over block input width: 0 for RegNetX, 0.25 for RegNetY.
    public var seRatio: Double
    /// Classifier outputs; 0 = no classifier (timm's `num_classes=0` feature extractor).
    public var numClasses: Int
    /// Batch-norm epsilon (1e-5 in torchvision and timm).
    public var eps: Double

    public init(stemWidth: Int = 32, depths: [Int], widths: [Int], groupWidths: [Int], bottleneckMultiplier: Double = 1,
                seRatio: Double, numClasses: Int = 1000, eps: Double = 1e-5) {
        self.stemWidth = stemWidth
        self.depths = depths
        self.widths = widths
        self.groupWidths = groupWidths
        self.bottleneckMultiplier = bottleneckMultiplier
        self.seRatio = seRatio
        self.numClasses = numClasses
        self.eps = eps
    }

    enum CodingKeys: String, CodingKey {
        case stemWidth = "stem_width", depths, widths, groupWidths = "group_widths",
             bottleneckMultiplier = "bottleneck_multiplier", seRatio = "se_ratio", numClasses = "num_classes", eps
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stemWidth = try c.decode(Int.self, forKey: .stemWidth)
        depths = try c.decode([Int].self, forKey: .depths)
        widths = try c.decode([Int].self, forKey: .widths)
        groupWidths = try c.decode([Int].self, forKey: .groupWidths)
        bottleneckMultiplier = try c.decodeIfPresent(Double.self, forKey: .bottleneckMultiplier) ?? 1
        seRatio = try c.decode(Double.self, forKey: .seRatio)
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5
    }

    /// torchvision's constructors (regnet.py) and timm's model names (timm/models/regnet.py `model_cfgs`),
    /// their stage parameters as the libraries build them (tools/reference_families/regnet.py has the same table).
    /// Several names share a structure (timm's regnetx_008 is torchvision's regnet_x_800mf): the first name
    /// listed is the one recognition reports. torchvision's regnet_y_128gf (SWAG weights only) is not listed; its
    /// checkpoints are recognised as timm's regnety_1280 when the structures agree, else as `regnet-custom`.
    public static let presets: [(name: String, config: RegNetConfig)] = [
        ("regnet_y_400mf", .init(depths: [1, 3, 6, 6], widths: [48, 104, 208, 440], groupWidths: [8, 8, 8, 8], seRatio: 0.25)),
        ("regnet_y_800mf", .init(depths: [1, 3, 8, 2], widths: [64, 144, 320, 784], groupWidths: [16, 16, 16, 16], seRatio: 0.25)),
        ("regnet_y_1_6gf", .init(depths: [2, 6, 17, 2], widths: [48, 120, 336, 888], groupWidths: [24, 24, 24, 24], seRatio: 0.25)),
        ("regnet_y_3_2gf", .init(depths: [2, 5, 13, 1], widths: [72, 216, 576, 1512], groupWidths: [24, 24, 24, 24], seRatio: 0.25)),
        ("regnet_y_8gf", .init(depths: [2, 4, 10, 1], widths: [224, 448, 896, 2016], groupWidths: [56, 56, 56, 56], seRatio: 0.25)),
        ("regnet_y_16gf", .init(depths: [2, 4, 11, 1], widths: [224, 448, 1232, 3024], groupWidths: [112, 112, 112, 112], seRatio: 0.25)),
        ("regnet_y_32gf", .init(depths: [2, 5, 12, 1], widths: [232, 696, 1392, 3712], groupWidths: [232, 232, 232, 232], seRatio: 0.25)),
        ("regnet_x_400mf", .init(depths: [1, 2, 7, 12], widths: [32, 64, 160, 400], groupWidths: [16, 16, 16, 16], seRatio: 0.0)),
        ("regnet_x_800mf", .init(depths: [1, 3, 7, 5], widths: [64, 128, 288, 672], groupWidths: [16, 16, 16, 16], seRatio: 0.0)),
        ("regnet_x_1_6gf", .init(depths: [2, 4, 10, 2], widths: [72, 168, 408, 912], groupWidths: [24, 24, 24, 24], seRatio: 0.0)),
        ("regnet_x_3_2gf", .init(depths: [2, 6, 15, 2], widths: [96, 192, 432, 1008], groupWidths: [48, 48, 48, 48], seRatio: 0.0)),
        ("regnet_x_8gf", .init(depths: [2, 5, 15, 1], widths: [80, 240, 720, 1920], groupWidths: [80, 120, 120, 120], seRatio: 0.0)),
        ("regnet_x_16gf", .init(depths: [2, 6, 13, 1], widths: [256, 512, 896, 2048], groupWidths: [128, 128, 128, 128], seRatio: 0.0)),
        ("regnet_x_32gf", .init(depths: [2, 7, 13, 1], widths: [336, 672, 1344, 2520], groupWidths: [168, 168, 168, 168], seRatio: 0.0)),
        ("regnetx_002", .init(depths: [1, 1, 4, 7], widths: [24, 56, 152, 368], groupWidths: [8, 8, 8, 8], seRatio: 0.0)),
        ("regnetx_004", .init(depths: [1, 2, 7, 12], widths: [32, 64, 160, 384], groupWidths: [16, 16, 16, 16], seRatio: 0.0)),
        ("regnetx_004_tv", .init(depths: [1, 2, 7, 12], widths: [32, 64, 160, 400], groupWidths: [16, 16, 16, 16], seRatio: 0.0)),
        ("regnetx_006", .init(depths: [1, 3, 5, 7], widths: [48, 96, 240, 528], groupWidths: [24, 24, 24, 24], seRatio: 0.0)),
        ("regnetx_008", .init(depths: [1, 3, 7, 5], widths: [64, 128, 288, 672], groupWidths: [16, 16, 16, 16], seRatio: 0.0)),
        ("regnetx_016", .init(depths: [2, 4, 10, 2], widths: [72, 168, 408, 912], groupWidths: [24, 24, 24, 24], seRatio: 0.0)),
        ("regnetx_032", .init(depths: [2, 6, 15, 2], widths: [96, 192, 432, 1008], groupWidths: [48, 48, 48, 48], seRatio: 0.0)),
        ("regnetx_040", .init(depths: [2, 5, 14, 2], widths: [80, 240, 560, 1360], groupWidths: [40, 40, 40, 40], seRatio: 0.0)),
        ("regnetx_064", .init(depths: [2, 4, 10, 1], widths: [168, 392, 784, 1624], groupWidths: [56, 56, 56, 56], seRatio: 0.0)),
        ("regnetx_080", .init(depths: [2, 5, 15, 1], widths: [80, 240, 720, 1920], groupWidths: [80, 120, 120, 120], seRatio: 0.0)),
        ("regnetx_120", .init(depths: [2, 5, 11, 1], widths: [224, 448, 896, 2240], groupWidths: [112, 112, 112, 112], seRatio: 0.0)),
        ("regnetx_160", .init(depths: [2, 6, 13, 1], widths: [256, 512, 896, 2048], groupWidths: [128, 128, 128, 128], seRatio: 0.0)),
        ("regnetx_320", .init(depths: [2, 7, 13, 1], widths: [336, 672, 1344, 2520], groupWidths: [168, 168, 168, 168], seRatio: 0.0)),
        ("regnety_002", .init(depths: [1, 1, 4, 7], widths: [24, 56, 152, 368], groupWidths: [8, 8, 8, 8], seRatio: 0.25)),
        ("regnety_004", .init(depths: [1, 3, 6, 6], widths: [48, 104, 208, 440], groupWidths: [8, 8, 8, 8], seRatio: 0.25)),
        ("regnety_006", .init(depths: [1, 3, 7, 4], widths: [48, 112, 256, 608], groupWidths: [16, 16, 16, 16], seRatio: 0.25)),
        ("regnety_008", .init(depths: [1, 3, 8, 2], widths: [64, 128, 320, 768], groupWidths: [16, 16, 16, 16], seRatio: 0.25)),
        ("regnety_008_tv", .init(depths: [1, 3, 8, 2], widths: [64, 144, 320, 784], groupWidths: [16, 16, 16, 16], seRatio: 0.25)),
        ("regnety_016", .init(depths: [2, 6, 17, 2], widths: [48, 120, 336, 888], groupWidths: [24, 24, 24, 24], seRatio: 0.25)),
        ("regnety_032", .init(depths: [2, 5, 13, 1], widths: [72, 216, 576, 1512], groupWidths: [24, 24, 24, 24], seRatio: 0.25)),
        ("regnety_040", .init(depths: [2, 6, 12, 2], widths: [128, 192, 512, 1088], groupWidths: [64, 64, 64, 64], seRatio: 0.25)),
        ("regnety_064", .init(depths: [2, 7, 14, 2], widths: [144, 288, 576, 1296], groupWidths: [72, 72, 72, 72], seRatio: 0.25)),
        ("regnety_080", .init(depths: [2, 4, 10, 1], widths: [168, 448, 896, 2016], groupWidths: [56, 56, 56, 56], seRatio: 0.25)),
        ("regnety_080_tv", .init(depths: [2, 4, 10, 1], widths: [224, 448, 896, 2016], groupWidths: [56, 56, 56, 56], seRatio: 0.25)),
        ("regnety_120", .init(depths: [2, 5, 11, 1], widths: [224, 448, 896, 2240], groupWidths: [112, 112, 112, 112], seRatio: 0.25)),
        ("regnety_160", .init(depths: [2, 4, 11, 1], widths: [224, 448, 1232, 3024], groupWidths: [112, 112, 112, 112], seRatio: 0.25)),
        ("regnety_320", .init(depths: [2, 5, 12, 1], widths: [232, 696, 1392, 3712], groupWidths: [232, 232, 232, 232], seRatio: 0.25)),
        ("regnety_640", .init(depths: [2, 5, 12, 1], widths: [328, 984, 1968, 4920], groupWidths: [328, 328, 328, 328], seRatio: 0.25)),
        ("regnety_1280", .init(depths: [2, 7, 17, 1], widths: [528, 1056, 2904, 7392], groupWidths: [264, 264, 264, 264], seRatio: 0.25)),
        ("regnety_2560", .init(depths: [2, 7, 17, 1], widths: [746, 1492, 4103, 10444], groupWidths: [373, 373, 373, 373], seRatio: 0.25)),
    ]

    /// The preset name when the structure is a published one (any class count), else `regnet-custom`.
    public var name: String {
        RegNetConfig.presets.first { $0.config.sameStructure(as: self) }?.name ?? "regnet-custom"
    }

    func sameStructure(as o: RegNetConfig) -> Bool {
        stemWidth == o.stemWidth && depths == o.depths && widths == o.widths && groupWidths == o.groupWidths
            && bottleneckMultiplier == o.bottleneckMultiplier && seRatio == o.seRatio
    }

    /// Bottleneck width of stage `s`: int(round(w_out · bottleneck_multiplier)), Python's round (half to even).
    func bottleneckWidth(_ s: Int) -> Int { Int((Double(widths[s]) * bottleneckMultiplier).rounded(.toNearestOrEven)) }

    /// Squeeze-excitation width of a block whose input has `inputWidth` channels: int(round(se_ratio · w_in)).
    func seWidth(inputWidth: Int) -> Int { Int((seRatio * Double(inputWidth)).rounded(.toNearestOrEven)) }

    /// Length of the pooled feature vector: the last stage's width.
    public var featureCount: Int { widths.last ?? stemWidth }
}

// MARK: - Family

extension RegNet: ModelFamily {
    public static let name = "regnet"
    public static var modelNames: [String] { RegNetConfig.presets.map(\.name) }

    public static func config(named name: String, numClasses: Int?) -> RegNetConfig? {
        guard var c = RegNetConfig.presets.first(where: { $0.name == name })?.config else { return nil }
        if let n = numClasses { c.numClasses = n }
        return c
    }

    public static func modelName(_ c: RegNetConfig) -> String { c.name }

    public static func validate(_ c: RegNetConfig) throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: name, reason: r) }
        let n = c.depths.count
        guard n >= 1, c.widths.count == n, c.groupWidths.count == n else {
            throw fail("'depths', 'widths' and 'group_widths' must have one entry per stage (at least one stage)")
        }
        guard (c.depths + c.widths + c.groupWidths + [c.stemWidth]).allSatisfy({ $0 >= 1 }) else {
            throw fail("'stem_width', 'depths', 'widths' and 'group_widths' must be positive integers")
        }
        guard c.numClasses >= 0 else { throw fail("'num_classes' must be 0 (no classifier) or more") }
        guard c.bottleneckMultiplier.isFinite, c.bottleneckMultiplier > 0 else { throw fail("'bottleneck_multiplier' must be a positive number") }
        guard c.seRatio.isFinite, c.seRatio >= 0 else { throw fail("'se_ratio' must be a number ≥ 0") }
        guard c.eps.isFinite, c.eps >= 0 else { throw fail("'eps' must be a number ≥ 0") }
        var win = c.stemWidth
        for s in 0..<n {
            let wb = c.bottleneckWidth(s)
            guard wb >= 1, wb % c.groupWidths[s] == 0 else {
                throw fail("stage \(s + 1): bottleneck width \(wb) is not a multiple of its group width \(c.groupWidths[s])")
            }
            if c.seRatio > 0 && c.seWidth(inputWidth: win) < 1 {
                throw fail("stage \(s + 1): se_ratio \(c.seRatio) gives no squeeze-excitation channels for \(win) input channels")
            }
            win = c.widths[s]
        }
    }

    /// torchvision's RegNet_*_Weights.IMAGENET1K_V1.transforms(): Resize(256) bilinear, CenterCrop(224), ImageNet
    /// mean/std — the `torchvision` preset. (IMAGENET1K_V2 weights resize to 232; timm's pretrained configs use
    /// bicubic with crop_pct 0.875 (pycls), 0.95 (ra) or 0.965 (tv2): pass --preprocess for those.)
    public static func preprocessing(_ c: RegNetConfig) -> String { "torchvision" }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try RegNetLayout.recognise(checkpoint)
    }

    /// torchvision BN's `num_batches_tracked` after each `running_var`, as ResNet's.
    public static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)] {
        ResNet.frameworkStateDict(canonical)
    }

    public var featureName: String { "pooled" }
    /// Any size runs (strided convs and a global pool); published weights are fed 224x224.
    public var imageSize: Int? { nil }
    public var logitsModule: String? { config.numClasses > 0 ? "fc" : nil }
}

// MARK: - Layers

/// torchvision's SqueezeExcitation with ReLU and sigmoid (timm's SEModule computes the same).
struct SqueezeExcitation {
    let name: String
    /// fc1 [S, C, 1, 1] + [S], fc2 [C, S, 1, 1] + [C].
    let reduceWeight: Tensor, reduceBias: Tensor, expandWeight: Tensor, expandBias: Tensor

    init(_ s: WeightScope, channels c: Int, squeeze sq: Int) throws {
        name = s.prefix
        let fc1 = s.child("fc1"), fc2 = s.child("fc2")
        // Synthetic: the gate's pre-activation spreads about ±1 around 0, so factors vary between about 0.25
        // and 0.75 and the block keeps its scale.
        reduceWeight = try fc1.tensor("weight", shape: [sq, c, 1, 1], synth: .conv(fanIn: c))
        reduceBias = try fc1.tensor("bias", shape: [sq], synth: .normal(std: 0.1))
        expandWeight = try fc2.tensor("weight", shape: [c, sq, 1, 1], synth: .conv(fanIn: sq, gain: 0.7))
        expandBias = try fc2.tensor("bias", shape: [c], synth: .normal(std: 0.2))
    }

    var squeeze: Int { reduceWeight.shape[0] }
    var channels: Int { reduceWeight.shape[1] }

    /// The five sub-modules in forward order: (tap suffix, computation on the previous one's output).
    func callAsFunction(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        let parts = ["avgpool", "fc1", "activation", "fc2", "scale_activation"].map { "\(name).\($0)" }
        if parts.contains(where: { taps.wants($0) }) {
            let n = x.shape[0]
            let pooled = globalAvgPool2d(x)
            taps.record(parts[0], pooled)
            var h = linear(pooled.reshaped([n, channels]), weight: reduceWeight.reshaped([squeeze, channels]), bias: reduceBias)
            taps.record(parts[1], h.reshaped([n, squeeze, 1, 1]))
            activationInPlace(&h, .relu)
            taps.record(parts[2], h.reshaped([n, squeeze, 1, 1]))
            var g = linear(h, weight: expandWeight.reshaped([channels, squeeze]), bias: expandBias)
            taps.record(parts[3], g.reshaped([n, channels, 1, 1]))
            activationInPlace(&g, .sigmoid)
            taps.record(parts[4], g.reshaped([n, channels, 1, 1]))
            let y = scaleChannels(x, by: g)
            taps.record(name, y)
            return y
        }
        for p in parts { taps.skip(p) }
        let y = squeezeExcite(x, reduceWeight: reduceWeight, reduceBias: reduceBias, expandWeight: expandWeight,
                              expandBias: expandBias, activation: .relu, gate: .sigmoid)
        taps.record(name, y)
        return y
    }
}

/// torchvision's ResBottleneckBlock (timm's regnet Bottleneck).
struct RegNetBlock {
    let name: String
    let proj: ConvBN?
    let a: ConvBN, b: ConvBN
    let se: SqueezeExcitation?
    let c: ConvBN
    /// The ReLU modules after f.a and f.b (`f.a.2`, `f.b.2`).
    let aRelu: String, bRelu: String
    let outputMoment: Float

    init(_ s: WeightScope, config cfg: RegNetConfig, stage: Int, inputWidth win: Int, stride: Int, inputMoment q: Float) throws {
        name = s.prefix
        let wout = cfg.widths[stage], wb = cfg.bottleneckWidth(stage), groups = wb / cfg.groupWidths[stage]
        let eps = Float(cfg.eps)
        if win != wout || stride != 1 {
            let p = s.child("proj")
            proj = try ConvBN(conv: p, convName: "0", bn: p, bnName: "1", cin: win, cout: wout, kernel: 1, stride: stride, eps: eps, inputMoment: q)
        } else {
            proj = nil
        }
        let f = s.child("f")
        let fa = f.child("a"), fb = f.child("b"), fc = f.child("c")
        aRelu = fa.key("2")
        bRelu = fb.key("2")
        a = try ConvBN(conv: fa, convName: "0", bn: fa, bnName: "1", cin: win, cout: wb, kernel: 1, eps: eps, inputMoment: q)
        b = try ConvBN(conv: fb, convName: "0", bn: fb, bnName: "1", cin: wb, cout: wb, kernel: 3, stride: stride, padding: 1,
                       groups: groups, eps: eps, inputMoment: a.outputMoment / 2)
        se = cfg.seRatio > 0 ? try SqueezeExcitation(f.child("se"), channels: wb, squeeze: cfg.seWidth(inputWidth: win)) : nil
        // The SE gate (about 0.5) scales the second moment by about a quarter.
        let cin = se == nil ? b.outputMoment / 2 : b.outputMoment / 8
        c = try ConvBN(conv: fc, convName: "0", bn: fc, bnName: "1", cin: wb, cout: wout, kernel: 1, eps: eps, lastInBlock: true, inputMoment: cin)
        outputMoment = c.outputMoment + (proj?.outputMoment ?? q)
    }

    func callAsFunction(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        // torchvision: `x = self.proj(x) + self.f(x)` — proj runs first.
        let identity = proj.map { $0(x, taps: taps) } ?? x
        var y = a(x, relu: aRelu, taps: taps)
        y = b(y, relu: bRelu, taps: taps)
        if let se { y = se(y, taps: taps) }
        if !taps.wants(c.name), !taps.wants(c.bnName) {
            taps.skip(c.name)
            taps.skip(c.bnName)
            y = c.prepared(y, activation: .relu, residual: identity)
        } else {
            y = c(y, taps: taps)
            addInPlace(&y, identity, activation: .relu)
        }
        taps.record("\(name).activation", y)
        taps.record(name, y)
        return y
    }
}

// MARK: - Model

public struct RegNet {
    public let config: RegNetConfig
    let stem: ConvBN
    let stages: [[RegNetBlock]]
    let fcWeight: Tensor?, fcBias: Tensor?

    /// Builds the network from `scope`, asking for every tensor by its torchvision key.
    public init(config c: RegNetConfig, weights scope: WeightScope) throws {
        config = c
        let st = scope.child("stem")
        stem = try ConvBN(conv: st, convName: "0", bn: st, bnName: "1", cin: 3, cout: c.stemWidth, kernel: 3, stride: 2, padding: 1,
                          eps: Float(c.eps), inputMoment: 1)
        var moment = stem.outputMoment / 2
        var win = c.stemWidth
        var stages: [[RegNetBlock]] = []
        let trunk = scope.child("trunk_output")
        for s in 0..<c.depths.count {
            let stage = trunk.child("block\(s + 1)")
            var blocks: [RegNetBlock] = []
            for i in 0..<c.depths[s] {
                let block = try RegNetBlock(stage.child("block\(s + 1)-\(i)"), config: c, stage: s, inputWidth: win,
                                            stride: i == 0 ? 2 : 1, inputMoment: moment)
                blocks.append(block)
                moment = block.outputMoment
                win = c.widths[s]
            }
            stages.append(blocks)
        }
        self.stages = stages
        if c.numClasses > 0 {
            let fc = scope.child("fc")
            fcWeight = try fc.tensor("weight", shape: [c.numClasses, c.featureCount], synth: .normal(std: 1 / Float(c.featureCount).squareRoot()))
            fcBias = try fc.tensor("bias", shape: [c.numClasses], synth: .normal(std: 0.1))
        } else {
            fcWeight = nil
            fcBias = nil
        }
    }

    /// x: [N, 3, H, W] normalised image → logits [N, classes] (or the pooled features [N, C] without a classifier).
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        var y = stem(x, relu: "stem.2", taps: taps)
        taps.record("stem", y)
        for (s, blocks) in stages.enumerated() {
            for block in blocks { y = block(y, taps: taps) }
            taps.record("trunk_output.block\(s + 1)", y)
        }
        taps.record("trunk_output", y)
        y = globalAvgPool2d(y)  // [N, C, 1, 1], as nn.AdaptiveAvgPool2d((1, 1)) returns it
        taps.record("avgpool", y)
        let pooled = y.reshaped([y.shape[0], config.featureCount])
        guard let w = fcWeight else { return pooled }
        let logits = linear(pooled, weight: w, bias: fcBias)
        taps.record("fc", logits)
        return logits
    }

    /// The pooled feature vector [N, last stage width] (the input of `fc`).
    public func features(_ x: Tensor) -> Tensor {
        let taps = TapRecorder(.names(["avgpool"]))
        _ = self(x, taps: taps)
        let pooled = taps.recorded[0].value
        return pooled.reshaped([pooled.shape[0], config.featureCount])
    }
}
