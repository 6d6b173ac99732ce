// Fuzz target: the safetensors reader (SafetensorsFile) on arbitrary bytes.
// Properties: never traps; a refusal is a SafetensorsError, one line starting with the name; an accepted file's
// tensors are contiguous in-bounds views whose size matches dtype x shape.

import Safetensors
import TensorCore

let name = "fuzz.safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let f = try SafetensorsFile(bytes: bytes, name: name)
        var covered = 0
        for n in f.tensorNames {
            let t = try f.tensor(n)
            precondition(t.dtype.byteCount(elements: t.elementCount) == t.bytes.count, "'\(n)' size does not match dtype x shape")
            covered += t.bytes.count
        }
        precondition(f.dataOffset + covered == size, "accepted tensors do not cover the data buffer exactly")
    } catch let e as SafetensorsError {
        let text = e.description
        precondition(text.hasPrefix(name + ": ") && !text.contains("\n"), "badly shaped message: \(text)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
