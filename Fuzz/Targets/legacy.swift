// Fuzz target: the legacy torch.save stream (torch <= 1.5: magic, protocol, sys_info, object pickle, storage keys,
// raw storages). Inputs are put behind the legacy magic number when they do not start with it, so every
// execution reaches the legacy reader.
// Properties: never traps; refusals are TorchArchiveErrors, one line starting with the name; accepted tensors'
// sizes match dtype x shape.

import TensorCore
import TorchArchive

let name = "fuzz-legacy.pt"
/// PROTO 2, LONG1 0x1950a86a20f9469cfc6c, STOP: what torch writes first.
let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
let limits = PickleLimits(maxCopyBytes: 64 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
    if !(input.count >= 2 && input[0] == 0x80) { input = magic + input }
    do {
        let c = try input.withUnsafeBytes { try TorchCheckpoint.load(bytes: $0, name: name, limits: limits) }
        for (n, t) in c.tensors {
            precondition(t.dtype.byteCount(elements: t.elementCount) == t.bytes.count, "'\(n)' size does not match dtype x shape")
        }
    } catch let e as TorchArchiveError {
        let text = e.description
        precondition(text.hasPrefix(name + ": ") && !text.contains("\n") && !text.contains("\r"), "badly shaped message: \(text)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
