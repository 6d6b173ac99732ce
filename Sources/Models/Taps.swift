// Recording intermediate activations by PyTorch module name, in execution order.
//
// Names are those a PyTorch forward hook would see (`conv1`, `layer1.0`, `layer1.0.bn2`, ...). A module
// run several times in one forward (torchvision's `relu` inside a block) gets `#2`, `#3` on later calls,
// the same convention tools/make_reference.py uses.

import TensorCore

public final class TapRecorder {
    public enum Selection {
        /// Record only these names (with or without `#k` suffixes).
        case names(Set<String>)
        /// Record every module.
        case all
    }

    public let selection: Selection
    public private(set) var recorded: [(name: String, value: Tensor)] = []
    /// Every name the model offered, recorded or not, in order (for "did you mean" messages).
    public private(set) var offered: [String] = []
    private var calls: [String: Int] = [:]
    private let baseNames: Set<String>

    public init(_ selection: Selection) {
        self.selection = selection
        if case .names(let n) = selection {
            baseNames = Set(n.map { String($0.split(separator: "#").first ?? Substring($0)) })
        } else {
            baseNames = []
        }
    }

    /// Whether the module `name` (any call of it) may be recorded; models use this to skip fusions.
    public func wants(_ name: String) -> Bool {
        switch selection {
        case .all: return true
        case .names: return baseNames.contains(name)
        }
    }

    /// Notes that module `name` ran fused into another, so its own output does not exist.
    /// Precondition: `wants(name)` is false (models fuse only modules nobody asked to see).
    public func skip(_ name: String) {
        precondition(!wants(name), "module \(name) was fused although its output was requested")
        let k = (calls[name] ?? 0) + 1
        calls[name] = k
        offered.append(k == 1 ? name : "\(name)#\(k)")
    }

    /// Records `value` as the output of module `name` (suffixing repeated calls).
    public func record(_ name: String, _ value: @autoclosure () -> Tensor) {
        let k = (calls[name] ?? 0) + 1
        calls[name] = k
        let full = k == 1 ? name : "\(name)#\(k)"
        offered.append(full)
        switch selection {
        case .all: recorded.append((full, value()))
        case .names(let n): if n.contains(full) { recorded.append((full, value())) }
        }
    }
}

extension Optional where Wrapped == TapRecorder {
    @inline(__always) func wants(_ name: String) -> Bool { self?.wants(name) ?? false }
    @inline(__always) func record(_ name: String, _ value: @autoclosure () -> Tensor) { self?.record(name, value()) }
    @inline(__always) func skip(_ name: String) { self?.skip(name) }
}
