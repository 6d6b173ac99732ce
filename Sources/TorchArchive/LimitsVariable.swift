// The VFW_LIMITS variable (README "Safety and limits"): how a user raises the limits of PickleLimits.

import Foundation

/// `VFW_LIMITS=key=value,...` (values: integers, `_` allowed, suffix K/M/G/T for powers of 1000 or
/// Ki/Mi/Gi/Ti for powers of 1024). The same parser is in VFWFormat, Safetensors and TorchArchive, because no
/// module the three share is theirs to extend: keep the copies and their key list identical, so that every
/// reader refuses the same typos.
enum LimitsVariable {
    static let name = "VFW_LIMITS"
    static let keys: Set<String> = ["header", "tensors", "memo", "depth", "string", "items", "opcodes", "pickle", "copy"]

    struct Problem: Error { var reason: String }

    static func parse(_ text: String?) -> Result<[String: Int], Problem> {
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

    static func number(_ s: String) -> Int? {
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
}

/// A byte limit as people write it: "100 MB", "1 GiB", else "N-byte".
func byteLimitText(_ n: Int) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 { return "\(n >> 30) GiB" }
    if n >= 1_000_000 && n % 1_000_000 == 0 { return "\(n / 1_000_000) MB" }
    return "\(n)-byte"
}
