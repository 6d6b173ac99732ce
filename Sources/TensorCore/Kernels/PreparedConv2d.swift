// A convolution prepared once at load time: its weights (BN already folded in by the caller), bias,
// hyper-parameters, and — for 3×3 stride-1 convs — the Winograd-domain weights, so that no per-call
// work depends on the weights alone.
//
//   x [N, Cin, H, W] → y [N, Cout, Ho, Wo], exactly `conv2d` (see Conv2d.swift for shapes/layout).
//
// Path per call: Winograd F(2×2, 3×3) (Winograd.swift) when the conv is 3×3, stride 1, dilation 1,
// groups 1 and there are enough output tiles to keep its 16 products efficient; otherwise
// im2col + sgemm.

// MARK: - PreparedConv2d

/// A `conv2d` with fixed weights, prepared once (use it for model layers; `conv2d` for one-offs).
///
/// `weight: [Cout, Cin/groups, kH, kW]`, `bias: [Cout]` or nil. Calling it on `x: [N, Cin, H, W]`
/// returns what `conv2d(x, weight:, bias:, stride:, padding:, dilation:, groups:, activation:, residual:)` would.
public struct PreparedConv2d: Sendable {
    /// `[Cout, Cin/groups, kH, kW]`, as given.
    public let weight: Tensor
    /// `[Cout]`, or nil.
    public let bias: Tensor?
    /// (height, width) stride, padding and dilation.
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    /// Channel groups (1 = dense, Cin = depthwise).
    public let groups: Int
    /// U = G·w·Gᵀ when the conv is Winograd-eligible (3×3, stride 1, dilation 1, groups 1).
    let winograd: WinogradWeights?
    /// F(4×4, 3×3) weights instead, when `KernelTuning.winogradTile` is 4.
    let winograd4: Winograd4Weights?

    /// Prepares a convolution with the same stride/padding/dilation for height and width.
    public init(weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.init(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding),
                  dilation: (dilation, dilation), groups: groups)
    }

    /// Prepares a convolution with separate (height, width) stride, padding and dilation.
    public init(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) {
        self.init(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups, fault: nil)
    }

    /// The same convolution with a planted fault in its Winograd weight transform (tests only: `vfw verify` must
    /// find it). A conv that is not Winograd-eligible ignores it.
    @_spi(Faults) public init(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int, winogradFault: WinogradFault) {
        self.init(weight: weight, bias: bias, stride: (stride, stride), padding: (padding, padding), dilation: (1, 1),
                  groups: groups, fault: winogradFault)
    }

    private init(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int,
                 fault: WinogradFault?) {
        precondition(weight.rank == 4, "PreparedConv2d: weight must be [Cout, Cin/groups, kH, kW], got \(describeShape(weight.shape))")
        if let bias { precondition(bias.count == weight.shape[0], "PreparedConv2d: bias has \(bias.count) elements for \(weight.shape[0]) outputs") }
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        let eligible = weight.shape[2] == 3 && weight.shape[3] == 3 && stride == (1, 1) && dilation == (1, 1) && groups == 1
            && weight.shape[1] >= winogradMinChannels
        // A planted fault lives in F(2×2, 3×3)'s G, so a faulted conv runs F(2×2, 3×3) whatever the tile setting.
        let tile = fault == nil ? KernelTuning.winogradTile : 2
        winograd = eligible && tile == 2 ? WinogradWeights(weight, fault: fault) : nil
        winograd4 = eligible && tile == 4 ? Winograd4Weights(weight) : nil
    }

    /// `act(conv(x) + bias + residual)`; `residual` (optional) has the output's shape.
    public func callAsFunction(_ x: Tensor, activation: Activation = .none, residual: Tensor? = nil) -> Tensor {
        let g = ConvGeometry(x: x.shape, weight: weight.shape, stride: stride, padding: padding, dilation: dilation, groups: groups)
        if let winograd4, usesWinograd(g) {
            precondition(x.count == Tensor.count(of: x.shape), "conv2d: tensor data does not match its shape")
            let outShape = [g.n, g.cout, g.ho, g.wo]
            if let residual { precondition(residual.shape == outShape, "conv2d: residual \(describeShape(residual.shape)) does not match the output \(describeShape(outShape))") }
            return Tensor(shape: outShape) { out in
                x.data.withUnsafeBufferPointer { xp in
                    withOptionalBuffer(bias) { bp in
                        withOptionalBuffer(residual) { rp in
                            winograd4Conv3x3(xp.base, n: g.n, h: g.h, w: g.w, ph: g.ph, pw: g.pw, winograd4, bp, rp, out.base, activation)
                        }
                    }
                }
            }
        }
        let useWinograd = winograd != nil && usesWinograd(g)
        return conv2d(x, weight: weight, bias: bias, geometry: g, winograd: useWinograd ? winograd : nil,
                      activation: activation, residual: residual)
    }

    /// True when a call on input shape `x` runs the Winograd path (for tests and benchmarks).
    public func usesWinograd(inputShape x: [Int]) -> Bool {
        guard winograd != nil || winograd4 != nil else { return false }
        return usesWinograd(ConvGeometry(x: x, weight: weight.shape, stride: stride, padding: padding, dilation: dilation, groups: groups))
    }

    func usesWinograd(_ g: ConvGeometry) -> Bool {
        if winograd4 != nil {
            // F(4×4): tiles are numbered densely, so small planes waste nothing in the products; 7×7 planes pay 8×8
            // of transforms for 49 outputs and still do 2.2× fewer multiplies than im2col.
            return winogradEnabled && g.n * ((g.ho + 3) / 4) * ((g.wo + 3) / 4) >= winograd4MinTiles
        }
        // Too few tiles and the 16 thin products lose to one im2col sgemm; 7×7 planes waste half of
        // each 8-tile row. Measured (1 thread, thread CPU time, resnet shapes): Winograd is 1.4–1.7×
        // faster at 56×56, 28×28 and 14×14 (batch 1 and 8), 1.2–1.5× slower at 7×7.
        let tiles = g.n * ((g.ho + 1) / 2) * (((g.wo + 1) / 2 + 7) & ~7)
        return winogradEnabled && tiles >= winogradMinTiles && g.wo >= winogradMinWidth
    }
}

/// Winograd needs at least this many input channels to pay for its transforms.
nonisolated(unsafe) var winogradMinChannels = 16
/// ... this many output tiles per call (N · tile rows · padded tiles per row) ...
nonisolated(unsafe) var winogradMinTiles = 48
/// ... and output planes at least this wide (tile rows are padded to 8 tiles = 16 columns).
nonisolated(unsafe) var winogradMinWidth = 12
/// F(4×4): at least this many output tiles per call (fewer leave most of a GEMM panel empty: a 7×7 plane at batch 1
/// has 4 tiles, and 36 products of 4 columns cost more than one im2col product of 49).
nonisolated(unsafe) var winograd4MinTiles = 16
/// Master switch (benchmarks compare both paths).
nonisolated(unsafe) var winogradEnabled = true
