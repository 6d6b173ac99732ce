// Reading .vfw files: validate on open, then hand out zero-copy views of the mapped tensor bytes.
//
// Byte layout (Schemas/vfw.md):
//   0   8 bytes  magic 89 56 46 57 0D 0A 1A 0A  ("\x89VFW\r\n\x1a\n", PNG-style: catches text-mode damage)
//   8   u16 LE   major version (1)
//   10  u16 LE   minor version (0)
//   12  u32 LE   flags, reserved, 0
//   16  u64 LE   header length N (JSON plus trailing spaces)
//   24  N bytes  UTF-8 JSON header (VFWHeader)
//   24+N         data section; 24+N is a multiple of 64; tensor offsets are relative to it

import Foundation
import TensorCore

public enum VFWLayout {
    public static let magic: [UInt8] = [0x89, 0x56, 0x46, 0x57, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0
    public static let preambleSize = 24
    public static let alignment = 64
    /// The default header limit (VFWLimits raises it).
    public static let maxHeaderLength: UInt64 = 100_000_000

    static func align(_ x: Int) -> Int { (x + alignment - 1) / alignment * alignment }
}

/// An open .vfw file. Opening reads and validates only the header; tensor bytes stay on disk until touched.
public final class VFWFile: @unchecked Sendable {
    public let path: String
    public let header: VFWHeader
    public let minorVersion: Int
    /// Absolute file offset of the data section.
    public let dataOffset: Int
    private let file: ByteOwner
    private let index: [String: Int]

    /// Maps and validates the file at `path` under `VFWLimits.default` as raised by `VFW_LIMITS`.
    public convenience init(path: String) throws {
        let (limits, problem) = VFWLimits.fromEnvironment()
        if let problem { throw VFWError.invalidLimits(path: path, reason: problem) }
        try self.init(owner: try MappedFile(path: path), path: path, limits: limits)
    }

    /// Validates a .vfw file held in memory (a copy of `bytes` is kept); `name` stands for the path in messages.
    /// For callers without a file, such as the fuzz targets.
    public convenience init(bytes: UnsafeRawBufferPointer, name: String, limits: VFWLimits = .default) throws {
        try self.init(owner: OwnedBytes(copying: bytes), path: name, limits: limits)
    }

    init(owner: ByteOwner, path: String, limits: VFWLimits) throws {
        self.path = path
        file = owner
        let b = file.bytes
        guard b.count >= VFWLayout.preambleSize else { throw VFWError.tooShort(path: path, size: b.count) }
        guard Array(b[0..<8]) == VFWLayout.magic else { throw VFWError.badMagic(path: path) }
        let major = Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
        let minor = Int(UInt16(littleEndian: b.loadUnaligned(fromByteOffset: 10, as: UInt16.self)))
        guard major == Int(VFWLayout.majorVersion) else {
            throw VFWError.unsupportedVersion(path: path, major: major, minor: minor)
        }
        minorVersion = minor
        let flags = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        guard flags == 0 else { throw VFWError.reservedFlags(path: path, flags: flags) }
        let n = UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        guard n <= UInt64(max(0, limits.maxHeaderLength)) else {
            throw VFWError.headerTooLarge(path: path, headerLength: n, limit: limits.maxHeaderLength)
        }
        guard UInt64(VFWLayout.preambleSize) + n <= UInt64(b.count) else {
            throw VFWError.headerBeyondFile(path: path, headerLength: n, fileSize: b.count)
        }
        dataOffset = VFWLayout.preambleSize + Int(n)
        guard dataOffset % VFWLayout.alignment == 0 else { throw VFWError.dataMisaligned(path: path, dataOffset: dataOffset) }

        let json = Data(UnsafeRawBufferPointer(rebasing: b[VFWLayout.preambleSize..<dataOffset]))
        guard String(data: json, encoding: .utf8) != nil else {
            throw VFWError.invalidHeader(path: path, reason: "header is not UTF-8")
        }
        do {
            header = try JSONDecoder().decode(VFWHeader.self, from: json)
        } catch DecodingError.dataCorrupted(let ctx) where ctx.codingPath.last?.stringValue == "dtype" {
            let idx = ctx.codingPath.first(where: { $0.intValue != nil })?.intValue
            throw VFWError.unknownDType(path: path, tensor: idx.map { "#\($0)" } ?? "?", dtype: ctx.debugDescription)
        } catch {
            throw VFWError.invalidHeader(path: path, reason: describeDecodingError(error))
        }
        guard header.tensors.count <= limits.maxTensors else {
            throw VFWError.tooManyTensors(path: path, count: header.tensors.count, limit: limits.maxTensors)
        }
        index = try VFWFile.validate(header.tensors, dataSize: b.count - dataOffset, path: path)
    }

