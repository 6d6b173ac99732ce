// torch.save files without Python: the zip container (torch >= 1.6), the legacy stream (torch <= 1.5), and a pickle
// machine that executes nothing. See shared/research/formats.md §1–4 and §8 for the byte layouts this follows.

import TensorCore

/// The tensors of a torch.save state_dict (or of the state_dict inside a training checkpoint).
public struct TorchCheckpoint: @unchecked Sendable {
    public enum Container: String, Sendable { case zip = "pytorch-zip", legacy = "pytorch-legacy" }

    public let path: String
    public let container: Container
    /// state_dict entries in file order after unwrapping (`--key`, nesting, prefix stripping). Values are contiguous
    /// little-endian row-major bytes: zero-copy views into the mapped file where the stored tensor already is
    /// contiguous, little-endian and STORED, otherwise an owned copy.
    public let tensors: [(name: String, tensor: RawTensor)]
    /// Human-readable notes: "stripped prefix 'module.'", "skipped entry 'optimizer' (not tensors)", "used key 'state_dict'" ...
    public let notes: [String]

    /// Reads `path`. `key` selects a nested entry (dotted path allowed, e.g. "model.ema"). Without `limits`, the
    /// defaults as raised by the `VFW_LIMITS` environment variable.
    public static func load(path: String, key: String? = nil, limits: PickleLimits? = nil) throws -> TorchCheckpoint {
        let chosen: PickleLimits
        if let limits { chosen = limits } else {
            let (l, problem) = PickleLimits.fromEnvironment()
            if let problem { throw TorchArchiveError.cannotOpen(path: path, reason: problem) }
            chosen = l
        }
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch let e as MappedFile.OpenError {
            switch e {
            case .cannotOpen(_, let reason): throw TorchArchiveError.cannotOpen(path: path, reason: reason)
            case .isDirectory: throw TorchArchiveError.cannotOpen(path: path, reason: "it is a folder, not a file")
            }
        }
        return try load(owner: file, path: path, key: key, limits: chosen)
    }

    /// Reads a torch.save file held in memory (a copy of `bytes` is kept); `name` stands for the path in messages.
    /// For callers without a file, such as the fuzz targets.
    public static func load(bytes: UnsafeRawBufferPointer, name: String, key: String? = nil,
                            limits: PickleLimits = .default) throws -> TorchCheckpoint {
        try load(owner: OwnedBytes(copying: bytes), path: name, key: key, limits: limits)
    }

    static func load(owner file: ByteOwner, path: String, key: String?, limits: PickleLimits) throws -> TorchCheckpoint {
        let b = file.bytes
        let loader = Loader(file: file, path: path, limits: limits)
        if hasPrefix(b, zipMagic) {
            return try loader.loadZip(key: key)
        }
        if legacyMagicEnd(b) != nil {
            return try loader.loadLegacy(key: key)
        }
        throw classifyForeign(b, path: path)
    }

    /// True if the file starts like a torch.save file (zip `PK\x03\x04` or the legacy magic pickle).
    public static func looksLikeTorchFile(path: String) -> Bool {
        guard let file = try? MappedFile(path: path) else { return false }
        // `bytes` does not own the mapping: keep the file alive while they are read.
        return withExtendedLifetime(file) { hasPrefix(file.bytes, zipMagic) || legacyMagicEnd(file.bytes) != nil }
    }
}

let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

/// The 80-bit MAGIC_NUMBER 0x1950a86a20f9469cfc6c as the LONG1 operand bytes (little-endian).
let legacyMagicLong: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

func hasPrefix(_ b: UnsafeRawBufferPointer, _ p: [UInt8], at offset: Int = 0) -> Bool {
    guard offset >= 0, b.count >= offset, b.count - offset >= p.count else { return false }
    for i in 0..<p.count where b[offset + i] != p[i] { return false }
    return true
}

/// If the file starts with the legacy magic-number pickle (any protocol 2–5, optionally framed), the offset after it.
func legacyMagicEnd(_ b: UnsafeRawBufferPointer) -> Int? {
    guard b.count >= 2, b[0] == 0x80, (2...5).contains(b[1]) else { return nil }
    var p = 2
    if b.count > p, b[p] == 0x95 { p += 9 }  // FRAME + u64
    guard hasPrefix(b, legacyMagicLong, at: p) else { return nil }
    p += legacyMagicLong.count
    if b.count > p, b[p] == 0x94 { p += 1 }  // MEMOIZE
    guard b.count > p, b[p] == 0x2E else { return nil }
    return p + 1
}

