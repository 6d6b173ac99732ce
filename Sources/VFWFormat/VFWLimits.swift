// How much a .vfw file may make vfw read before its tensors are touched (raised by the VFW_LIMITS variable, TensorCore/LimitsVariable.swift).

import Foundation
import TensorCore

/// Bounds checked when a .vfw file is opened, so a hostile header fails fast instead of exhausting memory.
public struct VFWLimits: Sendable, Equatable {
    /// Bytes of the JSON header (`VFW_LIMITS=header=N`).
    public var maxHeaderLength: Int
    /// Entries of the tensor table (`VFW_LIMITS=tensors=N`).
    public var maxTensors: Int

    public init(maxHeaderLength: Int = Int(VFWLayout.maxHeaderLength), maxTensors: Int = 1_000_000) {
        self.maxHeaderLength = maxHeaderLength
        self.maxTensors = maxTensors
    }

    public static let `default` = VFWLimits()

    /// The defaults with what `VFW_LIMITS` sets; `problem` when the variable is malformed.
    static func fromEnvironment() -> (limits: VFWLimits, problem: String?) {
        LimitsVariable.fromEnvironment(VFWLimits.default, fields: ["header": \.maxHeaderLength, "tensors": \.maxTensors])
    }
}
