// Fuzz target: the .vfw reader (VFWFile) on arbitrary bytes.
// Properties: never traps; a refusal is a VFWError whose message is one line starting with the name; an accepted
// file hands out in-bounds views whose size matches dtype x shape, and its checksums can be verified.

import TensorCore
import VFWFormat

let name = "fuzz.vfw"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    do {
        let f = try VFWFile(bytes: bytes, name: name)
        for n in f.tensorNames {
            guard let t = f.tensor(n), let e = f.entry(n) else { fatalError("listed tensor '\(n)' has no view") }
            precondition(t.bytes.count == e.length && t.dtype.byteCount(elements: t.elementCount) == e.length,
                         "view of '\(n)' does not match its dtype and shape")
        }
        try? f.verifyChecksums()
    } catch let e as VFWError {
        let text = e.description
        precondition(text.hasPrefix(name + ": ") && !text.contains("\n"), "badly shaped message: \(text)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
