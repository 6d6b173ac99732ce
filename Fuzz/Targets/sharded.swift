// Fuzz target: the sharded safetensors index (ShardedSafetensors) with arbitrary index JSON, against the committed
// shards of Tests/Fixtures/safetensors/sharded (VFW_FUZZ_SHARDS overrides the folder).
// Properties: never traps; a refusal is a SafetensorsError (or the shard's open error), one line starting with a path;
// an accepted index resolves every tensor it lists.

import Foundation
import Safetensors
import TensorCore

let shardFolder: String = ProcessInfo.processInfo.environment["VFW_FUZZ_SHARDS"]
    ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tests/Fixtures/safetensors/sharded").path
let indexPath = shardFolder + "/model.safetensors.index.json"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let json = Data(UnsafeRawBufferPointer(start: data, count: size))
    do {
        let s = try ShardedSafetensors(indexPath: indexPath, data: json)
        for n in s.tensorNames {
            let t = try s.tensor(n)
            precondition(t.dtype.byteCount(elements: t.elementCount) == t.bytes.count, "'\(n)' size does not match dtype x shape")
        }
    } catch let e as SafetensorsError {
        let text = e.description
        precondition(text.hasPrefix(shardFolder + "/") && !text.contains("\n"), "badly shaped message: \(text)")
    } catch let e as MappedFile.OpenError {
        let text = e.description
        precondition(text.hasPrefix(shardFolder) && !text.contains("\n"), "badly shaped message: \(text)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
