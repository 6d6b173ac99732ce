// The EfficientNet family (Tan & Le 2019), B0-B7: torchvision efficientnet_b0 ... efficientnet_b7 and timm
// efficientnet_b0 ... efficientnet_b7.
//
// Port of torchvision/models/efficientnet.py (https://github.com/pytorch/vision/blob/main/torchvision/models/efficientnet.py),
// eval mode; timm/models/efficientnet.py computes the same network under other names (EfficientNetLayout.swift maps
// them onto torchvision's, the canonical names here). Layout: activations NCHW; conv weights [out, in/groups, kH, kW].
//
//   stem:      conv 3x3 stride 2 (3 → stem_width) → BN → SiLU                                  `features.0.0/1`
//   stage s (1...7), block b: `features.s.b` (MBConv)
//     [expand]  conv 1x1 (cin → cin·expand_ratio) → BN → SiLU, when expand_ratio > 1          `block.0.0/1`
//     dw:       depthwise k x k, stride on a stage's first block, padding (k-1)/2 → BN → SiLU  `block.{0|1}.0/1`
//     se:       mean → fc1 1x1 (→ max(1, cin / 4)) → SiLU → fc2 → sigmoid, times its input     `block.{1|2}.fc1/fc2`
//     project:  conv 1x1 (→ cout) → BN                                                       `block.{2|3}.0/1`
//     out = project + x when stride 1 and cin == cout (stochastic depth is the identity in eval mode)
//   head:      conv 1x1 (→ head_width) → BN → SiLU                                              `features.8.0/1`
//   avgpool (global mean) → classifier.1 (Linear; classifier.0 is dropout).
// Batch norm is folded into the preceding convolution once at load (ConvBN, ResNet.swift); the depthwise
// convolution runs the direct kernel (TensorCore depthwiseConv2d) with its folded weights, SiLU fused.

import TensorCore

// MARK: - Config

public struct EfficientNetConfig: Codable, Equatable, Sendable {
    /// Output channels of the stem.
    public var stemWidth: Int
    /// Per stage: output channels, blocks, expansion ratio of the first 1x1 conv, depthwise kernel, first stride.
    public var widths: [Int]
    public var depths: [Int]
    public var expandRatios: [Int]
    public var kernelSizes: [Int]
    public var strides: [Int]
    /// Output channels of the last 1x1 conv (the feature length).
    public var headWidth: Int
    /// Squeeze-excitation width over block input width (0.25: max(1, cin / 4)).
    public var seRatio: Double
    /// Classifier outputs; 0 = no classifier (timm's `num_classes=0`).
    public var numClasses: Int
    /// Batch-norm epsilon: 1e-5 (torchvision B0-B4, timm), 1e-3 (torchvision B5-B7).
    public var eps: Double

    public init(stemWidth: Int, widths: [Int], depths: [Int], expandRatios: [Int], kernelSizes: [Int], strides: [Int],
                headWidth: Int, seRatio: Double = 0.25, numClasses: Int = 1000, eps: Double = 1e-5) {
        self.stemWidth = stemWidth
        self.widths = widths
        self.depths = depths
        self.expandRatios = expandRatios
        self.kernelSizes = kernelSizes
        self.strides = strides
        self.headWidth = headWidth
        self.seRatio = seRatio
        self.numClasses = numClasses
        self.eps = eps
    }

    enum CodingKeys: String, CodingKey {
        case stemWidth = "stem_width", widths, depths, expandRatios = "expand_ratios", kernelSizes = "kernel_sizes", strides,
             headWidth = "head_width", seRatio = "se_ratio", numClasses = "num_classes", eps
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        stemWidth = try c.decode(Int.self, forKey: .stemWidth)
        widths = try c.decode([Int].self, forKey: .widths)
        depths = try c.decode([Int].self, forKey: .depths)
        expandRatios = try c.decode([Int].self, forKey: .expandRatios)
        kernelSizes = try c.decode([Int].self, forKey: .kernelSizes)
        strides = try c.decodeIfPresent([Int].self, forKey: .strides) ?? EfficientNetConfig.baseStrides
        headWidth = try c.decode(Int.self, forKey: .headWidth)
        seRatio = try c.decodeIfPresent(Double.self, forKey: .seRatio) ?? 0.25
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5
    }

    // B0's stages (torchvision `_efficientnet_conf`, timm `_gen_efficientnet` arch_def).
    static let baseWidths = [16, 24, 40, 80, 112, 192, 320]
    static let baseDepths = [1, 2, 2, 3, 3, 4, 1]
    static let baseExpand = [1, 6, 6, 6, 6, 6, 6]
    static let baseKernels = [3, 3, 5, 3, 5, 5, 3]
    static let baseStrides = [1, 2, 2, 2, 1, 2, 1]

