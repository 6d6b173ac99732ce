// Reading safetensors files (huggingface/safetensors, "Format" in its README):
//
//   u64 LE N | N bytes UTF-8 JSON header | byte buffer
//   header = {"__metadata__": {str: str}?, "<name>": {"dtype": "F16", "shape": [..], "data_offsets": [begin, end]}, ...}
//
// Validation follows safetensors/src/tensor.rs `Metadata::validate` (read at 24b0b285): header <= 100 MB,
// 8 + N within the file, entries sorted by offset must be contiguous from 0 with no overlap, each span equal
// to shape x dtype bits / 8, and the last end must be the end of the file (no holes, no trailing bytes:
// "This prevents the creation of polyglot files"). Unlike serde_json we also refuse duplicate keys, which
// upstream reports as a misleading InvalidOffset (safetensors#401).

import Foundation
import TensorCore

public final class SafetensorsFile: @unchecked Sendable {
    public struct Entry: Equatable, Sendable {
        public var name: String
        public var dtype: DType
        public var shape: [Int]
        /// Byte range inside the data buffer (which starts at `8 + N`).
        public var begin: Int
        public var end: Int
    }

    public static let maxHeaderLength: UInt64 = 100_000_000

    public let path: String
    /// `__metadata__`, string to string.
    public let metadata: [String: String]
    /// Tensors in the order their bytes appear.
    public let entries: [Entry]
    public let dataOffset: Int
    private let file: ByteOwner
    private let index: [String: Int]

    /// Maps and validates the file at `path` under `SafetensorsLimits.default` as raised by `VFW_LIMITS`.
    public convenience init(path: String) throws {
        let (limits, problem) = SafetensorsLimits.fromEnvironment()
        if let problem { throw SafetensorsError.invalidLimits(path: path, reason: problem) }
        try self.init(owner: try MappedFile(path: path), path: path, limits: limits)
    }

    /// Validates a safetensors file held in memory (a copy of `bytes` is kept); `name` stands for the path in
    /// messages. For callers without a file, such as the fuzz targets.
    public convenience init(bytes: UnsafeRawBufferPointer, name: String, limits: SafetensorsLimits = .default) throws {
        try self.init(owner: OwnedBytes(copying: bytes), path: name, limits: limits)
    }