    /// Checks every rule of Schemas/vfw.md "Validation" over the tensor table; returns name -> position.
    static func validate(_ tensors: [VFWHeader.TensorEntry], dataSize: Int, path: String) throws -> [String: Int] {
        var index: [String: Int] = [:]
        for (i, t) in tensors.enumerated() {
            if index[t.name] != nil { throw VFWError.duplicateTensor(path: path, name: t.name) }
            index[t.name] = i
            let expected = elementCount(t.shape).flatMap { t.dtype.byteCount(elements: $0) }
            guard expected == t.length else {
                throw VFWError.lengthMismatch(path: path, tensor: t.name, shape: t.shape, dtype: t.dtype.rawValue,
                                              expected: expected, actual: t.length)
            }
            guard t.offset >= 0, t.offset % VFWLayout.alignment == 0 else {
                throw VFWError.misaligned(path: path, tensor: t.name, offset: t.offset)
            }
            let (end, o) = t.offset.addingReportingOverflow(t.length)
            guard !o, end <= dataSize else {
                throw VFWError.outOfBounds(path: path, tensor: t.name, end: o ? Int.max : end, dataSize: dataSize)
            }
            guard t.crc32.count == 8, UInt32(t.crc32, radix: 16) != nil else {
                throw VFWError.invalidHeader(path: path, reason: "tensor '\(t.name)' has crc32 '\(t.crc32)', expected 8 hex digits")
            }
        }
        // Overlap: sort by offset, each must end before the next starts (empty tensors overlap nothing).
        let sorted = tensors.filter { $0.length > 0 }.sorted { $0.offset < $1.offset }
        var maxEnd = 0
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.offset + a.length > b.offset {
            throw VFWError.overlap(path: path, first: a.name, second: b.name)
        }
        if let last = sorted.last { maxEnd = last.offset + last.length }
        // No polyglots: nothing may follow the last tensor but its padding to 64 bytes.
        if dataSize > VFWLayout.align(maxEnd) {
            throw VFWError.trailingBytes(path: path, count: dataSize - maxEnd)
        }
        return index
    }

    public var tensorNames: [String] { header.tensors.map(\.name) }
    public func entry(_ name: String) -> VFWHeader.TensorEntry? { index[name].map { header.tensors[$0] } }

    /// A zero-copy view of tensor `name`, or nil when absent.
    public func tensor(_ name: String) -> RawTensor? {
        guard let e = entry(name) else { return nil }
        return RawTensor(dtype: e.dtype, shape: e.shape,
                         bytes: ByteView(owner: file, offset: dataOffset + e.offset, count: e.length))
    }

    /// Recomputes each tensor's CRC-32 and throws on the first mismatch.
    public func verifyChecksums(progress: ((Int, Int) -> Void)? = nil) throws {
        for (i, e) in header.tensors.enumerated() {
            let view = ByteView(owner: file, offset: dataOffset + e.offset, count: e.length)
            let actual = hex8(crc32(view.buffer))
            if actual != e.crc32.lowercased() {
                throw VFWError.checksumMismatch(path: path, tensor: e.name, stored: e.crc32, actual: actual)
            }
            progress?(i + 1, header.tensors.count)
        }
    }

    public var fileSize: Int { file.bytes.count }
}

func hex8(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 8 - s.count) + s
}

func describeDecodingError(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return String(describing: error) }
    func path(_ c: DecodingError.Context) -> String {
        let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.isEmpty ? "" : " at \(p.hasPrefix(".") ? String(p.dropFirst()) : p)"
    }
    switch e {
    case .keyNotFound(let k, let c): return "missing field '\(k.stringValue)'\(path(c))"
    case .typeMismatch(_, let c): return "wrong type\(path(c)): \(c.debugDescription)"
    case .valueNotFound(_, let c): return "missing value\(path(c))"
    case .dataCorrupted(let c):
        if let u = c.underlyingError { return "invalid JSON: \((u as NSError).userInfo[NSDebugDescriptionErrorKey] ?? u)" }
        return "\(c.debugDescription)\(path(c))"
    @unknown default: return String(describing: e)
    }
}
