// The torchvision ResNet family: resnet18/34/50/101/152, wide_resnet50_2/101_2, resnext50_32x4d/101_32x8d/101_64x4d.
//
// Port of torchvision/models/resnet.py (https://github.com/pytorch/vision/blob/main/torchvision/models/resnet.py),
// eval mode. Checkpoint keys are torchvision's state_dict keys, written once below where each layer is built.
// Layout: activations NCHW; conv weights [out, in/groups, kH, kW]; fc weight [classes, features].
//
// Batch norm is folded into the preceding convolution at load time (weights prepared once, not per forward):
// w' = w·γ/sqrt(var+eps), b' = β − mean·γ/sqrt(var+eps), computed in Double. A module whose own output is
// tapped runs unfused, so every PyTorch module boundary can still be observed.

import TensorCore

// MARK: - Config

/// Hyper-parameters of a torchvision ResNet, as stored in the description's `config`.
public struct ResNetConfig: Codable, Equatable, Sendable {
    public enum Block: String, Codable, Sendable {
        case basic, bottleneck

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            let s = try c.decode(String.self)
            guard let b = Block(rawValue: s) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "must be \"basic\" or \"bottleneck\", not \"\(s)\""))
            }
            self = b
        }
    }

    public var block: Block
    /// Blocks per stage, e.g. [2, 2, 2, 2] for resnet18.
    public var layers: [Int]
    public var groups: Int
    public var widthPerGroup: Int
    /// Classes of the `fc` head; 0 = no head (transformers' ResNetModel: the network ends at the pooled features).
    public var numClasses: Int
    /// Batch-norm epsilon (torchvision: 1e-5).
    public var eps: Double = 1e-5
    /// Class index (as a decimal string) → label, when the source config names the classes.
    public var id2label: [String: String]?

    public init(block: Block, layers: [Int], groups: Int = 1, widthPerGroup: Int = 64, numClasses: Int = 1000) {
        self.block = block
        self.layers = layers
        self.groups = groups
        self.widthPerGroup = widthPerGroup
        self.numClasses = numClasses
    }

    enum CodingKeys: String, CodingKey {
        case block, layers, groups, widthPerGroup = "width_per_group", numClasses = "num_classes", eps, id2label
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        block = try c.decode(Block.self, forKey: .block)
        layers = try c.decode([Int].self, forKey: .layers)
        groups = try c.decode(Int.self, forKey: .groups)
        widthPerGroup = try c.decode(Int.self, forKey: .widthPerGroup)
        numClasses = try c.decode(Int.self, forKey: .numClasses)
        eps = try c.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
    }

    /// torchvision's constructors (resnet.py `resnet18` ... `resnext101_64x4d`).
    public static let presets: [(name: String, config: ResNetConfig)] = [
        ("resnet18", .init(block: .basic, layers: [2, 2, 2, 2])),
        ("resnet34", .init(block: .basic, layers: [3, 4, 6, 3])),
        ("resnet50", .init(block: .bottleneck, layers: [3, 4, 6, 3])),
        ("resnet101", .init(block: .bottleneck, layers: [3, 4, 23, 3])),
        ("resnet152", .init(block: .bottleneck, layers: [3, 8, 36, 3])),
        ("wide_resnet50_2", .init(block: .bottleneck, layers: [3, 4, 6, 3], widthPerGroup: 128)),
        ("wide_resnet101_2", .init(block: .bottleneck, layers: [3, 4, 23, 3], widthPerGroup: 128)),
        ("resnext50_32x4d", .init(block: .bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4)),
        ("resnext101_32x8d", .init(block: .bottleneck, layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8)),
        ("resnext101_64x4d", .init(block: .bottleneck, layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4)),
    ]

    /// The preset name when the structure is a torchvision preset (any class count), else `resnet-custom`.
    public var name: String {
        ResNetConfig.presets.first { $0.config.block == block && $0.config.layers == layers && $0.config.groups == groups
            && $0.config.widthPerGroup == widthPerGroup }?.name ?? "resnet-custom"
    }

    var expansion: Int { block == .basic ? 1 : 4 }
    public var featureCount: Int { 512 * expansion }
}

// MARK: - Family

extension ResNet: ModelFamily {
    public static let name = "resnet"
    public static var modelNames: [String] { ResNetConfig.presets.map(\.name) }

    public static func config(named name: String, numClasses: Int?) -> ResNetConfig? {
        guard var c = ResNetConfig.presets.first(where: { $0.name == name })?.config else { return nil }
        if let n = numClasses { c.numClasses = n }
        return c
    }

