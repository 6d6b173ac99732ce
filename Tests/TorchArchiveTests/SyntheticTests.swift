// Hand-built legacy streams and patched zip archives: views, bounds, and every structural check of the containers.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

/// One tensor entry of a hand-built legacy object pickle.
struct LegacyTensor {
    var name: String
    var storageClass = "FloatStorage"
    var key = "root"
    var numel = 6
    var view: (key: String, offset: Int32, size: Int32)? = nil
    var offset: Int32 = 0
    var size: [Int32]
    var stride: [Int32]
}

enum Legacy {
    static let magic: [UInt8] = [0x80, 0x02] + legacyMagicLong + [0x2E]
    static let protocolVersion: [UInt8] = [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]
    static let sysInfo: [UInt8] = [0x80, 0x02, 0x7D, 0x2E]

    static func pid(_ t: LegacyTensor) -> [UInt8] {
        var b = P.mark + P.str("storage") + P.global("torch", t.storageClass) + P.str(t.key) + P.str("cpu") + P.int(Int32(t.numel))
        if let v = t.view { b += P.mark + P.str(v.key) + P.int(v.offset) + P.int(v.size) + P.tuple } else { b += P.none }
        return b + P.tuple + P.binpersid
    }

    static func rebuild(_ t: LegacyTensor, pid custom: [UInt8]? = nil) -> [UInt8] {
        P.global("torch._utils", "_rebuild_tensor_v2") + P.mark + (custom ?? pid(t)) + P.int(t.offset)
            + P.mark + t.size.flatMap(P.int) + P.tuple + P.mark + t.stride.flatMap(P.int) + P.tuple
            + P.newFalse + P.global("collections", "OrderedDict") + P.emptyTuple + P.reduce + P.tuple + P.reduce
    }

    static func objectPickle(_ tensors: [LegacyTensor]) -> [UInt8] {
        var b = P.proto() + P.emptyDict
        for t in tensors { b += P.str(t.name) + rebuild(t) + P.setitem }
        return b + P.stop
    }

    static func keys(_ ks: [String]) -> [UInt8] { P.proto() + P.emptyList + ks.flatMap { P.str($0) + P.append } + P.stop }

    static func file(_ object: [UInt8], keys ks: [String], storages: [(numel: Int64, data: [UInt8])]) -> [UInt8] {
        var b = magic + protocolVersion + sysInfo + object + keys(ks)
        for s in storages { b += P.le64(UInt64(bitPattern: s.numel)) + s.data }
        return b
    }

    static func floats(_ v: [Float]) -> [UInt8] { v.flatMap { P.le32($0.bitPattern) } }
    static let root6: (numel: Int64, data: [UInt8]) = (6, floats([0, 1, 2, 3, 4, 5]))
}

/// Central directory entries of a zip: (name, byte offset of the entry).
func centralDirectory(_ b: [UInt8]) -> [(name: String, at: Int)] {
    func le(_ at: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(b[at + $1]) << (8 * $1) } }
    var eocd = b.count - 22
    while eocd > 0 && !(b[eocd] == 0x50 && b[eocd + 1] == 0x4B && b[eocd + 2] == 5 && b[eocd + 3] == 6) { eocd -= 1 }
    var count = le(eocd + 10, 2), cd = le(eocd + 16, 4)
    if eocd >= 20 && le(eocd - 20, 4) == 0x0706_4B50 {
        let z = le(eocd - 12, 8)
        count = le(z + 32, 8)
        cd = le(z + 48, 8)
    }
    var out: [(String, Int)] = []
    var p = cd
    for _ in 0..<count {
        let n = le(p + 28, 2), e = le(p + 30, 2), c = le(p + 32, 2)
        out.append((String(decoding: b[(p + 46)..<(p + 46 + n)], as: UTF8.self), p))
        p += 46 + n + e + c
    }
    return out
}

func put32(_ b: inout [UInt8], _ at: Int, _ v: UInt32) { for i in 0..<4 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
func put16(_ b: inout [UInt8], _ at: Int, _ v: UInt16) { for i in 0..<2 { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt16(i))) } }

func replaceAll(_ b: [UInt8], _ a: String, _ c: String) -> [UInt8] {
    let x = Array(a.utf8), y = Array(c.utf8)
    precondition(x.count == y.count)
    var out = b
    var i = 0
    while i + x.count <= out.count {
        if Array(out[i..<(i + x.count)]) == x { out.replaceSubrange(i..<(i + x.count), with: y); i += x.count } else { i += 1 }
    }
    return out
}

