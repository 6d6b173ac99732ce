// Which tolerance applies to which tap: one default (chosen by the precision of the weights unless given)
// and per-tap rules by glob, the last matching rule winning.

import Foundation
import TensorCore

/// A per-tap rule: taps whose name matches `pattern` get `atol` and `rtol` (the metric stays the default's).
public struct ToleranceRule: Sendable, Equatable, Encodable {
    public var pattern: String
    public var atol: Double
    public var rtol: Double

    public init(pattern: String, atol: Double, rtol: Double) {
        self.pattern = pattern
        self.atol = atol
        self.rtol = rtol
    }

    /// Parses `GLOB=T` (atol = rtol = T) or `GLOB=ATOL,RTOL`: `layer4.*=1e-3`, `fc=1e-5,0`.
    public static func parse(_ text: String) throws -> ToleranceRule {
        func bad(_ reason: String) -> VerifyError { .invalidToleranceRule(rule: text, reason: reason) }
        guard let eq = text.lastIndex(of: "=") else { throw bad("expected GLOB=T or GLOB=ATOL,RTOL") }
        let pattern = String(text[..<eq]), value = text[text.index(after: eq)...]
        guard !pattern.isEmpty else { throw bad("the tap pattern is empty") }
        let numbers = value.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (1...2).contains(numbers.count), numbers.allSatisfy({ $0 != nil && $0! >= 0 && $0!.isFinite }) else {
            throw bad("'\(value)' is not one or two non-negative numbers")
        }
        return ToleranceRule(pattern: pattern, atol: numbers[0]!, rtol: numbers.count == 2 ? numbers[1]! : numbers[0]!)
    }

    public func matches(_ tap: String) -> Bool { globMatch(pattern, tap) }
}

public struct TolerancePolicy: Sendable, Equatable {
    public var base: Tolerance
    public var rules: [ToleranceRule]
    /// Why `base` has its values, for the report ("default for f32 weights", "--tolerance").
    public var origin: String
    /// The second rule for taps with a float64 truth (nil: tolerance only, `--strict`).
    public var noiseFloor: NoiseFloor?

    public init(base: Tolerance = Tolerance(), rules: [ToleranceRule] = [], origin: String = "",
                noiseFloor: NoiseFloor? = NoiseFloor()) {
        self.base = base
        self.rules = rules
        self.origin = origin
        self.noiseFloor = noiseFloor
    }

    /// The rule deciding `tap`: the last one whose pattern matches; nil when the default applies.
    public func rule(for tap: String) -> ToleranceRule? { rules.last { $0.matches(tap) } }

    public func tolerance(for tap: String) -> Tolerance {
        guard let r = rule(for: tap) else { return base }
        return Tolerance(atol: r.atol, rtol: r.rtol, metric: base.metric)
    }

    /// The default atol = rtol for weights of this element type: 1e-4 for f32 (and f64), 1e-2 for f16,
    /// 1e-1 for bf16 (8 bits of mantissa against f16's 11: rounding errors 8 times larger). The reference
    /// activations are always f32. These are per-module budgets: every module of torchvision's ResNet-18 and
    /// ResNet-50 stays within them run --isolated; chained through a deep network, half-precision drift
    /// accumulates past them (which is what a precision study is for).
    public static func defaultValue(weights: DType) -> Double {
        switch weights {
        case .f16: return 1e-2
        case .bf16: return 1e-1
        default: return 1e-4
        }
    }
}

/// Shell-style glob over a whole tap name: `*` any run of characters (dots included), `?` one character,
/// `[abc]` / `[a-z]` / `[!abc]` a character class. Everything else, `.` and `#` included, matches itself.
public func globMatch(_ pattern: String, _ name: String) -> Bool {
    let p = Array(pattern), s = Array(name)
    // Iterative matcher with single-star backtracking (classic wildcard matching).
    var pi = 0, si = 0, starP = -1, starS = 0
    func classMatch(_ at: Int, _ c: Character) -> (matched: Bool, end: Int)? {
        var i = at + 1
        var negate = false
        if i < p.count, p[i] == "!" || p[i] == "^" { negate = true; i += 1 }
        var matched = false
        var first = true
        while i < p.count, p[i] != "]" || first {
            first = false
            if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                if p[i] <= c && c <= p[i + 2] { matched = true }
                i += 3
            } else {
                if p[i] == c { matched = true }
                i += 1
            }
        }
        guard i < p.count else { return nil }  // no closing ]: `[` is literal
        return (matched != negate, i + 1)
    }
    while si < s.count {
        if pi < p.count {
            switch p[pi] {
            case "*":
                starP = pi; starS = si; pi += 1
                continue
            case "?":
                pi += 1; si += 1
                continue
            case "[":
                if let (ok, end) = classMatch(pi, s[si]) {
                    if ok { pi = end; si += 1; continue }
                } else if s[si] == "[" {
                    pi += 1; si += 1; continue
                }
            default:
                if p[pi] == s[si] { pi += 1; si += 1; continue }
            }
        }
        guard starP >= 0 else { return false }
        pi = starP + 1
        starS += 1
        si = starS
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}
