// Squeeze-and-excitation (Hu et al. 2018) and the per-channel scale it ends with; an activation applied to a
// whole tensor.
//
//   x       [N, C, H, W]   NCHW, contiguous
//   reduce  weight [S, C] (a 1x1 conv's [S, C, 1, 1] viewed as a matrix), bias [S]
//   expand  weight [C, S], bias [C]
//   scale   [N, C] (or [N, C, 1, 1]): one factor per image and channel
//   y       [N, C, H, W]   y[n, c, h, w] = x[n, c, h, w] · scale[n, c]
//
// squeezeExcite: s = mean over H·W of x[n, c] (nn.AdaptiveAvgPool2d(1), summed in Double), then
// scale = gate(expand(activation(reduce(s)))), then y = x · scale. torchvision's SqueezeExcitation
// (torchvision/ops/misc.py: avgpool, fc1, activation, fc2, scale_activation, `scale * input`) and timm's SEModule
// (x.mean((2, 3)), fc1, act, fc2, gate, `x * gate`) compute this; the 1x1 convs on a 1x1 plane are linear layers.

// MARK: - Activation on a tensor

/// `x = act(x)` elementwise, in place (the activations of Activation.swift, vectorised).
public func activationInPlace(_ x: inout Tensor, _ act: Activation) {
    if act == .none || x.count == 0 { return }
    x.data.withUnsafeMutableBufferPointer { xp in
        let p = xp.base
        parallelChunks(xp.count) { s, n in activate(p + s, n, act) }
    }
}

/// `act(x)` elementwise.
public func activation(_ x: Tensor, _ act: Activation) -> Tensor {
    var y = x
    activationInPlace(&y, act)
    return y
}

// MARK: - Channel scale

/// `x[n, c, :, :] *= scale[n, c]` in place. `x: [N, C, H, W]`, `scale: [N, C]` or `[N, C, 1, 1]`.
public func scaleChannelsInPlace(_ x: inout Tensor, by scale: Tensor) {
    precondition(x.rank == 4, "scaleChannels: input must be [N, C, H, W], got \(describeShape(x.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    let plane = x.shape[2] * x.shape[3]
    precondition(scale.count == n * c && scale.shape.prefix(2).elementsEqual([n, c]) && scale.shape.dropFirst(2).allSatisfy { $0 == 1 },
                 "scaleChannels: scale \(describeShape(scale.shape)) must be [\(n), \(c)] or [\(n), \(c), 1, 1] for input \(describeShape(x.shape))")
    if x.count == 0 { return }
    scale.data.withUnsafeBufferPointer { sp in
        x.data.withUnsafeMutableBufferPointer { xp in
            let s = sp.base, p = xp.base
            parallelFor(n * c, grain: Swift.max(1, elementwiseGrain / Swift.max(plane, 1))) { planes in
                for pl in planes {
                    let f = s[pl], q = p + pl * plane
                    for i in 0..<plane { q[i] *= f }
                }
            }
        }
    }
}

/// `x · scale` per channel (see `scaleChannelsInPlace`).
public func scaleChannels(_ x: Tensor, by scale: Tensor) -> Tensor {
    var y = x
    scaleChannelsInPlace(&y, by: scale)
    return y
}

// MARK: - Squeeze-excitation

/// The excitation factors [N, C] of a squeeze-excitation block: gate(expand(act(reduce(mean_hw(x))))).
public func squeezeExciteScale(_ x: Tensor, reduceWeight: Tensor, reduceBias: Tensor?, expandWeight: Tensor, expandBias: Tensor?,
                               activation act: Activation, gate: Activation) -> Tensor {
    precondition(x.rank == 4, "squeezeExcite: input must be [N, C, H, W], got \(describeShape(x.shape))")
    let (n, c) = (x.shape[0], x.shape[1])
    let s = reduceWeight.shape[0]
    precondition(reduceWeight.count == s * c && expandWeight.count == c * s && expandWeight.shape[0] == c,
                 "squeezeExcite: reduce \(describeShape(reduceWeight.shape)) and expand \(describeShape(expandWeight.shape)) do not fit \(c) channels")
    let pooled = globalAvgPool2d(x).reshaped([n, c])
    let hidden = linear(pooled, weight: reduceWeight.reshaped([s, c]), bias: reduceBias, activation: act)
    return linear(hidden, weight: expandWeight.reshaped([c, s]), bias: expandBias, activation: gate)
}

/// Squeeze-excitation: `x · gate(expand(act(reduce(mean_hw(x)))))` per channel (file header for shapes).
public func squeezeExcite(_ x: Tensor, reduceWeight: Tensor, reduceBias: Tensor?, expandWeight: Tensor, expandBias: Tensor?,
                          activation act: Activation, gate: Activation) -> Tensor {
    let scale = squeezeExciteScale(x, reduceWeight: reduceWeight, reduceBias: reduceBias, expandWeight: expandWeight,
                                   expandBias: expandBias, activation: act, gate: gate)
    return scaleChannels(x, by: scale)
}
