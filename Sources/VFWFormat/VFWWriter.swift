// Writing .vfw files in one streaming pass.
//
// The header lists every tensor's CRC-32, but the CRCs are known only after the bytes went by. The
// header's size does not depend on them (always 8 hex digits), so the writer lays out the header with
// placeholders, streams each tensor once (computing its CRC on the way), then rewrites the header in
// place. Peak memory: one tensor. The output appears under its name only when complete (AtomicOutput).

import Foundation
import TensorCore

/// A tensor to write. `load` is called once, when its bytes are due, so sources can be converted lazily.
public struct VFWTensorSource {
    public var name: String
    public var sourceName: String?
    public var dtype: DType
    public var shape: [Int]
    public var load: () throws -> RawTensor

    public init(name: String, sourceName: String? = nil, dtype: DType, shape: [Int], load: @escaping () throws -> RawTensor) {
        self.name = name
        self.sourceName = sourceName
        self.dtype = dtype
        self.shape = shape
        self.load = load
    }

    public init(name: String, sourceName: String? = nil, tensor: RawTensor) {
        self.init(name: name, sourceName: sourceName, dtype: tensor.dtype, shape: tensor.shape, load: { tensor })
    }
}

public enum VFWWriter {
    /// Writes `tensors` with `header`'s metadata (its `tensors` field is ignored and rebuilt) to `path`.
    /// - Parameter progress: called after each tensor with (bytes written, total bytes).
    public static func write(to path: String, header: VFWHeader, tensors: [VFWTensorSource], force: Bool,
                             progress: ((Int, Int) -> Void)? = nil) throws {
        var h = header
        var offset = 0
        h.tensors = []
        var seen = Set<String>()
        for t in tensors {
            precondition(seen.insert(t.name).inserted, "duplicate tensor name \(t.name) given to VFWWriter")
            let length = t.dtype.byteCount(elements: elementCount(t.shape)!)!
            h.tensors.append(.init(name: t.name, dtype: t.dtype, shape: t.shape, offset: offset, length: length,
                                   crc32: "00000000", sourceName: t.sourceName))
            offset = VFWLayout.align(offset + length)
        }
        let total = h.tensors.last.map { $0.offset + $0.length } ?? 0
        let placeholder = try encodeHeader(h)

        let out = try AtomicOutput(path: path, force: force)
        try out.write(placeholder)
        var position = 0
        for (i, t) in tensors.enumerated() {
            let raw = try t.load()
            precondition(raw.dtype == t.dtype && raw.shape == t.shape && raw.bytes.count == h.tensors[i].length,
                         "tensor \(t.name) does not match its declared dtype/shape")
            try out.writeZeros(h.tensors[i].offset - position)
            // The buffer pointer does not own its memory: keep the tensor (and so its owner) alive while read.
            try withExtendedLifetime(raw) {
                try out.write(raw.bytes.buffer)
                h.tensors[i].crc32 = hex8(crc32(raw.bytes.buffer))
            }
            position = h.tensors[i].offset + h.tensors[i].length
            progress?(position, total)
        }
        let final = try encodeHeader(h)
        precondition(final.count == placeholder.count, "header size changed between passes")
        try out.overwrite(at: 0, final)
        try out.commit()
    }

    /// Preamble + JSON header padded with spaces so the data section starts 64-byte aligned.
    static func encodeHeader(_ h: VFWHeader) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var json = [UInt8](try enc.encode(h))
        let padded = VFWLayout.align(VFWLayout.preambleSize + json.count) - VFWLayout.preambleSize
        json += [UInt8](repeating: 0x20, count: padded - json.count)
        var bytes = VFWLayout.magic
        bytes += withUnsafeBytes(of: VFWLayout.majorVersion.littleEndian, Array.init)
        bytes += withUnsafeBytes(of: VFWLayout.minorVersion.littleEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt32(0).littleEndian, Array.init)
        bytes += withUnsafeBytes(of: UInt64(json.count).littleEndian, Array.init)
        return bytes + json
    }
}
