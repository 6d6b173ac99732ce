// The ViT as a graph of its tapped modules, each runnable on its own (`vfw verify --isolated`).
//
//   embeddings(input) → encoder.layer.0 → ... → encoder.layer.{L-1} → layernorm → [pooler] → [classifier]
// The pooler and the classifier read token 0 of their input sequence (the classifier reads the pooler's
// output instead when the model has both, as torchvision's representation layer does).

import TensorCore

extension ViT {
    /// The tapped modules in forward order, with their inputs; each runs alone as in the full forward.
    public func isolatedModules() -> [IsolatedModule] {
        let c = config
        // Any input size runs when the config can resample the position table: sizes are then open.
        let fixed = c.positionResampling == nil
        let sequence: [Int?] = [fixed ? c.tokens : nil, c.hiddenSize]
        var out: [IsolatedModule] = []
        let model = self
        let side: Int? = fixed ? c.imageSize : nil
        out.append(IsolatedModule("embeddings", inputs: [ModuleGraph.modelInput], itemShapes: [[c.numChannels, side, side]],
                                  run: { model.embed($0[0]) }))
        let (encoder, previous) = encoderModules(layers, after: "embeddings", sequence: sequence)
        out += encoder
        let norm = finalNorm
        out.append(IsolatedModule("layernorm", inputs: [previous], itemShapes: [sequence], run: { norm($0[0]) }))
        var features: (String, [Int?]) = ("layernorm", sequence)
        if let pooler {
            out.append(IsolatedModule("pooler", inputs: ["layernorm"], itemShapes: [sequence], run: { x in
                var p = pooler(model.classToken(x[0]))
                tanhInPlace(&p)
                return p
            }))
            features = ("pooler", [c.poolerSize])
        }
        if let classifier {
            let fromPooler = features.0 == "pooler"
            out.append(IsolatedModule("classifier", inputs: [features.0], itemShapes: [features.1], run: { x in
                classifier(fromPooler ? x[0] : model.classToken(x[0]))
            }))
        }
        return out
    }
}
