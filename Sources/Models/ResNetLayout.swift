// Recognising a ResNet from its state_dict keys and shapes: torchvision's, or Hugging Face transformers'.
//
// torchvision's names are the canonical names, so its mapping is the identity; what recognition infers is the
// config (block type, blocks per stage, groups and width from layer1's conv2, classes from fc). Whether every
// tensor fits is decided by the strict build (`vfw convert` builds the model), not here.
//
// transformers' ResNetModel / ResNetForImageClassification (microsoft/resnet-*, as save_pretrained writes it;
// https://github.com/huggingface/transformers/blob/main/src/transformers/models/resnet/modeling_resnet.py) is the
// same network under other names, mapped onto the canonical ones by `HFResNet.canonical`. Its config.json can
// describe networks torchvision's ResNet does not compute; those are refused by `HFResNet.check`.

import Foundation
import TensorCore

enum ResNetLayout {
    /// The config whose keys and shapes these are, or nil when they are not a torchvision ResNet.
    /// Keys and shapes after prefix stripping; `num_batches_tracked` may be present or not.
    static func config(_ shapes: [String: [Int]]) -> ResNetConfig? {
        config(shapes, headless: false)
    }

    /// `headless`: the checkpoint may have no `fc` (transformers' ResNetModel): num_classes 0.
    static func config(_ shapes: [String: [Int]], headless: Bool) -> ResNetConfig? {
        guard let stem = shapes["conv1.weight"], stem == [64, 3, 7, 7], shapes["layer1.0.conv1.weight"] != nil else { return nil }
        let fc = shapes["fc.weight"]
        guard fc?.count == 2 || (fc == nil && headless) else { return nil }
        let block: ResNetConfig.Block = shapes["layer1.0.conv3.weight"] != nil ? .bottleneck : .basic
        var layers: [Int] = []
        for l in 1...4 {
            var n = 0
            while shapes["layer\(l).\(n).conv1.weight"] != nil { n += 1 }
            guard n > 0 else { return nil }
            layers.append(n)
        }
        var groups = 1, widthPerGroup = 64
        if block == .bottleneck, let c2 = shapes["layer1.0.conv2.weight"], c2.count == 4, c2[1] > 0, c2[0] % c2[1] == 0 {
            // layer1 has planes = 64: conv2 is [width, width/groups, 3, 3] with width = width_per_group · groups.
            groups = c2[0] / c2[1]
            widthPerGroup = c2[0] / groups
        }
        return ResNetConfig(block: block, layers: layers, groups: groups, widthPerGroup: widthPerGroup, numClasses: fc?[0] ?? 0)
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        if let r = try HFResNet.recognise(checkpoint) { return r }
        guard var config = config(checkpoint.shapes) else { return nil }
        if let arch = checkpoint.arch {
            guard let named = ResNet.config(named: arch, numClasses: config.numClasses) else {
                throw ModelError.unrecognised(reason: "the tensors are a torchvision ResNet, not \(arch)")
            }
            config = named
        }
        // BN's step counter is a training-only buffer: dropped with a note.
        let dropped = checkpoint.tensors.map(\.name).filter { $0.hasSuffix(".num_batches_tracked") }
        let kept = checkpoint.tensors.filter { !$0.name.hasSuffix(".num_batches_tracked") }
        var notes: [String] = []
        if !dropped.isEmpty { notes.append("dropped \(dropped.count) num_batches_tracked buffers (unused in eval mode)") }
        return Recognition(model: ModelDescription(ResNet.self, config), preprocessing: ResNet.preprocessing(config),
                           mapping: kept.map { .init($0.name, $0.name) }, dropped: dropped, notes: notes)
    }
}

// MARK: - Hugging Face transformers