    public static func modelName(_ c: ResNetConfig) -> String { c.name }

    public static func validate(_ c: ResNetConfig) throws {
        func fail(_ r: String) -> ModelError { .invalidConfig(family: name, reason: r) }
        guard c.layers.count == 4, c.layers.allSatisfy({ $0 > 0 }) else { throw fail("'layers' must be four positive block counts") }
        for (k, v) in [("groups", c.groups), ("width_per_group", c.widthPerGroup)] where v < 1 {
            throw fail("'\(k)' must be a positive integer")
        }
        guard c.numClasses >= 0 else { throw fail("'num_classes' must be an integer ≥ 0 (0: no classifier head)") }
        guard c.eps >= 0 else { throw fail("'eps' must be a number ≥ 0") }
        if c.block == .basic && (c.groups != 1 || c.widthPerGroup != 64) {
            throw fail("BasicBlock only supports groups=1 and width_per_group=64 (as torchvision)")
        }
    }

    /// torchvision's weights.transforms(): Resize(256) bilinear, CenterCrop(224), ImageNet mean/std.
    public static func preprocessing(_ c: ResNetConfig) -> String { "torchvision" }

    public static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        try ResNetLayout.recognise(checkpoint)
    }

    /// torchvision BN's `num_batches_tracked` (int64 scalar, a training-only step counter) right after each
    /// BN's `running_var`, in state_dict order, set to a non-default count.
    public static func frameworkStateDict(_ canonical: [(name: String, tensor: RawTensor)]) -> [(name: String, tensor: RawTensor)] {
        var out: [(name: String, tensor: RawTensor)] = []
        for t in canonical {
            out.append(t)
            if t.name.hasSuffix(".running_var") {
                let steps = OwnedBytes(count: 8)
                steps.mutableBytes.storeBytes(of: Int64(10_000 + out.count).littleEndian, as: Int64.self)
                out.append((String(t.name.dropLast("running_var".count)) + "num_batches_tracked",
                            RawTensor(dtype: .i64, shape: [], bytes: ByteView(owned: steps))))
            }
        }
        return out
    }

    public var featureName: String { "pooled" }
    /// Any size runs (the stem and the adaptive pool take any input); presets feed 224x224.
    public var imageSize: Int? { nil }
    public var logitsModule: String? { fc == nil ? nil : "fc" }
}

// MARK: - Layers

/// A bias-free convolution followed by eval-mode batch norm (and optionally ReLU), folded at load time.
struct ConvBN {
    let name: String, bnName: String
    let weight: Tensor
    let mean: Tensor, variance: Tensor, gamma: Tensor, beta: Tensor
    let foldedWeight: Tensor, foldedBias: Tensor
    /// The folded convolution prepared once at load (Winograd-transformed weights for 3x3 stride-1 convs).
    /// (`var` only so that ResNetFaults.swift can plant a fault in a test.)
    var prepared: PreparedConv2d
    let stride: Int, padding: Int, groups: Int, eps: Float

    /// Second moment E[x²] of this unit's output, as estimated for synthetic weights (see `init`).
    let outputMoment: Float

    /// - Parameter inputMoment: the estimated E[x²] of the input, used only when synthesising weights: the
    ///   synthetic running variance is set near the variance the conv output will really have (2·E[x²] for a
    ///   Kaiming-normal weight), so batch norm normalises as it does in a trained network and activations
    ///   stay in a realistic range however deep the network is.
    init(conv: WeightScope, convName: String, bn: WeightScope, bnName: String, cin: Int, cout: Int, kernel: Int,
         stride: Int = 1, padding: Int = 0, groups: Int = 1, eps: Float, lastInBlock: Bool = false, inputMoment: Float) throws {
        name = conv.key(convName)
        self.bnName = bn.key(bnName)
        let fanIn = cin / groups * kernel * kernel
        weight = try conv.tensor("\(convName).weight", shape: [cout, cin / groups, kernel, kernel], synth: .conv(fanIn: fanIn))
        let b = bn.child(bnName)
        // Synthetic BN: γ around 1 (smaller on a block's last BN, as trained ResNets have it, so residual sums
        // grow slowly), β, mean and variance all varied away from their defaults (1, 0, 0, 1).
        let convVariance = 2 * inputMoment
        let gammaRange: (Float, Float) = lastInBlock ? (0.2, 0.5) : (0.7, 1.3)
        gamma = try b.tensor("weight", shape: [cout], synth: .uniform(gammaRange.0, gammaRange.1))
        beta = try b.tensor("bias", shape: [cout], synth: .normal(std: 0.1))
        mean = try b.tensor("running_mean", shape: [cout], synth: .normal(std: 0.1 * convVariance.squareRoot()))
        variance = try b.tensor("running_var", shape: [cout], synth: .uniform(0.7 * convVariance, 1.4 * convVariance))
        outputMoment = (gammaRange.0 * gammaRange.0 + gammaRange.0 * gammaRange.1 + gammaRange.1 * gammaRange.1) / 3 + 0.01
        (foldedWeight, foldedBias) = foldBatchNorm(convWeight: weight, convBias: nil, mean: mean, variance: variance,
                                                   weight: gamma, bias: beta, eps: eps)
        prepared = PreparedConv2d(weight: foldedWeight, bias: foldedBias, stride: stride, padding: padding, groups: groups)
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.eps = eps
    }