/// The error for a file that is not a torch.save file, saying what it looks like instead.
func classifyForeign(_ b: UnsafeRawBufferPointer, path: String) -> TorchArchiveError {
    if hasPrefix(b, Array("PYTORCH1".utf8)) {
        return .unsupportedContainer(path: path, what: "the \"PYTORCH1\" format of a torch preview release")
    }
    if hasPrefix(b, Array("ustar".utf8), at: 257) {
        return .unsupportedContainer(path: path, what: "the tar format of torch < 0.1.10")
    }
    if b.count == 0 { return .notTorchFile(path: path, reason: "the file is empty") }
    if hasPrefix(b, [0x50, 0x4B, 0x05, 0x06]) { return .notTorchFile(path: path, reason: "it is an empty zip archive") }
    if b.count >= 10, b[8] == 0x7B {
        return .notTorchFile(path: path, reason: "it looks like a safetensors file; read it as safetensors")
    }
    if hasPrefix(b, Array("GGUF".utf8)) { return .notTorchFile(path: path, reason: "it is a GGUF file") }
    if b.count >= 2, b[0] == 0x80 {
        return .notTorchFile(path: path, reason: "it is a plain pickle without torch's zip container or legacy magic number")
    }
    return .notTorchFile(path: path, reason: "it starts with neither a zip header (PK\\x03\\x04) nor the legacy torch.save magic number")
}

// MARK: - Loading

final class Loader {
    let file: ByteOwner
    let path: String
    let limits: PickleLimits
    let heap = PickleHeap()
    /// Storage pids already seen, by key (views by their view key).
    var storageRefs: [String: PV] = [:]
    var notes: [String] = []

    // Zip
    var archive: ZipArchive?
    var root = ""
    var bigEndian = false
    var storageCache: [String: (bytes: ByteView, stored: Bool)] = [:]

    // Legacy
    var legacyData: [String: ByteView] = [:]
    var legacyDType: [String: TorchDType] = [:]
    var legacyDeclaredNumel: [String: Int] = [:]

    /// Bytes allocated so far for copies, against `limits.copyBudget` (checked before every allocation).
    var copied = 0
    let copyBudget: Int

    init(file: ByteOwner, path: String, limits: PickleLimits) {
        self.file = file
        self.path = path
        self.limits = limits
        copyBudget = limits.copyBudget(fileSize: file.bytes.count)
    }

    /// Books `n` more bytes of copies; false when that would pass the budget.
    func reserveCopy(_ n: Int) -> Bool {
        let (total, o) = copied.addingReportingOverflow(n)
        guard n >= 0, !o, total <= copyBudget else { return false }
        copied = total
        return true
    }

    func copyLimitText(_ n: Int) -> String {
        "it needs \(n) bytes of copies, which with the \(copied) bytes copied before would pass the copy limit of "
            + "\(copyBudget) bytes (the larger of 4x the file and \(limits.maxCopyBytes); VFW_LIMITS=copy=N raises it)"
    }

    /// A record's bytes, the inflated size booked against the copy budget first (the directory's size is what
    /// is allocated; ZipArchive checks it against DEFLATE's ratio and that nothing inflates beyond it).
    func recordData(_ entry: ZipEntry, in archive: ZipArchive) throws -> (bytes: ByteView, stored: Bool) {
        try archive.checkDeflateClaim(entry)
        if entry.method == 8 && !reserveCopy(entry.uncompressedSize) {
            throw TorchArchiveError.badRecord(path: path, record: entry.name, reason: copyLimitText(entry.uncompressedSize))
        }
        return try archive.data(of: entry)
    }

    // MARK: Zip container

