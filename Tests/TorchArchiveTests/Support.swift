// Fixture lookup and comparison against what torch itself loaded (Tests/Fixtures/torch/expected.json).

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

enum Fixtures {
    static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/torch").path

    static func path(_ name: String) -> String { directory + "/" + name }

    static func bytes(_ name: String) -> [UInt8] {
        guard let d = FileManager.default.contents(atPath: path(name)) else { return [] }
        return [UInt8](d)
    }

    struct Tensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let hex: String
        let values: [Any]?
    }

    struct Case {
        let id: String
        let file: String
        let key: String?
        let container: String
        let tensors: [Tensor]
        /// What tools/vfw_unwrap.py (the same rule in Python) noted: vfw must say the same, word for word.
        let notes: [String]?
    }

    /// A file the rule refuses as ambiguous, with the candidates it must name.
    struct Ambiguous: Sendable, CustomTestStringConvertible {
        let file: String
        let candidates: [String]
        var testDescription: String { file }
    }

    /// A file whose tensors would come from an object vfw does not build.
    struct Foreign: Sendable, CustomTestStringConvertible {
        let file: String
        let key: String?
        let entry: String
        let className: String
        let wholeModel: Bool
        var testDescription: String { file + (key.map { " --key " + $0 } ?? "") }
    }

    struct Refusal {
        let file: String
        let stream: String
        let global: String
        let offset: Int
    }

    static let json: [String: Any] = {
        guard let d = FileManager.default.contents(atPath: path("expected.json")),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return [:] }
        return o
    }()

    static let cases: [String: Case] = {
        var out: [String: Case] = [:]
        for c in json["cases"] as? [[String: Any]] ?? [] {
            let tensors = (c["tensors"] as? [[String: Any]] ?? []).map {
                Tensor(name: $0["name"] as? String ?? "?", dtype: $0["dtype"] as? String ?? "?",
                       shape: $0["shape"] as? [Int] ?? [-1], hex: $0["hex"] as? String ?? "?", values: $0["values"] as? [Any])
            }
            let id = c["id"] as? String ?? "?"
            out[id] = Case(id: id, file: c["file"] as? String ?? "?", key: c["key"] as? String,
                           container: c["container"] as? String ?? "?", tensors: tensors, notes: c["notes"] as? [String])
        }
        return out
    }()

    static let ambiguous: [Ambiguous] = (json["ambiguous"] as? [[String: Any]] ?? []).map {
        Ambiguous(file: $0["file"] as? String ?? "?", candidates: $0["candidates"] as? [String] ?? [])
    }

    static let foreign: [Foreign] = (json["foreign"] as? [[String: Any]] ?? []).map {
        Foreign(file: $0["file"] as? String ?? "?", key: $0["key"] as? String, entry: $0["entry"] as? String ?? "?",
                className: $0["class"] as? String ?? "?", wholeModel: $0["whole_model"] as? Bool ?? false)
    }

    static let refusals: [String: Refusal] = {
        var out: [String: Refusal] = [:]
        for r in json["refusals"] as? [[String: Any]] ?? [] {
            let f = r["file"] as? String ?? "?"
            out[f] = Refusal(file: f, stream: r["stream"] as? String ?? "?", global: r["global"] as? String ?? "?",
                             offset: r["offset"] as? Int ?? -1)
        }
        return out
    }()

    /// Every torch.save fixture in the folder (.pt, .pth, .ckpt).
    static var allFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasSuffix(".pt") || $0.hasSuffix(".pth") || $0.hasSuffix(".ckpt") }.sorted()
    }
}

func hexString(_ b: UnsafeRawBufferPointer) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    s.reserveCapacity(b.count * 2)
    for byte in b { s.append(digits[Int(byte >> 4)]); s.append(digits[Int(byte & 15)]) }
    return s
}

