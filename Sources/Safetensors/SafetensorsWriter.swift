// Writing safetensors files the way the reference writer lays them out (safetensors/src/tensor.rs
// `prepare` / `serialize`): tensors sorted by dtype alignment (largest first) then by name, packed
// back to back; the JSON header padded with spaces to a multiple of 8 so every tensor is naturally aligned.

import Foundation
import TensorCore

public enum SafetensorsWriter {
    /// Writes `tensors` and `metadata` to `path` atomically (temporary file, then rename).
    public static func write(to path: String, tensors: [(name: String, tensor: RawTensor)], metadata: [String: String] = [:],
                             force: Bool) throws {
        let (header, sorted) = layout(tensors, metadata: metadata)
        let out = try AtomicOutput(path: path, force: force)
        try out.write(header)
        for (_, t) in sorted { try out.write(t.bytes.buffer) }
        try out.commit()
    }

    /// The exact bytes `write` would put in a file (for hashing without touching the disk).
    public static func serialize(_ tensors: [(name: String, tensor: RawTensor)], metadata: [String: String] = [:]) -> [UInt8] {
        let (header, sorted) = layout(tensors, metadata: metadata)
        var bytes = header
        for (_, t) in sorted { bytes.append(contentsOf: t.bytes.buffer) }
        return bytes
    }

    /// Length prefix + padded JSON header, and the tensors in file order.
    static func layout(_ tensors: [(name: String, tensor: RawTensor)], metadata: [String: String]) -> ([UInt8], [(name: String, tensor: RawTensor)]) {
        let sorted = tensors.sorted {
            let (ra, rb) = (SafetensorsDType.alignmentRank[$0.tensor.dtype]!, SafetensorsDType.alignmentRank[$1.tensor.dtype]!)
            return ra != rb ? ra > rb : $0.name < $1.name
        }
        // Build the header by hand: JSON key order is part of what makes output deterministic.
        var parts: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            parts.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        for (name, t) in sorted {
            let end = offset + t.bytes.count
            parts.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.safetensorsName)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        return (withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header, sorted)
    }

    static func jsonString(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)  // a String always encodes
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }
}
