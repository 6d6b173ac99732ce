// Nearest-neighbour resizing, as each library picks the source pixel:
//
// Pillow (`Image.resize(size, NEAREST)`): _imaging.c _resize builds the affine map
// a = [(box[2] - box[0]) / xsize, 0, box[0], 0, (box[3] - box[1]) / ysize, box[1]] (box edges are C
// floats, the quotient a double) and Geometry.c ImagingScaleAffine walks it: xo = a[2] + a[0] * 0.5,
// then per output column `xin = COORD(xo)` (-1 when negative, else truncation) and `xo += a[0]`:
// an accumulated double sum, not a product. Outputs whose source falls outside stay 0 (fill = 1).
//
// torch (`F.interpolate(mode="nearest-exact")`, which transformers' torchvision backend uses for
// PIL's NEAREST): ATen UpSample.h nearest_neighbor_exact_compute_source_index with
// scale = (float)in / out: src = min((int64)floorf((dst + 0.5) * scale), in - 1), where the product is
// a double (dst + 0.5 is double, scale a float promoted) rounded to float by floorf's argument.

import TensorCore

/// Source index of every output position along one axis; -1 where Pillow finds no source pixel.
func nearestIndices(inSize: Int, outSize: Int, resampler: Resampler) -> [Int] {
    switch resampler {
    case .pillow:
        let a0 = Double(Float(inSize) - Float(0)) / Double(outSize)
        var xo = 0.0 + a0 * 0.5
        var table = [Int](repeating: -1, count: outSize)
        for x in 0..<outSize {
            let xin = xo < 0.0 ? -1 : Int(xo)
            if xin >= 0 && xin < inSize { table[x] = xin }
            xo += a0
        }
        return table
    case .torch:
        let scale = Float(inSize) / Float(outSize)
        return (0..<outSize).map { i in
            let p = (Double(i) + 0.5) * Double(scale)
            return min(Int(Float(p).rounded(.down)), inSize - 1)
        }
    }
}

extension RGBImage {
    /// The `window` of the nearest-neighbour resize to `width` x `height` (sizes differ from the image's).
    ///
    /// Shapes and layout: output pixel (x, y) of the window = source pixel (xs[wx + x], ys[wy + y]),
    /// interleaved RGB, or black where either index is -1.
    func nearestResampled(width W2: Int, height H2: Int, resampler: Resampler,
                          window: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        let (wx, wy, ww, wh) = window
        let xs = width == W2 ? Array(0..<W2) : nearestIndices(inSize: width, outSize: W2, resampler: resampler)
        let ys = height == H2 ? Array(0..<H2) : nearestIndices(inSize: height, outSize: H2, resampler: resampler)
        let W = width
        return pixels.withUnsafeBufferPointer { src in
            RGBImage(width: ww, height: wh) { out in
                for y in 0..<wh {
                    let sy = ys[wy + y]
                    let o = y * ww * 3
                    for x in 0..<ww {
                        let sx = xs[wx + x]
                        if sy < 0 || sx < 0 {
                            out[o + 3 * x] = 0; out[o + 3 * x + 1] = 0; out[o + 3 * x + 2] = 0
                            continue
                        }
                        let s = (sy * W + sx) * 3
                        out[o + 3 * x] = src[s]; out[o + 3 * x + 1] = src[s + 1]; out[o + 3 * x + 2] = src[s + 2]
                    }
                }
            }
        }
    }
}
