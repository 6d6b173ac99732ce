// Finding the state_dict in what a torch.save file holds: a bare state_dict, or a training checkpoint nesting one.

/// Chooses the dict of tensors, flattens it to (name, tensor node) pairs in file order and strips wrapper prefixes.
struct StateDictSelector {
    let heap: PickleHeap
    let path: String
    private(set) var notes: [String] = []

    /// Keys that hold the plain weights, in the order they are preferred; EMA weights only when nothing else is there.
    static let preferred = ["state_dict", "model", "model_state_dict", "net", "module"]
    static let fallback = ["model_ema", "state_dict_ema"]
    /// Entries of a training checkpoint that may hold tensors but never the weights.
    static let neverWeights: Set<String> = ["optimizer", "optimizer_state_dict", "optim", "optimizers", "scheduler",
                                           "lr_scheduler", "scaler", "grad_scaler", "amp", "ema_optimizer"]
    static let wrapperPrefixes = ["module.", "_orig_mod."]
    static let maxNesting = 16
    static let maxNotes = 100

    init(heap: PickleHeap, path: String) {
        self.heap = heap
        self.path = path
    }

    private mutating func note(_ s: String) {
        if notes.count < StateDictSelector.maxNotes { notes.append(s) }
        else if notes.count == StateDictSelector.maxNotes { notes.append("… more notes left out") }
    }

