// Faults planted on purpose, for tests that prove `vfw verify` catches and localises them. Only code that imports
// Models with `@_spi(Faults)` can plant one (the test suites and Tests/FaultLab); `vfw` never does, a real model
// never has one, and the check costs one Bool per block.

@_spi(Faults) import TensorCore

extension ResNet {
    /// This model with block `name` (`layer3.0`) computing relu(branch) instead of relu(branch + identity).
    @_spi(Faults) public func droppingResidual(of name: String) -> ResNet? {
        var m = self
        for s in m.stages.indices {
            for b in m.stages[s].indices where m.stages[s][b].name == name {
                m.stages[s][b].dropsResidual = true
                return m
            }
        }
        return nil
    }

    /// This model with the convolution `conv` (`layer3.1.conv2`, a 3x3 stride-1 one that runs by Winograd)
    /// prepared with `fault` in its Winograd weight transform; nil when there is no such convolution.
    @_spi(Faults) public func withWinogradFault(_ fault: WinogradFault, in conv: String) -> ResNet? {
        var m = self
        for s in m.stages.indices {
            for b in m.stages[s].indices {
                for c in m.stages[s][b].convs.indices where m.stages[s][b].convs[c].name == conv {
                    let u = m.stages[s][b].convs[c]
                    m.stages[s][b].convs[c].prepared = PreparedConv2d(weight: u.foldedWeight, bias: u.foldedBias, stride: u.stride,
                                                                      padding: u.padding, groups: u.groups, winogradFault: fault)
                    return m
                }
            }
        }
        return nil
    }
}

extension AnyModel {
    /// See `ResNet.droppingResidual(of:)`; nil when the model has no such block.
    @_spi(Faults) public func droppingResidual(of block: String) -> AnyModel? {
        (network as? ResNet)?.droppingResidual(of: block).map { AnyModel(description: description, network: $0) }
    }

    /// See `ResNet.withWinogradFault(_:in:)`.
    @_spi(Faults) public func withWinogradFault(_ fault: WinogradFault, in conv: String) -> AnyModel? {
        (network as? ResNet)?.withWinogradFault(fault, in: conv).map { AnyModel(description: description, network: $0) }
    }
}
