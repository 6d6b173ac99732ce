// Fuzz target: the zip container of torch.save files (ZipArchive: end records, ZIP64, central directory, local
// headers, DEFLATE), then the whole TorchCheckpoint load on the same bytes.
// Properties: never traps; refusals are TorchArchiveErrors, one line starting with the name; every record the
// directory accepts is in bounds, and an inflated record has exactly the size the directory claims.

import TensorCore
@testable import TorchArchive

let name = "fuzz.pt"
// The copy budget is lowered so that no input can make one execution allocate more than 64 MB.
let limits = PickleLimits(maxCopyBytes: 64 << 20)

func checkShape(_ e: TorchArchiveError) {
    let text = e.description
    precondition(text.hasPrefix(name + ": ") && !text.contains("\n") && !text.contains("\r"), "badly shaped message: \(text)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let owner = OwnedBytes(copying: bytes)
    do {
        let archive = try ZipArchive(file: owner, path: name)
        for entry in archive.entries.prefix(64) {
            do {
                let (view, _) = try archive.data(of: entry)
                precondition(view.count == entry.uncompressedSize, "record '\(entry.name)' is \(view.count) bytes, the directory says \(entry.uncompressedSize)")
            } catch let e as TorchArchiveError { checkShape(e) }
        }
    } catch let e as TorchArchiveError {
        checkShape(e)
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    do {
        let c = try TorchCheckpoint.load(bytes: bytes, name: name, limits: limits)
        for (n, t) in c.tensors {
            precondition(t.dtype.byteCount(elements: t.elementCount) == t.bytes.count, "'\(n)' size does not match dtype x shape")
        }
    } catch let e as TorchArchiveError {
        checkShape(e)
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