    func loadZip(key: String?) throws -> TorchCheckpoint {
        let archive = try ZipArchive(file: file, path: path)
        self.archive = archive
        guard let first = archive.entries.first else { throw TorchArchiveError.malformedZip(path: path, reason: "the archive has no entries") }
        guard let slash = first.name.firstIndex(of: "/") else {
            throw TorchArchiveError.malformedZip(path: path, reason: "entry '\(first.name)' is not in a top-level folder, as torch.save writes every record")
        }
        root = String(first.name[...slash])
        if archive.entry(root + "constants.pkl") != nil || archive.entries.contains(where: { $0.name.hasPrefix(root + "code/") }) {
            throw TorchArchiveError.torchScript(path: path)
        }
        guard let pklEntry = archive.entry(root + "data.pkl") else {
            throw TorchArchiveError.missingRecord(path: path, record: root + "data.pkl")
        }
        if let bo = archive.entry(root + "byteorder") {
            // 'little' or 'big': anything longer is refused before it is read (or inflated).
            guard bo.uncompressedSize <= 16 else {
                throw TorchArchiveError.badRecord(path: path, record: bo.name, reason: "byte order record is \(bo.uncompressedSize) bytes, not 'little' or 'big'")
            }
            let v = try recordData(bo, in: archive).bytes
            let text = String(decoding: v.buffer, as: UTF8.self)
            switch text {
            case "little": bigEndian = false
            case "big": bigEndian = true
            default:
                throw TorchArchiveError.badRecord(path: path, record: bo.name, reason: "byte order is '\(oneLine(text, limit: 40))', not 'little' or 'big'")
            }
        }
        // The directory's size is checked before inflating, so a DEFLATE bomb is refused before any allocation:
        // first against what DEFLATE can produce from the compressed size, then against the pickle size limit.
        try archive.checkDeflateClaim(pklEntry)
        if pklEntry.uncompressedSize > limits.maxTotalBytes {
            throw TorchArchiveError.limitExceeded(path: path, stream: "data.pkl", offset: 0, limit: "maxTotalBytes", maximum: limits.maxTotalBytes)
        }
        let pkl = try recordData(pklEntry, in: archive).bytes
        if pkl.count > limits.maxTotalBytes {
            throw TorchArchiveError.limitExceeded(path: path, stream: "data.pkl", offset: 0, limit: "maxTotalBytes", maximum: limits.maxTotalBytes)
        }
        let ctx = PickleContext(path: path, stream: "data.pkl", baseOffset: 0)
        let value: PV = try withExtendedLifetime(pkl) {
            let machine = PickleMachine(data: pkl.buffer, context: ctx, limits: limits, heap: heap) { [unowned self] pid, heap, off in
                try self.persistentLoad(pid, heap: heap, offset: off, context: ctx, legacy: false)
            }
            return try machine.run().value
        }
        if bigEndian { notes.append("byte order of the saving machine was big-endian; swapped to little-endian") }
        return try finish(value, key: key, container: .zip)
    }

    // MARK: Legacy stream

