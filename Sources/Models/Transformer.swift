// The building blocks the vision-transformer families share (ViT, DINOv2, DeiT, CLIP, SigLIP): LayerNorm and
// Linear parameters, the pre-LN encoder layer, token assembly (patch tokens, prefix tokens, position rows), and
// the bicubic resampling of a position table (DINOv2 at any input size).
//
// Every family's encoder layer computes the same thing; only its checkpoint keys, its activation and whether it
// has layer scale differ:
//   h = x + γ1 ⊙ o(MHA(LN1(x)));  x = h + γ2 ⊙ fc2(act(fc1(LN2(h))))      (γ = 1 without layer scale)
//   MHA = softmax(Q·Kᵀ / √D)·V per head.
// Sources: HF ViTLayer / Dinov2Layer / CLIPEncoderLayer, timm Block (ls1/ls2 = LayerScale), torchvision
// EncoderBlock. `EncoderLayerKeys` names the tensors under a layer's prefix, so each key is still written once,
// in the family that owns the layout.

import TensorCore

// MARK: - Parameters

/// LayerNorm parameters (PyTorch nn.LayerNorm(E, eps)).
struct TransformerLayerNorm {
    let name: String
    let weight: Tensor, bias: Tensor
    let eps: Float

    init(_ s: WeightScope, _ name: String, width: Int, eps: Double) throws {
        let n = s.child(name)
        self.name = n.prefix
        // Synthetic: γ and β varied away from 1 and 0, as in trained networks.
        weight = try n.tensor("weight", shape: [width], synth: .uniform(0.7, 1.3))
        bias = try n.tensor("bias", shape: [width], synth: .normal(std: 0.1))
        self.eps = Float(eps)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// nn.Linear parameters, weight [out, in] as PyTorch stores it (the kernel multiplies by its transpose).
struct TransformerLinear {
    let weight: Tensor, bias: Tensor?

    /// Synthetic weights are Normal(0, gain/√in): unit-variance inputs give outputs of variance gain².
    init(_ s: WeightScope, _ name: String, out: Int, in inF: Int, bias hasBias: Bool = true, gain: Float = 1) throws {
        let n = s.child(name)
        weight = try n.tensor("weight", shape: [out, inF], synth: .normal(std: gain / Float(inF).squareRoot()))
        bias = hasBias ? try n.tensor("bias", shape: [out], synth: .normal(std: 0.05)) : nil
    }

    init(weight: Tensor, bias: Tensor?) {
        self.weight = weight
        self.bias = bias
    }

    func callAsFunction(_ x: Tensor, activation: Activation = .none) -> Tensor {
        linear(x, weight: weight, bias: bias, activation: activation)
    }
}

/// The patch embedding every ViT-style family shares: a Conv2d with kernel = stride = patch, weight
/// [hidden, channels, patch, patch] and bias [hidden] under `embeddings.patch_embeddings.projection` (transformers'
/// ViTPatchEmbeddings; timm's `patch_embed.proj` is renamed to it by each family's layout).
struct TransformerPatchEmbedding {
    let weight: Tensor, bias: Tensor, patch: Int

    /// A normalised image has about unit second moment: synthetic Normal(0, 1/√fan_in) gives unit-variance patches.
    init(_ projection: WeightScope, hidden e: Int, channels: Int, patch: Int) throws {
        let fanIn = channels * patch * patch
        weight = try projection.tensor("weight", shape: [e, channels, patch, patch],
                                       synth: .normal(std: 1 / Float(fanIn).squareRoot()))
        bias = try projection.tensor("bias", shape: [e], synth: .normal(std: 0.1))
        self.patch = patch
    }

    /// [N, C, H, W] -> [N, hidden, H/patch, W/patch].
    func callAsFunction(_ x: Tensor) -> Tensor { conv2d(x, weight: weight, bias: bias, stride: patch) }
}

// MARK: - Encoder layer

/// The checkpoint keys of one encoder layer, relative to the layer's prefix (dotted paths allowed).
struct EncoderLayerKeys {
    var norm1: String
    var query: String, key: String, value: String
    var out: String
    var norm2: String
    var fc1: String, fc2: String
    /// Layer-scale vectors [E] (DINOv2 `layer_scale1.lambda1`), or nil when the layer has none.
    var layerScale1: String? = nil
    var layerScale2: String? = nil
}

/// The shape of one encoder layer.
struct EncoderLayerShape {
    var hidden: Int
    var intermediate: Int
    var heads: Int
    var eps: Double
    var qkvBias: Bool
    var activation: Activation
}

/// One pre-LN encoder layer (HF ViTLayer / Dinov2Layer / CLIPEncoderLayer, timm Block, torchvision EncoderBlock).
struct TransformerEncoderLayer {
    let name: String
    let heads: Int
    /// The MLP's activation (the config's; exact GELU for ViT). Test-only fault (ViTFaults.swift): tanh-GELU.
    var activation: Activation
    let norm1: TransformerLayerNorm, norm2: TransformerLayerNorm
    /// query, key and value fused at load: weight [3E, E] = cat(q, k, v) along rows, bias [3E] likewise.
    let qkv: TransformerLinear
    let attentionOutput: TransformerLinear
    let fc1: TransformerLinear, fc2: TransformerLinear
    let layerScale1: Tensor?, layerScale2: Tensor?

    /// Asks for the tensors in forward order: norm1, q, k, v, out, [γ1], norm2, fc1, fc2, [γ2] (the order
    /// fixes which synthetic numbers each tensor gets).
    init(_ s: WeightScope, keys: EncoderLayerKeys, shape c: EncoderLayerShape) throws {
        name = s.prefix
        heads = c.heads
        activation = c.activation
        let e = c.hidden
        norm1 = try TransformerLayerNorm(s, keys.norm1, width: e, eps: c.eps)
        // Synthetic q and k get gain 1.5: scores of std ≈ 2 make attention as peaked as in trained ViTs
        // (entropy well below uniform) instead of nearly uniform averaging.
        let q = try TransformerLinear(s, keys.query, out: e, in: e, bias: c.qkvBias, gain: 1.5)
        let k = try TransformerLinear(s, keys.key, out: e, in: e, bias: c.qkvBias, gain: 1.5)
        let v = try TransformerLinear(s, keys.value, out: e, in: e, bias: c.qkvBias)
        qkv = TransformerLinear(weight: Tensor(shape: [3 * e, e], data: q.weight.data + k.weight.data + v.weight.data),
                                bias: c.qkvBias ? Tensor(shape: [3 * e], data: q.bias!.data + k.bias!.data + v.bias!.data) : nil)
        // The two projections that write into the residual stream get gain 0.7 in synthetic weights, so the
        // stream grows slowly with depth (as in trained ViTs) rather than doubling per layer.
        attentionOutput = try TransformerLinear(s, keys.out, out: e, in: e, gain: 0.7)
        // Synthetic layer scale: trained DINOv2 layers have γ mostly between 0.05 and 1 (init 1e-5 would make
        // every layer a no-op and the test blind to it).
        layerScale1 = try keys.layerScale1.map { try s.tensor($0, shape: [e], synth: .uniform(0.1, 0.8)) }
        norm2 = try TransformerLayerNorm(s, keys.norm2, width: e, eps: c.eps)
        fc1 = try TransformerLinear(s, keys.fc1, out: c.intermediate, in: e)
        // E[GELU(z)²] ≈ 0.43 for z ~ N(0, 1): gain 1 keeps the MLP's output variance below its input's.
        fc2 = try TransformerLinear(s, keys.fc2, out: e, in: c.intermediate)
        layerScale2 = try keys.layerScale2.map { try s.tensor($0, shape: [e], synth: .uniform(0.1, 0.8)) }
    }

    /// x: [N, T, E] → [N, T, E].
    func callAsFunction(_ x: Tensor, taps: TapRecorder?) -> Tensor {
        var x = x
        let a = attention(qkv: qkv(norm1(x)), heads: heads)
        addResidual(&x, attentionOutput(a), scale: layerScale1)
        let m = fc1(norm2(x), activation: activation)
        addResidual(&x, fc2(m), scale: layerScale2)
        taps.record(name, x)
        return x
    }
}

/// x += γ ⊙ y (γ [E] broadcast over the rows of y [..., E]), or x += y without γ. PyTorch rounds γ ⊙ y first
/// (LayerScale's `x * gamma`, then `+ residual`), and so does this.
func addResidual(_ x: inout Tensor, _ y: Tensor, scale: Tensor?) {
    guard let scale else { addInPlace(&x, y); return }
    let e = scale.count
    precondition(x.shape == y.shape && x.shape.last == e, "addResidual: \(describeShape(y.shape)) scaled by [\(e)] onto \(describeShape(x.shape))")
    let rows = e == 0 ? 0 : x.count / e
    scale.data.withUnsafeBufferPointer { g in
        y.data.withUnsafeBufferPointer { yp in
            x.data.withUnsafeMutableBufferPointer { xp in
                for r in 0..<rows {
                    let o = r * e
                    for j in 0..<e { xp[o + j] += yp[o + j] * g[j] }
                }
            }
        }
    }
}

// MARK: - Tokens

/// Patch tokens, prefix tokens and position rows as one sequence [N, T, E]:
///   `posed` prefix tokens (each [1, k, E]: class, distillation), then `unposed` ones (DINOv2's registers,
///   timm's class/register tokens that carry no position row), then the patches of `conv` [N, E, g_h, g_w]
///   (token p = row·g_w + col); `positions` [1, (posed tokens) + g_h·g_w, E] is added to the posed prefix
///   tokens and the patches, in that order (or nothing is added when nil).
func assembleTokens(conv: Tensor, posed: [Tensor], unposed: [Tensor] = [], positions: Tensor?) -> Tensor {
    let n = conv.shape[0], e = conv.shape[1], patches = conv.shape[2] * conv.shape[3]
    let posedCount = posed.reduce(0) { $0 + $1.count / max(e, 1) }
    let unposedCount = unposed.reduce(0) { $0 + $1.count / max(e, 1) }
    let t = posedCount + unposedCount + patches
    if let positions {
        precondition(positions.count == (posedCount + patches) * e,
                     "tokens: \(describeShape(positions.shape)) positions for \(posedCount) + \(patches) tokens of \(e)")
    }
    if n == 0 { return Tensor.zeros([0, t, e]) }
    let prefix = (posed + unposed).flatMap(\.data)
    let noPositions = [Float](repeating: 0, count: (posedCount + patches) * e)
    return Tensor(shape: [n, t, e]) { out in
        conv.data.withUnsafeBufferPointer { cp in
            (positions?.data ?? noPositions).withUnsafeBufferPointer { pp in
                for b in 0..<n {
                    let o = out.baseAddress! + b * t * e, src = cp.baseAddress! + b * e * patches
                    for i in 0..<(posedCount * e) { o[i] = prefix[i] + pp[i] }
                    for i in (posedCount * e)..<((posedCount + unposedCount) * e) { o[i] = prefix[i] }
                    let first = posedCount + unposedCount, pos = pp.baseAddress! + posedCount * e
                    // Transpose [E, patches] → [patches, E] while adding the position rows.
                    for j in 0..<e {
                        let plane = src + j * patches
                        for p in 0..<patches { o[(first + p) * e + j] = plane[p] + pos[p * e + j] }
                    }
                }
            }
        }
    }
}

/// Token `index` of every item: [N, T, E] → [N, E].
func token(_ s: Tensor, _ index: Int = 0) -> Tensor {
    let n = s.shape[0], t = s.shape[1], e = s.shape[2]
    if n == 0 { return Tensor.zeros([0, e]) }
    return Tensor(shape: [n, e]) { out in
        s.data.withUnsafeBufferPointer { sp in
            for b in 0..<n { (out.baseAddress! + b * e).update(from: sp.baseAddress! + (b * t + index) * e, count: e) }
        }
    }
}

/// The mean of tokens `from..<T` of every item: [N, T, E] → [N, E] (PyTorch `x[:, from:].mean(dim=1)`: a float32
/// sum over the tokens, divided by their count).
func tokenMean(_ s: Tensor, from: Int) -> Tensor {
    let n = s.shape[0], t = s.shape[1], e = s.shape[2], count = t - from
    precondition(count >= 1, "tokenMean: no tokens from \(from) of \(t)")
    if n == 0 { return Tensor.zeros([0, e]) }
    return Tensor(shape: [n, e]) { out in
        s.data.withUnsafeBufferPointer { sp in
            for b in 0..<n {
                let o = out.baseAddress! + b * e
                for j in 0..<e { o[j] = 0 }
                for i in from..<t {
                    let row = sp.baseAddress! + (b * t + i) * e
                    for j in 0..<e { o[j] += row[j] }
                }
                for j in 0..<e { o[j] /= Float(count) }
            }
        }
    }
}

// MARK: - Position tables at another size

/// How a position table is resampled to another grid: PyTorch `F.interpolate(mode="bicubic",
/// align_corners=False)` without antialias (transformers Dinov2Model) or with it (Dinov2WithRegistersModel,
/// timm `resample_abs_pos_embed`).
public enum PositionResampling: String, Codable, Sendable {
    case bicubic
    case bicubicAntialias = "bicubic-antialias"
}

/// The rows of a square grid of position embeddings `grid` [g·g, E] (row r = y·g + x) resampled to
/// [h·w, E] as `F.interpolate` resamples the [1, E, g, g] image of them (ATen UpSampleKernel.cpp):
///   bicubic:  Keys' cubic with A = -0.75, source index scale·(i + 0.5) - 0.5 with scale = g/h, taps clamped
///             to the border; the four rows of four columns (width inner, height outer).
///   antialias: PIL's filter (A = -0.5) stretched by the scale when shrinking (support 2·scale), taps inside the
///             image only, weights normalised to sum 1; width pass first, then height.
func resamplePositions(_ grid: Tensor, from g: Int, to h: Int, _ w: Int, _ mode: PositionResampling) -> Tensor {
    let e = grid.shape[1]
    precondition(grid.shape[0] == g * g, "resamplePositions: \(describeShape(grid.shape)) is not a \(g)x\(g) grid")
    switch mode {
    case .bicubic:
        let ty = cubicTaps(from: g, to: h), tx = cubicTaps(from: g, to: w)
        return Tensor(shape: [h * w, e]) { out in
            grid.data.withUnsafeBufferPointer { src in
                for y in 0..<h {
                    for x in 0..<w {
                        let o = out.baseAddress! + (y * w + x) * e
                        for c in 0..<e {
                            var acc: Float = 0
                            for (jy, (iy, wy)) in zip(ty.index[y], ty.weight[y]).enumerated() {
                                var row: Float = 0
                                for (jx, (ix, wx)) in zip(tx.index[x], tx.weight[x]).enumerated() {
                                    let v = src[(iy * g + ix) * e + c] * wx
                                    row = jx == 0 ? v : row + v
                                }
                                acc = jy == 0 ? row * wy : acc + row * wy
                            }
                            o[c] = acc
                        }
                    }
                }
            }
        }
    case .bicubicAntialias:
        let fx = antialiasTaps(from: g, to: w), fy = antialiasTaps(from: g, to: h)
        // Width pass: [g, g, E] → [g, w, E].
        var mid = [Float](repeating: 0, count: g * w * e)
        grid.data.withUnsafeBufferPointer { src in
            for y in 0..<g {
                for x in 0..<w {
                    for c in 0..<e {
                        var acc: Float = 0
                        for (j, wt) in fx.weight[x].enumerated() {
                            let v = src[(y * g + fx.first[x] + j) * e + c] * wt
                            acc = j == 0 ? v : acc + v
                        }
                        mid[(y * w + x) * e + c] = acc
                    }
                }
            }
        }
        // Height pass: [g, w, E] → [h, w, E].
        return Tensor(shape: [h * w, e]) { out in
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<e {
                        var acc: Float = 0
                        for (j, wt) in fy.weight[y].enumerated() {
                            let v = mid[((fy.first[y] + j) * w + x) * e + c] * wt
                            acc = j == 0 ? v : acc + v
                        }
                        out[(y * w + x) * e + c] = acc
                    }
                }
            }
        }
    }
}

