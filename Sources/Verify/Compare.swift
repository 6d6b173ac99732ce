// Comparing one activation with its reference: the pass rule and the numbers that explain a failure.
//
// An element passes when |a − e| ≤ atol + rtol·|e| (torch.allclose's rule), with a NaN or an infinity in
// `actual` failing wherever the reference is finite. All arithmetic is in Double, so the rule is applied to
// the exact Float values with no rounding of its own.

import Foundation
import TensorCore

/// How close is close enough: |a − e| ≤ atol + rtol·|e|.
public struct Tolerance: Codable, Sendable, Equatable, CustomStringConvertible {
    public var atol: Double
    public var rtol: Double

    public init(atol: Double = 1e-4, rtol: Double = 1e-4) {
        self.atol = atol
        self.rtol = rtol
    }

    /// The largest |a − e| allowed where the reference is `expected`.
    public func allowed(_ expected: Double) -> Double { atol + rtol * abs(expected) }

    /// `atol 1e-04 rtol 1e-04`.
    public var description: String { "atol \(formatExp(atol)) rtol \(formatExp(rtol))" }
}

/// The element that explains a tap's result: the failing element with the largest |a − e| when any fails,
/// else the element with the largest |a − e| (the first of equals).
public struct WorstElement: Sendable, Equatable, Encodable {
    /// Row-major multi-index, e.g. `[0, 12, 3, 4]`.
    public var index: [Int]
    public var flatIndex: Int
    public var actual: Float
    public var expected: Float
    /// |actual − expected| in Double (NaN when `actual` is NaN; 0 when both are the same non-finite value).
    public var absDifference: Double
    /// atol + rtol·|expected|.
    public var allowed: Double
    public var withinTolerance: Bool

    enum CodingKeys: String, CodingKey {
        case index, flatIndex = "flat_index", actual, expected, absDifference = "abs_difference", allowed
        case withinTolerance = "within_tolerance"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(flatIndex, forKey: .flatIndex)
        try c.encodeNumber(Double(actual), forKey: .actual)
        try c.encodeNumber(Double(expected), forKey: .expected)
        try c.encodeNumber(absDifference, forKey: .absDifference)
        try c.encodeNumber(allowed, forKey: .allowed)
        try c.encode(withinTolerance, forKey: .withinTolerance)
    }
}

/// One tap's comparison.
///
/// Metrics (Double accumulation; d = |a − e|, taken as 0 where a and e are the same non-finite value):
/// - `maxAbs`: max d (NaN if any d is NaN).
/// - `maxRel`: max d / |e| over elements with |e| > 0 (elements where e = 0 count only in `maxAbs`); 0 if none.
/// - `meanAbs`: mean d.
/// - `cosine`: Σae / (√Σa² · √Σe²), clamped to [−1, 1]; 1 when both are all zeros, 0 when only one is.
/// - `nmse`: Σ(a − e)² / Σe² (mse(a, e) / mse(e, 0)); when e is all zeros, 0 if a is too, else +∞.
/// When the shapes differ or the activation is missing, `status` says so, the metrics are NaN and every
/// reference element counts as mismatched.
public struct TapResult: Sendable, Encodable {
    public enum Status: String, Sendable, Encodable {
        /// Shapes matched and the elements were compared.
        case compared
        /// The actual shape differs from the reference (`actualShape`).
        case shapeMismatch = "shape-mismatch"
        /// The model produced no activation for this tap.
        case missing
    }

    public var name: String
    /// The reference's shape.
    public var shape: [Int]
    /// The actual activation's shape (nil when missing).
    public var actualShape: [Int]?
    public var status: Status
    public var maxAbs: Double
    public var maxRel: Double
    public var meanAbs: Double
    public var cosine: Double
    public var nmse: Double
    /// Elements outside the tolerance.
    public var mismatched: Int
    /// Elements in the reference.
    public var elementCount: Int
    /// nil when there are no elements or nothing was compared.
    public var worst: WorstElement?
    public var tolerance: Tolerance
    public var passed: Bool

    /// A result for a tap the model did not produce.
    public static func missing(tap name: String, shape: [Int], tolerance: Tolerance = Tolerance()) -> TapResult {
        TapResult(name: name, shape: shape, actualShape: nil, status: .missing, tolerance: tolerance)
    }

    init(name: String, shape: [Int], actualShape: [Int]?, status: Status, tolerance: Tolerance) {
        self.name = name
        self.shape = shape
        self.actualShape = actualShape
        self.status = status
        maxAbs = .nan; maxRel = .nan; meanAbs = .nan; cosine = .nan; nmse = .nan
        elementCount = TensorCore.elementCount(shape) ?? 0
        mismatched = elementCount
        worst = nil
        self.tolerance = tolerance
        passed = false
    }