    func loadLegacy(key: String?) throws -> TorchCheckpoint {
        let b = file.bytes
        guard var offset = legacyMagicEnd(b) else { throw TorchArchiveError.malformedLegacy(path: path, reason: "no magic number") }
        func runPickle(_ name: String) throws -> PV {
            let ctx = PickleContext(path: path, stream: name, baseOffset: 0)
            let machine = PickleMachine(data: b, context: ctx, limits: limits, heap: heap) { [unowned self] pid, heap, off in
                try self.persistentLoad(pid, heap: heap, offset: off, context: ctx, legacy: true)
            }
            let (v, end) = try machine.run(from: offset)
            offset = end
            return v
        }
        let protocolVersion = try runPickle("the legacy protocol pickle")
        guard case .int(1001) = protocolVersion else {
            throw TorchArchiveError.malformedLegacy(path: path, reason: "protocol version is \(heap.describe(protocolVersion)), expected 1001")
        }
        let sysInfo = try runPickle("the legacy sys_info pickle")
        if let d = heap.dict(sysInfo) {
            for (k, v) in Swift.zip(d.keys, d.values) {
                if case .string("little_endian") = k, case .bool(false) = v {
                    notes.append("saved on a big-endian machine (legacy storages are little-endian on disk)")
                }
            }
        }
        let value = try runPickle("the legacy object pickle")
        let keysV = try runPickle("the legacy storage-key pickle")
        guard let keyList = heap.sequence(keysV) else {
            throw TorchArchiveError.malformedLegacy(path: path, reason: "the storage key list is \(heap.describe(keysV)), not a list")
        }
        for k in keyList {
            let storageKey: String
            switch k {
            case .string(let s): storageKey = s
            case .int(let i): storageKey = String(i)
            default: throw TorchArchiveError.malformedLegacy(path: path, reason: "a storage key is \(heap.describe(k)), not a string")
            }
            guard let dt = legacyDType[storageKey] else {
                throw TorchArchiveError.malformedLegacy(path: path, reason: "storage '\(storageKey)' is listed but no tensor refers to it")
            }
            guard legacyData[storageKey] == nil else {
                throw TorchArchiveError.malformedLegacy(path: path, reason: "storage '\(storageKey)' is listed twice")
            }
            guard offset <= b.count - 8 else {
                throw TorchArchiveError.malformedLegacy(path: path, reason: "the file ends at byte \(b.count) before storage '\(storageKey)' (truncated?)")
            }
            var raw: UInt64 = 0
            for i in 0..<8 { raw |= UInt64(b[offset + i]) << (8 * UInt64(i)) }
            let numel = Int64(bitPattern: raw)
            let start = offset + 8
            let (nbytes, o1) = Int(clamping: numel).multipliedReportingOverflow(by: dt.elementSize)
            guard numel >= 0, !o1, nbytes <= b.count - start else {
                throw TorchArchiveError.malformedLegacy(path: path,
                    reason: "storage '\(storageKey)' at byte \(offset) claims \(numel) elements, past the end of the file (truncated?)")
            }
            if let declared = legacyDeclaredNumel[storageKey], declared != Int(numel) {
                throw TorchArchiveError.malformedLegacy(path: path,
                    reason: "storage '\(storageKey)' has \(numel) elements on disk, the pickle says \(declared)")
            }
            legacyData[storageKey] = ByteView(owner: file, offset: start, count: nbytes)
            offset = start + nbytes
        }
        return try finish(value, key: key, container: .legacy)
    }

    // MARK: Persistent ids

    func persistentLoad(_ pid: PV, heap: PickleHeap, offset: Int, context ctx: PickleContext, legacy: Bool) throws -> PV {
        func bad(_ r: String) -> TorchArchiveError {
            .malformedPickle(path: path, stream: ctx.stream, offset: ctx.baseOffset + offset, reason: r)
        }
        guard case .tuple(let items)? = heap.node(pid), let tag = items.first else {
            throw bad("persistent id is \(heap.describe(pid)), not a ('storage', ...) tuple")
        }
        if case .string("module") = tag {
            var cls = "a module class"
            if items.count > 1, case .global(let g) = items[1] { cls = g.pythonName }
            throw TorchArchiveError.wholeModel(path: path, stream: ctx.stream, offset: ctx.baseOffset + offset, className: cls)
        }
        guard case .string("storage") = tag else { throw bad("persistent id starts with \(heap.describe(tag)), not 'storage'") }
        guard items.count == 5 || items.count == 6 else { throw bad("storage persistent id has \(items.count) items, expected 5 or 6") }
        guard case .global(.storageClass(_, let dtype)) = items[1] else {
            throw bad("storage persistent id names \(heap.describe(items[1])), not a torch storage class")
        }
        let key: String
        switch items[2] {
        case .string(let s): key = s
        case .int(let i): key = String(i)
        default: throw bad("storage key is \(heap.describe(items[2])), not a string")
        }
        guard case .int(let numel) = items[4], numel >= 0 else {
            throw bad("storage size is \(heap.describe(items[4])), not a non-negative int")
        }
        var view: (offset: Int, count: Int)? = nil
        var cacheKey = key
        if items.count == 6, let meta = heap.sequence(items[5]) {
            guard meta.count == 3, case .string(let viewKey) = meta[0], case .int(let vOffset) = meta[1],
                  case .int(let vCount) = meta[2], vOffset >= 0, vCount >= 0 else {
                throw bad("storage view metadata is not (key, offset, size)")
            }
            view = (vOffset, vCount)
            cacheKey = "view:" + viewKey
        }
        if let existing = storageRefs[cacheKey] { return existing }
        if legacy {
            if let known = legacyDType[key], known != dtype {
                throw bad("storage '\(key)' is referenced as \(known.displayName) and \(dtype.displayName)")
            }
            legacyDType[key] = dtype
            if view == nil { legacyDeclaredNumel[key] = numel }
        }
        let v = heap.add(.storage(StorageNode(key: key, dtype: dtype, numel: view?.count ?? numel, view: view)))
        storageRefs[cacheKey] = v
        return v
    }

