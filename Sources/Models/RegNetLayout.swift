// Recognising a RegNet from its state_dict keys and shapes: torchvision's names (the canonical ones) or timm's.
//
//   torchvision                                   timm
//   stem.0 / stem.1                               stem.conv / stem.bn
//   trunk_output.block{s}.block{s}-{b}.           s{s}.b{b+1}.
//     proj.0 / proj.1                               downsample.conv / downsample.bn
//     f.a.0 / f.a.1, f.b.*, f.c.*                   conv1.conv / conv1.bn, conv2.*, conv3.*
//     f.se.fc1 / f.se.fc2                           se.fc1 / se.fc2
//   fc                                            head.fc (absent with num_classes=0)
//
// The config (stem width, blocks per stage, widths, group widths, bottleneck multiplier, SE ratio, classes) is
// read from the canonical shapes. Whether every tensor fits is decided by the strict build (`vfw convert` builds
// the model), not here: a timm key this table does not know keeps its name and is refused there by name.

import Foundation
import TensorCore

enum RegNetLayout {
    enum Source { case torchvision, timm }

    static func layout(_ shapes: [String: [Int]]) -> Source? {
        if shapes["stem.0.weight"] != nil && shapes["trunk_output.block1.block1-0.f.a.0.weight"] != nil { return .torchvision }
        if shapes["stem.conv.weight"] != nil && shapes["s1.b1.conv1.conv.weight"] != nil { return .timm }
        return nil
    }

    /// timm's name for a tensor → torchvision's (unknown names unchanged).
    static func canonical(timm name: String) -> String {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        func rest(_ from: Int) -> String { parts[from...].joined(separator: ".") }
        if parts.count >= 3, parts[0] == "stem" {
            switch parts[1] {
            case "conv": return "stem.0." + rest(2)
            case "bn": return "stem.1." + rest(2)
            default: return name
            }
        }
        if parts.count >= 3, parts[0] == "head", parts[1] == "fc" { return "fc." + rest(2) }
        guard parts.count >= 5, parts[0].hasPrefix("s"), parts[1].hasPrefix("b"),
              let s = Int(parts[0].dropFirst()), let b = Int(parts[1].dropFirst()), s >= 1, b >= 1 else { return name }
        let block = "trunk_output.block\(s).block\(s)-\(b - 1)."
        let sub: String
        switch (parts[2], parts[3]) {
        case ("conv1", "conv"): sub = "f.a.0"
        case ("conv1", "bn"): sub = "f.a.1"
        case ("conv2", "conv"): sub = "f.b.0"
        case ("conv2", "bn"): sub = "f.b.1"
        case ("conv3", "conv"): sub = "f.c.0"
        case ("conv3", "bn"): sub = "f.c.1"
        case ("downsample", "conv"): sub = "proj.0"
        case ("downsample", "bn"): sub = "proj.1"
        case ("se", "fc1"): sub = "f.se.fc1"
        case ("se", "fc2"): sub = "f.se.fc2"
        default: return name
        }
        return block + sub + "." + rest(4)
    }

    /// The config whose canonical keys and shapes these are, or nil when they are not a RegNet.
    static func config(_ shapes: [String: [Int]]) -> RegNetConfig? {
        guard let stem = shapes["stem.0.weight"], stem.count == 4, stem[1] == 3 else { return nil }
        var depths: [Int] = [], widths: [Int] = [], groupWidths: [Int] = []
        var multiplier = 1.0
        var s = 1
        while shapes["trunk_output.block\(s).block\(s)-0.f.a.0.weight"] != nil {
            var n = 0
            while shapes["trunk_output.block\(s).block\(s)-\(n).f.a.0.weight"] != nil { n += 1 }
            let p = "trunk_output.block\(s).block\(s)-0."
            guard let b = shapes[p + "f.b.0.weight"], b.count == 4, b[1] >= 1,
                  let c = shapes[p + "f.c.0.weight"], c.count == 4, c[0] >= 1 else { return nil }
            depths.append(n)
            widths.append(c[0])
            groupWidths.append(b[1])
            if s == 1 { multiplier = Double(b[0]) / Double(c[0]) }
            s += 1
        }
        guard !depths.isEmpty else { return nil }
        var seRatio = 0.0
        if let se = shapes["trunk_output.block1.block1-0.f.se.fc1.weight"], se.count == 4 {
            seRatio = Double(se[0]) / Double(stem[0])  // the first block's input is the stem
        }
        let classes = shapes["fc.weight"].map { $0.count == 2 ? $0[0] : -1 } ?? 0
        guard classes >= 0 else { return nil }
        return RegNetConfig(stemWidth: stem[0], depths: depths, widths: widths, groupWidths: groupWidths,
                            bottleneckMultiplier: multiplier, seRatio: seRatio, numClasses: classes)
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        guard let source = layout(checkpoint.shapes) else { return nil }
        let dropped = checkpoint.tensors.map(\.name).filter { $0.hasSuffix(".num_batches_tracked") }
        let kept = checkpoint.tensors.filter { !$0.name.hasSuffix(".num_batches_tracked") }
        let mapping: [Recognition.Entry] = kept.map { .init(source == .timm ? canonical(timm: $0.name) : $0.name, $0.name) }
        let canonicalShapes = Dictionary(zip(mapping.map(\.canonical), kept.map(\.shape)), uniquingKeysWith: { a, _ in a })
        guard var config = config(canonicalShapes) else {
            throw ModelError.unrecognised(reason: "the tensors look like a \(source == .timm ? "timm" : "torchvision") RegNet, but its stem and first stage are not there")
        }
        if let arch = checkpoint.arch {
            guard let named = RegNet.config(named: arch, numClasses: config.numClasses) else {
                throw ModelError.unrecognised(reason: "the tensors are a RegNet, not \(arch)")
            }
            config = named
        }
        var notes: [String] = []
        if source == .timm { notes.append("timm RegNet: keys renamed to torchvision's (s1.b1.conv1.conv → trunk_output.block1.block1-0.f.a.0, ...)") }
        if !dropped.isEmpty { notes.append("dropped \(dropped.count) num_batches_tracked buffers (unused in eval mode)") }
        return Recognition(model: ModelDescription(RegNet.self, config), preprocessing: RegNet.preprocessing(config),
                           mapping: mapping, dropped: dropped, notes: notes)
    }
}