    /// conv → bn (→ relu, recorded under `reluName`), fused unless a tap wants the conv's or bn's own output.
    func callAsFunction(_ x: Tensor, relu reluName: String? = nil, taps: TapRecorder?) -> Tensor {
        let act: Activation = reluName == nil ? .none : .relu
        if taps.wants(name) || taps.wants(bnName) {
            var y = conv2d(x, weight: weight, stride: stride, padding: padding, groups: groups)
            taps.record(name, y)
            batchNormInPlace(&y, mean: mean, variance: variance, weight: gamma, bias: beta, eps: eps)
            taps.record(bnName, y)
            if let r = reluName {
                reluInPlace(&y)
                taps.record(r, y)
            }
            return y
        }
        let y = prepared(x, activation: act)
        taps.skip(name)
        taps.skip(bnName)
        if let r = reluName { taps.record(r, y) }
        return y
    }
}

/// torchvision BasicBlock (expansion 1) or Bottleneck (expansion 4, "ResNet v1.5": stride on the 3x3 conv2).
struct ResidualBlock {
    let name: String
    var convs: [ConvBN]
    let downsample: ConvBN?
    /// Estimated E[x²] of the block's output (synthetic weights only; see ConvBN).
    let outputMoment: Float
    /// Test-only fault (ResNetFaults.swift): the block forgets its identity path. Off in every real model.
    var dropsResidual = false

    init(_ s: WeightScope, config c: ResNetConfig, inplanes: Int, planes: Int, stride: Int, inputMoment q: Float) throws {
        name = s.prefix
        let outC = planes * c.expansion
        // After a conv-BN-ReLU unit the second moment is about half the BN output's (ReLU of a centred value).
        switch c.block {
        case .basic:
            let c1 = try ConvBN(conv: s, convName: "conv1", bn: s, bnName: "bn1", cin: inplanes, cout: planes, kernel: 3, stride: stride, padding: 1, eps: Float(c.eps), inputMoment: q)
            let c2 = try ConvBN(conv: s, convName: "conv2", bn: s, bnName: "bn2", cin: planes, cout: planes, kernel: 3, padding: 1, eps: Float(c.eps), lastInBlock: true, inputMoment: c1.outputMoment / 2)
            convs = [c1, c2]
        case .bottleneck:
            let width = planes * c.widthPerGroup / 64 * c.groups  // int(planes * (base_width / 64.)) * groups
            let c1 = try ConvBN(conv: s, convName: "conv1", bn: s, bnName: "bn1", cin: inplanes, cout: width, kernel: 1, eps: Float(c.eps), inputMoment: q)
            let c2 = try ConvBN(conv: s, convName: "conv2", bn: s, bnName: "bn2", cin: width, cout: width, kernel: 3, stride: stride, padding: 1, groups: c.groups, eps: Float(c.eps), inputMoment: c1.outputMoment / 2)
            let c3 = try ConvBN(conv: s, convName: "conv3", bn: s, bnName: "bn3", cin: width, cout: outC, kernel: 1, eps: Float(c.eps), lastInBlock: true, inputMoment: c2.outputMoment / 2)
            convs = [c1, c2, c3]
        }
        // `_make_layer`: a projection on the identity path when the shape changes ("downsample.0" conv1x1, "downsample.1" BN).
        if stride != 1 || inplanes != outC {
            let d = s.child("downsample")
            downsample = try ConvBN(conv: d, convName: "0", bn: d, bnName: "1", cin: inplanes, cout: outC, kernel: 1, stride: stride, eps: Float(c.eps), inputMoment: q)
        } else {
            downsample = nil
        }
        // relu(branch + identity): the identity is mostly positive, so the moments add.
        outputMoment = convs.last!.outputMoment + (downsample?.outputMoment ?? q)
    }

