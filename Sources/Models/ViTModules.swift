// The ViT as a graph of its tapped modules, each runnable on its own (`vfw verify --isolated`).
//
//   embeddings(input) → encoder.layer.0 → ... → encoder.layer.{L-1} → layernorm → [pooler] → [classifier]
// The pooler and the classifier read token 0 of their input sequence (the classifier reads the pooler's
// output instead when the model has both, as torchvision's representation layer does).

import TensorCore

extension ViT {
    /// The tapped modules in forward order, with their inputs.
    public var moduleGraph: ModuleGraph {
        ModuleGraph(nodes: isolatedModules().map(\.node), logits: classifier == nil ? nil : "classifier")
    }

    /// Runs module `name` alone on `inputs` (see `AnyModel.runIsolated`).
    public func runIsolated(_ name: String, inputs: [Tensor]) throws -> Tensor {
        guard let m = isolatedModules().first(where: { $0.node.name == name }) else {
            throw ModelError.unknownTaps(names: [name], example: ["embeddings", "encoder.layer.0", "layernorm"])
        }
        guard inputs.count == 1, let x = inputs.first else {
            throw ModelError.shapeMismatch(key: "\(name) inputs", expected: [1], actual: [inputs.count])
        }
        guard x.shape.count >= 2, Array(x.shape.dropFirst()) == m.inputShape else {
            throw ModelError.shapeMismatch(key: "input of \(name)", expected: [x.shape.first ?? 0] + m.inputShape, actual: x.shape)
        }
        return m.run(x)
    }

    /// One runnable module: its node, the shape of one item of its input, and the computation.
    struct IsolatedModule {
        let node: ModuleNode
        let inputShape: [Int]
        let run: (Tensor) -> Tensor
    }

    func isolatedModules() -> [IsolatedModule] {
        let c = config
        let sequence = [c.tokens, c.hiddenSize]
        var out: [IsolatedModule] = []
        let model = self
        out.append(IsolatedModule(node: ModuleNode("embeddings", inputs: [ModuleGraph.modelInput]),
                                  inputShape: [c.numChannels, c.imageSize, c.imageSize], run: { model.embed($0) }))
        var previous = "embeddings"
        for layer in layers {
            out.append(IsolatedModule(node: ModuleNode(layer.name, inputs: [previous]), inputShape: sequence,
                                      run: { layer($0, taps: nil) }))
            previous = layer.name
        }
        let norm = finalNorm
        out.append(IsolatedModule(node: ModuleNode("layernorm", inputs: [previous]), inputShape: sequence, run: { norm($0) }))
        var features = ("layernorm", sequence)
        if let pooler {
            out.append(IsolatedModule(node: ModuleNode("pooler", inputs: ["layernorm"]), inputShape: sequence, run: { x in
                var p = pooler(model.classToken(x))
                tanhInPlace(&p)
                return p
            }))
            features = ("pooler", [c.poolerSize])
        }
        if let classifier {
            let fromPooler = features.0 == "pooler"
            out.append(IsolatedModule(node: ModuleNode("classifier", inputs: [features.0]), inputShape: features.1, run: { x in
                classifier(fromPooler ? x : model.classToken(x))
            }))
        }
        return out
    }
}