    private func stringKeys(_ d: DictNode) -> [String] {
        d.keys.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    private func directTensorCount(_ d: DictNode) -> Int {
        var n = 0
        for (k, v) in zip(d.keys, d.values) {
            if case .string = k, heap.isTensor(v) { n += 1 }
        }
        return n
    }

    /// A dict with tensors, directly or one dict level down.
    private func holdsTensors(_ v: PV) -> Bool {
        guard let d = heap.dict(v) else { return false }
        if directTensorCount(d) > 0 { return true }
        for (k, inner) in zip(d.keys, d.values) {
            if case .string = k, let id = heap.dict(inner), directTensorCount(id) > 0 { return true }
        }
        return false
    }

    mutating func select(_ root: PV, key: String?) throws -> [(name: String, ref: Int)] {
        var chosen: PV
        if let key = key {
            let v = try lookup(root, key: key)
            note("used key '\(key)'")
            if let d = heap.dict(v), directTensorCount(d) == 0 {
                guard holdsTensors(v) else {
                    throw TorchArchiveError.keyHoldsNoTensors(path: path, key: key, holds: heap.describe(v))
                }
                chosen = try choose(v, prefix: key + ".", depth: 1)
            } else if heap.dict(v) == nil {
                throw TorchArchiveError.keyHoldsNoTensors(path: path, key: key, holds: heap.describe(v))
            } else {
                chosen = v
            }
        } else {
            guard heap.dict(root) != nil else { throw TorchArchiveError.notAStateDict(path: path, holds: heap.describe(root)) }
            chosen = try choose(root, prefix: "", depth: 0)
        }
        var entries: [(name: String, ref: Int)] = []
        var visited: Set<Int> = []
        try flatten(chosen, prefix: "", depth: 0, visited: &visited, into: &entries)
        if entries.isEmpty {
            let keys = heap.dict(chosen).map(stringKeys) ?? []
            throw TorchArchiveError.noTensors(path: path, candidates: keys)
        }
        // Wrapper prefixes (DataParallel / DDP `module.`, torch.compile `_orig_mod.`) when every name has them.
        var stripped = true
        while stripped {
            stripped = false
            for p in StateDictSelector.wrapperPrefixes
            where entries.allSatisfy({ $0.name.hasPrefix(p) && $0.name.count > p.count }) {
                entries = entries.map { (String($0.name.dropFirst(p.count)), $0.ref) }
                note("stripped prefix '\(p)'")
                stripped = true
            }
        }
        var seen: Set<String> = []
        for e in entries where !seen.insert(e.name).inserted {
            throw TorchArchiveError.duplicateTensorName(path: path, name: e.name)
        }
        return entries
    }

    /// Follows a dotted key; a component may itself contain dots ("model.ema" as one key), the longest match wins.
    private func lookup(_ root: PV, key: String) throws -> PV {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var cur = root
        var i = 0
        while i < parts.count {
            if let d = heap.dict(cur) {
                var found = false
                var j = parts.count
                while j > i {
                    let candidate = parts[i..<j].joined(separator: ".")
                    if let at = d.index[.string(candidate)] {
                        cur = d.values[at]
                        i = j
                        found = true
                        break
                    }
                    j -= 1
                }
                if !found { throw TorchArchiveError.keyNotFound(path: path, key: key, available: stringKeys(d)) }
            } else if let seq = heap.sequence(cur), let n = Int(parts[i]), n >= 0, n < seq.count {
                cur = seq[n]
                i += 1
            } else {
                throw TorchArchiveError.keyNotFound(path: path, key: key, available: [])
            }
        }
        return cur
    }

    /// Descends from a checkpoint dict to the dict whose values are tensors.
    private mutating func choose(_ v: PV, prefix: String, depth: Int) throws -> PV {
        guard let d = heap.dict(v) else { throw TorchArchiveError.notAStateDict(path: path, holds: heap.describe(v)) }
        if directTensorCount(d) > 0 { return v }
        var candidates: [String] = []
        for (k, inner) in zip(d.keys, d.values) {
            if case .string(let s) = k, !StateDictSelector.neverWeights.contains(s), holdsTensors(inner) { candidates.append(s) }
        }
        let pick: String
        if let p = StateDictSelector.preferred.first(where: candidates.contains) {
            pick = p
        } else if let p = StateDictSelector.fallback.first(where: candidates.contains) {
            pick = p
        } else if candidates.count == 1 {
            pick = candidates[0]
        } else if candidates.isEmpty {
            throw TorchArchiveError.noTensors(path: path, candidates: stringKeys(d).map { prefix + $0 })
        } else {
            throw TorchArchiveError.ambiguous(path: path, candidates: candidates.map { prefix + $0 })
        }
        note("used key '\(prefix + pick)'")
        for k in d.keys {
            guard case .string(let s) = k, s != pick else { continue }
            if candidates.contains(s) {
                note("skipped entry '\(prefix + s)' (also holds tensors; pass --key \(prefix + s) to use it)")
            } else if StateDictSelector.neverWeights.contains(s) {
                note("skipped entry '\(prefix + s)' (training state, not weights)")
            } else {
                note("skipped entry '\(prefix + s)' (not tensors)")
            }
        }
        guard depth < 4, let at = d.index[.string(pick)] else {
            throw TorchArchiveError.noTensors(path: path, candidates: [prefix + pick])
        }
        return try choose(d.values[at], prefix: prefix + pick + ".", depth: depth + 1)
    }

    private mutating func flatten(_ v: PV, prefix: String, depth: Int, visited: inout Set<Int>,
                                  into out: inout [(name: String, ref: Int)]) throws {
        guard case .ref(let r) = v, let d = heap.dict(v) else { return }
        guard visited.insert(r).inserted else { return }
        for (k, inner) in zip(d.keys, d.values) {
            guard case .string(let name) = k else {
                note("skipped an entry whose key is \(heap.describe(k)), not a string")
                continue
            }
            let full = prefix + name
            if case .ref(let t) = inner, heap.isTensor(inner) {
                out.append((full, t))
            } else if holdsTensors(inner) {
                if depth >= StateDictSelector.maxNesting {
                    note("skipped entry '\(full)' (nested deeper than \(StateDictSelector.maxNesting) levels)")
                    continue
                }
                try flatten(inner, prefix: full + ".", depth: depth + 1, visited: &visited, into: &out)
            } else {
                note("skipped entry '\(full)' (not a tensor: \(heap.describe(inner)))")
            }
        }
    }
}
