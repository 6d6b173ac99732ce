// Fuzz target: the pickle machine alone (no container): the input is one pickle, run the way data.pkl is, with
// torch's persistent ids resolved symbolically; then the state_dict selection and tensor checks on what it built.
// Storages have no bytes here, so only empty tensors can load; everything before that is exercised.
// Properties: never traps, never recurses without bound; refusals are TorchArchiveErrors, one line starting
// with the name.

import TensorCore
@testable import TorchArchive

let name = "fuzz.pkl"
let limits = PickleLimits(maxCopyBytes: 64 << 20)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let owner = OwnedBytes(copying: UnsafeRawBufferPointer(start: data, count: size))
    let loader = Loader(file: owner, path: name, limits: limits)
    let ctx = PickleContext(path: name, stream: "data.pkl", baseOffset: 0)
    do {
        let machine = PickleMachine(data: owner.bytes, context: ctx, limits: limits, heap: loader.heap) { pid, heap, off in
            try loader.persistentLoad(pid, heap: heap, offset: off, context: ctx, legacy: false)
        }
        let value = try machine.run().value
        _ = loader.heap.describe(value)
        let c = try loader.finish(value, key: nil, container: .zip)
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
