// The pickle machine on hand-written pickles: opcodes, limits, refusals, structural damage.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

/// Runs `bytes` through the machine as "data.pkl" of "/p.pt", with a persistent_load that refuses everything.
func runPickle(_ bytes: [UInt8], limits: PickleLimits = .default) throws -> (PV, PickleHeap) {
    let heap = PickleHeap()
    let ctx = PickleContext(path: "/p.pt", stream: "data.pkl", baseOffset: 0)
    let v = try bytes.withUnsafeBytes { buf -> PV in
        let m = PickleMachine(data: buf, context: ctx, limits: limits, heap: heap) { _, _, off in
            throw TorchArchiveError.malformedPickle(path: "/p.pt", stream: "data.pkl", offset: off, reason: "no storages here")
        }
        return try m.run().value
    }
    return (v, heap)
}

/// Small builders for pickle bytes.
enum P {
    static func proto(_ v: UInt8 = 2) -> [UInt8] { [0x80, v] }
    static func global(_ module: String, _ name: String) -> [UInt8] { [0x63] + Array("\(module)\n\(name)\n".utf8) }
    static func str(_ s: String) -> [UInt8] {
        let u = Array(s.utf8)
        return [0x58] + le32(UInt32(u.count)) + u
    }
    static func int(_ v: Int32) -> [UInt8] { [0x4A] + le32(UInt32(bitPattern: v)) }
    static func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    static func le64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    static func long1(_ bytes: [UInt8]) -> [UInt8] { [0x8A, UInt8(bytes.count)] + bytes }
    static let mark: [UInt8] = [0x28], tuple: [UInt8] = [0x74], emptyTuple: [UInt8] = [0x29], emptyDict: [UInt8] = [0x7D]
    static let emptyList: [UInt8] = [0x5D], reduce: [UInt8] = [0x52], stop: [UInt8] = [0x2E], none: [UInt8] = [0x4E]
    static let setitem: [UInt8] = [0x73], append: [UInt8] = [0x61], newobj: [UInt8] = [0x81], build: [UInt8] = [0x62]
    static let newFalse: [UInt8] = [0x89], binpersid: [UInt8] = [0x51]
}

@Suite("pickle machine")
struct PickleMachineTests {
    func expectPickleError(_ expected: TorchArchiveError, _ bytes: [UInt8], limits: PickleLimits = .default,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        expectError(expected, sourceLocation: sourceLocation) { _ = try runPickle(bytes, limits: limits) }
    }

    @Test("ints: BININT1/2/4, LONG1 negative, 8-byte and sign-extended 9-byte, too-big LONG1, INT text, bools")
    func ints() throws {
        func value(_ b: [UInt8]) throws -> PV { try runPickle(P.proto() + b + P.stop).0 }
        guard case .int(200) = try value([0x4B, 200]) else { Issue.record("BININT1"); return }
        guard case .int(0xBEEF) = try value([0x4D, 0xEF, 0xBE]) else { Issue.record("BININT2"); return }
        guard case .int(-2) = try value(P.int(-2)) else { Issue.record("BININT"); return }
        guard case .int(-1) = try value(P.long1([0xFF])) else { Issue.record("LONG1 -1"); return }
        guard case .int(Int.max) = try value(P.long1([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])) else { Issue.record("LONG1 max"); return }
        guard case .int(-5) = try value(P.long1([0xFB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])) else { Issue.record("LONG1 9 bytes"); return }
        guard case .int(1 << 40) = try value(P.long1([0, 0, 0, 0, 0, 1])) else { Issue.record("LONG1 2^40"); return }
        guard case .bigInt = try value(P.long1([0, 0, 0, 0, 0, 0, 0, 0x80, 0])) else { Issue.record("LONG1 2^63"); return }
        guard case .bigInt = try value(P.long1(legacyMagicLong.suffix(10).map { $0 })) else { Issue.record("magic"); return }
        guard case .int(0) = try value([0x8A, 0]) else { Issue.record("LONG1 empty"); return }
        guard case .int(-7) = try value([0x49] + Array("-7\n".utf8)) else { Issue.record("INT"); return }
        guard case .bool(true) = try value([0x49] + Array("01\n".utf8)) else { Issue.record("INT 01"); return }
        guard case .int(12) = try value([0x4C] + Array("12L\n".utf8)) else { Issue.record("LONG text"); return }
        guard case .bool(false) = try value([0x89]) else { Issue.record("NEWFALSE"); return }
    }

