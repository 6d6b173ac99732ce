// Everything that can go wrong between a set of tensors and a model, as sentences that say how to fix it.

import TensorCore

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingTensor(key: String, expectedShape: [Int])
    case shapeMismatch(key: String, expected: [Int], actual: [Int])
    case unusedTensors(keys: [String])
    case unsupportedDType(key: String, dtype: String)
    case unknownModel(name: String, known: [String])
    case unrecognised(reason: String)
    case invalidConfig(family: String, reason: String)
    case unknownTaps(names: [String], example: [String])
    /// A module run alone (`--isolated`) was given an input whose items do not have the shape it takes.
    case inputMismatch(module: String, expected: [Int?], actual: [Int])

    public var description: String {
        switch self {
        case .missingTensor(let k, let s):
            return "missing tensor '\(k)' (expected shape \(describeShape(s))); is this checkpoint for another architecture? pass --arch to choose one"
        case .shapeMismatch(let k, let e, let a):
            return "tensor '\(k)' has shape \(describeShape(a)), the model expects \(describeShape(e)); check --arch and the config"
        case .unusedTensors(let keys):
            let shown = keys.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            return "\(keys.count) tensor\(keys.count == 1 ? "" : "s") not used by the model: \(shown)\(keys.count > 5 ? ", ..." : ""); is this checkpoint for another architecture?"
        case .unsupportedDType(let k, let d):
            return "tensor '\(k)' has dtype \(d), which is not a floating-point type the model can use"
        case .unknownModel(let n, let known):
            return "unknown model '\(n)'; known models: \(known.joined(separator: ", "))"
        case .unrecognised(let r):
            return "cannot tell the architecture: \(r); pass --arch NAME"
        case .invalidConfig(let f, let r):
            return "invalid \(f) config: \(r)"
        case .inputMismatch(let m, let e, let a):
            let want = "[N, " + e.map { $0.map(String.init) ?? "any" }.joined(separator: ", ") + "]"
            return "module '\(m)' takes inputs of shape \(want), got \(describeShape(a)); is the reference for another model?"
        case .unknownTaps(let names, let example):
            return "the model has no module named \(names.prefix(3).map { "'\($0)'" }.joined(separator: ", ")); module names look like \(example.prefix(4).joined(separator: ", "))"
        }
    }
}
