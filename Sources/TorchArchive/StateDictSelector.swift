// Finding the weights in what a torch.save file holds: the unwrapping rule of README "Finding the weights in a
// checkpoint". tools/vfw_unwrap.py implements the same rule for tools/make_reference.py; the fixtures'
// expected.json records its answers (names and notes) and the Swift tests require the same.
//
// In short:
// - A *plausible state dict* is a dict whose keys are all strings, that holds no dict, list, tuple or set, whose
//   values are at least half tensors, and that holds at least one tensor of one or more dimensions.
// - Without --key, vfw walks the file breadth-first from the top through dicts, lists and tuples, at most 4 levels
//   down, never into training state (TRAINING_STATE below) nor into objects it does not build, and never into a
//   plausible state dict. It must find exactly one plausible state dict: none is an error naming the top-level keys
//   (or the object the tensors are in), two or more ask for --key and name the candidates. So do two copies of one
//   model inside one state dict, one of them an EMA / SWA average (`model.*` beside `model_ema.module.*`).
// - --key K names the entry by its dotted path (dict keys, list indices, or a prefix of a flat state dict's keys).
// - The *wrapper prefix* is the longest chain of components from WRAPPERS that every name has, not counting
//   bookkeeping scalars (a 0-d tensor whose name has no dot, such as AveragedModel's n_averaged); it is stripped
//   from every name and the bookkeeping scalars beside it are dropped.

/// Chooses the dict of tensors, flattens it to (name, tensor node) pairs in file order and strips wrapper prefixes.
struct StateDictSelector {
    let heap: PickleHeap
    let path: String
    private(set) var notes: [String] = []
    /// Containers all scans of one selection may still visit together: a hostile file with a million entries that
    /// share one huge list costs one pass, not a million.
    private var scanBudget = 4 * StateDictSelector.maxVisits

    /// Module names that wrap a whole model: DataParallel / DDP / AveragedModel / timm ModelEma (`module`), Lightning
    /// and most training code (`model`), torch.compile (`_orig_mod`), and the common `net` / `backbone` attributes.
    static let wrappers = ["module", "model", "_orig_mod", "net", "backbone"]
    /// Entries of a training checkpoint that hold tensors but never the weights (optimizer moments, scheduler and
    /// callback state), by the names torch, torchvision, timm and Lightning give them.
    static let trainingState: Set<String> = [
        "optimizer", "optimizers", "optimizer_state_dict", "optimizer_states", "optim", "scheduler", "schedulers",
        "lr_scheduler", "lr_schedulers", "scheduler_state_dict", "scaler", "grad_scaler", "amp", "ema_optimizer",
        "callbacks", "loops",
    ]
    /// Levels below the top a plausible state dict is looked for.
    static let maxDepth = 4
    /// Levels of nested dicts flattened (`--key` on a dict of dicts).
    static let maxNesting = 16
    static let maxNotes = 100
    /// Containers one search, or one scan of an entry, visits at most (a hostile file may hold millions).
    static let maxVisits = 1_000_000

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

    private func joined(_ p: [String]) -> String { p.joined(separator: ".") }

    // MARK: - What a value is

    private func tensorNode(_ v: PV) -> TensorNode? {
        if case .tensor(let t)? = heap.node(v) { return t }
        return nil
    }

    private func isContainer(_ v: PV) -> Bool {
        switch heap.node(v) {
        case .dict?, .list?, .tuple?, .set?: return true
        default: return false
        }
    }

    /// A plausible state dict: string keys, no containers, at least half tensors, one tensor of >= 1 dimension.
    func isStateDict(_ d: DictNode) -> Bool {
        var tensors = 0
        var shaped = false
        for (k, v) in zip(d.keys, d.values) {
            guard case .string = k else { return false }
            if let t = tensorNode(v) {
                tensors += 1
                if !t.size.isEmpty { shaped = true }
            } else if isContainer(v) {
                return false
            }
        }
        return shaped && 2 * tensors >= d.keys.count
    }