    func callAsFunction(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        // Every conv but the last is followed by the block's `relu` module (one module, run several times).
        var out = x
        for conv in convs.dropLast() { out = conv(out, relu: "\(name).relu", taps: taps) }
        // torchvision computes the branch's last conv-bn before the downsample; the add follows both.
        let last = convs.last!
        if !dropsResidual, !taps.wants(last.name), !taps.wants(last.bnName) {
            let branchInput = out
            // Order of tap bookkeeping stays torchvision's: conv3/bn3 (skipped), then downsample.
            taps.skip(last.name)
            taps.skip(last.bnName)
            let identity = downsample.map { $0(x, taps: taps) } ?? x
            out = last.prepared(branchInput, activation: .relu, residual: identity)
        } else {
            out = last(out, taps: taps)
            let identity = downsample.map { $0(x, taps: taps) } ?? x
            if dropsResidual { reluInPlace(&out) } else { addInPlace(&out, identity, activation: .relu) }
        }
        taps.record("\(name).relu", out)
        taps.record(name, out)
        return out
    }
}

// MARK: - Model

public struct ResNet {
    public let config: ResNetConfig
    let stem: ConvBN
    var stages: [[ResidualBlock]]
    /// The classifier head (weight [classes, features], bias [classes]); nil when `numClasses` is 0.
    let fc: (weight: Tensor, bias: Tensor)?

    /// Builds the network from `scope`, asking for every tensor by its torchvision key.
    public init(config c: ResNetConfig, weights scope: WeightScope) throws {
        config = c
        // A normalised photo has about unit second moment per channel.
        let eps = Float(c.eps)
        stem = try ConvBN(conv: scope, convName: "conv1", bn: scope, bnName: "bn1", cin: 3, cout: 64, kernel: 7, stride: 2, padding: 3, eps: eps, inputMoment: 1)
        var moment = stem.outputMoment / 2
        var inplanes = 64
        var stages: [[ResidualBlock]] = []
        for (i, (planes, blocks)) in zip([64, 128, 256, 512], c.layers).enumerated() {
            let layer = scope.child("layer\(i + 1)")
            var stage: [ResidualBlock] = []
            for b in 0..<blocks {
                let block = try ResidualBlock(layer.child(b), config: c, inplanes: inplanes, planes: planes, stride: b == 0 && i > 0 ? 2 : 1, inputMoment: moment)
                stage.append(block)
                moment = block.outputMoment
                inplanes = planes * c.expansion
            }
            stages.append(stage)
        }
        self.stages = stages
        if c.numClasses > 0 {
            let fc = scope.child("fc")
            // nn.Linear's default init bound is 1/sqrt(fan_in); synthetic weights use that scale with a normal.
            self.fc = (try fc.tensor("weight", shape: [c.numClasses, c.featureCount], synth: .normal(std: 1 / Float(c.featureCount).squareRoot())),
                       try fc.tensor("bias", shape: [c.numClasses], synth: .normal(std: 0.1)))
        } else {
            fc = nil
        }
    }

    /// x: [N, 3, H, W] normalised image → logits [N, classes] (without a head: the pooled features [N, C]).
    /// Taps see PyTorch module names.
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor {
        var y = stem(x, relu: "relu", taps: taps)
        y = maxPool2d(y, kernel: 3, stride: 2, padding: 1)
        taps.record("maxpool", y)
        for (i, stage) in stages.enumerated() {
            for block in stage { y = block(y, taps: taps) }
            taps.record("layer\(i + 1)", y)
        }
        y = globalAvgPool2d(y)  // [N, C, 1, 1], as nn.AdaptiveAvgPool2d((1, 1)) returns it
        taps.record("avgpool", y)
        let n = y.shape[0]
        guard let fc else { return y.reshaped([n, config.featureCount]) }
        let logits = linear(y.reshaped([n, config.featureCount]), weight: fc.weight, bias: fc.bias)
        taps.record("fc", logits)
        return logits
    }

    /// The pooled feature vector [N, 512·expansion] (the input of `fc`).
    public func features(_ x: Tensor) -> Tensor {
        let taps = TapRecorder(.names(["avgpool"]))
        _ = self(x, taps: taps)
        let pooled = taps.recorded[0].value
        return pooled.reshaped([pooled.shape[0], config.featureCount])
    }
}
