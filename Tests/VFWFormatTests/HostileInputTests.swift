// Hostile-input rules of the .vfw reader: the in-memory entry point the fuzz target uses, the header and
// tensor-count limits (Fuzz/, Tests/Fixtures/malicious for the end-to-end side; the VFW_LIMITS parser itself is
// tested in Tests/TensorCoreTests/LimitsVariableTests.swift).

import Foundation
import Testing
import TensorCore
@testable import VFWFormat

private func golden() -> (path: String, bytes: [UInt8]) {
    let p = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vfw/golden.vfw").path
    return (p, [UInt8](FileManager.default.contents(atPath: p) ?? Data()))
}

@Suite("hostile .vfw input")
struct VFWHostileInputTests {
    @Test("init(bytes:) reads what init(path:) reads, and errors name the given name")
    func bytesEntryPoint() throws {
        let (p, b) = golden()
        let fromPath = try VFWFile(path: p)
        let fromBytes = try b.withUnsafeBytes { try VFWFile(bytes: $0, name: "mem.vfw") }
        #expect(fromBytes.header == fromPath.header)
        #expect(fromBytes.tensorNames.map { Array(fromBytes.tensor($0)!.bytes.buffer) }
            == fromPath.tensorNames.map { Array(fromPath.tensor($0)!.bytes.buffer) })
        try fromBytes.verifyChecksums()
        #expect(throws: VFWError.tooShort(path: "mem.vfw", size: 3)) { try [UInt8](b.prefix(3)).withUnsafeBytes { try VFWFile(bytes: $0, name: "mem.vfw") } }
    }

    @Test("the tensor-count and header limits refuse before validation, naming the limit and how to raise it")
    func limits() throws {
        let (_, b) = golden()
        do {
            _ = try b.withUnsafeBytes { try VFWFile(bytes: $0, name: "g.vfw", limits: VFWLimits(maxTensors: 3)) }
            Issue.record("opened with 4 tensors under a limit of 3")
        } catch let e as VFWError {
            #expect(e == .tooManyTensors(path: "g.vfw", count: 4, limit: 3))
            #expect(e.description == "g.vfw: header lists 4 tensors, more than the limit of 3 (raise it with VFW_LIMITS=tensors=N)")
        }
        #expect(throws: VFWError.self) { try b.withUnsafeBytes { try VFWFile(bytes: $0, name: "g.vfw", limits: VFWLimits(maxHeaderLength: 64)) } }
        #expect(VFWError.headerTooLarge(path: "g", headerLength: 1 << 40, limit: 100_000_000).description
            == "g: header length 1099511627776 exceeds the 100 MB limit (raise it with VFW_LIMITS=header=N)")
        _ = try b.withUnsafeBytes { try VFWFile(bytes: $0, name: "g.vfw", limits: VFWLimits(maxTensors: 4)) }
    }

    @Test("messages escape what the file put in them: newlines, terminal escapes, megabyte names")
    func messagesAreOneLine() {
        let e = VFWError.duplicateTensor(path: "p", name: "a\nb\u{1B}[31m" + String(repeating: "x", count: 5000))
        #expect(e.description.hasPrefix("p: tensor 'a\\nb\\u{1b}[31mxxx"))
        #expect(!e.description.contains("\n") && e.description.count < 2100 && e.description.hasSuffix("…"))
    }
}