    // MARK: Storage bytes

    /// The bytes of a storage, exactly `numel × element size` long; read once per key.
    func storageBytes(_ s: StorageNode, tensor name: String) throws -> (bytes: ByteView, stored: Bool) {
        let (declared, o) = s.numel.multipliedReportingOverflow(by: s.dtype.elementSize)
        if o { throw TorchArchiveError.badTensor(path: path, tensor: name, reason: "its storage size overflows") }
        if let archive = self.archive {
            let record = root + "data/" + s.key
            let data: (bytes: ByteView, stored: Bool)
            if let cached = storageCache[s.key] {
                data = cached
            } else if let entry = archive.entry(record) {
                data = try recordData(entry, in: archive)
                storageCache[s.key] = data
            } else if declared == 0 {
                return (ByteView(owned: OwnedBytes(count: 0)), true)
            } else {
                throw TorchArchiveError.missingRecord(path: path, record: record)
            }
            guard data.bytes.count >= declared else {
                throw TorchArchiveError.badTensor(path: path, tensor: name,
                    reason: "its storage record '\(record)' has \(data.bytes.count) bytes, the pickle says \(s.numel) × \(s.dtype.elementSize) = \(declared)")
            }
            return (data.bytes.slice(0, declared), data.stored)
        }
        guard let rootData = legacyData[s.key] else {
            if declared == 0 { return (ByteView(owned: OwnedBytes(count: 0)), true) }
            throw TorchArchiveError.badTensor(path: path, tensor: name, reason: "its storage '\(s.key)' is not in the file")
        }
        if let v = s.view {
            let es = s.dtype.elementSize
            let (start, o1) = v.offset.multipliedReportingOverflow(by: es)
            let (end, o2) = start.addingReportingOverflow(declared)
            guard !o1, !o2, end <= rootData.count else {
                throw TorchArchiveError.badTensor(path: path, tensor: name,
                    reason: "its storage view [\(v.offset), \(v.offset + v.count)) lies outside storage '\(s.key)'")
            }
            return (rootData.slice(start, declared), true)
        }
        guard rootData.count == declared else {
            throw TorchArchiveError.badTensor(path: path, tensor: name,
                reason: "its storage '\(s.key)' has \(rootData.count) bytes, the pickle says \(declared)")
        }
        return (rootData, true)
    }

    // MARK: Tensors