/// transformers' ResNet names. ResNetForImageClassification puts `resnet.` in front of every name but its head's.
///   embedder.embedder.convolution / .normalization                  → conv1 / bn1   (the 7x7 stem, ResNetConvLayer)
///   encoder.stages.S.layers.B.layer.K.convolution / .normalization  → layer{S+1}.B.conv{K+1} / bn{K+1}
///   encoder.stages.S.layers.B.shortcut.convolution / .normalization → layer{S+1}.B.downsample.0 / .1
///   classifier.1 (nn.Sequential(Flatten, Linear))                   → fc            (ResNetModel has none)
/// Each BN's weight, bias, running_mean, running_var, num_batches_tracked keep their own names.
enum HFResNet {
    /// The canonical name of a transformers ResNet tensor name (without the `resnet.` prefix for the body),
    /// or nil when the name is not one of a ResNet's.
    static func canonical(_ name: String, prefix: String) -> String? {
        if name.hasPrefix("classifier.1.") { return "fc." + name.dropFirst("classifier.1.".count) }
        guard name.hasPrefix(prefix) else { return nil }
        let parts = name.dropFirst(prefix.count).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // The module of a ResNetConvLayer / ResNetShortCut: `convolution` is the conv, `normalization` its BN.
        func unit(_ module: String, conv: String, bn: String) -> String? {
            module == "convolution" ? conv : module == "normalization" ? bn : nil
        }
        switch parts.count {
        case 4 where parts[0] == "embedder" && parts[1] == "embedder":
            return unit(parts[2], conv: "conv1", bn: "bn1").map { "\($0).\(parts[3])" }
        case 9 where parts[0] == "encoder" && parts[1] == "stages" && parts[3] == "layers" && parts[5] == "layer":
            guard let s = Int(parts[2]), let b = Int(parts[4]), let k = Int(parts[6]) else { return nil }
            return unit(parts[7], conv: "conv\(k + 1)", bn: "bn\(k + 1)").map { "layer\(s + 1).\(b).\($0).\(parts[8])" }
        case 8 where parts[0] == "encoder" && parts[1] == "stages" && parts[3] == "layers" && parts[5] == "shortcut":
            guard let s = Int(parts[2]), let b = Int(parts[4]) else { return nil }
            return unit(parts[6], conv: "downsample.0", bn: "downsample.1").map { "layer\(s + 1).\(b).\($0).\(parts[7])" }
        default:
            return nil
        }
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        guard let prefix = ["", "resnet."].first(where: { checkpoint.shapes["\($0)embedder.embedder.convolution.weight"] != nil }) else {
            return nil
        }
        func fail(_ reason: String) -> ModelError { .unrecognised(reason: "ResNet (Hugging Face transformers layout): \(reason)") }
        var mapping: [Recognition.Entry] = []
        var dropped: [String] = []
        var unknown: [String] = []
        for t in checkpoint.tensors {
            guard let c = canonical(t.name, prefix: prefix) else { unknown.append(t.name); continue }
            // BN's step counter is a training-only buffer: dropped with a note.
            if c.hasSuffix(".num_batches_tracked") { dropped.append(t.name) } else { mapping.append(.init(c, t.name)) }
        }
        guard unknown.isEmpty else {
            throw fail("tensors that are not a ResNet's: \(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", ..." : "")")
        }
        let shapes = Dictionary(mapping.map { ($0.canonical, checkpoint.shapes[$0.source] ?? []) }, uniquingKeysWith: { a, _ in a })
        guard var config = ResNetLayout.config(shapes, headless: true) else {
            throw fail("the stem and stages do not have a ResNet's shapes (a 64x3x7x7 stem, four stages)")
        }
        var notes = ["Hugging Face transformers layout\(prefix.isEmpty ? "" : " with '\(prefix)' prefix")"]
        if config.numClasses == 0 { notes.append("no classifier head (ResNetModel): the model's output is its pooled features") }
        if let data = checkpoint.configJSON {
            try check(data, config: &config, fail: fail, notes: &notes)
        } else {
            notes.append("no config.json: assumed transformers' defaults (downsample_in_first_stage and downsample_in_bottleneck false)")
        }
        if let arch = checkpoint.arch {
            guard var named = ResNet.config(named: arch, numClasses: config.numClasses) else {
                throw ModelError.unrecognised(reason: "the tensors are a ResNet (Hugging Face transformers layout), not \(arch)")
            }
            named.id2label = config.id2label
            config = named
        }
        if !dropped.isEmpty { notes.append("dropped \(dropped.count) num_batches_tracked buffers (unused in eval mode)") }
        return Recognition(model: ModelDescription(ResNet.self, config), preprocessing: ResNet.preprocessing(config),
                           mapping: mapping, dropped: dropped, notes: notes)
    }

