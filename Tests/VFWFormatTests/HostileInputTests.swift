// Hostile-input rules of the .vfw reader: the in-memory entry point the fuzz target uses, the header and
// tensor-count limits, and the VFW_LIMITS parser (Fuzz/, Tests/Fixtures/malicious for the end-to-end side).

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

    @Test("VFW_LIMITS: keys, suffixes and every malformed form", arguments: [
        ("", [String: Int](), nil as String?),
        ("header=1Gi, tensors=2_000", ["header": 1 << 30, "tensors": 2000], nil),
        ("copy=3G,memo=5M,items=7K,string=1Ti,pickle=2Mi", ["copy": 3_000_000_000, "memo": 5_000_000, "items": 7000,
                                                           "string": 1 << 40, "pickle": 2 << 20], nil),
        ("header", nil, "VFW_LIMITS: 'header' is not key=value"),
        ("heder=5", nil, "VFW_LIMITS: unknown limit 'heder'"),
        ("header=-1", nil, "VFW_LIMITS: '-1' for header is not a non-negative number"),
        ("header=5X", nil, "VFW_LIMITS: '5X' for header is not"),
        ("header=99999999999T", nil, "VFW_LIMITS: '99999999999T' for header is not"),
    ] as [(String, [String: Int]?, String?)])
    func variable(_ c: (String, [String: Int]?, String?)) {
        switch LimitsVariable.parse(c.0) {
        case .success(let v):
            #expect(c.1 == v, "\(c.0)")
        case .failure(let p):
            #expect(c.2.map { p.reason.hasPrefix($0) } == true, "\(c.0): \(p.reason)")
        }
    }

    @Test("messages escape what the file put in them: newlines, terminal escapes, megabyte names")
    func messagesAreOneLine() {
        let e = VFWError.duplicateTensor(path: "p", name: "a\nb\u{1B}[31m" + String(repeating: "x", count: 5000))
        #expect(e.description.hasPrefix("p: tensor 'a\\nb\\u{1b}[31mxxx"))
        #expect(!e.description.contains("\n") && e.description.count < 2100 && e.description.hasSuffix("…"))
    }
}