    /// Why the tap failed when it was not compared element by element; nil otherwise.
    public var problem: String? {
        switch status {
        case .compared: return nil
        case .shapeMismatch: return "shape \(describeShape(actualShape ?? [])) differs from the reference \(describeShape(shape))"
        case .missing: return "the model produced no activation for this tap"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, shape, actualShape = "actual_shape", status, maxAbs = "max_abs", maxRel = "max_rel", meanAbs = "mean_abs"
        case cosine, nmse, mismatched, elementCount = "element_count", worst, tolerance, passed, problem
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(shape, forKey: .shape)
        try c.encodeIfPresent(actualShape, forKey: .actualShape)
        try c.encode(status, forKey: .status)
        try c.encodeNumber(maxAbs, forKey: .maxAbs)
        try c.encodeNumber(maxRel, forKey: .maxRel)
        try c.encodeNumber(meanAbs, forKey: .meanAbs)
        try c.encodeNumber(cosine, forKey: .cosine)
        try c.encodeNumber(nmse, forKey: .nmse)
        try c.encode(mismatched, forKey: .mismatched)
        try c.encode(elementCount, forKey: .elementCount)
        try c.encodeIfPresent(worst, forKey: .worst)
        try c.encode(tolerance, forKey: .tolerance)
        try c.encode(passed, forKey: .passed)
        try c.encodeIfPresent(problem, forKey: .problem)
    }
}

/// Compares `actual` with the reference `expected` for tap `name`.
public func compare(tap name: String, actual: Tensor, expected: Tensor, tolerance: Tolerance = Tolerance()) -> TapResult {
    guard actual.shape == expected.shape else {
        return TapResult(name: name, shape: expected.shape, actualShape: actual.shape, status: .shapeMismatch, tolerance: tolerance)
    }
    var result = TapResult(name: name, shape: expected.shape, actualShape: actual.shape, status: .compared, tolerance: tolerance)
    let n = expected.count
    var maxAbs = 0.0, maxRel = 0.0, sumAbs = 0.0, dot = 0.0, aa = 0.0, ee = 0.0, sqErr = 0.0
    var mismatched = 0
    var worst = -1, worstD = 0.0, worstFails = false
    actual.data.withUnsafeBufferPointer { a in
        expected.data.withUnsafeBufferPointer { e in
            for i in 0..<n {
                let av = Double(a[i]), ev = Double(e[i])
                let d = (av == ev || (av.isNaN && ev.isNaN)) ? 0 : abs(av - ev)
                let ok = ev.isFinite ? (av.isFinite && d <= tolerance.allowed(ev)) : d == 0
                if !ok { mismatched += 1 }
                if exceeds(d, maxAbs) { maxAbs = d }
                if ev != 0 { let r = d / abs(ev); if exceeds(r, maxRel) { maxRel = r } }
                sumAbs += d
                dot += av * ev
                aa += av * av
                ee += ev * ev
                sqErr += d * d
                // Failing elements outrank passing ones; then the larger d; the first of equals stays.
                if worst < 0 || (!ok && !worstFails) || (!ok == worstFails && exceeds(d, worstD)) {
                    worst = i; worstD = d; worstFails = !ok
                }
            }
        }
    }
    result.maxAbs = maxAbs
    result.maxRel = maxRel
    result.meanAbs = n > 0 ? sumAbs / Double(n) : 0
    if aa == 0 && ee == 0 {
        result.cosine = 1
    } else if aa == 0 || ee == 0 {
        result.cosine = 0
    } else {
        let c = dot / (aa.squareRoot() * ee.squareRoot())
        result.cosine = c.isFinite ? min(1, max(-1, c)) : c
    }
    result.nmse = ee == 0 ? (sqErr == 0 ? 0 : .infinity) : sqErr / ee
    result.mismatched = mismatched
    if worst >= 0 {
        let e = expected.data[worst]
        result.worst = WorstElement(index: multiIndex(worst, shape: expected.shape), flatIndex: worst, actual: actual.data[worst],
                                    expected: e, absDifference: worstD, allowed: tolerance.allowed(Double(e)), withinTolerance: !worstFails)
    }
    result.passed = mismatched == 0
    return result
}

/// `x > y`, with NaN above every number (and a NaN `y` never exceeded).
@inline(__always) func exceeds(_ x: Double, _ y: Double) -> Bool {
    if y.isNaN { return false }
    return x.isNaN || x > y
}

// MARK: - Formatting and JSON helpers

/// The shortest `%.Ne` spelling that reads back as `v`: 1e-04, 1.5e-04.
func formatExp(_ v: Double) -> String {
    guard v.isFinite else { return formatNumber(v, "%.1e") }
    for p in 0...16 {
        let s = String(format: "%.\(p)e", v)
        if Double(s) == v { return s }
    }
    return String(format: "%.17e", v)
}

/// `String(format:)` with non-finite values spelled nan, inf, -inf.
func formatNumber(_ v: Double, _ format: String) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    return String(format: format, v)
}

extension KeyedEncodingContainer {
    /// A number, or for NaN / ±infinity (which JSON cannot hold) the string "nan", "inf" or "-inf".
    mutating func encodeNumber(_ v: Double, forKey key: Key) throws {
        if v.isFinite { try encode(v, forKey: key) } else { try encode(formatNumber(v, ""), forKey: key) }
    }
}