    /// What an entry holds, breadth-first through containers and placeholders (at most `maxVisits` of them): whether
    /// any tensor, and the classes vfw does not build, in the order met (each once).
    mutating func scan(_ v: PV) -> (tensors: Bool, classes: [String]) {
        var tensors = false
        var classes: [String] = []
        var seen: Set<String> = []
        var visited: Set<Int> = []
        var queue: [PV] = [v]
        var head = 0
        while head < queue.count && visited.count < StateDictSelector.maxVisits && scanBudget > 0 {
            let x = queue[head]
            head += 1
            scanBudget -= 1
            if let f = heap.foreign(x), seen.insert(f.name).inserted { classes.append(f.name) }
            guard case .ref(let r) = x, visited.insert(r).inserted else { continue }
            switch heap.nodes[r] {
            case .tensor: tensors = true
            case .dict(let d): queue.append(contentsOf: d.values)
            case .list(let l), .tuple(let l), .set(let l): queue.append(contentsOf: l)
            case .object(let o): queue.append(contentsOf: o.contents)
            default: break
            }
            if queue.count > 4 * StateDictSelector.maxVisits { break }
        }
        return (tensors, classes)
    }

    private func classList(_ c: [String]) -> String {
        let shown = c.prefix(3).map { oneLine($0, limit: 80) }.joined(separator: ", ")
        return c.count > 3 ? shown + " and \(c.count - 3) more" : shown
    }

    /// The note for an entry vfw passes over.
    private mutating func skipNote(_ p: [String], key: String?, _ v: PV) -> String {
        let name = "skipped entry '\(oneLine(joined(p), limit: 120))'"
        if let k = key, StateDictSelector.trainingState.contains(k) { return name + " (training state)" }
        if let f = heap.foreign(v) { return name + " (an object of \(oneLine(f.name, limit: 80)), which vfw does not build)" }
        let (tensors, classes) = scan(v)
        if !classes.isEmpty { return name + " (holds objects of \(classList(classes)), which vfw does not build)" }
        return name + (tensors ? " (tensors beside the weights)" : " (not tensors)")
    }

    private func foreignError(_ p: [String], _ v: PV) -> TorchArchiveError {
        let f = heap.foreign(v) ?? ForeignClass(name: "?", stream: "?", offset: 0)
        if looksLikeModule(v, f) {
            return .wholeModel(path: path, stream: f.stream, offset: f.offset, className: f.name)
        }
        return .foreignObject(path: path, entry: joined(p), className: f.name, stream: f.stream, offset: f.offset)
    }

    /// A pickled nn.Module: a torch.nn class, or an object whose state has nn.Module's `_parameters` / `_modules`.
    private func looksLikeModule(_ v: PV, _ f: ForeignClass) -> Bool {
        if f.name.hasPrefix("torch.nn.modules.") { return true }
        guard case .object(let o)? = heap.node(v) else { return false }
        for c in o.contents {
            guard let d = heap.dict(c) else { continue }
            if d.index[.string("_parameters")] != nil || d.index[.string("_modules")] != nil { return true }
        }
        return false
    }

    // MARK: - The rule