    /// torchvision's `_make_divisible(v, 8)` (timm's `round_channels`): nearest multiple of 8, never 10% below v.
    static func divisible(_ v: Double) -> Int {
        var n = Swift.max(8, Int(v + 4) / 8 * 8)
        if Double(n) < 0.9 * v { n += 8 }
        return n
    }

    /// B-variant by width and depth multipliers (torchvision efficientnet_bN; timm's efficientnet_bN is the same net).
    static func scaled(width w: Double, depth d: Double, eps: Double) -> EfficientNetConfig {
        let widths = baseWidths.map { divisible(Double($0) * w) }
        return EfficientNetConfig(stemWidth: divisible(32 * w), widths: widths,
                                  depths: baseDepths.map { Int((Double($0) * d).rounded(.up)) }, expandRatios: baseExpand,
                                  kernelSizes: baseKernels, strides: baseStrides, headWidth: 4 * widths.last!, eps: eps)
    }

    /// torchvision's constructors (efficientnet.py: width, depth multipliers; B5-B7 with batch-norm eps 1e-3).
    /// timm's efficientnet_b* have the same structure with eps 1e-5 (recognition sets eps by source).
    public static let presets: [(name: String, config: EfficientNetConfig)] = [
        ("efficientnet_b0", scaled(width: 1.0, depth: 1.0, eps: 1e-5)),
        ("efficientnet_b1", scaled(width: 1.0, depth: 1.1, eps: 1e-5)),
        ("efficientnet_b2", scaled(width: 1.1, depth: 1.2, eps: 1e-5)),
        ("efficientnet_b3", scaled(width: 1.2, depth: 1.4, eps: 1e-5)),
        ("efficientnet_b4", scaled(width: 1.4, depth: 1.8, eps: 1e-5)),
        ("efficientnet_b5", scaled(width: 1.6, depth: 2.2, eps: 1e-3)),
        ("efficientnet_b6", scaled(width: 1.8, depth: 2.6, eps: 1e-3)),
        ("efficientnet_b7", scaled(width: 2.0, depth: 3.1, eps: 1e-3)),
    ]

    func sameStructure(as o: EfficientNetConfig) -> Bool {
        stemWidth == o.stemWidth && widths == o.widths && depths == o.depths && expandRatios == o.expandRatios
            && kernelSizes == o.kernelSizes && strides == o.strides && headWidth == o.headWidth && seRatio == o.seRatio
    }

    /// The preset name when the structure is a published one (any class count and eps), else `efficientnet-custom`.
    public var name: String {
        EfficientNetConfig.presets.first { $0.config.sameStructure(as: self) }?.name ?? "efficientnet-custom"
    }

    /// Expanded width of a block with `cin` input channels in stage `s` (torchvision `_make_divisible(cin·r, 8)`).
    func expandedWidth(_ cin: Int, stage s: Int) -> Int {
        expandRatios[s] == 1 ? cin : EfficientNetConfig.divisible(Double(cin * expandRatios[s]))
    }

    /// Squeeze-excitation width of a block with `cin` input channels: max(1, floor(cin · se_ratio)).
    func seWidth(_ cin: Int) -> Int { Swift.max(1, Int((Double(cin) * seRatio).rounded(.down))) }

    public var featureCount: Int { headWidth }
}

// MARK: - Family

extension EfficientNet: ModelFamily {
    public static let name = "efficientnet"
    public static var modelNames: [String] { EfficientNetConfig.presets.map(\.name) }

    public static func config(named name: String, numClasses: Int?) -> EfficientNetConfig? {
        guard var c = EfficientNetConfig.presets.first(where: { $0.name == name })?.config else { return nil }
        if let n = numClasses { c.numClasses = n }
        return c
    }

    public static func modelName(_ c: EfficientNetConfig) -> String { c.name }

