// How much a safetensors file or sharded index may make vfw read (raised by the VFW_LIMITS variable, TensorCore/LimitsVariable.swift).

import Foundation
import TensorCore

/// Bounds checked when a safetensors file or index is opened, so a hostile header fails fast instead of exhausting memory.
public struct SafetensorsLimits: Sendable, Equatable {
    /// Bytes of the JSON header, and of a sharded index file (`VFW_LIMITS=header=N`; the spec's own limit is 100 MB).
    public var maxHeaderLength: Int
    /// Tensors in one file, and in all shards of an index together (`VFW_LIMITS=tensors=N`).
    public var maxTensors: Int

    public init(maxHeaderLength: Int = Int(SafetensorsFile.maxHeaderLength), maxTensors: Int = 1_000_000) {
        self.maxHeaderLength = maxHeaderLength
        self.maxTensors = maxTensors
    }

    public static let `default` = SafetensorsLimits()

    /// The defaults with what `VFW_LIMITS` sets; `problem` when the variable is malformed.
    static func fromEnvironment() -> (limits: SafetensorsLimits, problem: String?) {
        LimitsVariable.fromEnvironment(SafetensorsLimits.default, fields: ["header": \.maxHeaderLength, "tensors": \.maxTensors])
    }
}