@Suite("synthetic legacy streams")
struct LegacySyntheticTests {
    func load(_ bytes: [UInt8], key: String? = nil) throws -> (TorchCheckpoint, TempFile) {
        let f = TempFile(bytes)
        return (try TorchCheckpoint.load(path: f.path, key: key), f)
    }

    func floats(_ t: RawTensor) -> [Float] { t.floats() }

    @Test("legacy storage view metadata (view key, offset, size) and a strided tensor over the root storage")
    func viewsAndStrides() throws {
        let v = LegacyTensor(name: "v", view: ("view1", 2, 3), size: [3], stride: [1])
        let t = LegacyTensor(name: "t", offset: 1, size: [2, 2], stride: [1, 2])
        let z = LegacyTensor(name: "z", offset: 5, size: [2, 3], stride: [0, 0])
        let (ck, _f) = try load(Legacy.file(Legacy.objectPickle([v, t, z]), keys: ["root"], storages: [Legacy.root6]))
        _ = _f
        #expect(ck.container == .legacy)
        #expect(ck.tensors.map(\.name) == ["v", "t", "z"])
        #expect(floats(ck.tensors[0].tensor) == [2, 3, 4])
        #expect(floats(ck.tensors[1].tensor) == [1, 3, 2, 4])
        #expect(floats(ck.tensors[2].tensor) == [5, 5, 5, 5, 5, 5])
        #expect(ck.tensors[0].tensor.bytes.owner is MappedFile, "a contiguous view is zero-copy")
    }

