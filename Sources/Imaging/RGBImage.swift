// The image type the pipelines work on: 8-bit RGB, interleaved, rows top to bottom. It is what
// Pillow's `Image.open(p).convert("RGB")` holds (Pillow stores RGB as RGBX in memory; the X byte
// never influences a value, so vfw keeps three bytes per pixel).

/// An 8-bit RGB image: `height` rows of `width` pixels, each pixel `r, g, b`.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes: pixel (x, y) channel c is at `(y * width + x) * 3 + c`.
    public var pixels: [UInt8]

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
