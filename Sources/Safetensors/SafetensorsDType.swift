// The dtype strings of the safetensors spec (huggingface/safetensors safetensors/src/tensor.rs, `Dtype`).

import TensorCore

enum SafetensorsDType {
    static let byName: [String: DType] = [
        "BOOL": .bool, "U8": .u8, "I8": .i8, "I16": .i16, "U16": .u16, "F16": .f16, "BF16": .bf16,
        "I32": .i32, "U32": .u32, "F32": .f32, "F64": .f64, "I64": .i64, "U64": .u64, "C64": .c64,
        "F8_E5M2": .f8_e5m2, "F8_E4M3": .f8_e4m3, "F8_E8M0": .f8_e8m0,
        "F8_E4M3FNUZ": .f8_e4m3fnuz, "F8_E5M2FNUZ": .f8_e5m2fnuz,
        "F4": .f4, "F6_E2M3": .f6_e2m3, "F6_E3M2": .f6_e3m2,
    ]
    static let names: [DType: String] = Dictionary(uniqueKeysWithValues: byName.map { ($1, $0) })

    /// The spec's enum order ("increasing alignment order"); the reference writer sorts by it, largest first.
    static let alignmentRank: [DType: Int] = {
        let order: [DType] = [.bool, .f4, .f6_e2m3, .f6_e3m2, .u8, .i8, .f8_e5m2, .f8_e4m3, .f8_e8m0, .f8_e4m3fnuz,
                              .f8_e5m2fnuz, .i16, .u16, .f16, .bf16, .i32, .u32, .f32, .c64, .f64, .i64, .u64]
        return Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
    }()
}

extension DType {
    /// This dtype's safetensors name (`F32`, `BF16`, ...).
    public var safetensorsName: String { SafetensorsDType.names[self]! }
}
