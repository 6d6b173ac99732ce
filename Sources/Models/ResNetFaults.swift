// Faults planted on purpose, for tests that prove `vfw verify` catches and localises them (internal: only
// `@testable` code can plant one; a real model never has one, and the check costs one Bool per block).

extension ResNet {
    /// This model with block `name` (`layer3.0`) computing relu(branch) instead of relu(branch + identity).
    func droppingResidual(of name: String) -> ResNet? {
        var m = self
        for s in m.stages.indices {
            for b in m.stages[s].indices where m.stages[s][b].name == name {
                m.stages[s][b].dropsResidual = true
                return m
            }
        }
        return nil
    }
}

extension AnyModel {
    /// See `ResNet.droppingResidual(of:)`; nil when the model has no such block.
    func droppingResidual(of block: String) -> AnyModel? {
        (network as? ResNet)?.droppingResidual(of: block).map { AnyModel(description: description, network: $0) }
    }
}
