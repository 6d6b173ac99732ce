// Fuzz target: JPEG decoding (libjpeg-turbo through Sources/CImageShims, then Pillow's convert("RGB") rules in Swift).
// Inputs are put behind SOI (FF D8 FF) when they do not start with it, so every execution reaches libjpeg.
// Properties: never traps; a refusal is an ImagingError, one line starting with the name; a decoded image has
// width x height x 3 bytes.

import Imaging

let name = "fuzz.jpg"
let signature: [UInt8] = [0xFF, 0xD8, 0xFF]

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
