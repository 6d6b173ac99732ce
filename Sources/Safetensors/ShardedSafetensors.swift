// Sharded checkpoints: `model.safetensors.index.json` names the shard holding each tensor
// (huggingface_hub serialization/_base.py): {"metadata": {"total_size": N, ...}, "weight_map": {tensor: shard}}.

import Foundation
import TensorCore

public final class ShardedSafetensors: @unchecked Sendable {
    public let indexPath: String
    public let shards: [SafetensorsFile]
    /// (tensor name, shard position) in index order (sorted by name, as the index is written).
    public let tensorNames: [String]
    private let location: [String: Int]

    /// Reads the index at `indexPath` and opens its shards from the same folder, under `SafetensorsLimits.default`
    /// as raised by `VFW_LIMITS`.
    public convenience init(indexPath: String) throws {
        let (limits, problem) = SafetensorsLimits.fromEnvironment()
        if let problem { throw SafetensorsError.invalidLimits(path: indexPath, reason: problem) }
        // The index is read whole: check its size first, so a hostile multi-gigabyte "index" is not.
        let size = (try? FileManager.default.attributesOfItem(atPath: indexPath)[.size] as? Int) ?? 0
        guard size <= limits.maxHeaderLength else {
            throw SafetensorsError.invalidIndex(path: indexPath,
                reason: "it is \(size) bytes, more than the \(byteLimitText(limits.maxHeaderLength)) limit (raise it with VFW_LIMITS=header=N)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: indexPath)) } catch {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "cannot read it (\(error.localizedDescription))")
        }
        try self.init(indexPath: indexPath, data: data, limits: limits)
    }

    /// An index whose JSON is `data` (not read from `indexPath`); shards are still opened from `indexPath`'s folder.
    /// For callers that hold the index in memory, such as the fuzz targets.
    public init(indexPath: String, data: Data, limits: SafetensorsLimits = .default) throws {
        self.indexPath = indexPath
        guard data.count <= limits.maxHeaderLength else {
            throw SafetensorsError.invalidIndex(path: indexPath,
                reason: "it is \(data.count) bytes, more than the \(byteLimitText(limits.maxHeaderLength)) limit (raise it with VFW_LIMITS=header=N)")
        }
        struct Index: Decodable { var weight_map: [String: String] }
        let index: Index
        do { index = try JSONDecoder().decode(Index.self, from: data) } catch {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "expected {\"weight_map\": {tensor: shard file}} (\(SafetensorsFile.describe(error)))")
        }
        guard index.weight_map.count <= limits.maxTensors else {
            throw SafetensorsError.tooManyTensors(path: indexPath, count: index.weight_map.count, limit: limits.maxTensors)
        }
        let folder = (indexPath as NSString).deletingLastPathComponent
        let shardNames = Array(Set(index.weight_map.values)).sorted()
        for s in shardNames where s.isEmpty || s.contains("/") || s.hasPrefix(".") {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "shard '\(s)' is not a plain file name in the index's folder")
        }
        var files: [SafetensorsFile] = []
        for s in shardNames {
            let p = folder.isEmpty ? s : folder + "/" + s
            guard FileManager.default.fileExists(atPath: p) else {
                throw SafetensorsError.invalidIndex(path: indexPath, reason: "shard '\(s)' does not exist")
            }
            files.append(try SafetensorsFile(owner: try MappedFile(path: p), path: p, limits: limits))
        }
        let total = files.reduce(0) { $0 + $1.entries.count }
        guard total <= limits.maxTensors else {
            throw SafetensorsError.tooManyTensors(path: indexPath, count: total, limit: limits.maxTensors)
        }
        var loc: [String: Int] = [:]
        for (i, f) in files.enumerated() {
            for name in f.tensorNames {
                if let j = loc[name] {
                    throw SafetensorsError.invalidIndex(path: indexPath, reason: "tensor '\(name)' is in both \(shardNames[j]) and \(shardNames[i])")
                }
                guard index.weight_map[name] == shardNames[i] else {
                    throw SafetensorsError.invalidIndex(path: indexPath, reason: "tensor '\(name)' is in \(shardNames[i]) but the index says \(index.weight_map[name] ?? "nothing")")
                }
                loc[name] = i
            }
        }
        for (name, shard) in index.weight_map where loc[name] == nil {
            throw SafetensorsError.invalidIndex(path: indexPath, reason: "tensor '\(name)' is listed for \(shard) but that shard does not hold it")
        }
        shards = files
        location = loc
        tensorNames = files.flatMap(\.tensorNames)
    }

    public func tensor(_ name: String) throws -> RawTensor {
        guard let i = location[name] else { throw SafetensorsError.notFound(path: indexPath, tensor: name) }
        return try shards[i].tensor(name)
    }

    /// Union of the shards' `__metadata__`.
    public var metadata: [String: String] {
        shards.reduce(into: [:]) { acc, s in acc.merge(s.metadata) { a, _ in a } }
    }
}
