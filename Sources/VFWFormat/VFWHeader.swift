// The JSON header of a .vfw file (Schemas/vfw.md, Schemas/vfw-header.schema.json).

import TensorCore

/// Everything in a .vfw file but the tensor bytes.
public struct VFWHeader: Codable, Equatable, Sendable {
    /// The model the tensors belong to, `{"name", "family", "config"}` (Schemas/vfw.md): read by Models'
    /// `ModelDescription`; this reader only carries it. nil for a bag of tensors.
    public var architecture: JSONValue?
    /// The preprocessing the model expects, in PreprocessSpec's text form (a preset name such as `torchvision`, or
    /// key=value items), if known.
    public var preprocessing: String?
    /// Where the tensors came from.
    public var provenance: Provenance?
    /// Free-form user metadata (string to string, like safetensors' `__metadata__`).
    public var metadata: [String: String]
    /// Tensors in file order.
    public var tensors: [TensorEntry]

    public init(architecture: JSONValue? = nil, preprocessing: String? = nil, provenance: Provenance? = nil,
                metadata: [String: String] = [:], tensors: [TensorEntry] = []) {
        self.architecture = architecture
        self.preprocessing = preprocessing
        self.provenance = provenance
        self.metadata = metadata
        self.tensors = tensors
    }

    public struct Provenance: Codable, Equatable, Sendable {
        /// File name (not path) of the source checkpoint.
        public var sourceFile: String?
        /// Lowercase hex SHA-256 of the source file's bytes.
        public var sourceSHA256: String?
        /// `pytorch-zip`, `pytorch-legacy`, `safetensors`, `safetensors-sharded`, `synthetic`, `vfw`.
        public var sourceFormat: String
        /// `vfw 0.1.0`
        public var converter: String
        /// RFC 3339 UTC time, pinned by SOURCE_DATE_EPOCH when set.
        public var created: String
        /// Notes from the conversion (prefixes stripped, entries skipped, dtype changes).
        public var notes: [String]

        public init(sourceFile: String?, sourceSHA256: String?, sourceFormat: String, converter: String,
                    created: String, notes: [String] = []) {
            self.sourceFile = sourceFile
            self.sourceSHA256 = sourceSHA256
            self.sourceFormat = sourceFormat
            self.converter = converter
            self.created = created
            self.notes = notes
        }

        enum CodingKeys: String, CodingKey {
            case sourceFile = "source_file", sourceSHA256 = "source_sha256", sourceFormat = "source_format"
            case converter, created, notes
        }
    }

    public struct TensorEntry: Codable, Equatable, Sendable {
        public var name: String
        public var dtype: DType
        /// Outermost dimension first, row-major.
        public var shape: [Int]
        /// Byte offset from the start of the data section; a multiple of 64.
        public var offset: Int
        /// Byte length: elements x dtype size.
        public var length: Int
        /// zlib CRC-32 of the tensor's bytes, 8 lowercase hex digits.
        public var crc32: String
        /// The tensor's name in the file it was converted from, when that differs or is known.
        public var sourceName: String?

        public init(name: String, dtype: DType, shape: [Int], offset: Int, length: Int, crc32: String, sourceName: String?) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.offset = offset
            self.length = length
            self.crc32 = crc32
            self.sourceName = sourceName
        }

        enum CodingKeys: String, CodingKey {
            case name, dtype, shape, offset, length, crc32, sourceName = "source_name"
        }
    }
}
