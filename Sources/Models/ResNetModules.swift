// The torchvision ResNet as a graph of modules, each runnable on its own (`vfw verify --isolated`).
//
// Edges follow torchvision's forward (resnet.py): stem conv1 → bn1 → relu → maxpool, then per block
//   BasicBlock:  conv1 → bn1 → relu → conv2 → bn2 → [downsample.0 → downsample.1] → relu#2(bn2 + identity)
//   Bottleneck:  conv1 → bn1 → relu → conv2 → bn2 → relu#2 → conv3 → bn3 → [downsample] → relu#3(bn3 + identity)
// where identity is the block input or `downsample`'s output; then avgpool → (flatten) → fc. A module run
// alone runs unfused (conv without its batch norm), as PyTorch runs it.

import TensorCore

extension ResNet {
    /// Every module in forward-hook order, with its inputs; each runs alone as in the full forward.
    public func isolatedModules() -> [IsolatedModule] {
        var out: [IsolatedModule] = []
        // Inputs are NCHW of any height and width; only the channel count is fixed.
        func add(_ name: String, _ inputs: [String], _ channels: [Int], same: String? = nil, _ run: @escaping ([Tensor]) -> Tensor) {
            out.append(IsolatedModule(name, inputs: inputs, itemShapes: channels.map { [$0, nil, nil] }, sameOutputAs: same, run: run))
        }
        let stem = self.stem
        add("conv1", [ModuleGraph.modelInput], [3]) { stem.convOnly($0[0]) }
        add("bn1", ["conv1"], [64]) { stem.bnOnly($0[0]) }
        add("relu", ["bn1"], [64]) { relu($0[0]) }
        add("maxpool", ["relu"], [64]) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        var previous = "maxpool"
        var channels = 64
        for (i, stage) in stages.enumerated() {
            let stageName = "layer\(i + 1)", stageInput = previous, stageChannels = channels
            for block in stage {
                let b = block.name, blockInput = previous, cin = channels
                var last = blockInput
                for (k, conv) in block.convs.enumerated() {
                    let convName = "\(b).conv\(k + 1)", bnName = "\(b).bn\(k + 1)"
                    add(convName, [last], [conv.weight.shape[1] * conv.groups]) { conv.convOnly($0[0]) }
                    add(bnName, [convName], [conv.weight.shape[0]]) { conv.bnOnly($0[0]) }
                    last = bnName
                    if k < block.convs.count - 1 {
                        let reluName = k == 0 ? "\(b).relu" : "\(b).relu#\(k + 1)"
                        add(reluName, [bnName], [conv.weight.shape[0]]) { relu($0[0]) }
                        last = reluName
                    }
                }
                let outC = block.convs.last!.weight.shape[0]
                var identity = blockInput
                if let d = block.downsample {
                    add("\(b).downsample.0", [blockInput], [cin]) { d.convOnly($0[0]) }
                    add("\(b).downsample.1", ["\(b).downsample.0"], [outC]) { d.bnOnly($0[0]) }
                    add("\(b).downsample", [blockInput], [cin], same: "\(b).downsample.1") { d($0[0], taps: nil) }
                    identity = "\(b).downsample"
                }
                let finalRelu = "\(b).relu#\(block.convs.count)"
                let dropsResidual = block.dropsResidual
                add(finalRelu, [last, identity], [outC, outC]) { xs in
                    var y = xs[0]
                    if dropsResidual { reluInPlace(&y) } else { addInPlace(&y, xs[1], activation: .relu) }
                    return y
                }
                add(b, [blockInput], [cin], same: finalRelu) { block($0[0], taps: nil) }
                previous = b
                channels = outC
            }
            let blocks = stage
            add(stageName, [stageInput], [stageChannels], same: previous) { xs in blocks.reduce(xs[0]) { y, blk in blk(y, taps: nil) } }
        }
        let features = config.featureCount
        add("avgpool", [previous], [features]) { globalAvgPool2d($0[0]) }
        if let (w, bias) = fc {
            add("fc", ["avgpool"], [features]) { xs in linear(xs[0].reshaped([xs[0].shape[0], features]), weight: w, bias: bias) }
        }
        return out
    }
}

extension ConvBN {
    /// The convolution alone (batch norm not folded in).
    func convOnly(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, stride: stride, padding: padding, groups: groups)
    }

    /// The batch norm alone, on the convolution's output.
    func bnOnly(_ x: Tensor) -> Tensor {
        var y = x
        batchNormInPlace(&y, mean: mean, variance: variance, weight: gamma, bias: beta, eps: eps)
        return y
    }
}

private func relu(_ x: Tensor) -> Tensor {
    var y = x
    reluInPlace(&y)
    return y
}