/// Bicubic (A = -0.75) source indices and weights for each of `outSize` outputs from `inSize` inputs
/// (ATen HelperInterpCubic::compute_indices_weights, align_corners=False, float arithmetic).
func cubicTaps(from inSize: Int, to outSize: Int) -> (index: [[Int]], weight: [[Float]]) {
    let a: Float = -0.75
    func near(_ x: Float) -> Float { ((a + 2) * x - (a + 3)) * x * x + 1 }             // |x| ≤ 1
    func far(_ x: Float) -> Float { ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }        // 1 < |x| < 2
    let scale = Float(inSize) / Float(outSize)
    var index: [[Int]] = [], weight: [[Float]] = []
    for i in 0..<outSize {
        let real = scale * (Float(i) + 0.5) - 0.5
        let i0 = min(Int(real.rounded(.down)), inSize - 1)
        let t = min(max(real - Float(i0), 0), 1)
        weight.append([far(t + 1), near(t), near(1 - t), far(2 - t)])
        index.append((0..<4).map { min(max(i0 - 1 + $0, 0), inSize - 1) })
    }
    return (index, weight)
}

/// Antialiased bicubic (PIL's A = -0.5) taps: for each output, the first source index and the normalised
/// weights of the sources it reads (ATen `_compute_index_ranges_weights` with `aa_filter`).
func antialiasTaps(from inSize: Int, to outSize: Int) -> (first: [Int], weight: [[Float]]) {
    func filter(_ x: Double) -> Double {
        let a = -0.5, x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return 0
    }
    let scale = Double(inSize) / Double(outSize)
    let support = scale >= 1 ? 2 * scale : 2
    let invScale = scale >= 1 ? 1 / scale : 1
    var first: [Int] = [], weight: [[Float]] = []
    for i in 0..<outSize {
        let center = scale * (Double(i) + 0.5)
        let lo = max(Int(center - support + 0.5), 0)
        let hi = min(Int(center + support + 0.5), inSize)
        var w = (lo..<hi).map { filter((Double($0) - center + 0.5) * invScale) }
        let total = w.reduce(0, +)
        if total != 0 { w = w.map { $0 / total } }
        first.append(lo)
        weight.append(w.map { Float($0) })
    }
    return (first, weight)
}

// MARK: - Isolated modules

/// The encoder layers as isolated modules, each reading the previous one's output (layer 0 reads `first`'s),
/// with item shape `sequence`; returns them and the name of the last.
func encoderModules(_ layers: [TransformerEncoderLayer], after first: String, sequence: [Int?]) -> (modules: [IsolatedModule], last: String) {
    var previous = first
    var out: [IsolatedModule] = []
    for layer in layers {
        out.append(IsolatedModule(layer.name, inputs: [previous], itemShapes: [sequence], run: { layer($0[0], taps: nil) }))
        previous = layer.name
    }
    return (out, previous)
}