    @Test("tensor reaching past its storage: offset + Σ(size−1)·stride ≥ numel")
    func outOfBounds() throws {
        let t = LegacyTensor(name: "w", offset: 3, size: [2, 2], stride: [2, 1])
        let f = TempFile(Legacy.file(Legacy.objectPickle([t]), keys: ["root"], storages: [Legacy.root6]))
        expectError(.badTensor(path: f.path, tensor: "w",
            reason: "offset 3, size [2, 2] and stride [2, 1] reach element 6, past its storage of 6 torch.float32 elements")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        let neg = LegacyTensor(name: "n", size: [2], stride: [-1])
        f.write(Legacy.file(Legacy.objectPickle([neg]), keys: ["root"], storages: [Legacy.root6]))
        expectError(.badTensor(path: f.path, tensor: "n", reason: "stride [-1] has a negative entry")) { _ = try TorchCheckpoint.load(path: f.path) }
        let huge = LegacyTensor(name: "h", size: [Int32.max, Int32.max, Int32.max], stride: [1, 1, 1])
        f.write(Legacy.file(Legacy.objectPickle([huge]), keys: ["root"], storages: [Legacy.root6]))
        expectError(.badTensor(path: f.path, tensor: "h", reason: "size [2147483647, 2147483647, 2147483647] overflows")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        let badView = LegacyTensor(name: "bv", view: ("v", 5, 3), size: [3], stride: [1])
        f.write(Legacy.file(Legacy.objectPickle([badView]), keys: ["root"], storages: [Legacy.root6]))
        expectError(.badTensor(path: f.path, tensor: "bv", reason: "its storage view [5, 8) lies outside storage 'root'")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
    }

    @Test("legacy storage table: numel mismatch, truncated data, unreferenced key, negative numel")
    func storageTable() {
        let t = LegacyTensor(name: "w", size: [6], stride: [1])
        let obj = Legacy.objectPickle([t])
        let f = TempFile([])
        f.write(Legacy.file(obj, keys: ["root"], storages: [(5, Legacy.floats([0, 1, 2, 3, 4]))]))
        expectError(.malformedLegacy(path: f.path, reason: "storage 'root' has 5 elements on disk, the pickle says 6")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        let full = Legacy.file(obj, keys: ["root"], storages: [Legacy.root6])
        f.write(Array(full.dropLast(3)))
        let at = full.count - 24 - 8
        expectError(.malformedLegacy(path: f.path, reason: "storage 'root' at byte \(at) claims 6 elements, past the end of the file (truncated?)")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        f.write(Legacy.file(obj, keys: ["root", "other"], storages: [Legacy.root6, (0, [])]))
        expectError(.malformedLegacy(path: f.path, reason: "storage 'other' is listed but no tensor refers to it")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        f.write(Legacy.file(obj, keys: ["root"], storages: [(-1, [])]))
        expectError(.malformedLegacy(path: f.path, reason: "storage 'root' at byte \(at) claims -1 elements, past the end of the file (truncated?)")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        f.write(Array(full.prefix(Legacy.magic.count + Legacy.protocolVersion.count + Legacy.sysInfo.count + obj.count)))
        expectError(.malformedPickle(path: f.path, stream: "the legacy storage-key pickle", offset: full.count - 24 - 8 - Legacy.keys(["root"]).count,
                                     reason: "truncated: the pickle ends without a STOP opcode")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        var wrongProto = full
        wrongProto[Legacy.magic.count + 3] = 0xEA
        f.write(wrongProto)
        expectError(.malformedLegacy(path: f.path, reason: "protocol version is the int 1002, expected 1001")) { _ = try TorchCheckpoint.load(path: f.path) }
    }

    @Test("persistent ids: not a tuple, not 'storage', a pickled module, an unknown storage class")
    func persistentIDs() {
        let f = TempFile([])
        let objStart = Legacy.magic.count + Legacy.protocolVersion.count + Legacy.sysInfo.count
        let t = LegacyTensor(name: "w", size: [6], stride: [1])
        let noneObj = P.proto() + P.emptyDict + P.str("w") + Legacy.rebuild(t, pid: P.none + P.binpersid) + P.setitem + P.stop
        let pidAt = objStart + 2 + 1 + 6 + 33 + 1 + 1  // proto, {}, 'w', GLOBAL, MARK, NONE
        f.write(Legacy.file(noneObj, keys: [], storages: []))
        expectError(.malformedPickle(path: f.path, stream: "the legacy object pickle", offset: pidAt,
                                     reason: "persistent id is None, not a ('storage', ...) tuple")) { _ = try TorchCheckpoint.load(path: f.path) }
        let moduleObj = P.proto() + P.mark + P.str("module") + P.none + P.tuple + P.binpersid + P.stop
        f.write(Legacy.file(moduleObj, keys: [], storages: []))
        expectError(.wholeModel(path: f.path, stream: "the legacy object pickle", offset: objStart + 2 + 1 + 11 + 1 + 1,
                                className: "a module class")) { _ = try TorchCheckpoint.load(path: f.path) }
        var bad = t
        bad.storageClass = "EvilStorage"
        f.write(Legacy.file(Legacy.objectPickle([bad]), keys: ["root"], storages: [Legacy.root6]))
        // torch.EvilStorage is no storage class torch has: a placeholder class, which a persistent id cannot name.
        let persidAt = objStart + Legacy.objectPickle([bad]).firstIndex(of: 0x51)!
        expectError(.malformedPickle(path: f.path, stream: "the legacy object pickle", offset: persidAt,
                                     reason: "storage persistent id names the class torch.EvilStorage, not a torch storage class")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
    }

    @Test("names: the one plausible state_dict chosen, tensors beside it noted; nested dicts flattened under --key; duplicates refused")
    func names() throws {
        let t = LegacyTensor(name: "x", size: [2], stride: [1])
        let nested = P.proto() + P.emptyDict
            + P.str("top") + Legacy.rebuild(t) + P.setitem
            + P.str("enc") + P.emptyDict + P.str("w") + Legacy.rebuild(t) + P.setitem + P.setitem
            + P.str("lr") + P.int(3) + P.setitem + P.stop
        let (ck, _f) = try load(Legacy.file(nested, keys: ["root"], storages: [Legacy.root6]))
        _ = _f
        #expect(ck.tensors.map(\.name) == ["w"])
        #expect(ck.notes == ["weights from entry 'enc'", "skipped entry 'top' (tensors beside the weights)",
                             "skipped entry 'lr' (not tensors)"])
        // --key on a dict of dicts takes everything under it, names joined with dots.
        let deep = P.proto() + P.emptyDict
            + P.str("m") + P.emptyDict
            + P.str("top") + Legacy.rebuild(t) + P.setitem
            + P.str("enc") + P.emptyDict + P.str("w") + Legacy.rebuild(t) + P.setitem + P.setitem
            + P.str("lr") + P.int(3) + P.setitem + P.setitem + P.stop
        let (ck3, _g) = try load(Legacy.file(deep, keys: ["root"], storages: [Legacy.root6]), key: "m")
        _ = _g
        #expect(ck3.tensors.map(\.name) == ["top", "enc.w"])
        #expect(ck3.notes == ["weights from entry 'm'", "skipped entry 'm.lr' (not a tensor)"])
        let dup = P.proto() + P.emptyDict + P.str("m") + P.emptyDict
            + P.str("enc.w") + Legacy.rebuild(t) + P.setitem
            + P.str("enc") + P.emptyDict + P.str("w") + Legacy.rebuild(t) + P.setitem + P.setitem + P.setitem + P.stop
        let f = TempFile(Legacy.file(dup, keys: ["root"], storages: [Legacy.root6]))
        expectError(.duplicateTensorName(path: f.path, name: "enc.w")) { _ = try TorchCheckpoint.load(path: f.path, key: "m") }
        let extra = P.proto() + P.emptyDict + P.str("w") + Legacy.rebuild(t) + P.setitem + P.str("_extra_state") + P.none + P.setitem + P.stop
        f.write(Legacy.file(extra, keys: ["root"], storages: [Legacy.root6]))
        let ck2 = try TorchCheckpoint.load(path: f.path)
        #expect(ck2.notes == ["skipped entry '_extra_state' (not a tensor)"])
    }

    @Test("a tensor subclass vfw does not build is refused only when the weights use it")
    func foreignTensorSubclass() throws {
        let t = LegacyTensor(name: "x", size: [2], stride: [1])
        func subclassed() -> [UInt8] {
            P.global("torch._tensor", "_rebuild_from_type_v2") + P.mark + P.global("torch._utils", "_rebuild_tensor_v2")
                + P.global("mylib", "MaskedTensor") + Array(Legacy.rebuild(t).dropFirst(P.global("torch._utils", "_rebuild_tensor_v2").count).dropLast()) + P.emptyDict + P.tuple + P.reduce
        }
        // _rebuild_from_type_v2(_rebuild_tensor_v2, MaskedTensor, (args), {}): Legacy.rebuild's argument tuple reused.
        let used = P.proto() + P.emptyDict + P.str("w") + subclassed() + P.setitem + P.stop
        let f = TempFile(Legacy.file(used, keys: ["root"], storages: [Legacy.root6]))
        expectError(.unsupportedTensor(path: f.path, tensor: "w", reason: "is a tensor of class mylib.MaskedTensor, which vfw does not build")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        let unused = P.proto() + P.emptyDict + P.str("sd") + P.emptyDict + P.str("w") + Legacy.rebuild(t) + P.setitem + P.setitem
            + P.str("extra") + subclassed() + P.setitem + P.stop
        f.write(Legacy.file(unused, keys: ["root"], storages: [Legacy.root6]))
        let ck = try TorchCheckpoint.load(path: f.path)
        #expect(ck.tensors.map(\.name) == ["w"])
        #expect(ck.notes.contains("skipped entry 'extra' (tensors beside the weights)"))
    }
}

@Suite("patched zip archives")
struct ZipPatchTests {
    let original = Fixtures.bytes("dtypes.pt")

    func entry(_ name: String, in b: [UInt8]) throws -> Int {
        try #require(centralDirectory(b).first { $0.name == name }?.at, "no entry \(name)")
    }

    func expectZipError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation, _ make: (String) -> TorchArchiveError) {
        let f = TempFile(bytes)
        expectError(make(f.path), sourceLocation: sourceLocation) { _ = try TorchCheckpoint.load(path: f.path) }
    }

    @Test("a local header offset outside the archive data")
    func localOffsetOutside() throws {
        var b = original
        put32(&b, try entry("dtypes/data/0", in: b) + 42, 0x7FFF_FFFF)
        expectZipError(b) { .malformedZip(path: $0, reason: "entry 'dtypes/data/0' has its local header at byte 2147483647, outside the archive data") }
    }

    @Test("a record whose size runs into the central directory")
    func sizeIntoCentralDirectory() throws {
        var b = original
        let e = try entry("dtypes/data/13", in: b)
        put32(&b, e + 20, 0x00FF_FFFF)
        put32(&b, e + 24, 0x00FF_FFFF)
        let f = TempFile(b)
        do {
            _ = try TorchCheckpoint.load(path: f.path)
            Issue.record("loaded")
        } catch let err as TorchArchiveError {
            guard case .malformedZip(_, let r) = err else { Issue.record("\(err)"); return }
            #expect(r.hasPrefix("entry 'dtypes/data/13' (16777215 bytes at byte ") && r.hasSuffix("overlaps the central directory or runs past the archive"))
        }
    }

    @Test("two records that overlap")
    func overlap() throws {
        var b = original
        let e0 = try entry("dtypes/data/0", in: b)
        let next = centralDirectory(b).map { $0.at }.map { at in (0..<4).reduce(0) { $0 | Int(b[at + 42 + $1]) << (8 * $1) } }.sorted()
        let lh0 = (0..<4).reduce(0) { $0 | Int(b[e0 + 42 + $1]) << (8 * $1) }
        let following = try #require(next.first { $0 > lh0 })
        let data0 = lh0 + 30 + Int(b[lh0 + 26]) + Int(b[lh0 + 27]) << 8 + Int(b[lh0 + 28]) + Int(b[lh0 + 29]) << 8
        put32(&b, e0 + 20, UInt32(following - data0 + 8))
        put32(&b, e0 + 24, UInt32(following - data0 + 8))
        let names = centralDirectory(b)
        let second = try #require(names.first { at in (0..<4).reduce(0) { $0 | Int(b[at.at + 42 + $1]) << (8 * $1) } == following }?.name)
        expectZipError(b) { .malformedZip(path: $0, reason: "entries 'dtypes/data/0' and '\(second)' overlap") }
    }

    @Test("no end-of-central-directory record; a central directory outside the file")
    func endRecord() throws {
        expectZipError(Array(original.dropLast(22))) {
            .malformedZip(path: $0, reason: "no end-of-central-directory record (truncated, or not a zip file)")
        }
        var b = original
        var eocd = b.count - 22
        while !(b[eocd] == 0x50 && b[eocd + 1] == 0x4B && b[eocd + 2] == 5 && b[eocd + 3] == 6) { eocd -= 1 }
        put32(&b, eocd - 20, 0)  // hide the ZIP64 locator: the classic end record is used
        put32(&b, eocd + 16, UInt32(b.count))
        expectZipError(b) { p in
            .malformedZip(path: p, reason: "the central directory (\((0..<4).reduce(0) { $0 | Int(b[eocd + 12 + $1]) << (8 * $1) }) bytes at byte \(b.count)) is outside the archive (truncated?)")
        }
    }

    @Test("data.pkl missing, a storage record missing, a storage record too short")
    func missingRecords() throws {
        expectZipError(replaceAll(original, "dtypes/data.pkl", "dtypes/data.pkx")) { .missingRecord(path: $0, record: "dtypes/data.pkl") }
        let missing9 = replaceAll(original, "dtypes/data/9", "dtypes/data/X")
        let f = TempFile(missing9)
        do {
            _ = try TorchCheckpoint.load(path: f.path)
            Issue.record("loaded without storage 9")
        } catch let e as TorchArchiveError {
            #expect(e == .missingRecord(path: f.path, record: "dtypes/data/9"))
        }
        var b = original
        let e0 = try entry("dtypes/data/0", in: b)
        put32(&b, e0 + 20, 20)
        put32(&b, e0 + 24, 20)
        expectZipError(b) { .badTensor(path: $0, tensor: "conv.weight", reason: "its storage record 'dtypes/data/0' has 20 bytes, the pickle says 6 × 4 = 24") }
    }

    @Test("byteorder record that is neither little nor big; unknown compression; encryption; code/ means TorchScript")
    func recordChecks() throws {
        expectZipError(replaceAll(original, "little", "litt1e")) {
            .badRecord(path: $0, record: "dtypes/byteorder", reason: "byte order is 'litt1e', not 'little' or 'big'")
        }
        var b = original
        put16(&b, try entry("dtypes/data/0", in: b) + 10, 12)
        expectZipError(b) { .badRecord(path: $0, record: "dtypes/data/0", reason: "compression method 12 is not supported (only stored and DEFLATE)") }
        b = original
        put16(&b, try entry("dtypes/data.pkl", in: b) + 8, 0x0809)
        expectZipError(b) { .badRecord(path: $0, record: "dtypes/data.pkl", reason: "it is encrypted") }
        expectZipError(replaceAll(original, "dtypes/byteorder", "dtypes/code/x.py")) { .torchScript(path: $0) }
    }

    @Test("a DEFLATE record claiming more than DEFLATE can produce; corrupt DEFLATE data")
    func deflateChecks() throws {
        var b = Fixtures.bytes("deflate.pt")
        let e = try entry("dtypes/data.pkl", in: b)
        put32(&b, e + 24, 0x7FFF_FFFF)
        let comp = (0..<4).reduce(0) { $0 | Int(b[e + 20 + $1]) << (8 * $1) }
        expectZipError(b) { .badRecord(path: $0, record: "dtypes/data.pkl", reason: "claims 2147483647 bytes from \(comp) compressed bytes, more than DEFLATE can produce") }
        b = Fixtures.bytes("deflate.pt")
        let e2 = try entry("dtypes/data.pkl", in: b)
        put32(&b, e2 + 24, 10)
        expectZipError(b) { .badRecord(path: $0, record: "dtypes/data.pkl", reason: "inflates to more than the 10 bytes the directory says") }
    }
}
