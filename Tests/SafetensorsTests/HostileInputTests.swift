// Hostile-input rules of the safetensors reader and the sharded index: in-memory entry points (used by the fuzz
// targets), tensor-count limits per file and across shards, the index's size limit.

import Foundation
import Testing
import TensorCore
@testable import Safetensors

private func fixture(_ relative: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/\(relative)").path
}

@Suite("hostile safetensors input")
struct SafetensorsHostileInputTests {
    @Test("init(bytes:) reads what init(path:) reads")
    func bytesEntryPoint() throws {
        let p = fixture("safetensors/all_dtypes.safetensors")
        let b = [UInt8](FileManager.default.contents(atPath: p)!)
        let a = try SafetensorsFile(path: p)
        let m = try b.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "mem.safetensors") }
        #expect(a.entries == m.entries && a.metadata == m.metadata)
        for n in a.tensorNames { #expect(Array(try a.tensor(n).bytes.buffer) == Array(try m.tensor(n).bytes.buffer)) }
    }

    @Test("tensor-count limit per file, named with how to raise it")
    func tensorLimit() throws {
        let b = [UInt8](FileManager.default.contents(atPath: fixture("safetensors/all_dtypes.safetensors"))!)
        let n = try b.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "x") }.entries.count
        #expect(throws: SafetensorsError.tooManyTensors(path: "x", count: n, limit: n - 1)) {
            try b.withUnsafeBytes { try SafetensorsFile(bytes: $0, name: "x", limits: SafetensorsLimits(maxTensors: n - 1)) }
        }
        #expect(SafetensorsError.tooManyTensors(path: "x", count: 5, limit: 4).description
            == "x: lists 5 tensors, more than the limit of 4 (raise it with VFW_LIMITS=tensors=N)")
        #expect(SafetensorsError.headerTooLarge(path: "x", length: 200, limit: 100).description
            == "x: header length 200 exceeds the 100-byte limit set by VFW_LIMITS=header")
    }

    @Test("sharded index from memory: same tensors; weight_map and shard totals bounded; index size bounded")
    func shardedLimits() throws {
        let index = fixture("safetensors/sharded/model.safetensors.index.json")
        let data = FileManager.default.contents(atPath: index)!
        let a = try ShardedSafetensors(indexPath: index)
        let m = try ShardedSafetensors(indexPath: index, data: data)
        #expect(a.tensorNames == m.tensorNames)
        let count = m.tensorNames.count
        #expect(throws: SafetensorsError.tooManyTensors(path: index, count: count, limit: count - 1)) {
            try ShardedSafetensors(indexPath: index, data: data, limits: SafetensorsLimits(maxTensors: count - 1))
        }
        do {
            _ = try ShardedSafetensors(indexPath: index, data: data, limits: SafetensorsLimits(maxHeaderLength: 10))
            Issue.record("an index over the header limit was read")
        } catch let e as SafetensorsError {
            #expect(e.description.hasPrefix(index + ": invalid sharded index: it is \(data.count) bytes, more than the 10-byte limit"), "\(e)")
        }
        let empty = Data(#"{"weight_map":{"a":""}}"#.utf8)
        #expect(throws: SafetensorsError.self) { try ShardedSafetensors(indexPath: index, data: empty) }
    }

    /// Inputs the fuzz targets crashed on (Tests/Fixtures/fuzz/<target>/), run the way the target runs them.
    static func regressions(_ target: String) -> [String] {
        let dir = fixture("fuzz/\(target)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted().map { dir + "/" + $0 }
    }

    @Test("fuzz regressions, sharded index: refused with one line naming the index (newline in a shard name)",
          arguments: regressions("sharded"))
    func shardedRegression(_ file: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        let index = fixture("safetensors/sharded/model.safetensors.index.json")
        do {
            _ = try ShardedSafetensors(indexPath: index, data: data)
        } catch {
            let text = String(describing: error)
            #expect(text.hasPrefix(index + ": ") && !text.contains("\n"), "\(text)")
        }
    }

    @Test("messages escape what the file put in them: newlines, terminal escapes, megabyte names")
    func messagesAreOneLine() {
        let e = SafetensorsError.duplicateKey(path: "p", key: "a\nb\u{1B}[31m" + String(repeating: "x", count: 5000))
        #expect(e.description.hasPrefix("p: header lists 'a\\nb\\u{1b}[31mxxx"))
        #expect(!e.description.contains("\n") && e.description.count < 2100 && e.description.hasSuffix("…"))
    }
}
