// Fuzz targets `png` and `jpeg`: image decoding (libpng / libjpeg-turbo through Sources/CImageShims, then Pillow's
// convert("RGB") rules in Swift). One source, built twice by Fuzz/build.sh: `-D JPEG` makes the jpeg target.
// Inputs are put behind the format's signature (PNG's eight bytes, JPEG's SOI FF D8 FF) when they do not start
// with it, so every execution reaches the library.
// Properties: never traps; a refusal is an ImagingError, one line starting with the name; a decoded image has
// width x height x 3 bytes.

import Imaging

#if JPEG
let name = "fuzz.jpg"
let signature: [UInt8] = [0xFF, 0xD8, 0xFF]
#else
let name = "fuzz.png"
let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = [UInt8](UnsafeRawBufferPointer(start: data, count: size))
    if !input.starts(with: signature) { input = signature + input }
    do {
        let image = try ImageDecoder.decode(input, name: name)
        precondition(image.width > 0 && image.height > 0 && image.pixels.count == image.width * image.height * 3,
                     "decoded \(image.width)x\(image.height) with \(image.pixels.count) bytes")
    } catch let e as ImagingError {
        let text = String(describing: e)
        precondition(text.hasPrefix(name + ": ") && !text.contains("\n"), "badly shaped message: \(text)")
    } catch {
        fatalError("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