    func materialize(_ t: TensorNode, name: String) throws -> RawTensor {
        func damaged(_ r: String) -> TorchArchiveError { .badTensor(path: path, tensor: name, reason: r) }
        if let p = t.problem { throw TorchArchiveError.unsupportedTensor(path: path, tensor: name, reason: p) }
        guard let dtype = t.dtype.dtype else {
            throw TorchArchiveError.unsupportedDType(path: path, tensor: name, dtype: t.dtype.displayName)
        }
        guard t.storage >= 0, t.storage < heap.nodes.count, case .storage(let s) = heap.nodes[t.storage] else {
            throw damaged("it has no storage")
        }
        let es = t.dtype.elementSize
        if t.size.contains(where: { $0 < 0 }) { throw damaged("size \(describeShape(t.size)) has a negative dimension") }
        if t.stride.contains(where: { $0 < 0 }) { throw damaged("stride \(describeShape(t.stride)) has a negative entry") }
        if t.offset < 0 { throw damaged("storage offset \(t.offset) is negative") }
        guard let n = elementCount(t.size), let outBytes = dtype.byteCount(elements: n) else {
            throw damaged("size \(describeShape(t.size)) overflows")
        }
        let (storage, stored) = try storageBytes(s, tensor: name)
        if n == 0 {
            return RawTensor(dtype: dtype, shape: t.size, bytes: ByteView(owned: OwnedBytes(count: 0)))
        }
        // Highest element the tensor touches: offset + Σ (size_i − 1)·stride_i, which must lie inside the storage.
        var last = t.offset
        for (d, st) in Swift.zip(t.size, t.stride) {
            let (m, o1) = (d - 1).multipliedReportingOverflow(by: st)
            let (sum, o2) = last.addingReportingOverflow(m)
            if o1 || o2 { throw damaged("size \(describeShape(t.size)) and stride \(describeShape(t.stride)) overflow") }
            last = sum
        }
        let storageElements = storage.count / es
        guard last < storageElements else {
            throw damaged("offset \(t.offset), size \(describeShape(t.size)) and stride \(describeShape(t.stride)) reach element \(last), "
                + "past its storage of \(storageElements) \(t.dtype.displayName) elements")
        }
        var contiguous = true
        var expected = 1
        for (d, st) in Swift.zip(t.size, t.stride).reversed() where d != 1 {
            if st != expected { contiguous = false; break }
            expected *= d
        }
        let swap = bigEndian && t.dtype.swapUnit > 1
        if contiguous && !swap {
            _ = stored
            return RawTensor(dtype: dtype, shape: t.size, bytes: storage.slice(t.offset * es, outBytes))
        }
        // Not damage: a legitimate expanded or strided view can need this much; it is refused as too big to copy.
        guard reserveCopy(outBytes) else {
            throw TorchArchiveError.unsupportedTensor(path: path, tensor: name,
                reason: "is a strided or expanded view; making it contiguous " + copyLimitText(outBytes).dropFirst(3))
        }
        let out = OwnedBytes(count: outBytes)
        gather(from: storage.buffer, into: out.mutableBytes, elementSize: es, swapUnit: swap ? t.dtype.swapUnit : 1,
               offset: t.offset, size: t.size, stride: t.stride)
        return RawTensor(dtype: dtype, shape: t.size, bytes: ByteView(owned: out))
    }

    // MARK: Choosing the state_dict

    func finish(_ value: PV, key: String?, container: TorchCheckpoint.Container) throws -> TorchCheckpoint {
        var selector = StateDictSelector(heap: heap, path: path)
        let entries = try selector.select(value, key: key)
        notes.append(contentsOf: selector.notes)
        var tensors: [(name: String, tensor: RawTensor)] = []
        tensors.reserveCapacity(entries.count)
        for (name, ref) in entries {
            guard case .tensor(let t) = heap.nodes[ref] else { continue }
            tensors.append((name, try materialize(t, name: name)))
        }
        return TorchCheckpoint(path: path, container: container, tensors: tensors, notes: notes)
    }
}

/// Copies the elements a strided view addresses into contiguous row-major order, byte-swapping `swapUnit`-byte units.
/// The caller has checked that every addressed element lies inside `src`.
func gather(from src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, elementSize es: Int, swapUnit: Int,
            offset: Int, size: [Int], stride: [Int]) {
    guard let s = src.baseAddress, let d = dst.baseAddress else { return }
    let dims = size.count
    let inner = dims > 0 ? size[dims - 1] : 1
    let innerStride = dims > 0 ? stride[dims - 1] : 1
    let total = dst.count / es
    guard inner > 0 else { return }
    let rows = total / inner
    var idx = [Int](repeating: 0, count: max(dims - 1, 0))
    var out = 0
    for _ in 0..<rows {
        var base = offset
        for k in 0..<idx.count { base += idx[k] * stride[k] }
        if innerStride == 1 && swapUnit == 1 {
            (d + out).copyMemory(from: s + base * es, byteCount: inner * es)
            out += inner * es
        } else {
            var e = base
            for _ in 0..<inner {
                let from = s + e * es
                if swapUnit == 1 {
                    (d + out).copyMemory(from: from, byteCount: es)
                } else {
                    var u = 0
                    while u < es {
                        for j in 0..<swapUnit {
                            (d + out + u + j).storeBytes(of: from.load(fromByteOffset: u + swapUnit - 1 - j, as: UInt8.self), as: UInt8.self)
                        }
                        u += swapUnit
                    }
                }
                out += es
                e += innerStride
            }
        }
        var k = idx.count - 1
        while k >= 0 {
            idx[k] += 1
            if idx[k] < size[k] { break }
            idx[k] = 0
            k -= 1
        }
    }
}
