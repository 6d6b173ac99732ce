// Recognising a torchvision ResNet from its state_dict keys and shapes.
//
// torchvision's names are the canonical names, so the mapping is the identity; what recognition infers is the
// config (block type, blocks per stage, groups and width from layer1's conv2, classes from fc). Whether every
// tensor fits is decided by the strict build (`vfw convert` builds the model), not here.

import TensorCore

enum ResNetLayout {
    /// The config whose keys and shapes these are, or nil when they are not a torchvision ResNet.
    /// Keys and shapes after prefix stripping; `num_batches_tracked` may be present or not.
    static func config(_ shapes: [String: [Int]]) -> ResNetConfig? {
        guard let stem = shapes["conv1.weight"], stem == [64, 3, 7, 7], let fc = shapes["fc.weight"], fc.count == 2,
              shapes["layer1.0.conv1.weight"] != nil else { return nil }
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
        return ResNetConfig(block: block, layers: layers, groups: groups, widthPerGroup: widthPerGroup, numClasses: fc[0])
    }

    static func recognise(_ checkpoint: Checkpoint) throws -> Recognition? {
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
