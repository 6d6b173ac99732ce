// What explains a failing tap beyond its summary numbers: how its errors are spread (a histogram by decade)
// and, for a classifier's logits, whether Swift still picks the same classes as PyTorch.

import Foundation
import TensorCore

/// |swift − reference| counted by decade: exact matches, [10^k, 10^(k+1)) for k ≥ `lowestExponent`, anything
/// smaller than 10^lowestExponent (but not 0), and NaN / ±∞.
public struct ErrorHistogram: Sendable, Equatable, Encodable {
    public static let lowestExponent = -10

    public var exact: Int = 0
    /// Differences in (0, 10^lowestExponent).
    public var tiny: Int = 0
    /// Count per decade exponent k: [10^k, 10^(k+1)).
    public var decades: [Int: Int] = [:]
    public var nonFinite: Int = 0

    public init(actual: Tensor, expected: Tensor) {
        precondition(actual.count == expected.count, "histogram: tensors differ in size")
        actual.data.withUnsafeBufferPointer { a in
            expected.data.withUnsafeBufferPointer { e in
                for i in 0..<a.count {
                    let av = Double(a[i]), ev = Double(e[i])
                    if av == ev || (av.isNaN && ev.isNaN) { exact += 1; continue }
                    let d = abs(av - ev)
                    guard d.isFinite else { nonFinite += 1; continue }
                    add(d)
                }
            }
        }
    }

    /// Counts one non-zero finite difference.
    mutating func add(_ d: Double) {
        if d < pow(10, Double(Self.lowestExponent)) { tiny += 1; return }
        var k = Int(log10(d).rounded(.down))
        // log10 can land one decade off right at a power of ten.
        if pow(10, Double(k)) > d { k -= 1 } else if pow(10, Double(k + 1)) <= d { k += 1 }
        decades[k, default: 0] += 1
    }

    /// The rows to print: (label, count), from exact to the largest decade; empty decades between filled ones kept.
    public var rows: [(label: String, count: Int)] {
        var out: [(String, Int)] = [("0 (exact)", exact)]
        if tiny > 0 { out.append(("(0, 1e\(Self.lowestExponent))", tiny)) }
        if let lo = decades.keys.min(), let hi = decades.keys.max() {
            for k in lo...hi {
                out.append(("[\(decadeLabel(k)), \(decadeLabel(k + 1)))", decades[k] ?? 0))
            }
        }
        if nonFinite > 0 { out.append(("nan / inf", nonFinite)) }
        return out
    }

    /// An ASCII bar chart, one row per bucket; bars are linear in the count, at least one `#` when non-zero.
    public func text(width: Int = 40) -> [String] {
        let rows = self.rows
        let maxCount = max(1, rows.map(\.count).max() ?? 1)
        let labelWidth = rows.map(\.label.count).max() ?? 0
        let countWidth = rows.map { String($0.count).count }.max() ?? 1
        return rows.map { r in
            let bar = r.count == 0 ? "" : String(repeating: "#", count: max(1, r.count * width / maxCount))
            let label = r.label + String(repeating: " ", count: labelWidth - r.label.count)
            let count = String(repeating: " ", count: countWidth - String(r.count).count) + String(r.count)
            return bar.isEmpty ? "  \(label)  \(count)" : "  \(label)  \(count)  \(bar)"
        }
    }

    enum CodingKeys: String, CodingKey { case exact, tiny, decades, nonFinite = "non_finite" }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(exact, forKey: .exact)
        try c.encode(tiny, forKey: .tiny)
        let sorted = decades.keys.sorted().map { ["exponent": $0, "count": decades[$0]!] }
        try c.encode(sorted, forKey: .decades)
        try c.encode(nonFinite, forKey: .nonFinite)
    }
}

private func decadeLabel(_ k: Int) -> String { "1e" + (k < 0 ? "-" : "+") + (abs(k) < 10 ? "0" : "") + String(abs(k)) }

/// Top-1 and top-k agreement of classifier logits [N, classes], item by item: does Swift pick the class
/// PyTorch picked, and the same set of k best classes? Ties go to the lower class index (as a stable sort).
public struct ClassAgreement: Sendable, Equatable, Encodable {
    public struct Item: Sendable, Equatable, Encodable {
        /// Swift's k best classes, best first.
        public var swift: [Int]
        /// The reference's k best classes, best first.
        public var reference: [Int]
        public var top1Agrees: Bool { swift.first == reference.first }
        public var topKAgrees: Bool { Set(swift) == Set(reference) }

        enum CodingKeys: String, CodingKey { case swift, reference, top1Agrees = "top1_agrees", topKAgrees = "topk_agrees" }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(swift, forKey: .swift)
            try c.encode(reference, forKey: .reference)
            try c.encode(top1Agrees, forKey: .top1Agrees)
            try c.encode(topKAgrees, forKey: .topKAgrees)
        }
    }

    /// min(5, classes).
    public var k: Int
    public var items: [Item]
    public var top1: Int { items.filter(\.top1Agrees).count }
    public var topK: Int { items.filter(\.topKAgrees).count }

    /// nil unless both are [N, C] with N, C ≥ 1 and the same shape.
    public init?(actual: Tensor, expected: Tensor, k: Int = 5) {
        guard actual.shape == expected.shape, expected.rank == 2, expected.shape[0] > 0, expected.shape[1] > 0 else { return nil }
        let (n, c) = (expected.shape[0], expected.shape[1])
        self.k = min(k, c)
        let kk = self.k
        func best(_ t: Tensor, _ row: Int) -> [Int] {
            let values = t.data[(row * c)..<((row + 1) * c)]
            // NaN sorts last: it never counts as a prediction.
            return values.indices.sorted { i, j in
                let (a, b) = (values[i], values[j])
                if a.isNaN != b.isNaN { return !a.isNaN }
                return a != b ? a > b : i < j
            }.prefix(kk).map { $0 - row * c }
        }
        items = (0..<n).map { Item(swift: best(actual, $0), reference: best(expected, $0)) }
    }

    /// `top-1 1 of 1, top-5 1 of 1`.
    public var summary: String { "top-1 \(top1) of \(items.count), top-\(k) \(topK) of \(items.count)" }

    enum CodingKeys: String, CodingKey { case k, top1 = "top1_agreeing", topK = "topk_agreeing", items }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(k, forKey: .k)
        try c.encode(top1, forKey: .top1)
        try c.encode(topK, forKey: .topK)
        try c.encode(items, forKey: .items)
    }
}
