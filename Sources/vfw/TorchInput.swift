// torch.save files as a WeightSource (wired to TorchArchive).

import Foundation
import TensorCore

enum TorchInput {
    static func open(_ path: String, head: [UInt8], key: String?, config: Data?) throws -> WeightSource? {
        nil  // filled in when TorchArchive lands
    }
}
