// Recognising a ConvNeXt (V1 or V2) from its state_dict: timm's names (canonical), torchvision's or transformers'.
//
//   timm                              torchvision                          transformers (ConvNext / ConvNextV2)
//   stem.0 / stem.1                   features.0.0 / features.0.1          embeddings.patch_embeddings / embeddings.layernorm
//   stages.i.downsample.0 / .1        features.{2i}.0 / .1                 encoder.stages.i.downsampling_layer.0 / .1
//   stages.i.blocks.j.conv_dw         features.{2i+1}.j.block.0            encoder.stages.i.layers.j.dwconv
//     .norm                             .block.2                             .layernorm
//     .mlp.fc1 / .mlp.fc2               .block.3 / .block.5                  .pwconv1 / .pwconv2
//     .mlp.grn                          —                                    .grn
//     .gamma                            .layer_scale                         .layer_scale_parameter
//   head.norm / head.fc               classifier.0 / classifier.2          layernorm / classifier
// transformers' classifier models prefix the backbone with `convnext.` / `convnextv2.`.

import Foundation
import TensorCore

enum ConvNeXtLayout {
    enum Source: String { case timm, torchvision, transformers }

    static func layout(_ shapes: [String: [Int]]) -> (Source, String)? {
        if shapes["stem.0.weight"] != nil && shapes["stages.0.blocks.0.conv_dw.weight"] != nil { return (.timm, "") }
        if shapes["features.0.0.weight"] != nil && shapes["features.1.0.block.0.weight"] != nil { return (.torchvision, "") }
        for p in ["", "convnext.", "convnextv2."] where shapes[p + "embeddings.patch_embeddings.weight"] != nil
            && shapes[p + "encoder.stages.0.layers.0.dwconv.weight"] != nil {
            return (.transformers, p)
        }
        return nil
    }

    /// A source name as timm names it (unknown names unchanged).
    static func canonical(_ name: String, _ source: Source, prefix: String) -> String {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch source {
        case .timm: return name
        case .torchvision:
            guard parts.count >= 3 else { return name }
            if parts[0] == "classifier", parts[1] == "0" || parts[1] == "2" {
                return (parts[1] == "0" ? "head.norm." : "head.fc.") + parts[2...].joined(separator: ".")
            }
            guard parts[0] == "features", let f = Int(parts[1]) else { return name }
            if f == 0, parts[2] == "0" || parts[2] == "1" { return "stem.\(parts[2])." + parts[3...].joined(separator: ".") }
            if f % 2 == 0 { return "stages.\(f / 2).downsample." + parts[2...].joined(separator: ".") }
            let stage = (f - 1) / 2
            let block = "stages.\(stage).blocks.\(parts[2])."
            if parts.count == 4, parts[3] == "layer_scale" { return block + "gamma" }
            guard parts.count >= 6, parts[3] == "block" else { return name }
            let sub = ["0": "conv_dw", "2": "norm", "3": "mlp.fc1", "5": "mlp.fc2"][parts[4]]
            return sub.map { block + $0 + "." + parts[5...].joined(separator: ".") } ?? name
        case .transformers:
            if name.hasPrefix("classifier.") { return "head.fc." + name.dropFirst("classifier.".count) }
            guard name.hasPrefix(prefix) else { return name }
            parts = String(name.dropFirst(prefix.count)).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            let rest = { (i: Int) in parts[i...].joined(separator: ".") }
            if parts.count == 2, parts[0] == "layernorm" { return "head.norm." + parts[1] }
            if parts.count == 3, parts[0] == "embeddings" {
                if parts[1] == "patch_embeddings" { return "stem.0." + parts[2] }
                if parts[1] == "layernorm" { return "stem.1." + parts[2] }
            }
            guard parts.count >= 5, parts[0] == "encoder", parts[1] == "stages" else { return name }
            let stage = "stages.\(parts[2])."
            if parts[3] == "downsampling_layer" { return stage + "downsample." + rest(4) }
            guard parts[3] == "layers", parts.count >= 6 else { return name }
            let block = stage + "blocks.\(parts[4])."
            switch parts[5] {
            case "layer_scale_parameter": return block + "gamma"
            case "dwconv": return block + "conv_dw." + rest(6)
            case "layernorm": return block + "norm." + rest(6)
            case "pwconv1": return block + "mlp.fc1." + rest(6)
            case "pwconv2": return block + "mlp.fc2." + rest(6)
            case "grn": return block + "mlp.grn." + rest(6)
            default: return name
            }
        }
    }

    /// The config of these canonical (timm) shapes.
    static func config(_ shapes: [String: [Int]]) -> ConvNeXtConfig? {
        var depths: [Int] = [], dims: [Int] = []
        var i = 0
        while let dw = shapes["stages.\(i).blocks.0.conv_dw.weight"], dw.count == 4 {
            var n = 0
            while shapes["stages.\(i).blocks.\(n).conv_dw.weight"] != nil { n += 1 }
            depths.append(n)
            dims.append(dw[0])
            i += 1
        }
        guard !depths.isEmpty else { return nil }
        let grn = shapes["stages.0.blocks.0.mlp.grn.weight"] != nil
        let layerScale = shapes["stages.0.blocks.0.gamma"] != nil
        let classes = shapes["head.fc.weight"].map { $0.count == 2 ? $0[0] : -1 } ?? 0
        guard classes >= 0 else { return nil }
        return ConvNeXtConfig(depths: depths, dims: dims, grn: grn, layerScale: layerScale, numClasses: classes)
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
        guard let (source, prefix) = layout(checkpoint.shapes) else { return nil }
        let mapping: [Recognition.Entry] = checkpoint.tensors.map { .init(canonical($0.name, source, prefix: prefix), $0.name) }
        let canonicalShapes = Dictionary(zip(mapping.map(\.canonical), checkpoint.tensors.map(\.shape)), uniquingKeysWith: { a, _ in a })
        guard var config = config(canonicalShapes) else {
            throw ModelError.unrecognised(reason: "the tensors look like a \(source.rawValue) ConvNeXt, but its first stage is not there")
        }
        if let arch = checkpoint.arch {
            guard let named = ConvNeXt.config(named: arch, numClasses: config.numClasses) else {
                throw ModelError.unrecognised(reason: "the tensors are a ConvNeXt, not \(arch)")
            }
            config = named
        }
        var notes: [String] = []
        if source != .timm { notes.append("\(source.rawValue) ConvNeXt: keys renamed to timm's (stages.i.blocks.j.conv_dw, ...)") }
        return Recognition(model: ModelDescription(ConvNeXt.self, config), preprocessing: ConvNeXt.preprocessing(config),
                           mapping: mapping, notes: notes)
    }
}
