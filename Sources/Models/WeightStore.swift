// Strict, prefix-scoped access to a model's tensors.
//
// A layer asks its scope for a tensor by its checkpoint key and the shape it needs:
// `scope.child("layer1").child("0").tensor("conv1.weight", shape: [64, 64, 3, 3], synth: .conv(fanIn: 576))`.
// The key is written once, in the layer that uses it. The store fails on a missing or mis-shaped tensor
// (naming the full dotted key and both shapes) and, once the model is built, on any tensor it did not use.
// The same calls, on a synthesising store, create the weights `vfw synth` writes.

import TensorCore

/// How `vfw synth` fills a tensor: every parameter varied, scaled to keep activations realistic.
public enum SynthInit: Sendable {
    /// Kaiming-normal weight with std sqrt(2 / fanIn) times `gain`.
    case conv(fanIn: Int, gain: Float = 1)
    /// Normal(0, std).
    case normal(std: Float)
    /// Uniform in [low, high].
    case uniform(Float, Float)
}

public final class WeightStore {
    private var tensors: [String: RawTensor]
    private var order: [String]
    private var used: Set<String> = []
    private var rng: SplitMix64?
    /// Tensors created by a synthesising store, in the order the model asked for them.
    public private(set) var synthesised: [(name: String, tensor: RawTensor)] = []

    /// A store over existing tensors (canonical names). Loading through it is strict.
    public init(_ named: [(name: String, tensor: RawTensor)]) {
        tensors = Dictionary(named.map { ($0.name, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        order = named.map(\.name)
    }

    /// A store that invents every tensor asked for, deterministically from `seed`.
    public init(synthesisingWithSeed seed: UInt64) {
        tensors = [:]
        order = []
        rng = SplitMix64(seed: seed)
    }

    public var root: WeightScope { WeightScope(store: self, prefix: "") }

    func tensor(_ key: String, shape: [Int], synth: SynthInit) throws -> Tensor {
        if var g = rng {
            let t = g.tensor(shape: shape, synth)
            rng = g
            synthesised.append((key, RawTensor.float32(t.data, shape: shape)))
            return t
        }
        guard let raw = tensors[key] else { throw ModelError.missingTensor(key: key, expectedShape: shape) }
        guard raw.shape == shape else { throw ModelError.shapeMismatch(key: key, expected: shape, actual: raw.shape) }
        guard raw.dtype.convertsToFloat, ![.bool].contains(raw.dtype) else {
            throw ModelError.unsupportedDType(key: key, dtype: raw.dtype.rawValue)
        }
        used.insert(key)
        return Tensor(raw)
    }

    /// Throws when some tensor was never asked for (strict loading).
    public func checkAllUsed() throws {
        guard rng == nil else { return }
        let unused = order.filter { !used.contains($0) }
        if !unused.isEmpty { throw ModelError.unusedTensors(keys: unused) }
    }
}

/// A view of a store under a dotted key prefix, as PyTorch names submodules.
public struct WeightScope {
    let store: WeightStore
    public let prefix: String

    public func child(_ name: String) -> WeightScope {
        WeightScope(store: store, prefix: key(name))
    }

    public func child(_ index: Int) -> WeightScope { child(String(index)) }

    /// The full dotted key of `name` under this scope; also the module name used for taps.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

    public func tensor(_ name: String, shape: [Int], synth: SynthInit) throws -> Tensor {
        try store.tensor(key(name), shape: shape, synth: synth)
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence on every platform.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Standard normal by Box-Muller (one value per call; simple beats fast here).
    mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300)
        let u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    mutating func tensor(shape: [Int], _ i: SynthInit) -> Tensor {
        let n = Tensor.count(of: shape)
        var data = [Float](repeating: 0, count: n)
        switch i {
        case .conv(let fanIn, let gain):
            let std = (2 / Float(fanIn)).squareRoot() * gain
            for j in 0..<n { data[j] = normal() * std }
        case .normal(let std):
            for j in 0..<n { data[j] = normal() * std }
        case .uniform(let lo, let hi):
            for j in 0..<n { data[j] = lo + (hi - lo) * unit() }
        }
        return Tensor(shape: shape, data: data)
    }
}

@inline(__always) private func _log(_ x: Double) -> Double { Foundation_log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation_cos(x) }
