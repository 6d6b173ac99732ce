// Comparing one activation with its reference: the pass rule and the numbers that explain a failure.
//
// Four rules (`Metric`), all with a NaN or an infinity in `actual` failing wherever the reference is finite:
//   allclose  every element: |a − e| ≤ atol + rtol·|e|          (torch.allclose / numpy's rule; the default)
//   max-abs   every element: |a − e| ≤ atol                      (= allclose with rtol 0)
//   cosine    the whole tap: 1 − cos(a, e) ≤ atol                (cos = Σae / (√Σa² · √Σe²))
//   nmse      the whole tap: Σ(a − e)² / Σe² ≤ atol              (mse(a, e) / mse(e, 0))
// The single threshold of max-abs, cosine and nmse is `atol` (what --tolerance and --atol set). All
// arithmetic is in Double, so a rule is applied to the exact Float values with no rounding of its own.
//
// With a float64 truth t (ReferenceSet.truth(named:)), a second rule, the noise floor, judges the whole tap:
//   noise floor  max |a − t| ≤ k · max |e − t|   (Swift's error at most k times PyTorch float32's own)
// and the tap passes when either rule holds (unless --strict): float32 noise as large as PyTorch's own is not
// drift, however it compares with a fixed tolerance. Why per tap, and k: README "The noise floor".

import Foundation
import TensorCore

/// Which rule decides that a tap passes.
public enum Metric: String, Codable, Sendable, CaseIterable {
    case allclose
    case maxAbs = "max-abs"
    case cosine
    case nmse

    /// True when the rule is on every element (a per-element `allowed` exists).
    public var isElementwise: Bool { self == .allclose || self == .maxAbs }

    /// The rule in words, for report headers.
    public var rule: String {
        switch self {
        case .allclose: return "|a - e| <= atol + rtol*|e| for every element"
        case .maxAbs: return "max |a - e| <= atol"
        case .cosine: return "1 - cos(a, e) <= atol"
        case .nmse: return "sum (a - e)^2 / sum e^2 <= atol"
        }
    }
}

/// How close is close enough: a metric and its numbers. rtol is used by allclose only; the other metrics
/// compare one number with `atol`.
public struct Tolerance: Codable, Sendable, Equatable, CustomStringConvertible {
    public var atol: Double
    public var rtol: Double
    public var metric: Metric

    public init(atol: Double = 1e-4, rtol: Double = 1e-4, metric: Metric = .allclose) {
        self.atol = atol
        self.rtol = rtol
        self.metric = metric
    }

    /// The largest |a − e| allowed where the reference is `expected` (+∞ for the whole-tap metrics).
    public func allowed(_ expected: Double) -> Double {
        switch metric {
        case .allclose: return atol + rtol * abs(expected)
        case .maxAbs: return atol
        case .cosine, .nmse: return .infinity
        }
    }

    /// `atol 1e-04 rtol 1e-04`, `max abs <= 1e-04`, `1 - cosine <= 1e-06`, `nmse <= 1e-08`.
    public var description: String {
        switch metric {
        case .allclose: return "atol \(formatExp(atol)) rtol \(formatExp(rtol))"
        case .maxAbs: return "max abs <= \(formatExp(atol))"
        case .cosine: return "1 - cosine <= \(formatExp(atol))"
        case .nmse: return "nmse <= \(formatExp(atol))"
        }
    }

    enum CodingKeys: String, CodingKey { case metric, atol, rtol }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        atol = try c.decode(Double.self, forKey: .atol)
        rtol = try c.decode(Double.self, forKey: .rtol)
        metric = try c.decodeIfPresent(Metric.self, forKey: .metric) ?? .allclose
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(metric, forKey: .metric)
        try c.encode(atol, forKey: .atol)
        try c.encode(rtol, forKey: .rtol)
    }
}

/// The second rule: with a float64 truth, a tap also passes when max |swift − truth| ≤ factor · max |torch − truth|.
public struct NoiseFloor: Codable, Sendable, Equatable, CustomStringConvertible {
    /// k: how many times PyTorch float32's own error Swift's may be.
    public var factor: Double

    /// k = 4 (README "The noise floor": correct float32 runs stay below 2.3 on every tap of ResNets and ViTs over
    /// real photos, planted subtle faults reach 14 and more).
    public static let defaultFactor = 4.0

    public init(factor: Double = NoiseFloor.defaultFactor) { self.factor = factor }

