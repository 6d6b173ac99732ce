// torch.save files as a WeightSource (wired to TorchArchive).

import Foundation
import TensorCore
import TorchArchive

enum TorchInput {
    /// The torch file at `path`, or nil when it does not start like one (zip or legacy magic).
    static func open(_ path: String, head: [UInt8], key: String?, config: Data?) throws -> WeightSource? {
        guard TorchCheckpoint.looksLikeTorchFile(path: path) else { return nil }
        let c = try TorchCheckpoint.load(path: path, key: key)
        return WeightSource(path: path, weightsPath: path, kind: c.container == .zip ? .pytorchZip : .pytorchLegacy,
                            tensors: c.tensors, metadata: [:], notes: c.notes, vfw: nil, configJSON: config)
    }
}
