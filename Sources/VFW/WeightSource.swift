// Opening any weight file vfw understands, by content rather than by extension.

import Foundation
import Safetensors
import TensorCore
import VFWFormat

/// The tensors of one input (a .vfw, a safetensors file, a sharded index, a Hugging Face folder, a torch file).
public struct WeightSource {
    public enum Kind: String, Sendable {
        case vfw, safetensors, safetensorsSharded = "safetensors-sharded", pytorchZip = "pytorch-zip", pytorchLegacy = "pytorch-legacy"
    }

    public let path: String
    /// The file holding the weights (differs from `path` for a folder).
    public let weightsPath: String
    public let kind: Kind
    /// Tensors in file order; views into mapped files where possible.
    public let tensors: [(name: String, tensor: RawTensor)]
    public let metadata: [String: String]
    public let notes: [String]
    /// The open .vfw file, when the input is one.
    public let vfw: VFWFile?
    /// config.json beside the weights (Hugging Face folders), if any.
    public let configJSON: Data?

    /// Opens `path` by content: a .vfw file, a torch.save file (zip or legacy), a safetensors file, a sharded
    /// `*.safetensors.index.json`, or a Hugging Face folder (config.json + weights). `key` picks the entry of a
    /// checkpoint that nests its state_dict.
    public static func open(_ path: String, key: String? = nil) throws -> WeightSource {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw PipelineError.input("\(path): no such file or folder")
        }
        if isDir.boolValue { return try openFolder(path, key: key) }
        if path.hasSuffix(".index.json") {
            if path.hasSuffix(".safetensors.index.json") {
                let s = try ShardedSafetensors(indexPath: path)
                return WeightSource(path: path, weightsPath: path, kind: .safetensorsSharded,
                                    tensors: try s.tensorNames.map { ($0, try s.tensor($0)) }, metadata: s.metadata,
                                    notes: [], vfw: nil, configJSON: try siblingConfig(of: path))
            }
            throw PipelineError.input("\(path): sharded .bin checkpoints (pytorch_model.bin.index.json) are not supported yet; convert each shard or use safetensors")
        }
        let head = try readHead(path, count: 16)
        if head.starts(with: VFWLayout.magic) {
            let f = try VFWFile(path: path)
            return WeightSource(path: path, weightsPath: path, kind: .vfw,
                                tensors: f.tensorNames.map { ($0, f.tensor($0)!) }, metadata: f.header.metadata,
                                notes: [], vfw: f, configJSON: nil)
        }
        // Read only for formats that may need it to recognise the model: a .vfw file names its architecture itself.
        let config = try siblingConfig(of: path)
        if let torch = try TorchInput.open(path, head: head, key: key, config: config) { return torch }
        if path.hasSuffix(".safetensors") || looksLikeSafetensors(head) {
            let s = try SafetensorsFile(path: path)
            return WeightSource(path: path, weightsPath: path, kind: .safetensors,
                                tensors: try s.tensorNames.map { ($0, try s.tensor($0)) }, metadata: s.metadata,
                                notes: [], vfw: nil, configJSON: config)
        }
        throw PipelineError.input("\(path): not a weight file vfw can read (expected .vfw, .safetensors, a torch.save .pth/.pt/.bin, a sharded index or a Hugging Face folder)")
    }

    /// A Hugging Face model folder: config.json plus model.safetensors, a sharded index, or pytorch_model.bin.
    static func openFolder(_ dir: String, key: String?) throws -> WeightSource {
        let candidates = ["model.safetensors.index.json", "model.safetensors", "pytorch_model.bin", "model.pth", "model.pt"]
        for c in candidates where FileManager.default.fileExists(atPath: dir + "/" + c) {
            let inner = try open(dir + "/" + c, key: key)
            return WeightSource(path: dir, weightsPath: inner.weightsPath, kind: inner.kind, tensors: inner.tensors,
                                metadata: inner.metadata, notes: inner.notes, vfw: inner.vfw, configJSON: inner.configJSON)
        }
        throw PipelineError.input("\(dir): folder holds none of \(candidates.joined(separator: ", "))")
    }

    /// Most bytes of a config.json vfw reads beside weights. Hugging Face model configs are a few KB, about 1 MB with
    /// a 21,841-class label map; a bigger file is not a model config, and reading it whole would let a stray or
    /// hostile file in the folder take the memory.
    static let maxConfigBytes = 16_000_000

    /// config.json in the folder of `path`, if there is one vfw can read; nil when there is none (or it is unreadable,
    /// as a missing config is: the weights' shapes still tell the model). Refused when larger than `maxConfigBytes`,
    /// reading at most one byte past it whatever size the file claims.
    static func siblingConfig(of path: String) throws -> Data? {
        let dir = (path as NSString).deletingLastPathComponent
        let configPath = (dir.isEmpty ? "." : dir) + "/config.json"
        guard let h = FileHandle(forReadingAtPath: configPath) else { return nil }
        defer { try? h.close() }
        let data: Data
        do { data = try h.read(upToCount: maxConfigBytes + 1) ?? Data() } catch { return nil }
        guard data.count <= maxConfigBytes else {
            throw PipelineError.input("\(configPath): larger than \(byteLimitText(maxConfigBytes)), too large for a model's config.json "
                + "(vfw reads it beside \(path) to recognise the model); move it out of the folder or replace it "
                + "with the model's config.json")
        }
        return data
    }

    static func readHead(_ path: String, count: Int) throws -> [UInt8] {
        guard let h = FileHandle(forReadingAtPath: path) else { throw PipelineError.input("\(path): cannot open for reading") }
        defer { try? h.close() }
        return [UInt8]((try? h.read(upToCount: count)) ?? Data())
    }

    /// safetensors starts with a u64 header length followed by `{`.
    static func looksLikeSafetensors(_ head: [UInt8]) -> Bool {
        head.count >= 9 && head[8] == UInt8(ascii: "{")
    }
}

extension WeightSource {
    /// A source made of tensors already in memory (synthetic weights), described as `path` in messages.
    public init(tensors: [(name: String, tensor: RawTensor)], path: String) {
        self.init(path: path, weightsPath: "", kind: .safetensors, tensors: tensors, metadata: [:], notes: [], vfw: nil, configJSON: nil)
    }
}
