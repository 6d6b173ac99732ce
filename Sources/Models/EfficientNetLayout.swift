// Recognising an EfficientNet from its state_dict: torchvision's names (canonical) or timm's.
//
//   torchvision                              timm
//   features.0.0 / features.0.1              conv_stem / bn1
//   features.{s+1}.{b}.block. (MBConv)       blocks.{s}.{b}. (InvertedResidual; DepthwiseSeparableConv if no expansion)
//     0.0 / 0.1   (expand)                     conv_pw / bn1
//     1.0 / 1.1   (depthwise)                  conv_dw / bn2
//     2.fc1 / 2.fc2   (squeeze-excitation)     se.conv_reduce / se.conv_expand
//     3.0 / 3.1   (project)                    conv_pwl / bn3
//     without expansion: 0 depthwise, 1 SE, 2 project   conv_dw / bn1, se.*, conv_pw / bn2
//   features.{S+1}.0 / .1                    conv_head / bn2
//   classifier.1                             classifier (absent with num_classes=0)
//
// The config (stem and head widths, per stage: width, blocks, expansion, kernel) is read from the canonical shapes;
// first strides are B0's (shapes do not carry them). Batch-norm eps is the source's: timm 1e-5, torchvision 1e-5
// for B0-B4 and 1e-3 for B5-B7 (torchvision's constructors).

import Foundation
import TensorCore

enum EfficientNetLayout {
    enum Source: String { case torchvision, timm }

    static func layout(_ shapes: [String: [Int]]) -> Source? {
        if shapes["features.0.0.weight"] != nil && shapes["features.1.0.block.0.0.weight"] != nil { return .torchvision }
        if shapes["conv_stem.weight"] != nil && shapes["blocks.0.0.conv_dw.weight"] != nil && shapes["conv_head.weight"] != nil { return .timm }
        return nil
    }