    mutating func select(_ root: PV, key: String?) throws -> [(name: String, ref: Int)] {
        var chosen: PV
        var chosenPath: [String]
        var filter: String? = nil
        if let key = key {
            (chosen, chosenPath, filter) = try lookup(root, key: key)
            if tensorNode(chosen) != nil || heap.dict(chosen) == nil {
                throw TorchArchiveError.keyHoldsNoTensors(path: path, key: key, holds: heap.describe(chosen))
            }
        } else {
            (chosen, chosenPath) = try search(root)
            siblingNotes(root, chosenPath)
        }
        let start = notes.count
        var entries: [(name: String, ref: Int)] = []
        var visited: Set<Int> = []
        try flatten(chosen, at: chosenPath, prefix: "", filter: filter, depth: 0, visited: &visited, into: &entries)
        if entries.isEmpty {
            if let key { throw TorchArchiveError.keyHoldsNoTensors(path: path, key: key, holds: heap.describe(chosen)) }
            throw TorchArchiveError.noTensors(path: path, candidates: heap.dict(chosen).map(stringKeys) ?? [])
        }
        let prefix = stripWrapper(&entries)
        var seen: Set<String> = []
        for e in entries where !seen.insert(e.name).inserted {
            throw TorchArchiveError.duplicateTensorName(path: path, name: e.name)
        }
        let entryName = joined(chosenPath) + (filter.map { chosenPath.isEmpty ? String($0.dropLast()) : "." + $0.dropLast() } ?? "")
        if !entryName.isEmpty || !prefix.isEmpty {
            let from = entryName.isEmpty ? "the top level" : "entry '\(oneLine(entryName, limit: 120))'"
            let weights = "weights from \(from)" + (prefix.isEmpty ? "" : ", prefix '\(prefix)' stripped")
            if notes.count < StateDictSelector.maxNotes { notes.insert(weights, at: key == nil ? 0 : start) }
        }
        return entries
    }

    /// The one plausible state dict, breadth-first from the top.
    private mutating func search(_ root: PV) throws -> (PV, [String]) {
        if tensorNode(root) != nil { throw TorchArchiveError.notAStateDict(path: path, holds: heap.describe(root)) }
        if heap.foreign(root) != nil {
            if scan(root).tensors { throw foreignError([], root) }
            throw TorchArchiveError.notAStateDict(path: path, holds: heap.describe(root))
        }
        guard heap.dict(root) != nil || heap.sequence(root) != nil else {
            throw TorchArchiveError.notAStateDict(path: path, holds: heap.describe(root))
        }
        // Queue entries: (value, parent entry, component, depth); paths are rebuilt from parents only when needed.
        var queue: [(value: PV, parent: Int, component: String, depth: Int)] = [(root, -1, "", 0)]
        var head = 0
        var visited: Set<Int> = []
        var candidates: [Int] = []
        var holders: [Int] = []
        func pathOf(_ i: Int) -> [String] {
            var p: [String] = []
            var j = i
            while j > 0 { p.append(queue[j].component); j = queue[j].parent }
            return p.reversed()
        }
        while head < queue.count && head < StateDictSelector.maxVisits {
            let (v, _, _, depth) = queue[head]
            let me = head
            head += 1
            guard case .ref(let r) = v, visited.insert(r).inserted else { continue }
            func enqueue(_ inner: PV, _ component: String) {
                guard queue.count < StateDictSelector.maxVisits else { return }
                switch heap.node(inner) {
                case .dict(let d)? where !d.keys.isEmpty: queue.append((inner, me, component, depth + 1))
                case .list(let l)? where !l.isEmpty: queue.append((inner, me, component, depth + 1))
                case .tuple(let l)? where !l.isEmpty: queue.append((inner, me, component, depth + 1))
                case .object?: queue.append((inner, me, component, depth + 1))
                default: break
                }
            }
            if let d = heap.dict(v) {
                if isStateDict(d) { candidates.append(me); continue }
                guard depth < StateDictSelector.maxDepth else { continue }
                for (k, inner) in zip(d.keys, d.values) {
                    guard case .string(let s) = k, !StateDictSelector.trainingState.contains(s) else { continue }
                    enqueue(inner, s)
                }
            } else if let seq = heap.sequence(v) {
                guard depth < StateDictSelector.maxDepth else { continue }
                for (i, inner) in seq.enumerated() { enqueue(inner, String(i)) }
            } else if heap.foreign(v) != nil, scan(v).tensors {
                holders.append(me)
            }
        }
        if candidates.count > 1 {
            throw TorchArchiveError.ambiguous(path: path, candidates: candidates.map { joined(pathOf($0)) })
        }
        guard let c = candidates.first else {
            if let h = holders.first { throw foreignError(pathOf(h), queue[h].value) }
            throw TorchArchiveError.noTensors(path: path, candidates: heap.dict(root).map(stringKeys) ?? [])
        }
        let p = pathOf(c)
        if let d = heap.dict(queue[c].value) {
            let copies = copyGroups(d)
            if copies.count > 1 { throw TorchArchiveError.ambiguous(path: path, candidates: copies.map { joined(p + [$0]) }) }
        }
        return (queue[c].value, p)
    }