    /// `max |swift - truth| <= 4 x max |torch - truth|`.
    public var description: String { "max |swift - truth| <= \(formatFactor(factor)) x max |torch - truth|" }

    enum CodingKeys: String, CodingKey { case factor }
}

/// `4`, `2.5`: k as written on the command line.
func formatFactor(_ k: Double) -> String { k == k.rounded() && abs(k) < 1e15 ? String(Int(k)) : formatExp(k) }

/// Swift's and PyTorch float32's errors against the float64 truth, over one tap (or one batch item).
public struct TruthErrors: Sendable, Equatable, Encodable {
    /// max |swift − truth|.
    public var swift: Double
    /// max |torch − truth|: PyTorch float32's own error, the noise floor.
    public var torch: Double
    /// √mean (swift − truth)², √mean (torch − truth)².
    public var swiftRMS: Double
    public var torchRMS: Double

    public init(swift: Double, torch: Double, swiftRMS: Double, torchRMS: Double) {
        self.swift = swift
        self.torch = torch
        self.swiftRMS = swiftRMS
        self.torchRMS = torchRMS
    }

    /// swift / torch: 1 when both are 0, +∞ when only PyTorch is exact, NaN when Swift's error is NaN.
    public var ratio: Double {
        if swift.isNaN || torch.isNaN { return .nan }
        if torch == 0 { return swift == 0 ? 1 : .infinity }
        return swift / torch
    }

    enum CodingKeys: String, CodingKey { case swift, torch, ratio, swiftRMS = "swift_rms", torchRMS = "torch_rms" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(swift, forKey: .swift)
        try c.encodeNumber(torch, forKey: .torch)
        try c.encodeNumber(ratio, forKey: .ratio)
        try c.encodeNumber(swiftRMS, forKey: .swiftRMS)
        try c.encodeNumber(torchRMS, forKey: .torchRMS)
    }
}

/// One batch item's share of a tap (references over several photos): its max |swift − reference| and, with a
/// truth, both errors against it.
public struct ItemErrors: Sendable, Equatable, Encodable {
    public var maxAbs: Double
    public var truth: TruthErrors?

    enum CodingKeys: String, CodingKey { case maxAbs = "max_abs", truth }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(maxAbs, forKey: .maxAbs)
        try c.encodeIfPresent(truth, forKey: .truth)
    }
}

/// Which rule a verdict rests on.
public enum Decision: String, Sendable, Encodable {
    /// Passed: within the tolerance of PyTorch float32.
    case tolerance
    /// Passed: outside the tolerance, but Swift's error against the truth is within the noise floor.
    case noiseFloor = "noise-floor"
    /// Failed: outside the tolerance and above the noise floor.
    case both = "tolerance+noise-floor"
    /// Failed: outside the tolerance, the only rule applied (no truth, or --strict).
    case toleranceOnly = "tolerance-only"

    /// For the report's `rule` column.
    public var label: String {
        switch self {
        case .tolerance: return "tolerance"
        case .noiseFloor: return "noise floor"
        case .both: return "both"
        case .toleranceOnly: return "tolerance"
        }
    }
}

/// Introduced vs inherited: the same tap from the chained and the isolated run.
public struct Attribution: Sendable, Equatable, Encodable {
    /// max |swift − reference| of the module run alone on the reference activations of its inputs: the error it
    /// introduces itself.
    public var introduced: Double
    /// max |swift − reference| end to end: what it introduces plus what reaches it from upstream, grown or damped.
    public var chained: Double
    /// The largest chained max |swift − reference| among the taps feeding it: the error it inherits (nil when
    /// the model input feeds it, which is exact).
    public var inherited: Double?

    public init(introduced: Double, chained: Double, inherited: Double? = nil) {
        self.introduced = introduced
        self.chained = chained
        self.inherited = inherited
    }

    /// chained / inherited: how much this module grows the error it receives (nil without an inherited error).
    public var gain: Double? {
        guard let i = inherited, i > 0, i.isFinite, chained.isFinite else { return nil }
        return chained / i
    }