    /// timm's name → torchvision's (unknown names unchanged). `stages`: the number of stages (for conv_head).
    static func canonical(timm name: String, shapes: [String: [Int]], stages: Int) -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        guard parts.count >= 2 else { return name }
        switch parts[0] {
        case "conv_stem": return "features.0.0." + rest(1)
        case "bn1": return "features.0.1." + rest(1)
        case "conv_head": return "features.\(stages + 1).0." + rest(1)
        case "bn2": return "features.\(stages + 1).1." + rest(1)
        case "classifier": return "classifier.1." + rest(1)
        default: break
        }
        guard parts.count >= 5, parts[0] == "blocks", let s = Int(parts[1]), let b = Int(parts[2]) else { return name }
        let block = "features.\(s + 1).\(b).block."
        let expanded = shapes["blocks.\(s).\(b).conv_pwl.weight"] != nil
        let sub: String?
        switch (parts[3], expanded) {
        case ("conv_pw", true): sub = "0.0"
        case ("bn1", true): sub = "0.1"
        case ("conv_dw", true): sub = "1.0"
        case ("bn2", true): sub = "1.1"
        case ("conv_pwl", true): sub = "3.0"
        case ("bn3", true): sub = "3.1"
        case ("conv_dw", false): sub = "0.0"
        case ("bn1", false): sub = "0.1"
        case ("conv_pw", false): sub = "2.0"
        case ("bn2", false): sub = "2.1"
        case ("se", _):
            let i = expanded ? 2 : 1
            switch parts[4] {
            case "conv_reduce": return block + "\(i).fc1." + rest(5)
            case "conv_expand": return block + "\(i).fc2." + rest(5)
            default: return name
            }
        default: sub = nil
        }
        return sub.map { block + $0 + "." + rest(4) } ?? name
    }

    /// The config of these canonical (torchvision) shapes, or nil when they are not an EfficientNet.
    static func config(_ shapes: [String: [Int]], source: Source) -> EfficientNetConfig? {
        guard let stem = shapes["features.0.0.weight"], stem.count == 4, stem[1] == 3 else { return nil }
        var widths: [Int] = [], depths: [Int] = [], expand: [Int] = [], kernels: [Int] = []
        var cin = stem[0], s = 1
        while shapes["features.\(s).0.block.0.0.weight"] != nil {
            var n = 0
            while shapes["features.\(s).\(n).block.0.0.weight"] != nil { n += 1 }
            let p = "features.\(s).0.block."
            let expanded = shapes[p + "3.0.weight"] != nil
            guard let dw = shapes[p + (expanded ? "1.0.weight" : "0.0.weight")], dw.count == 4, dw[1] == 1,
                  let proj = shapes[p + (expanded ? "3.0.weight" : "2.0.weight")], proj.count == 4 else { return nil }
            widths.append(proj[0])
            depths.append(n)
            expand.append(expanded ? Swift.max(1, Int((Double(dw[0]) / Double(cin)).rounded())) : 1)
            kernels.append(dw[2])
            cin = proj[0]
            s += 1
        }
        guard !widths.isEmpty, let head = shapes["features.\(s).0.weight"], head.count == 4 else { return nil }
        var seRatio = 0.25
        if let fc1 = shapes["features.1.0.block.\(expand[0] == 1 ? 1 : 2).fc1.weight"], fc1.count == 4 {
            seRatio = Double(fc1[0]) / Double(stem[0])
        }
        let strides = widths.count == EfficientNetConfig.baseStrides.count ? EfficientNetConfig.baseStrides : [Int](repeating: 2, count: widths.count)
        let classes = shapes["classifier.1.weight"].map { $0.count == 2 ? $0[0] : -1 } ?? 0
        guard classes >= 0 else { return nil }
        var c = EfficientNetConfig(stemWidth: stem[0], widths: widths, depths: depths, expandRatios: expand, kernelSizes: kernels,
                                   strides: strides, headWidth: head[0], seRatio: seRatio, numClasses: classes)
        // torchvision builds B5-B7 with eps 1e-3; timm's efficientnet_b* use 1e-5.
        if source == .torchvision, let preset = EfficientNetConfig.presets.first(where: { $0.config.sameStructure(as: c) }) {
            c.eps = preset.config.eps
        }
        return c
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        let shapes = checkpoint.shapes
        guard let source = layout(shapes) else { return nil }
        let dropped = checkpoint.tensors.map(\.name).filter { $0.hasSuffix(".num_batches_tracked") }
        let kept = checkpoint.tensors.filter { !$0.name.hasSuffix(".num_batches_tracked") }
        var stages = 0
        while shapes["blocks.\(stages).0.conv_dw.weight"] != nil { stages += 1 }
        let mapping: [Recognition.Entry] = kept.map {
            .init(source == .timm ? canonical(timm: $0.name, shapes: shapes, stages: stages) : $0.name, $0.name)
        }
        let canonicalShapes = Dictionary(zip(mapping.map(\.canonical), kept.map(\.shape)), uniquingKeysWith: { a, _ in a })
        guard var config = config(canonicalShapes, source: source) else {
            throw ModelError.unrecognised(reason: "the tensors look like a \(source.rawValue) EfficientNet, but its stem, first stage or head is not there")
        }
        if let arch = checkpoint.arch {
            guard var named = EfficientNet.config(named: arch, numClasses: config.numClasses) else {
                throw ModelError.unrecognised(reason: "the tensors are an EfficientNet, not \(arch)")
            }
            if source == .timm { named.eps = config.eps }
            config = named
        }
        var notes: [String] = []
        if source == .timm { notes.append("timm EfficientNet: keys renamed to torchvision's (blocks.1.0.conv_pw → features.2.0.block.0.0, ...)") }
        if !dropped.isEmpty { notes.append("dropped \(dropped.count) num_batches_tracked buffers (unused in eval mode)") }
        return Recognition(model: ModelDescription(EfficientNet.self, config), preprocessing: EfficientNet.preprocessing(config),
                           mapping: mapping, dropped: dropped, notes: notes)
    }
}