    /// First name components of a state dict under which one model appears twice, one copy an average of the other
    /// (`model.*` beside `model_ema.module.*` in a Lightning state_dict, AveragedModel's `n_averaged` beside): the
    /// same names and shapes once each group's wrapper prefix is gone, and one group named like an EMA / SWA copy.
    private func copyGroups(_ d: DictNode) -> [String] {
        var order: [String] = []
        var groups: [String: [(name: String, shape: [Int])]] = [:]
        for (k, v) in zip(d.keys, d.values) {
            guard case .string(let s) = k, let t = tensorNode(v), let dot = s.firstIndex(of: ".") else { continue }
            let g = String(s[..<dot])
            if groups[g] == nil { order.append(g) }
            groups[g, default: []].append((String(s[s.index(after: dot)...]), t.size))
        }
        var normal: [String: [String: [Int]]] = [:]
        for g in order {
            let all = groups[g]!
            let scalar = { (e: (name: String, shape: [Int])) in e.shape.isEmpty && !e.name.contains(".") }
            let p = StateDictSelector.wrapperPrefix(all.filter { !scalar($0) }.map(\.name))
            var m: [String: [Int]] = [:]
            for e in all where p.isEmpty || !scalar(e) { m[String(e.name.dropFirst(p.count))] = e.shape }
            if m.count >= 2 { normal[g] = m }
        }
        func averaged(_ g: String) -> Bool {
            let l = g.lowercased()
            return l.contains("ema") || l.contains("swa") || l.contains("averaged")
        }
        let copies = order.filter { g in
            guard let m = normal[g] else { return false }
            return order.contains { $0 != g && normal[$0] == m }
        }
        return copies.contains(where: averaged) ? copies : []
    }

    /// Notes for the entries beside the chosen path, level by level.
    private mutating func siblingNotes(_ root: PV, _ p: [String]) {
        var cur = root
        for (level, component) in p.enumerated() where notes.count <= StateDictSelector.maxNotes {
            let here = Array(p[..<level])
            var next: PV? = nil
            if let d = heap.dict(cur) {
                for (k, v) in zip(d.keys, d.values) {
                    guard case .string(let s) = k else {
                        note("skipped an entry of '\(oneLine(joined(here), limit: 120))' whose key is not a string")
                        continue
                    }
                    if s == component, next == nil { next = v; continue }
                    if notes.count <= StateDictSelector.maxNotes { note(skipNote(here + [s], key: s, v)) }
                }
            } else if let seq = heap.sequence(cur) {
                for (i, v) in seq.enumerated() {
                    if String(i) == component { next = v; continue }
                    if notes.count <= StateDictSelector.maxNotes { note(skipNote(here + [String(i)], key: nil, v)) }
                }
            }
            guard let n = next else { return }
            cur = n
        }
    }