    public static func validate(_ c: EfficientNetConfig) throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: name, reason: r) }
        let n = c.widths.count
        guard n >= 1, [c.depths, c.expandRatios, c.kernelSizes, c.strides].allSatisfy({ $0.count == n }) else {
            throw fail("'widths', 'depths', 'expand_ratios', 'kernel_sizes' and 'strides' must have one entry per stage (at least one)")
        }
        guard (c.widths + c.depths + c.expandRatios + c.strides + [c.stemWidth, c.headWidth]).allSatisfy({ $0 >= 1 }) else {
            throw fail("'stem_width', 'head_width', 'widths', 'depths', 'expand_ratios' and 'strides' must be positive integers")
        }
        guard c.kernelSizes.allSatisfy({ $0 >= 1 && $0 % 2 == 1 }) else { throw fail("'kernel_sizes' must be odd positive integers") }
        guard c.numClasses >= 0 else { throw fail("'num_classes' must be 0 (no classifier) or more") }
        guard c.seRatio.isFinite, c.seRatio > 0 else { throw fail("'se_ratio' must be a positive number") }
        guard c.eps.isFinite, c.eps >= 0 else { throw fail("'eps' must be a number ≥ 0") }
    }

    /// torchvision's EfficientNet_B*_Weights.IMAGENET1K_V1 transforms resize bicubic to a per-variant size (B0: 256
    /// → crop 224; B1: 256 → 240; B3: 320 → 300; ... B7: 600 → 600; B1's V2 weights 255 bilinear → 240) and timm's
    /// pretrained configs use bicubic with their own crop_pct and sizes. `vfw embed` takes only the old `Preprocess` names so far, so `torchvision` (Resize(256)
    /// bilinear, 224) is the default until specs are wired (pass --preprocess for others).
    public static func preprocessing(_ c: EfficientNetConfig) -> String { "torchvision" }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try EfficientNetLayout.recognise(checkpoint)
    }

    /// torchvision BN's `num_batches_tracked` after each `running_var`, as ResNet's.
    public static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)] {
        ResNet.frameworkStateDict(canonical)
    }

    public var featureName: String { "pooled" }
    public var imageSize: Int? { nil }
    public var logitsModule: String? { config.numClasses > 0 ? "classifier.1" : nil }
}

// MARK: - Layers

/// torchvision's MBConv (timm's InvertedResidual, or DepthwiseSeparableConv when expand_ratio is 1).
struct MBConvBlock {
    let name: String
    let expand: ConvBN?
    let dw: ConvBN
    let se: SqueezeExcitation
    let project: ConvBN
    let stride: Int, kernel: Int
    let residual: Bool
    let outputMoment: Float

    init(_ s: WeightScope, cin: Int, cout: Int, stage: Int, stride: Int, config c: EfficientNetConfig, inputMoment q: Float) throws {
        name = s.prefix
        let eps = Float(c.eps), k = c.kernelSizes[stage]
        let mid = c.expandedWidth(cin, stage: stage)
        let block = s.child("block")
        var i = 0
        var moment = q
        if c.expandRatios[stage] != 1 {
            let e = block.child(0)
            expand = try ConvBN(conv: e, convName: "0", bn: e, bnName: "1", cin: cin, cout: mid, kernel: 1, eps: eps, inputMoment: q)
            moment = expand!.outputMoment / 2
            i = 1
        } else {
            expand = nil
        }
        let d = block.child(i)
        dw = try ConvBN(conv: d, convName: "0", bn: d, bnName: "1", cin: mid, cout: mid, kernel: k, stride: stride,
                        padding: (k - 1) / 2, groups: mid, eps: eps, inputMoment: moment)
        se = try SqueezeExcitation(block.child(i + 1), channels: mid, squeeze: c.seWidth(cin))
        let p = block.child(i + 2)
        // The SE gate (about 0.5) and SiLU scale the second moment by about an eighth.
        project = try ConvBN(conv: p, convName: "0", bn: p, bnName: "1", cin: mid, cout: cout, kernel: 1, eps: eps,
                             lastInBlock: true, inputMoment: dw.outputMoment / 8)
        self.stride = stride
        kernel = k
        residual = stride == 1 && cin == cout
        outputMoment = project.outputMoment + (residual ? q : 0)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = expand.map { $0.prepared(x, activation: .silu) } ?? x
        let p = (kernel - 1) / 2
        h = depthwiseConv2d(h, weight: dw.foldedWeight, bias: dw.foldedBias, stride: (stride, stride), padding: (p, p, p, p), activation: .silu)
        h = squeezeExcite(h, reduceWeight: se.reduceWeight, reduceBias: se.reduceBias, expandWeight: se.expandWeight,
                          expandBias: se.expandBias, activation: .silu, gate: .sigmoid)
        return project.prepared(h, residual: residual ? x : nil)
    }
}

// MARK: - Model

public struct EfficientNet {
    public let config: EfficientNetConfig
    let stem: ConvBN
    let stages: [[MBConvBlock]]
    let head: ConvBN
    let fcWeight: Tensor?, fcBias: Tensor?

