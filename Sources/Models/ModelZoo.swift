// The registered families by model name: recognition from checkpoints, building, synthetic weights.
// Everything here goes through `Families.all`; no family is named outside its own file.

import Foundation
import TensorCore

/// A built model of any family, with the description it was built from.
public struct AnyModel {
    public let description: ModelDescription
    /// The family's network (a `ResNet`, a `ViT`, ...).
    public let network: any FamilyNetwork

    public init(description: ModelDescription, network: any FamilyNetwork) {
        self.description = description
        self.network = network
    }

    /// x: [N, 3, H, W] preprocessed images → the model's output (logits for classifiers).
    public func callAsFunction(_ x: Tensor, taps: TapRecorder? = nil) -> Tensor { network(x, taps: taps) }

    /// The family's everyday feature vector [N, D] (see `featureName`).
    public func features(_ x: Tensor) -> Tensor { network.features(x) }

    /// What `features` is: `pooled` (CNNs), `cls` (ViT), ...
    public var featureName: String { network.featureName }

    /// Side of the square input the model was built for; nil when it runs at any size.
    public var imageSize: Int? { network.imageSize }

    /// The model's modules and their edges, in forward-hook order.
    public var moduleGraph: ModuleGraph {
        ModuleGraph(nodes: network.isolatedModules().map(\.node), logits: network.logitsModule)
    }

    /// Runs module `name` alone on `inputs` (one tensor per `ModuleNode.inputs` entry, e.g. the reference
    /// activations of those modules), as the full forward would run it. Throws `unknownTaps` for a name
    /// not in `moduleGraph` and `inputMismatch` when an input does not fit the module.
    public func runIsolated(_ name: String, inputs: [Tensor]) throws -> Tensor {
        let modules = network.isolatedModules()
        guard let m = modules.first(where: { $0.node.name == name }) else {
            throw ModelError.unknownTaps(names: [name], example: modules.prefix(4).map(\.node.name))
        }
        return try m(inputs)
    }
}

public enum ModelZoo {
    /// Every model name `--model` / `--arch` accepts, family by family.
    public static var knownNames: [String] { Families.all.flatMap(\.modelNames) }

    /// The description of a known model name (its family's default config; `numClasses` sets the head).
    public static func description(named name: String, numClasses: Int? = nil) throws -> ModelDescription {
        for f in Families.all {
            if let d = f.describe(name, numClasses) { return d }
        }
        throw ModelError.unknownModel(name: name, known: knownNames)
    }

    /// The family of a description, or an error naming the registered ones.
    public static func family(of d: ModelDescription) throws -> Family {
        guard let f = Families.named(d.family) else {
            throw ModelError.invalidConfig(family: d.family, reason: "unknown model family '\(d.family)' (vfw knows \(Families.all.map(\.name).joined(separator: ", ")))")
        }
        return f
    }

    /// The default preprocessing preset of a model.
    public static func preprocessing(for d: ModelDescription) throws -> String {
        try family(of: d).preprocessing(d)
    }

    /// Recognises the model from tensor names and shapes (`arch` forces a model name): the first family, in
    /// registry order, whose layouts the tensors have.
    public static func recognise(_ tensors: [(name: String, shape: [Int])], configJSON: Data? = nil, arch: String? = nil) throws -> Recognition {
        let checkpoint = Checkpoint(tensors, configJSON: configJSON, arch: arch)
        for f in Families.all {
            if let r = try f.recognise(checkpoint) { return r }
        }
        if let arch {
            _ = try description(named: arch)  // unknown names fail here
            throw ModelError.unrecognised(reason: "the tensors do not have the layout of \(arch)")
        }
        throw ModelError.unrecognised(reason: "the tensor names match no supported layout (families: \(Families.all.map(\.name).joined(separator: ", ")))")
    }

    /// Builds a model from canonical tensors; strict: missing, mis-shaped and unused tensors are errors.
    public static func build(_ d: ModelDescription, weights: WeightStore) throws -> AnyModel {
        let network = try family(of: d).build(d, weights.root)
        try weights.checkAllUsed()
        return AnyModel(description: d, network: network)
    }

    /// Deterministic synthetic weights for `d`, canonical names, in the model's parameter order.
    public static func synthesise(_ d: ModelDescription, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        let store = WeightStore(synthesisingWithSeed: seed)
        _ = try build(d, weights: store)
        return store.synthesised
    }

    /// Synthetic weights as the source framework's own state_dict holds them (loadable with `strict=True`).
    public static func synthesiseCheckpoint(_ d: ModelDescription, seed: UInt64) throws -> [(name: String, tensor: RawTensor)] {
        try family(of: d).frameworkStateDict(try synthesise(d, seed: seed))
    }
}