    @Test("floats, strings and bytes: BINFLOAT big-endian, SHORT_BINUNICODE, BINUNICODE8, SHORT_BINSTRING, BINBYTES, _codecs.encode")
    func scalars() throws {
        func value(_ b: [UInt8]) throws -> PV { try runPickle(P.proto(4) + b + P.stop).0 }
        guard case .float(1.5) = try value([0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0]) else { Issue.record("BINFLOAT"); return }
        guard case .string("hé") = try value([0x8C, 3] + Array("hé".utf8)) else { Issue.record("SHORT_BINUNICODE"); return }
        guard case .string("ab") = try value([0x8D] + P.le64(2) + Array("ab".utf8)) else { Issue.record("BINUNICODE8"); return }
        guard case .string("py2") = try value([0x55, 3] + Array("py2".utf8)) else { Issue.record("SHORT_BINSTRING"); return }
        guard case .bytes([1, 2]) = try value([0x43, 2, 1, 2]) else { Issue.record("SHORT_BINBYTES"); return }
        guard case .bytes([9]) = try value([0x96] + P.le64(1) + [9]) else { Issue.record("BYTEARRAY8"); return }
        let enc = P.global("_codecs", "encode") + P.mark + P.str("\u{00FF}A") + P.str("latin1") + P.tuple + P.reduce
        guard case .bytes([0xFF, 0x41]) = try value(enc) else { Issue.record("_codecs.encode"); return }
    }

    @Test("containers: dict with SETITEMS, memo BINPUT/BINGET/MEMOIZE/LONG_BINGET, OrderedDict REDUCE, FROZENSET, DICT")
    func containers() throws {
        let b = P.proto() + P.global("collections", "OrderedDict") + [0x71, 0] + P.emptyTuple + P.reduce
            + P.mark + P.str("a") + [0x94] + [0x4B, 1] + [0x6A] + P.le32(1) + [0x4B, 2] + [0x75]
            + P.mark + P.str("k") + [0x4B, 3] + [0x64] + [0x62] + P.stop
        let (v, heap) = try runPickle(b)
        // "a" is memoized by MEMOIZE (slot 1) and read back by LONG_BINGET: the second SETITEMS pair overwrites the first
        // in place, as in Python; the DICT built after it is BUILD state for the OrderedDict, which is ignored.
        let d = try #require(heap.dict(v))
        #expect(d.keys.count == 1)
        guard d.keys.count == 1, case .string("a") = d.keys[0], case .int(2) = d.values[0] else {
            Issue.record("dict content \(d.keys) \(d.values)"); return
        }
    }