    /// transformers' ResNetConfig (configuration_resnet.py) against what torchvision's ResNet computes; the
    /// labels of id2label kept when they name every class.
    static func check(_ data: Data, config c: inout ResNetConfig, fail: (String) -> ModelError, notes: inout [String]) throws {
        guard let j = try? JSONDecoder().decode(JSONValue.self, from: data).objectValue else {
            throw ModelError.invalidConfig(family: ResNet.name, reason: "config.json is not a JSON object")
        }
        if let t = j["model_type"]?.stringValue, t != "resnet" { throw fail("config.json model_type is '\(t)', not 'resnet'") }
        if let t = j["layer_type"]?.stringValue, t != c.block.rawValue {
            throw fail("config.json says layer_type '\(t)', the tensors have \(c.block.rawValue) blocks")
        }
        if let d = j["depths"]?.arrayValue?.compactMap(\.intValue), d != c.layers {
            throw fail("config.json says depths \(d), the tensors have \(c.layers)")
        }
        // ResNetStage: stage i maps hidden_sizes[i-1] → hidden_sizes[i]; a bottleneck's inner width is
        // hidden_sizes[i] / 4 (reduction 4). torchvision's widths are 64·2^i·expansion.
        let widths = [64, 128, 256, 512].map { $0 * c.expansion }
        if let h = j["hidden_sizes"]?.arrayValue?.compactMap(\.intValue), h != widths {
            throw fail("config.json says hidden_sizes \(h); vfw's ResNet (torchvision's) has \(widths)")
        }
        for (key, want) in [("embedding_size", 64), ("num_channels", 3)] {
            if let v = j[key]?.intValue, v != want { throw fail("config.json says \(key) \(v); vfw's ResNet has \(want)") }
        }
        if let a = j["hidden_act"]?.stringValue, a != "relu" { throw fail("config.json hidden_act '\(a)' is not supported (only 'relu')") }
        // ResNetEncoder: with downsample_in_first_stage the first stage's first layer has stride 2; torchvision's
        // layer1 never downsamples (the max pool did).
        if j["downsample_in_first_stage"]?.boolValue == true {
            throw fail("config.json sets downsample_in_first_stage (stride 2 in stage 1); torchvision's ResNet, which vfw computes, keeps stride 1 there")
        }
        // ResNetBottleNeckLayer: downsample_in_bottleneck puts the stride on the first 1x1 conv (ResNet v1);
        // torchvision's Bottleneck puts it on the 3x3 conv2 ("ResNet v1.5"). Basic layers ignore the flag.
        if c.block == .bottleneck, j["downsample_in_bottleneck"]?.boolValue == true {
            throw fail("config.json sets downsample_in_bottleneck (stride on the first 1x1 conv, ResNet v1); torchvision's Bottleneck, which vfw computes, strides the 3x3 conv (v1.5)")
        }
        if c.numClasses > 0, let labels = j["id2label"]?.objectValue?.compactMapValues(\.stringValue) {
            if labels.count == c.numClasses && (0..<c.numClasses).allSatisfy({ labels[String($0)] != nil }) {
                c.id2label = labels
            } else {
                notes.append("config.json names \(labels.count) labels for \(c.numClasses) classes; labels not kept")
            }
        }
    }
}