    public init(config c: EfficientNetConfig, weights scope: WeightScope) throws {
        config = c
        let eps = Float(c.eps)
        let features = scope.child("features")
        let st = features.child(0)
        stem = try ConvBN(conv: st, convName: "0", bn: st, bnName: "1", cin: 3, cout: c.stemWidth, kernel: 3, stride: 2, padding: 1,
                          eps: eps, inputMoment: 1)
        var moment = stem.outputMoment / 2
        var cin = c.stemWidth
        var stages: [[MBConvBlock]] = []
        for s in 0..<c.widths.count {
            var blocks: [MBConvBlock] = []
            for b in 0..<c.depths[s] {
                let block = try MBConvBlock(features.child(s + 1).child(b), cin: cin, cout: c.widths[s], stage: s,
                                            stride: b == 0 ? c.strides[s] : 1, config: c, inputMoment: moment)
                blocks.append(block)
                moment = block.outputMoment
                cin = c.widths[s]
            }
            stages.append(blocks)
        }
        self.stages = stages
        let h = features.child(c.widths.count + 1)
        head = try ConvBN(conv: h, convName: "0", bn: h, bnName: "1", cin: cin, cout: c.headWidth, kernel: 1, eps: eps, inputMoment: moment)
        if c.numClasses > 0 {
            let fc = scope.child("classifier").child(1)
            fcWeight = try fc.tensor("weight", shape: [c.numClasses, c.headWidth], synth: .normal(std: 1 / Float(c.headWidth).squareRoot()))
            fcBias = try fc.tensor("bias", shape: [c.numClasses], synth: .normal(std: 0.1))
        } else {
            fcWeight = nil
            fcBias = nil
        }
    }

    var headName: String { "features.\(config.widths.count + 1)" }

    /// x: [N, 3, H, W] → logits [N, classes] (or the pooled features [N, head_width] without a classifier).
    /// Taps (torchvision's module names): features.0, features.s.b, features.s, features.8, avgpool, classifier.1.
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        var y = stem.prepared(x, activation: .silu)
        taps.record("features.0", y)
        for (s, blocks) in stages.enumerated() {
            for b in blocks {
                y = b(y)
                taps.record(b.name, y)
            }
            taps.record("features.\(s + 1)", y)
        }
        y = head.prepared(y, activation: .silu)
        taps.record(headName, y)
        y = globalAvgPool2d(y)
        taps.record("avgpool", y)
        let pooled = y.reshaped([y.shape[0], config.featureCount])
        guard let w = fcWeight else { return pooled }
        let logits = linear(pooled, weight: w, bias: fcBias)
        taps.record("classifier.1", logits)
        return logits
    }

    /// The pooled feature vector [N, head_width] (the input of `classifier.1`).
    public func features(_ x: Tensor) -> Tensor {
        let taps = TapRecorder(.names(["avgpool"]))
        _ = self(x, taps: taps)
        let v = taps.recorded[0].value
        return v.reshaped([v.shape[0], config.featureCount])
    }

    public func isolatedModules() -> [IsolatedModule] {
        var out: [IsolatedModule] = []
        func add(_ name: String, _ inputs: [String], _ items: [[Int?]], same: String? = nil, _ run: @escaping ([Tensor]) -> Tensor) {
            out.append(IsolatedModule(name, inputs: inputs, itemShapes: items, sameOutputAs: same, run: run))
        }
        let st = stem
        add("features.0", [ModuleGraph.modelInput], [[3, nil, nil]]) { st.prepared($0[0], activation: .silu) }
        var previous = "features.0", channels = config.stemWidth
        for (s, blocks) in stages.enumerated() {
            let stageInput = previous, stageChannels = channels
            for b in blocks {
                add(b.name, [previous], [[channels, nil, nil]]) { b($0[0]) }
                previous = b.name
                channels = b.project.weight.shape[0]
            }
            add("features.\(s + 1)", [stageInput], [[stageChannels, nil, nil]], same: previous) { xs in blocks.reduce(xs[0]) { y, b in b(y) } }
            previous = "features.\(s + 1)"
        }
        let h = head, f = config.featureCount
        add(headName, [previous], [[channels, nil, nil]]) { h.prepared($0[0], activation: .silu) }
        add("avgpool", [headName], [[f, nil, nil]]) { globalAvgPool2d($0[0]) }
        if let w = fcWeight {
            let b = fcBias
            add("classifier.1", ["avgpool"], [[f, 1, 1]]) { xs in linear(xs[0].reshaped([xs[0].shape[0], f]), weight: w, bias: b) }
        }
        return out
    }
}
