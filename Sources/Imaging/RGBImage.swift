// The image type the pipelines work on: 8-bit RGB, interleaved, rows top to bottom. It is what
// Pillow's `Image.open(p).convert("RGB")` holds (Pillow stores RGB as RGBX in memory; the X byte
// never influences a value, so vfw keeps three bytes per pixel).

/// An 8-bit RGB image: `height` rows of `width` pixels, each pixel `r, g, b`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes: pixel (x, y) channel c is at `(y * width + x) * 3 + c`.
    public var pixels: [UInt8]
    /// The file's transparency as Pillow's `convert("RGBA")` gives it (`width * height` bytes, row-major),
    /// or nil when the file has none or every pixel is opaque. `pixels` never depends on it (Pillow's
    /// `convert("RGB")` drops it); transformers' convert_to_rgb composites it onto white
    /// (`compositedOnWhite()`).
    public var alpha: [UInt8]? = nil

    /// An image from interleaved RGB bytes. Precondition: `pixels.count == width * height * 3`, sizes >= 0.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        precondition(pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image whose bytes `initializer` writes (all `width * height * 3` of them: the buffer starts
    /// uninitialised, which saves kernels a zero-fill pass).
    public init(width: Int, height: Int, uninitialized initializer: (UnsafeMutableBufferPointer<UInt8>) throws -> Void) rethrows {
        precondition(width >= 0 && height >= 0, "RGBImage: negative size \(width)x\(height)")
        let n = width * height * 3
        self.width = width
        self.height = height
        self.pixels = try [UInt8](unsafeUninitializedCapacity: n) { buf, count in
            try initializer(buf)
            count = n
        }
    }

    /// transformers' `convert_to_rgb` (image_transforms.py): `Image.alpha_composite(white, image.convert("RGBA"))
    /// .convert("RGB")`. Pillow's AlphaComposite.c with an opaque white destination, per channel c and alpha a:
    /// a == 0 gives 255; else coef1 = a * 255 * 255 * 128 / (a * 255 + 255 * (255 - a)) (integer division),
    /// coef2 = 255 * 128 - coef1, t = c * coef1 + 255 * coef2 + (128 << 7), out = ((t >> 8) + t) >> 8 >> 7.
    /// The same image when there is no alpha.
    public func compositedOnWhite() -> RGBImage {
        guard let alpha else { return self }
        // out depends only on (c, a): one 256 x 256 table.
        var table = [UInt8](repeating: 255, count: 256 * 256)
        for a in 1..<256 {
            let outa = a * 255 + 255 * (255 - a)
            let coef1 = a * 255 * 255 * 128 / outa, coef2 = 255 * 128 - coef1
            for c in 0..<256 {
                let t = c * coef1 + 255 * coef2 + (0x80 << 7)
                table[a * 256 + c] = UInt8((((t >> 8) + t) >> 8) >> 7)
            }
        }
        return RGBImage(width: width, height: height) { out in
            pixels.withUnsafeBufferPointer { px in
                for i in 0..<(width * height) {
                    let row = Int(alpha[i]) * 256
                    out[3 * i] = table[row + Int(px[3 * i])]
                    out[3 * i + 1] = table[row + Int(px[3 * i + 1])]
                    out[3 * i + 2] = table[row + Int(px[3 * i + 2])]
                }
            }
        }
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)x\(height)")
        let o = (y * width + x) * 3
        return (pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// The `width` x `height` rectangle whose top-left pixel is (`x`, `y`), like PIL's
    /// `Image.crop((x, y, x + width, y + height))` for a rectangle inside the image.
    public func cropped(x: Int, y: Int, width w: Int, height h: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && w >= 0 && h >= 0 && x + w <= width && y + h <= height,
                     "crop (\(x), \(y), \(w)x\(h)) outside \(width)x\(height)")
        return RGBImage(width: w, height: h) { out in
            pixels.withUnsafeBufferPointer { src in
                for row in 0..<h {
                    let from = ((y + row) * width + x) * 3
                    let to = row * w * 3
                    for i in 0..<(w * 3) { out[to + i] = src[from + i] }
                }
            }
        }
    }
}
