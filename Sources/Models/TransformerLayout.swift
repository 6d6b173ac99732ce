// Mapping a checkpoint's tensors onto canonical names from a layout table, shared by the transformer families'
// recognisers (ViTLayout, DINOv2Layout, ...). A table row gives, per layout, a spec: a source tensor name,
// `a|b` alternatives (the first present is used), or `name[k/3]`: row block k of a fused [3E, ...] q/k/v tensor
// (timm `attn.qkv`, torchvision `in_proj_weight`: rows [0, E) q, [E, 2E) k, [2E, 3E) v).

import TensorCore

struct LayoutMapping {
    let shapes: [String: [Int]]
    /// Builds the error for a malformed tensor (the family's "<family> (<layout>): ..." sentence).
    let fail: (String) -> ModelError
    /// canonical name → source, in the order resolved.
    private(set) var entries: [Recognition.Entry] = []
    /// Source tensors some entry reads.
    private(set) var consumed = Set<String>()

    init(shapes: [String: [Int]], fail: @escaping (String) -> ModelError) {
        self.shapes = shapes
        self.fail = fail
    }

    /// Maps `canonical` to the first alternative of `spec` the checkpoint has; nothing when it has none (the
    /// build then names the missing tensor) or when `spec` is empty (the layout has no such tensor).
    mutating func resolve(_ canonical: String, _ spec: String) throws {
        guard !spec.isEmpty else { return }
        for alternative in spec.split(separator: "|").map(String.init) {
            var name = alternative, rows: Range<Int>? = nil
            if alternative.hasSuffix("/3]"), let open = alternative.lastIndex(of: "[") {
                name = String(alternative[..<open])
                let k = Int(String(alternative[alternative.index(after: open)...].prefix(1)))!
                guard let s = shapes[name] else { continue }
                guard let rows0 = s.first, rows0 % 3 == 0 else {
                    throw fail("'\(name)' has shape \(describeShape(s)); a fused q/k/v tensor has 3·E rows")
                }
                rows = (k * rows0 / 3)..<((k + 1) * rows0 / 3)
            }
            guard shapes[name] != nil else { continue }
            entries.append(Recognition.Entry(canonical, name, rows: rows))
            consumed.insert(name)
            return
        }
    }

    /// The entry for a canonical name, if resolved.
    func entry(_ canonical: String) -> Recognition.Entry? { entries.first { $0.canonical == canonical } }

    /// The shape the canonical tensor will have (a row block's rows counted), if resolved.
    func shape(_ canonical: String) -> [Int]? {
        guard let e = entry(canonical), var s = shapes[e.source] else { return nil }
        if let r = e.rows, !s.isEmpty { s[0] = r.count }
        return s
    }
}