    /// Follows a dotted key: dict keys (a key may itself contain dots, the longest match wins), list indices, and
    /// at a flat state dict, the rest as a prefix of its keys (`state_dict.model_ema` takes `model_ema.*`).
    private func lookup(_ root: PV, key: String) throws -> (PV, [String], String?) {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var cur = root
        var at: [String] = []
        var i = 0
        while i < parts.count {
            if heap.foreign(cur) != nil { throw foreignError(at, cur) }
            if let d = heap.dict(cur) {
                var found = false
                var j = parts.count
                while j > i {
                    let candidate = parts[i..<j].joined(separator: ".")
                    if let k = d.index[.string(candidate)] {
                        cur = d.values[k]
                        at.append(candidate)
                        i = j
                        found = true
                        break
                    }
                    j -= 1
                }
                if !found {
                    let rest = parts[i...].joined(separator: ".") + "."
                    if stringKeys(d).contains(where: { $0.hasPrefix(rest) && $0.count > rest.count }) { return (cur, at, rest) }
                    throw TorchArchiveError.keyNotFound(path: path, key: key, available: stringKeys(d))
                }
            } else if let seq = heap.sequence(cur), let n = Int(parts[i]), n >= 0, n < seq.count {
                cur = seq[n]
                at.append(parts[i])
                i += 1
            } else {
                throw TorchArchiveError.keyNotFound(path: path, key: key, available: [])
            }
        }
        if heap.foreign(cur) != nil { throw foreignError(at, cur) }
        return (cur, at, nil)
    }

    private mutating func flatten(_ v: PV, at base: [String], prefix: String, filter: String?, depth: Int,
                                  visited: inout Set<Int>, into out: inout [(name: String, ref: Int)]) throws {
        guard case .ref(let r) = v, let d = heap.dict(v) else { return }
        guard visited.insert(r).inserted else { return }
        for (k, inner) in zip(d.keys, d.values) {
            guard case .string(var name) = k else {
                note("skipped an entry of '\(oneLine(joined(base), limit: 120))' whose key is not a string")
                continue
            }
            if let f = filter {
                guard name.hasPrefix(f), name.count > f.count else { continue }
                name = String(name.dropFirst(f.count))
            }
            let full = prefix + name
            let shown = base + [(filter ?? "") + full]
            if case .ref(let t) = inner, tensorNode(inner) != nil {
                out.append((full, t))
            } else if heap.dict(inner) != nil {
                if depth >= StateDictSelector.maxNesting {
                    note("skipped entry '\(oneLine(joined(shown), limit: 120))' (nested deeper than \(StateDictSelector.maxNesting) levels)")
                    continue
                }
                try flatten(inner, at: base, prefix: full + ".", filter: nil, depth: depth + 1, visited: &visited, into: &out)
            } else if let f = heap.foreign(inner) {
                if scan(inner).tensors { throw foreignError(shown, inner) }
                note("skipped entry '\(oneLine(joined(shown), limit: 120))' (an object of \(oneLine(f.name, limit: 80)), which vfw does not build)")
            } else {
                note("skipped entry '\(oneLine(joined(shown), limit: 120))' (not a tensor)")
            }
        }
    }

    /// The longest chain of wrapper components every name starts with (and is longer than): "", "module.",
    /// "model._orig_mod." ...
    static func wrapperPrefix(_ names: [String]) -> String {
        guard !names.isEmpty else { return "" }
        var prefix = ""
        var grew = true
        while grew {
            grew = false
            for w in wrappers {
                let p = prefix + w + "."
                if names.allSatisfy({ $0.hasPrefix(p) && $0.count > p.count }) {
                    prefix = p
                    grew = true
                    break
                }
            }
        }
        return prefix
    }

    /// Strips the wrapper prefix; drops the bookkeeping scalars beside a wrapped model. Returns the prefix.
    private mutating func stripWrapper(_ entries: inout [(name: String, ref: Int)]) -> String {
        func scalar(_ e: (name: String, ref: Int)) -> Bool {
            guard case .tensor(let t) = heap.nodes[e.ref] else { return false }
            return t.size.isEmpty && !e.name.contains(".")
        }
        let prefix = StateDictSelector.wrapperPrefix(entries.filter { !scalar($0) }.map(\.name))
        guard !prefix.isEmpty else { return "" }
        var kept: [(name: String, ref: Int)] = []
        for e in entries {
            if scalar(e) { note("dropped '\(oneLine(e.name, limit: 120))' (a scalar beside the wrapped model)"); continue }
            kept.append((String(e.name.dropFirst(prefix.count)), e.ref))
        }
        entries = kept
        return prefix
    }
}
