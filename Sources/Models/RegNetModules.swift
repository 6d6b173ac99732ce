// The RegNet as a graph of modules, each runnable on its own (`vfw verify --isolated`).
//
// Edges follow torchvision's forward (regnet.py): stem.0 → stem.1 → stem.2, then per ResBottleneckBlock
//   [proj.0 → proj.1]  f.a.0 → f.a.1 → f.a.2 → f.b.0 → f.b.1 → f.b.2 → [f.se: avgpool → fc1 → activation → fc2 →
//   scale_activation, then scale · input] → f.c.0 → f.c.1 → activation(f.c.1 + (proj or block input))
// then each stage `trunk_output.block{s}`, `trunk_output`, avgpool → (flatten) → fc. A module run alone runs
// unfused (conv without its batch norm), as PyTorch runs it.

import TensorCore

extension RegNet {
    /// Every module in forward-hook order, with its inputs; each runs alone as in the full forward.
    public func isolatedModules() -> [IsolatedModule] {
        var out: [IsolatedModule] = []
        func add(_ name: String, _ inputs: [String], _ items: [[Int?]], same: String? = nil, _ run: @escaping ([Tensor]) -> Tensor) {
            out.append(IsolatedModule(name, inputs: inputs, itemShapes: items, sameOutputAs: same, run: run))
        }
        // Feature maps are NCHW of any height and width; only the channel count is fixed.
        func maps(_ channels: Int...) -> [[Int?]] { channels.map { [$0, nil, nil] } }
        /// conv, bn (and relu) of one ConvBN unit named `prefix.0/1/2`; returns the last name.
        func unit(_ u: ConvBN, _ input: String, relu: String?) -> String {
            let cin = u.weight.shape[1] * u.groups, cout = u.weight.shape[0]
            add(u.name, [input], maps(cin)) { u.convOnly($0[0]) }
            add(u.bnName, [u.name], maps(cout)) { u.bnOnly($0[0]) }
            guard let relu else { return u.bnName }
            add(relu, [u.bnName], maps(cout)) { activation($0[0], .relu) }
            return relu
        }
        let stem = self.stem
        let stemOut = unit(stem, ModuleGraph.modelInput, relu: "stem.2")
        add("stem", [ModuleGraph.modelInput], maps(3), same: stemOut) { stem($0[0], relu: "stem.2", taps: nil) }
        var previous = "stem"
        for (s, blocks) in stages.enumerated() {
            let stageName = "trunk_output.block\(s + 1)", stageInput = previous
            let stageChannels = blocks[0].a.weight.shape[1]
            for block in blocks {
                let b = block.name, blockInput = previous
                let cin = block.a.weight.shape[1], cout = block.c.weight.shape[0], wb = block.b.weight.shape[0]
                var identity = blockInput
                if let p = block.proj {
                    identity = unit(p, blockInput, relu: nil)
                }
                var last = unit(block.a, blockInput, relu: block.aRelu)
                last = unit(block.b, last, relu: block.bRelu)
                if let se = block.se {
                    let n = se.name, sq = se.squeeze, c = se.channels
                    let (w1, b1, w2, b2) = (se.reduceWeight, se.reduceBias, se.expandWeight, se.expandBias)
                    add("\(n).avgpool", [last], maps(wb)) { globalAvgPool2d($0[0]) }
                    add("\(n).fc1", ["\(n).avgpool"], [[c, 1, 1]]) { conv2d($0[0], weight: w1, bias: b1) }
                    add("\(n).activation", ["\(n).fc1"], [[sq, 1, 1]]) { activation($0[0], .relu) }
                    add("\(n).fc2", ["\(n).activation"], [[sq, 1, 1]]) { conv2d($0[0], weight: w2, bias: b2) }
                    add("\(n).scale_activation", ["\(n).fc2"], [[c, 1, 1]]) { activation($0[0], .sigmoid) }
                    add(n, [last], maps(wb)) { se($0[0], taps: nil) }
                    last = n
                }
                last = unit(block.c, last, relu: nil)
                add("\(b).activation", [last, identity], maps(cout, cout)) { xs in TensorCore.add(xs[0], xs[1], activation: .relu) }
                add(b, [blockInput], maps(cin), same: "\(b).activation") { block($0[0], taps: nil) }
                previous = b
            }
            add(stageName, [stageInput], maps(stageChannels), same: previous) { xs in blocks.reduce(xs[0]) { y, blk in blk(y, taps: nil) } }
            previous = stageName
        }
        let features = config.featureCount
        let stagesCopy = stages
        add("trunk_output", ["stem"], maps(config.stemWidth), same: previous) { xs in
            stagesCopy.joined().reduce(xs[0]) { y, blk in blk(y, taps: nil) }
        }
        add("avgpool", ["trunk_output"], maps(features)) { globalAvgPool2d($0[0]) }
        if let w = fcWeight {
            let bias = fcBias
            add("fc", ["avgpool"], [[features, 1, 1]]) { xs in linear(xs[0].reshaped([xs[0].shape[0], features]), weight: w, bias: bias) }
        }
        return out
    }
}