/// Loads the case's file with its key and checks names, dtypes, shapes, bytes and values against torch's.
@discardableResult
func checkAgainstTorch(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> TorchCheckpoint {
    let c = try #require(Fixtures.cases[id], "expected.json has no case '\(id)'", sourceLocation: sourceLocation)
    let ck = try TorchCheckpoint.load(path: Fixtures.path(c.file), key: c.key)
    #expect(ck.container.rawValue == c.container, "\(id): container", sourceLocation: sourceLocation)
    #expect(ck.tensors.map(\.name) == c.tensors.map(\.name), "\(id): tensor names and order", sourceLocation: sourceLocation)
    if let notes = c.notes {
        // The rule's notes come after the container's own (a big-endian file says so first).
        #expect(Array(ck.notes.suffix(notes.count)) == notes, "\(id): notes differ from the Python rule's", sourceLocation: sourceLocation)
        let before = ck.notes.dropLast(notes.count)
        #expect(!before.contains { $0.hasPrefix("weights from") || $0.hasPrefix("skipped") || $0.hasPrefix("dropped") },
                "\(id): vfw notes more than the Python rule: \(ck.notes)", sourceLocation: sourceLocation)
    }
    for (got, want) in zip(ck.tensors, c.tensors) {
        let t = got.tensor
        #expect(t.dtype.rawValue == want.dtype, "\(id): dtype of '\(want.name)'", sourceLocation: sourceLocation)
        #expect(t.shape == want.shape, "\(id): shape of '\(want.name)'", sourceLocation: sourceLocation)
        #expect(hexString(t.bytes.buffer) == want.hex, "\(id): bytes of '\(want.name)'", sourceLocation: sourceLocation)
        if let values = want.values, t.dtype.convertsToFloat, t.dtype.bitSize <= 32 || t.dtype == .f64,
           [DType.f32, .f16, .bf16, .f64, .f8_e4m3, .f8_e5m2].contains(t.dtype) {
            let got = t.floats()
            #expect(got.count == values.count, "\(id): value count of '\(want.name)'", sourceLocation: sourceLocation)
            for (i, (g, w)) in zip(got, values).enumerated() {
                let expected: Float
                switch w {
                case let s as String: expected = s == "nan" ? .nan : s == "inf" ? .infinity : -.infinity
                case let n as NSNumber: expected = Float(n.doubleValue)
                default: expected = .nan
                }
                let same = (g.isNaN && expected.isNaN) || (g == expected && g.sign == expected.sign)
                #expect(same, "\(id): '\(want.name)'[\(i)] is \(g), torch has \(expected)", sourceLocation: sourceLocation)
            }
        }
    }
    return ck
}

/// Runs `body`, requiring it to throw exactly `expected`, and that the message is one line starting with the path.
func expectError(_ expected: TorchArchiveError, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected \(expected), but it loaded", sourceLocation: sourceLocation)
    } catch let e as TorchArchiveError {
        #expect(e == expected, sourceLocation: sourceLocation)
        checkMessageShape(e, sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a TorchArchiveError, got \(error)", sourceLocation: sourceLocation)
    }
}

func checkMessageShape(_ e: TorchArchiveError, sourceLocation: SourceLocation = #_sourceLocation) {
    let text = e.description
    #expect(!text.contains("\n") && !text.contains("\r"), "message is not one line: \(text)", sourceLocation: sourceLocation)
    let path: String
    switch e {
    case .cannotOpen(let p, _), .notTorchFile(let p, _), .unsupportedContainer(let p, _), .malformedZip(let p, _),
         .missingRecord(let p, _), .badRecord(let p, _, _), .torchScript(let p), .malformedLegacy(let p, _),
         .malformedPickle(let p, _, _, _), .refusedGlobal(let p, _, _, _), .wholeModel(let p, _, _, _),
         .limitExceeded(let p, _, _, _, _), .unsupportedDType(let p, _, _), .unsupportedTensor(let p, _, _),
         .badTensor(let p, _, _), .notAStateDict(let p, _), .noTensors(let p, _), .ambiguous(let p, _),
         .keyNotFound(let p, _, _), .keyHoldsNoTensors(let p, _, _), .duplicateTensorName(let p, _),
         .foreignObject(let p, _, _, _, _):
        path = p
    }
    #expect(text.hasPrefix(path + ": "), "message does not start with the path: \(text)", sourceLocation: sourceLocation)
}

/// Loading must either succeed or throw a TorchArchiveError (never crash, never another error type).
func loadsOrFailsCleanly(_ path: String, limits: PickleLimits = .default, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    do {
        _ = try TorchCheckpoint.load(path: path, limits: limits)
        return true
    } catch let e as TorchArchiveError {
        checkMessageShape(e, sourceLocation: sourceLocation)
        return false
    } catch {
        Issue.record("\(path): non-TorchArchiveError \(error)", sourceLocation: sourceLocation)
        return false
    }
}

/// A scratch file that is removed when the test ends.
final class TempFile {
    let path: String
    init(_ bytes: [UInt8], name: String = "t.pt") {
        let dir = NSTemporaryDirectory() + "vfw-torcharchive-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }

    func write(_ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { Issue.record("cannot write \(path)"); return }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
    }

    /// Overwrites the bytes at `offset` in place (cheaper than rewriting the file in byte sweeps).
    func patch(_ offset: Int, _ bytes: [UInt8]) {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { Issue.record("cannot patch \(path)"); return }
        defer { close(fd) }
        _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, off_t(offset)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
}
