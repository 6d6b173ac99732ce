// The VFW_LIMITS variable (README "Safety and limits"): how a user raises the limits of every reader for one run.
// VFWFormat (VFWLimits), Safetensors (SafetensorsLimits) and TorchArchive (PickleLimits) keep their own limits;
// the variable's syntax and its one key list live here, so that every reader refuses the same typos in the same words.

import Foundation

/// `VFW_LIMITS=key=value,...` (values: integers, `_` allowed, suffix K/M/G/T for powers of 1000 or
/// Ki/Mi/Gi/Ti for powers of 1024), e.g. `VFW_LIMITS=header=1Gi, tensors=2_000_000`.
public enum LimitsVariable {
    public static let name = "VFW_LIMITS"
    /// Every key any reader knows, not only the reader's own: a key meant for the pickle machine must not be
    /// refused as unknown when the same run opens a .vfw file first.
    public static let keys: Set<String> = ["header", "tensors", "memo", "depth", "string", "items", "opcodes", "pickle", "copy"]

    /// Why the variable is malformed, as the clause "VFW_LIMITS: ..." the readers put after the file's path.
    public struct Problem: Error, Equatable {
        public var reason: String
    }

    /// The values `text` sets, by key; an empty or absent variable sets none.
    public static func parse(_ text: String?) -> Result<[String: Int], Problem> {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return .success([:]) }
        var out: [String: Int] = [:]
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, !kv[0].isEmpty else {
                return .failure(Problem(reason: "\(name): '\(part)' is not key=value"))
            }
            guard keys.contains(kv[0]) else {
                return .failure(Problem(reason: "\(name): unknown limit '\(kv[0])' (known: \(keys.sorted().joined(separator: ", ")))"))
            }
            guard let v = number(kv[1]) else {
                return .failure(Problem(reason: "\(name): '\(kv[1])' for \(kv[0]) is not a non-negative number like 500000, 200M or 4Gi"))
            }
            out[kv[0]] = v
        }
        return .success(out)
    }

    /// "2_000" -> 2000, "200M" -> 200_000_000, "4Gi" -> 4 << 30; nil for a sign, another suffix or an overflow.
    public static func number(_ s: String) -> Int? {
        var digits = s.replacingOccurrences(of: "_", with: "")
        let suffixes: [(String, Int)] = [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
                                         ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000)]
        var scale = 1
        for (suffix, m) in suffixes where digits.hasSuffix(suffix) {
            digits.removeLast(suffix.count)
            scale = m
            break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
        let (v, o) = n.multipliedReportingOverflow(by: scale)
        return o ? nil : v
    }

    /// `defaults` with the values `text` sets for the keys in `fields` (key -> the limit it sets); other known keys
    /// belong to other readers and are skipped. When `text` is malformed: `defaults` unchanged and the problem.
    public static func apply<Limits>(_ text: String?, to defaults: Limits,
                                     fields: [String: WritableKeyPath<Limits, Int>]) -> (limits: Limits, problem: String?) {
        switch parse(text) {
        case .failure(let p): return (defaults, p.reason)
        case .success(let values):
            var l = defaults
            for (key, field) in fields { if let v = values[key] { l[keyPath: field] = v } }
            return (l, nil)
        }
    }

    /// `apply` to the variable as this process sees it.
    public static func fromEnvironment<Limits>(_ defaults: Limits,
                                               fields: [String: WritableKeyPath<Limits, Int>]) -> (limits: Limits, problem: String?) {
        apply(ProcessInfo.processInfo.environment[name], to: defaults, fields: fields)
    }
}

/// A byte limit as people write it: "100 MB", "1 GiB", else "N-byte" (as in "exceeds the 100-byte limit").
public func byteLimitText(_ n: Int) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000) MB" }
    return "\(n)-byte"
}