    @Test("refused globals: os.system, builtins.eval via STACK_GLOBAL, __builtin__.exec, subprocess.Popen, EXT1, torch.load")
    func refusedGlobals() {
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "os.system"),
                          P.proto() + P.global("os", "system") + P.mark + P.str("touch /tmp/x") + P.tuple + P.reduce + P.stop)
        let sg = P.proto(4) + [0x8C, 8] + Array("builtins".utf8) + [0x8C, 4] + Array("eval".utf8) + [0x93] + P.stop
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 18, global: "builtins.eval"), sg)
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "builtins.exec"),
                          P.proto() + P.global("__builtin__", "exec") + P.stop)
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "subprocess.Popen"),
                          P.proto() + P.global("subprocess", "Popen") + P.emptyTuple + P.newobj + P.stop)
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "copyreg extension code 7"),
                          P.proto() + [0x82, 7] + P.stop)
        expectPickleError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "torch.load"),
                          P.proto() + P.global("torch", "load") + P.stop)
    }

    @Test("globals vfw does not build: placeholders whether unused, called or instantiated; never an error by themselves")
    func foreignGlobals() throws {
        // Unused (popped): nothing to refuse.
        let (v, heap) = try runPickle(P.proto() + P.emptyDict + P.global("argparse", "Namespace") + [0x30] + P.stop)
        #expect(heap.dict(v)?.keys.isEmpty == true)
        #expect(heap.foreignClasses.map(\.name) == ["argparse.Namespace"])
        // Called through REDUCE, instantiated by NEWOBJ, INST, copyreg._reconstructor: objects of the class.
        for b in [P.proto() + P.global("numpy.core.multiarray", "_reconstruct") + P.emptyTuple + P.reduce + P.stop,
                  P.proto() + P.global("models.yolo", "Model") + P.emptyTuple + P.newobj + P.stop,
                  P.proto() + P.mark + [0x69] + Array("__main__\nNet\n".utf8) + P.stop,
                  P.proto() + P.global("torch.nn.modules.linear", "Linear") + P.emptyTuple + P.newobj + P.stop] {
            let (o, h) = try runPickle(b)
            guard case .object? = h.node(o) else { Issue.record("\(h.describe(o))"); continue }
            #expect(h.foreign(o) != nil)
        }
        // The same class named twice is one placeholder class (memory is bounded by names, not GLOBALs).
        let twice = P.proto() + P.global("a", "B") + P.global("a", "B") + [0x86] + P.stop
        let (_, h2) = try runPickle(twice)
        #expect(h2.foreignClasses.count == 1)
    }

    @Test("limits: memo, stack depth, MARK depth, string length, container items, opcodes, total bytes")
    func limits() {
        var memo = P.proto() + P.none
        for i in 0..<20 { memo += [0x71, UInt8(i)] }
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 23, limit: "maxMemo", maximum: 10),
                          memo + P.stop, limits: PickleLimits(maxMemo: 10))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 7, limit: "maxStackDepth", maximum: 5),
                          P.proto() + [UInt8](repeating: 0x4E, count: 20) + P.stop, limits: PickleLimits(maxStackDepth: 5))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 7, limit: "maxStackDepth", maximum: 5),
                          P.proto() + [UInt8](repeating: 0x28, count: 20) + P.stop, limits: PickleLimits(maxStackDepth: 5))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 2, limit: "maxStringLength", maximum: 4),
                          P.proto() + P.str("too long") + P.stop, limits: PickleLimits(maxStringLength: 4))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 2, limit: "maxStringLength", maximum: 100),
                          P.proto() + [0x8E] + P.le64(UInt64.max) + P.stop, limits: PickleLimits(maxStringLength: 100))
        var items = P.proto() + P.emptyList
        for _ in 0..<10 { items += P.none + P.append }
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 12, limit: "maxContainerItems", maximum: 5),
                          items + P.stop, limits: PickleLimits(maxContainerItems: 5))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 4, limit: "maxOpcodes", maximum: 3),
                          P.proto() + P.none + [0x30, 0x4E, 0x30, 0x4E] + P.stop, limits: PickleLimits(maxOpcodes: 3))
        expectPickleError(.limitExceeded(path: "/p.pt", stream: "data.pkl", offset: 9, limit: "maxTotalBytes", maximum: 8),
                          P.proto() + [UInt8](repeating: 0x4E, count: 8).flatMap { [$0, 0x30] } + P.stop,
                          limits: PickleLimits(maxTotalBytes: 8))
    }

    @Test("a million nested tuples and a self-containing list neither recurse nor crash")
    func deepAndCyclic() throws {
        let deep = P.proto() + P.emptyTuple + [UInt8](repeating: 0x85, count: 1_000_000) + P.stop
        let (v, heap) = try runPickle(deep)
        #expect(heap.nodes.count == 1_000_001)
        #expect(heap.describe(v) == "a tuple (1 items)")
        let cyclic = P.proto() + P.emptyDict + [0x71, 0] + P.str("self") + [0x68, 0] + P.setitem + P.stop
        let (c, h2) = try runPickle(cyclic)
        var s = StateDictSelector(heap: h2, path: "/p.pt")
        expectError(.noTensors(path: "/p.pt", candidates: ["self"])) { _ = try s.select(c, key: nil) }
        expectError(.keyHoldsNoTensors(path: "/p.pt", key: "self.self.self", holds: "a dict (1 entries)")) {
            _ = try s.select(c, key: "self.self.self")
        }
    }

    @Test("structural damage: no STOP, unknown opcode, stack underflow, unset memo, odd SETITEMS, bad protocol, short operand")
    func damage() {
        func bad(_ offset: Int, _ reason: String) -> TorchArchiveError {
            .malformedPickle(path: "/p.pt", stream: "data.pkl", offset: offset, reason: reason)
        }
        expectPickleError(bad(3, "truncated: the pickle ends without a STOP opcode"), P.proto() + P.none)
        expectPickleError(bad(2, "unknown opcode 0xff"), P.proto() + [0xFF])
        expectPickleError(bad(2, "stack underflow: an opcode needs a value on an empty stack"), P.proto() + P.stop)
        expectPickleError(bad(3, "stack underflow: an opcode needs a value but finds a MARK"), P.proto() + P.mark + P.reduce)
        expectPickleError(bad(2, "memo slot 4 is read before it is written"), P.proto() + [0x68, 4] + P.stop)
        expectPickleError(bad(5, "SETITEMS with an odd number of items"), P.proto() + P.emptyDict + P.mark + P.none + [0x75] + P.stop)
        expectPickleError(bad(0, "unsupported pickle protocol 9"), [0x80, 9] + P.stop)
        expectPickleError(bad(2, "truncated: needs 5 more bytes, the pickle has 2"), P.proto() + [0x58, 5, 0, 0, 0, 0x41, 0x41])
        expectPickleError(bad(2, "truncated: needs 2 more bytes, the pickle has 1"), P.proto() + [0x4D, 1])
        expectPickleError(bad(2, "frame of 100 bytes runs past the end of the pickle (truncated?)"), P.proto(4) + [0x95] + P.le64(100) + P.stop)
        expectPickleError(bad(4, "APPEND on a dict (0 entries), not a list"), P.proto() + P.emptyDict + P.none + P.append + P.stop)
        expectPickleError(bad(36, "torch._utils._rebuild_tensor_v2 expects (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]), got 0 argument(s)"),
                          P.proto() + P.global("torch._utils", "_rebuild_tensor_v2") + P.emptyTuple + P.reduce + P.stop)
    }
}
