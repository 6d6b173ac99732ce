// torch dtypes and storage classes as they appear in pickles, and what vfw makes of them.

import TensorCore

/// A torch dtype by its pickled name (`float32`, as in the GLOBAL `torch float32`).
struct TorchDType: Equatable, Sendable {
    /// torch's canonical name without the `torch.` prefix.
    let name: String
    /// The vfw type, nil when vfw has none (complex128, quantized, bits*, ...).
    let dtype: DType?
    /// Bytes per element in torch's storage.
    let elementSize: Int
    /// Width of the units that a byte-order change swaps (a complex number swaps each component).
    let swapUnit: Int

    var displayName: String { "torch." + name }

    static let uint8 = TorchDType(name: "uint8", dtype: .u8, elementSize: 1, swapUnit: 1)

    /// Canonical name -> dtype. Also reachable through torch's aliases (`torch.float`, `torch.half`, ...).
    static let byName: [String: TorchDType] = {
        var table: [String: TorchDType] = [:]
        func add(_ name: String, _ d: DType?, _ size: Int, swap: Int? = nil, aliases: [String] = []) {
            let t = TorchDType(name: name, dtype: d, elementSize: size, swapUnit: swap ?? size)
            table[name] = t
            for a in aliases { table[a] = t }
        }
        add("float64", .f64, 8, aliases: ["double"])
        add("float32", .f32, 4, aliases: ["float"])
        add("float16", .f16, 2, aliases: ["half"])
        add("bfloat16", .bf16, 2)
        add("int64", .i64, 8, aliases: ["long"])
        add("int32", .i32, 4, aliases: ["int"])
        add("int16", .i16, 2, aliases: ["short"])
        add("int8", .i8, 1)
        add("uint8", .u8, 1)
        add("bool", .bool, 1)
        add("uint16", .u16, 2)
        add("uint32", .u32, 4)
        add("uint64", .u64, 8)
        add("complex64", .c64, 8, swap: 4, aliases: ["cfloat"])
        add("complex128", nil, 16, swap: 8, aliases: ["cdouble"])
        add("complex32", nil, 4, swap: 2, aliases: ["chalf"])
        add("float8_e4m3fn", .f8_e4m3, 1)
        add("float8_e5m2", .f8_e5m2, 1)
        add("float8_e4m3fnuz", .f8_e4m3fnuz, 1)
        add("float8_e5m2fnuz", .f8_e5m2fnuz, 1)
        add("float8_e8m0fnu", .f8_e8m0, 1)
        add("float4_e2m1fn_x2", nil, 1)
        add("qint8", nil, 1)
        add("quint8", nil, 1)
        add("qint32", nil, 4)
        add("quint4x2", nil, 1)
        add("quint2x4", nil, 1)
        add("bits8", nil, 1)
        add("bits16", nil, 2)
        add("bits1x8", nil, 1)
        add("bits2x4", nil, 1)
        add("bits4x2", nil, 1)
        for bits in 1...7 {
            add("uint\(bits)", nil, 1)
            add("int\(bits)", nil, 1)
        }
        return table
    }()

    /// Legacy typed storage class (`torch.FloatStorage`, also under `torch.cuda`) -> its dtype (torch/storage.py).
    static let byStorageClass: [String: TorchDType] = {
        let pairs: [(String, String)] = [
            ("DoubleStorage", "float64"), ("FloatStorage", "float32"), ("HalfStorage", "float16"),
            ("BFloat16Storage", "bfloat16"), ("LongStorage", "int64"), ("IntStorage", "int32"),
            ("ShortStorage", "int16"), ("CharStorage", "int8"), ("ByteStorage", "uint8"), ("BoolStorage", "bool"),
            ("ComplexFloatStorage", "complex64"), ("ComplexDoubleStorage", "complex128"),
            ("QInt8Storage", "qint8"), ("QUInt8Storage", "quint8"), ("QInt32Storage", "qint32"),
            ("QUInt4x2Storage", "quint4x2"), ("QUInt2x4Storage", "quint2x4"),
            // UntypedStorage: numel counts bytes; the tensor's dtype comes from _rebuild_tensor_v3.
            ("UntypedStorage", "uint8"),
        ]
        var table: [String: TorchDType] = [:]
        for (cls, dt) in pairs { if let t = byName[dt] { table[cls] = t } }
        return table
    }()
}

/// torch's qscheme names, pickled as `torch per_tensor_affine` etc. (only in quantized tensors).
let torchQSchemes: Set<String> = [
    "per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
    "per_channel_affine_float_qparams",
]