    init(owner: ByteOwner, path: String, limits: SafetensorsLimits) throws {
        self.path = path
        file = owner
        let b = file.bytes
        guard b.count >= 8 else { throw SafetensorsError.headerTooSmall(path: path, size: b.count) }
        let n = UInt64(littleEndian: b.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(max(0, limits.maxHeaderLength)) else {
            throw SafetensorsError.headerTooLarge(path: path, length: n, limit: limits.maxHeaderLength)
        }
        guard 8 + n <= UInt64(b.count) else {
            throw SafetensorsError.invalidHeaderLength(path: path, length: n, fileSize: b.count)
        }
        dataOffset = 8 + Int(n)
        let json = Data(UnsafeRawBufferPointer(rebasing: b[8..<dataOffset]))
        guard String(data: json, encoding: .utf8) != nil else {
            throw SafetensorsError.invalidHeader(path: path, reason: "header is not UTF-8")
        }
        if let dup = JSONKeyScanner.firstDuplicateTopLevelKey(json) {
            throw SafetensorsError.duplicateKey(path: path, key: dup)
        }
        let raw: RawHeader
        do {
            raw = try JSONDecoder().decode(RawHeader.self, from: json)
        } catch let e as SafetensorsError {
            throw e.withPath(path)
        } catch {
            throw SafetensorsError.invalidHeader(path: path, reason: Self.describe(error))
        }
        metadata = raw.metadata
        guard raw.tensors.count <= limits.maxTensors else {
            throw SafetensorsError.tooManyTensors(path: path, count: raw.tensors.count, limit: limits.maxTensors)
        }
        var list: [Entry] = []
        for (name, info) in raw.tensors {
            guard let dtype = SafetensorsDType.byName[info.dtype] else {
                throw SafetensorsError.unknownDType(path: path, tensor: name, dtype: info.dtype)
            }
            guard info.dataOffsets.count == 2 else {
                throw SafetensorsError.invalidOffsets(path: path, tensor: name, reason: "expected [begin, end], got \(info.dataOffsets.count) numbers")
            }
            list.append(Entry(name: name, dtype: dtype, shape: info.shape, begin: info.dataOffsets[0], end: info.dataOffsets[1]))
        }
        list.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previousEnd = 0
        for e in list {
            guard e.begin == previousEnd else {
                throw SafetensorsError.invalidOffsets(path: path, tensor: e.name, reason: e.begin < previousEnd
                    ? "begins at \(e.begin), inside the previous tensor (ends at \(previousEnd))"
                    : "begins at \(e.begin), leaving a hole after byte \(previousEnd)")
            }
            guard e.end >= e.begin else {
                throw SafetensorsError.invalidOffsets(path: path, tensor: e.name, reason: "end \(e.end) is before begin \(e.begin)")
            }
            guard let count = elementCount(e.shape) else {
                throw SafetensorsError.sizeMismatch(path: path, tensor: e.name, dtype: SafetensorsDType.names[e.dtype]!,
                                                    shape: e.shape, expected: nil, actual: e.end - e.begin)
            }
            let (bits, o) = count.multipliedReportingOverflow(by: e.dtype.bitSize)
            if o {
                throw SafetensorsError.sizeMismatch(path: path, tensor: e.name, dtype: SafetensorsDType.names[e.dtype]!,
                                                    shape: e.shape, expected: nil, actual: e.end - e.begin)
            }
            guard bits % 8 == 0 else { throw SafetensorsError.misalignedSlice(path: path, tensor: e.name) }
            guard bits / 8 == e.end - e.begin else {
                throw SafetensorsError.sizeMismatch(path: path, tensor: e.name, dtype: SafetensorsDType.names[e.dtype]!,
                                                    shape: e.shape, expected: bits / 8, actual: e.end - e.begin)
            }
            previousEnd = e.end
        }
        guard previousEnd == b.count - dataOffset else {
            throw SafetensorsError.incompleteBuffer(path: path, covered: previousEnd, size: b.count - dataOffset)
        }
        entries = list
        index = Dictionary(uniqueKeysWithValues: list.enumerated().map { ($1.name, $0) })
    }

    public var tensorNames: [String] { entries.map(\.name) }
    public func entry(_ name: String) -> Entry? { index[name].map { entries[$0] } }

    /// A zero-copy view of tensor `name`.
    public func tensor(_ name: String) throws -> RawTensor {
        guard let e = entry(name) else { throw SafetensorsError.notFound(path: path, tensor: name) }
        return RawTensor(dtype: e.dtype, shape: e.shape, bytes: ByteView(owner: file, offset: dataOffset + e.begin, count: e.end - e.begin))
    }

    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return String(describing: error) }
        switch e {
        case .keyNotFound(let k, let c): return "missing '\(k.stringValue)' in \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c):
            return "wrong type at '\(c.codingPath.map(\.stringValue).joined(separator: "."))' (\(c.debugDescription))"
        case .dataCorrupted(let c):
            if let u = c.underlyingError { return "not valid JSON (\((u as NSError).userInfo[NSDebugDescriptionErrorKey] ?? u))" }
            return c.codingPath.isEmpty ? "not valid JSON" : c.debugDescription
        @unknown default: return String(describing: e)
        }
    }
}

extension SafetensorsError {
    func withPath(_ p: String) -> SafetensorsError {
        if case .invalidHeader(_, let r) = self { return .invalidHeader(path: p, reason: r) }
        return self
    }
}

/// The header as JSON: `__metadata__` plus one entry per tensor, in a dictionary keyed by name.
struct RawHeader: Decodable {
    struct TensorInfo: Decodable {
        var dtype: String
        var shape: [Int]
        var dataOffsets: [Int]
        enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }
    }
    var metadata: [String: String] = [:]
    var tensors: [(String, TensorInfo)] = []

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            if key.stringValue == "__metadata__" {
                guard let m = try? c.decode([String: String].self, forKey: key) else {
                    throw SafetensorsError.invalidHeader(path: "", reason: "__metadata__ must map strings to strings")
                }
                metadata = m
            } else {
                do {
                    tensors.append((key.stringValue, try c.decode(TensorInfo.self, forKey: key)))
                } catch {
                    throw SafetensorsError.invalidHeader(path: "", reason: "entry '\(key.stringValue)': \(SafetensorsFile.describe(error))")
                }
            }
        }
    }
}

/// Finds duplicate keys of the top-level JSON object, which JSONDecoder silently merges.
enum JSONKeyScanner {
    static func firstDuplicateTopLevelKey(_ data: Data) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = data.startIndex
        var expectKey = false
        while i < data.endIndex {
            let c = data[i]
            switch c {
            case UInt8(ascii: "{"):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): expectKey = depth == 1
            case UInt8(ascii: "\""):
                var j = i + 1
                var bytes: [UInt8] = []
                while j < data.endIndex && data[j] != UInt8(ascii: "\"") {
                    if data[j] == UInt8(ascii: "\\") && j + 1 < data.endIndex { bytes.append(data[j]); j += 1 }
                    bytes.append(data[j]); j += 1
                }
                if expectKey && depth == 1 {
                    let k = String(decoding: bytes, as: UTF8.self)
                    if !seen.insert(k).inserted { return k }
                    expectKey = false
                }
                i = j
            default: break
            }
            i += 1
        }
        return nil
    }
}
