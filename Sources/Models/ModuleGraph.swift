// Which module feeds which, by PyTorch module name, and running one module on its own.
//
// `vfw verify --isolated` feeds every tapped module the reference (PyTorch) activation of its input, so each
// module's own error shows instead of the drift accumulated upstream; the failure-source rule ("the first tap
// that fails while the taps feeding it pass") needs the same edges. Names are those of a forward hook (see
// Taps.swift); `input` is the model input. A module taking a sum (torchvision's block `relu` after
// `out += identity`) lists both summands as its inputs.

import TensorCore

/// One module as PyTorch names it, in forward-hook order, with the modules whose outputs it takes.
public struct ModuleNode: Equatable, Sendable {
    public var name: String
    /// Module names whose outputs are this module's inputs, in argument order (`input`: the model input).
    public var inputs: [String]
    /// The module whose output tensor this module returns unchanged (a block returns its last `relu` call's
    /// output, an nn.Sequential its last child's), if any.
    public var sameOutputAs: String?

    public init(_ name: String, inputs: [String], sameOutputAs: String? = nil) {
        self.name = name
        self.inputs = inputs
        self.sameOutputAs = sameOutputAs
    }
}

/// The modules of a model in forward-hook order (a container after its children).
public struct ModuleGraph: Sendable {
    /// The name standing for the model input.
    public static let modelInput = "input"

    public let nodes: [ModuleNode]
    /// The module whose output is the model's logits (`fc`, `classifier`), if the model is a classifier.
    public let logits: String?
    private let index: [String: Int]

    public init(nodes: [ModuleNode], logits: String?) {
        self.nodes = nodes
        self.logits = logits
        index = Dictionary(nodes.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func node(_ name: String) -> ModuleNode? { index[name].map { nodes[$0] } }
    public func contains(_ name: String) -> Bool { index[name] != nil }
    /// Position in forward-hook order (nil for unknown names and `input`).
    public func position(_ name: String) -> Int? { index[name] }

    /// Every name whose output is the same tensor as `name`'s (`name` included), following `sameOutputAs`
    /// both ways: `layer1` ≡ `layer1.1` ≡ `layer1.1.relu#2`.
    public func aliases(of name: String) -> [String] {
        var seen: Set<String> = [name]
        var queue = [name]
        while let n = queue.popLast() {
            var next: [String] = []
            if let s = node(n)?.sameOutputAs { next.append(s) }
            next += nodes.filter { $0.sameOutputAs == n }.map(\.name)
            for m in next where seen.insert(m).inserted { queue.append(m) }
        }
        return nodes.map(\.name).filter { seen.contains($0) }
    }

    /// A name in `recorded` (or `input`) holding the same tensor as module `name`'s output; nil if none.
    public func recordedAlias(of name: String, recorded: Set<String>) -> String? {
        if name == Self.modelInput || recorded.contains(name) { return name }
        return aliases(of: name).first { recorded.contains($0) }
    }

    /// The recorded tensors that are module `name`'s inputs, one per input, when every input was recorded
    /// (under its own name or an alias); nil when some input was not recorded or `name` is unknown.
    public func recordedInputs(of name: String, recorded: Set<String>) -> [String]? {
        guard let n = node(name) else { return nil }
        var out: [String] = []
        for i in n.inputs {
            guard let r = recordedAlias(of: i, recorded: recorded) else { return nil }
            out.append(r)
        }
        return out
    }

    /// The nearest recorded taps upstream of `name` (never `input`): what the failure-source rule checks.
    /// A module returning another recorded module's output (a block and its last `relu`) depends on that
    /// module; otherwise each input resolves to a recorded alias, or further up through unrecorded modules.
    public func upstreamTaps(of name: String, recorded: Set<String>) -> [String] {
        guard let n = node(name), let me = position(name) else { return [] }
        if let same = aliases(of: name).first(where: { $0 != name && recorded.contains($0) && (position($0) ?? .max) < me }) {
            return [same]
        }
        var out: [String] = []
        var visited: Set<String> = []
        func resolve(_ m: String) {
            guard m != Self.modelInput, visited.insert(m).inserted else { return }
            if let r = recordedAlias(of: m, recorded: recorded) {
                if !out.contains(r) { out.append(r) }
                return
            }
            for i in node(m)?.inputs ?? [] { resolve(i) }
        }
        for i in n.inputs { resolve(i) }
        return out
    }
}

/// One module a network can run on its own: its node in the graph, the shape one item of each input must have
/// (nil entries match any size: a conv takes any height and width), and the computation, as the full forward
/// runs it (a conv alone runs without the batch norm folded into it).
public struct IsolatedModule {
    public let node: ModuleNode
    /// Per input, the shape of one batch item (the input's shape without its first dimension); nil = any size.
    public let itemShapes: [[Int?]]
    let run: ([Tensor]) -> Tensor

    public init(_ name: String, inputs: [String], itemShapes: [[Int?]], sameOutputAs: String? = nil, run: @escaping ([Tensor]) -> Tensor) {
        node = ModuleNode(name, inputs: inputs, sameOutputAs: sameOutputAs)
        self.itemShapes = itemShapes
        self.run = run
    }

    /// Runs the module after checking that `inputs` fit it (one tensor per input, each item the right shape).
    public func callAsFunction(_ inputs: [Tensor]) throws -> Tensor {
        guard inputs.count == node.inputs.count else {
            throw ModelError.shapeMismatch(key: "\(node.name) inputs", expected: [node.inputs.count], actual: [inputs.count])
        }
        for (x, want) in zip(inputs, itemShapes) {
            let item = Array(x.shape.dropFirst())
            let fits = x.rank == want.count + 1 && zip(item, want).allSatisfy { have, w in w == nil || w == have }
            if !fits {
                throw ModelError.inputMismatch(module: node.name, expected: want, actual: x.shape)
            }
        }
        return run(inputs)
    }
}