    enum CodingKeys: String, CodingKey { case introduced, chained, inherited, gain }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeNumber(introduced, forKey: .introduced)
        try c.encodeNumber(chained, forKey: .chained)
        if let inherited { try c.encodeNumber(inherited, forKey: .inherited) }
        if let gain { try c.encodeNumber(gain, forKey: .gain) }
    }
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
    /// The per-element bound (atol + rtol·|expected| or atol); nil for the whole-tap metrics.
    public var allowed: Double?
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
        if let allowed { try c.encodeNumber(allowed, forKey: .allowed) }
        try c.encode(withinTolerance, forKey: .withinTolerance)
    }
}

/// What a tap was computed from.
public enum Feed: Sendable, Equatable {
    /// The Swift model ran end to end; the tap saw Swift's own upstream activations.
    case chained
    /// The module ran alone on the reference activations of these taps (`input`: the reference input).
    case isolated(from: [String])
    /// Isolated mode could not feed this module reference inputs (`reason`), so its chained value is used.
    case chainedFallback(reason: String)

    var kind: String {
        switch self {
        case .chained: return "chained"
        case .isolated: return "isolated"
        case .chainedFallback: return "chained-fallback"
        }
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
/// - `mismatched`: elements breaking the element rule (allclose, max-abs: outside the bound; cosine, nmse:
///   non-finite where the reference is finite).
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
    /// Elements outside the element rule (see above).
    public var mismatched: Int
    /// Elements in the reference.
    public var elementCount: Int
    /// nil when there are no elements or nothing was compared.
    public var worst: WorstElement?
    public var tolerance: Tolerance
    public var passed: Bool
    /// The taps feeding this one (for the failure-source rule); nil when unknown (the previous tap is assumed).
    public var inputs: [String]?
    public var feed: Feed = .chained
    /// Top-1 / top-k agreement, for a classifier's logits.
    public var agreement: ClassAgreement?
    /// Error magnitudes by decade (computed for the failure source).
    public var histogram: ErrorHistogram?
    /// Today's rule: every element (or the whole-tap measure) within `tolerance` of the reference.
    public var withinTolerance = false
    /// max |a − e| / allowed over the elements (allclose, max-abs): the share of the tolerance used, ≤ 1 within it.
    public var toleranceUsed: Double?
    /// Swift's and PyTorch's errors against the float64 truth; nil when the tap has no truth.
    public var truth: TruthErrors?
    /// The noise-floor rule applied (nil: not applied, for want of a truth or under --strict).
    public var noiseFloor: NoiseFloor?
    /// max |swift − truth| ≤ k · max |torch − truth|; nil when the rule was not applied.
    public var withinNoiseFloor: Bool?
    /// Per batch item, when the batch holds more than one.
    public var items: [ItemErrors]?
    /// The other run's view of this tap (chained vs isolated); nil when only one ran.
    public var attribution: Attribution?

    /// The rule the verdict rests on.
    public var decidedBy: Decision {
        if passed { return withinTolerance ? .tolerance : .noiseFloor }
        return withinNoiseFloor == nil ? .toleranceOnly : .both
    }

    /// The batch item with the largest max |swift − reference| (NaN counts as largest; the first of equals).
    public var worstItem: Int? {
        guard let items, !items.isEmpty else { return nil }
        var best = 0
        for i in items.indices.dropFirst() where exceeds(items[i].maxAbs, items[best].maxAbs) { best = i }
        return best
    }

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

    /// The number the whole-tap metrics compare with atol: max abs, 1 − cosine or nmse; nil for allclose.
    public var measured: Double? {
        guard status == .compared else { return nil }
        switch tolerance.metric {
        case .allclose: return nil
        case .maxAbs: return maxAbs
        case .cosine: return 1 - cosine
        case .nmse: return nmse
        }
    }

    /// Why the tap failed when it was not compared element by element; nil otherwise.
    public var problem: String? {
        switch status {
        case .compared: return nil
        case .shapeMismatch: return "shape \(describeShape(actualShape ?? [])) differs from the reference \(describeShape(shape))"
        case .missing: return "the model produced no activation for this tap"
        }
    }

    /// One line on why the tap failed (nil when it passed): the problem, or the rule broken and the worst element.
    public var failureDetail: String? {
        guard !passed else { return nil }
        if let p = problem { return p }
        var parts: [String] = []
        if let t = truth, let f = noiseFloor, withinNoiseFloor == false {
            parts.append("max |swift - truth| \(formatNumber(t.swift, "%.1e")) is \(formatRatio(t.ratio)) PyTorch float32's own \(formatNumber(t.torch, "%.1e")) (noise floor: at most \(formatFactor(f.factor))x)")
        }
        if !tolerance.metric.isElementwise, let m = measured, !(m <= tolerance.atol) {
            let what = tolerance.metric == .cosine ? "1 - cosine" : "nmse"
            parts.append("\(what) \(formatNumber(m, "%.1e")) > \(formatExp(tolerance.atol))")
        }
        if let w = worst {
            var s = "worst at \(describeShape(w.index)): swift \(formatNumber(Double(w.actual), "%.8g")), reference \(formatNumber(Double(w.expected), "%.8g")) (|diff| \(formatNumber(w.absDifference, "%.1e"))"
            if let a = w.allowed, !w.withinTolerance { s += " > allowed \(formatNumber(a, "%.1e"))" }
            parts.append(s + ")")
        }
        if mismatched > 0 {
            parts.append(tolerance.metric.isElementwise ? "\(mismatched) of \(elementCount) elements outside tolerance"
                                                        : "\(mismatched) of \(elementCount) elements not finite")
        }
        return parts.joined(separator: "; ")
    }

    enum CodingKeys: String, CodingKey {
        case name, shape, actualShape = "actual_shape", status, maxAbs = "max_abs", maxRel = "max_rel", meanAbs = "mean_abs"
        case cosine, nmse, mismatched, elementCount = "element_count", worst, tolerance, passed, problem
        case inputs, feed, fedFrom = "fed_from", feedNote = "feed_note", agreement, histogram
        case withinTolerance = "within_tolerance", toleranceUsed = "tolerance_used", truth, noiseFloor = "noise_floor", withinNoiseFloor = "within_noise_floor"
        case decidedBy = "decided_by", items, worstItem = "worst_item", attribution
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
        try c.encodeIfPresent(inputs, forKey: .inputs)
        try c.encode(feed.kind, forKey: .feed)
        switch feed {
        case .chained: break
        case .isolated(let from): try c.encode(from, forKey: .fedFrom)
        case .chainedFallback(let reason): try c.encode(reason, forKey: .feedNote)
        }
        try c.encodeIfPresent(agreement, forKey: .agreement)
        try c.encodeIfPresent(histogram, forKey: .histogram)
        try c.encode(withinTolerance, forKey: .withinTolerance)
        if let toleranceUsed { try c.encodeNumber(toleranceUsed, forKey: .toleranceUsed) }
        try c.encodeIfPresent(truth, forKey: .truth)
        try c.encodeIfPresent(noiseFloor, forKey: .noiseFloor)
        try c.encodeIfPresent(withinNoiseFloor, forKey: .withinNoiseFloor)
        try c.encode(decidedBy, forKey: .decidedBy)
        try c.encodeIfPresent(items, forKey: .items)
        try c.encodeIfPresent(worstItem, forKey: .worstItem)
        try c.encodeIfPresent(attribution, forKey: .attribution)
    }
}

/// `2.3x`, `0.8x`, `inf x`.
func formatRatio(_ r: Double) -> String {
    guard r.isFinite else { return formatNumber(r, "") + "x" }
    return String(format: r < 9.95 ? "%.1fx" : "%.0fx", r)
}

/// Compares `actual` with the reference `expected` for tap `name`. With `truth` (the float64 truth of
/// `expected`, same element count), also both errors against it, and with `noiseFloor` the noise-floor rule.
/// `items` > 1 splits the first dimension into that many batch items for per-item figures.
public func compare(tap name: String, actual: Tensor, expected: Tensor, tolerance: Tolerance = Tolerance(),
                    truth: [Double]? = nil, noiseFloor: NoiseFloor? = nil, items: Int = 1) -> TapResult {
    guard actual.shape == expected.shape else {
        return TapResult(name: name, shape: expected.shape, actualShape: actual.shape, status: .shapeMismatch, tolerance: tolerance)
    }
    var result = TapResult(name: name, shape: expected.shape, actualShape: actual.shape, status: .compared, tolerance: tolerance)
    let n = expected.count
    var maxAbs = 0.0, maxRel = 0.0, sumAbs = 0.0, dot = 0.0, aa = 0.0, ee = 0.0, sqErr = 0.0
    var mismatched = 0
    var used = 0.0
    var worst = -1, worstD = 0.0, worstFails = false
    // allowed(e) = base + slope·|e|, hoisted out of the loop.
    let base = tolerance.allowed(0), slope = tolerance.metric == .allclose ? tolerance.rtol : 0
    actual.data.withUnsafeBufferPointer { a in
        expected.data.withUnsafeBufferPointer { e in
            for i in 0..<n {
                let av = Double(a[i]), ev = Double(e[i])
                let d = (av == ev || (av.isNaN && ev.isNaN)) ? 0 : abs(av - ev)
                let ok = ev.isFinite ? (av.isFinite && d <= base + slope * abs(ev)) : d == 0
                if !ok { mismatched += 1 }
                if ev.isFinite {
                    let allowed = base + slope * abs(ev)
                    let u = av.isFinite ? (d == 0 ? 0 : allowed > 0 ? d / allowed : .infinity) : .infinity
                    if exceeds(u, used) { used = u }
                }
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
    if tolerance.metric.isElementwise { result.toleranceUsed = used }
    if worst >= 0 {
        let e = expected.data[worst]
        result.worst = WorstElement(index: multiIndex(worst, shape: expected.shape), flatIndex: worst, actual: actual.data[worst],
                                    expected: e, absDifference: worstD,
                                    allowed: tolerance.metric.isElementwise ? tolerance.allowed(Double(e)) : nil,
                                    withinTolerance: !worstFails)
    }
    // The whole-tap metrics: a NaN measure never passes.
    let wholeTapOK = tolerance.metric.isElementwise || (result.measured.map { $0 <= tolerance.atol } ?? false)
    result.withinTolerance = mismatched == 0 && wholeTapOK
    if let truth {
        precondition(truth.count == n, "compare: the truth of \(name) has \(truth.count) elements for \(n)")
        result.truth = truthErrors(actual.data, expected.data, truth, 0..<n)
        if let floor = noiseFloor, let t = result.truth {
            result.noiseFloor = floor
            // A NaN error never passes; an exact PyTorch lets only an exact Swift through.
            result.withinNoiseFloor = t.swift <= floor.factor * t.torch
        }
    }
    if items > 1, n % items == 0 {
        let chunk = n / items
        result.items = (0..<items).map { b in
            let r = (b * chunk)..<((b + 1) * chunk)
            var m = 0.0
            for i in r {
                let av = Double(actual.data[i]), ev = Double(expected.data[i])
                let d = (av == ev || (av.isNaN && ev.isNaN)) ? 0 : abs(av - ev)
                if exceeds(d, m) { m = d }
            }
            return ItemErrors(maxAbs: m, truth: truth.map { truthErrors(actual.data, expected.data, $0, r) })
        }
    }
    result.passed = result.withinTolerance || result.withinNoiseFloor == true
    return result
}

/// max |actual − expected| in Double, as `compare` measures it (equal values, NaN against NaN included, differ by
/// 0; NaN elsewhere is the largest). Precondition: the same element count.
public func maxAbsError(_ actual: Tensor, _ expected: Tensor) -> Double {
    precondition(actual.count == expected.count, "maxAbsError: \(actual.count) and \(expected.count) elements")
    var m = 0.0
    actual.data.withUnsafeBufferPointer { a in
        expected.data.withUnsafeBufferPointer { e in
            for i in 0..<a.count {
                let av = Double(a[i]), ev = Double(e[i])
                let d = (av == ev || (av.isNaN && ev.isNaN)) ? 0 : abs(av - ev)
                if exceeds(d, m) { m = d }
            }
        }
    }
    return m
}

/// max and RMS of |a − t| and |e − t| over `range` (NaN in `a` makes Swift's max NaN).
func truthErrors(_ a: [Float], _ e: [Float], _ t: [Double], _ range: Range<Int>) -> TruthErrors {
    var sMax = 0.0, tMax = 0.0, sSq = 0.0, tSq = 0.0
    a.withUnsafeBufferPointer { ap in
        e.withUnsafeBufferPointer { ep in
            t.withUnsafeBufferPointer { tp in
                for i in range {
                    let ds = abs(Double(ap[i]) - tp[i]), dt = abs(Double(ep[i]) - tp[i])
                    if exceeds(ds, sMax) { sMax = ds }
                    if dt > tMax { tMax = dt }
                    sSq += ds * ds
                    tSq += dt * dt
                }
            }
        }
    }
    let n = Double(Swift.max(1, range.count))
    return TruthErrors(swift: sMax, torch: tMax, swiftRMS: (sSq / n).squareRoot(), torchRMS: (tSq / n).squareRoot())
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
