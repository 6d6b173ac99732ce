// Faults planted on purpose, for tests that prove `vfw verify` catches and localises them. Only code that imports
// Models with `@_spi(Faults)` can plant one (the test suites and Tests/FaultLab); a real model never has one.

import TensorCore

extension ViT {
    /// This model with encoder layer `name` (`encoder.layer.5`) using GELU's tanh approximation in its MLP
    /// instead of the exact (erf) GELU the checkpoint was trained with: the classic activation mix-up
    /// (Hugging Face's `gelu` vs `gelu_new`), at most 4.7e-4 apart per element.
    @_spi(Faults) public func withTanhGELU(in name: String) -> ViT? {
        guard let i = layers.firstIndex(where: { $0.name == name }) else { return nil }
        var m = self
        m.layers[i].activation = .geluTanh
        return m
    }
}

extension AnyModel {
    /// See `ViT.withTanhGELU(in:)`; nil when the model has no such layer.
    @_spi(Faults) public func withTanhGELU(in layer: String) -> AnyModel? {
        (network as? ViT)?.withTanhGELU(in: layer).map { AnyModel(description: description, network: $0) }
    }
}
