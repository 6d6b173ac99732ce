// Hostile-input rules of the torch reader: the in-memory entry point (used by the fuzz targets), the copy budget
// (zip bombs, expanded views), the tensor-count limit, pickle names as Python 3 reads them, and the regression
// inputs the fuzzers found (Fuzz/README.md). The same files run end to end in Tests/CLITests/MaliciousTests.swift.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

private func malicious(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/malicious/\(name)").path
}

/// The error `body` throws, or nil (recorded as an issue) when it does not throw a TorchArchiveError.
private func thrown(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> TorchArchiveError? {
    do { try body() } catch let e as TorchArchiveError { checkMessageShape(e, sourceLocation: sourceLocation); return e } catch {
        Issue.record("not a TorchArchiveError: \(error)", sourceLocation: sourceLocation); return nil
    }
    Issue.record("loaded", sourceLocation: sourceLocation)
    return nil
}

@Suite("hostile torch input")
struct TorchHostileInputTests {
    @Test("load(bytes:) gives what load(path:) gives, zip and legacy; errors name the given name")
    func bytesEntryPoint() throws {
        for f in ["dtypes.pt", "legacy.pt", "deflate_shared.pt", "noncontiguous.pt"] {
            let a = try TorchCheckpoint.load(path: Fixtures.path(f))
            let b = try Fixtures.bytes(f).withUnsafeBytes { try TorchCheckpoint.load(bytes: $0, name: "mem.pt") }
            #expect(a.tensors.map(\.name) == b.tensors.map(\.name), "\(f)")
            #expect(a.tensors.map { Array($0.tensor.bytes.buffer) } == b.tensors.map { Array($0.tensor.bytes.buffer) }, "\(f)")
        }
        let e = thrown { _ = try Fixtures.bytes("malicious_system.pt").withUnsafeBytes { try TorchCheckpoint.load(bytes: $0, name: "mem.pt") } }
        #expect(e?.description.hasPrefix("mem.pt: refused global posix.system") == true)
    }

    @Test("selection stays linear: 100,000 placeholders sharing one 1,000,000-item list are scanned within one budget")
    func sharedPlaceholders() throws {
        // [list of 1M Nones] memoized, a class memoized, then {'k0': C(list), 'k1': C(list), ...}: every placeholder
        // reaches the whole list, so scanning each alone would visit 10^11 items.
        var b = P.proto() + P.emptyList + [0x71, 0]
        for _ in 0..<1000 { b += P.mark + [UInt8](repeating: 0x4E, count: 1000) + [0x65] }  // APPENDS, 1000 at a time
        b += [0x30]
        b += P.global("mymod", "C") + [0x71, 1, 0x30] + P.emptyDict
        for i in 0..<100_000 { b += P.str("k\(i)") + [0x68, 1, 0x68, 0, 0x85] + P.reduce + P.setitem }
        b += P.stop
        let (v, heap) = try runPickle(b)
        var s = StateDictSelector(heap: heap, path: "/p.pt")
        let start = Date()
        expectError(.noTensors(path: "/p.pt", candidates: (0..<100_000).map { "k\($0)" })) { _ = try s.select(v, key: nil) }
        #expect(Date().timeIntervalSince(start) < 60, "selection took \(Date().timeIntervalSince(start)) s")
    }

    @Test("DEFLATE claims: past 1032:1 refused first; a plausible data.pkl claim over the pickle limit before inflating")
    func claimedRecords() {
        for f in ["zip_bomb_claim.pt", "zip_bomb_storage.pt"] {
            let e = thrown { _ = try TorchCheckpoint.load(path: malicious(f)) }
            guard case .badRecord(_, _, let reason)? = e else { Issue.record("\(f): \(String(describing: e))"); continue }
            #expect(reason.hasSuffix("more than DEFLATE can produce"), "\(f): \(reason)")
        }
        let p = Fixtures.path("deflate.pt")
        let e = thrown { _ = try TorchCheckpoint.load(path: p, limits: PickleLimits(maxTotalBytes: 100)) }
        #expect(e == .limitExceeded(path: p, stream: "data.pkl", offset: 0, limit: "maxTotalBytes", maximum: 100))
    }

    @Test("copy budget: a 14.4 GB expanded view, three 16 MiB records under 32 MiB, 4x the file always allowed")
    func copyBudget() throws {
        let view = thrown { _ = try TorchCheckpoint.load(path: malicious("tensor_expand_bomb.pt")) }
        guard case .unsupportedTensor(_, "w", let r2)? = view else { Issue.record("\(String(describing: view))"); return }
        #expect(r2.contains("14400000000 bytes of copies") && r2.contains("VFW_LIMITS=copy=N"))
        let p = malicious("limit_copy.pt")
        let budget = thrown { _ = try TorchCheckpoint.load(path: p, limits: PickleLimits(maxCopyBytes: 32 << 20)) }
        guard case .badRecord(_, "archive/data/2", _)? = budget else { Issue.record("\(String(describing: budget))"); return }
        #expect(try TorchCheckpoint.load(path: p).tensors.count == 3, "within the default budget it loads")
        // 4x the file's size is always allowed: noncontiguous.pt gathers a few views and loads with no extra budget.
        #expect(try TorchCheckpoint.load(path: Fixtures.path("noncontiguous.pt"), limits: PickleLimits(maxCopyBytes: 0)).tensors.count > 3)
    }

    @Test("tensor-count limit: counted as the pickle builds tensors")
    func tensorLimit() throws {
        let p = malicious("limit_tensors.pt")
        let e = thrown { _ = try TorchCheckpoint.load(path: p, limits: PickleLimits(maxTensors: 10)) }
        guard case .limitExceeded(_, "data.pkl", _, "maxTensors", 10)? = e else { Issue.record("\(String(describing: e))"); return }
        #expect(e?.description.hasSuffix("(damaged or hostile file?; VFW_LIMITS=tensors=N raises it)") == true)
        #expect(try TorchCheckpoint.load(path: p, limits: PickleLimits(maxTensors: 11)).tensors.count == 11)
    }

    @Test("Python 2 module names are refused under the name Python 3 would import (commands.Popen is subprocess.Popen)")
    func py2Names() {
        expectError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "subprocess.Popen")) {
            _ = try runPickle(P.proto() + P.global("commands", "Popen") + P.stop)
        }
        expectError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: "pickle.loads")) {
            _ = try runPickle(P.proto() + P.global("cPickle", "loads") + P.stop)
        }
    }

    @Test("pickle values stay small: a container of maxContainerItems values is 24 bytes each, not 64")
    func valueSize() {
        #expect(MemoryLayout<PV>.stride <= 24)
    }

    @Test("VFW_LIMITS maps onto PickleLimits; the message of each limit names its key")
    func variable() {
        #expect(PickleLimits.fromEnvironment().limits == PickleLimits.default || ProcessInfo.processInfo.environment["VFW_LIMITS"] != nil)
        for (name, key) in PickleLimits.variableKey {
            let e = TorchArchiveError.limitExceeded(path: "p", stream: "data.pkl", offset: 1, limit: name, maximum: 2)
            #expect(e.description.hasSuffix("VFW_LIMITS=\(key)=N raises it)"), "\(e)")
        }
    }

    @Test("messages escape each value the file put in them and cut it at 300 characters")
    func messagesAreOneLine() {
        let e = TorchArchiveError.duplicateTensorName(path: "p", name: "a\nb\u{1B}[31m" + String(repeating: "x", count: 5000))
        #expect(e.description == "p: tensor name 'a\\nb\\u{1b}[31m" + String(repeating: "x", count: 292) + "…' appears more than once")
    }
}
