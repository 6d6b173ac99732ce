// Resizing: RGBImage.resized equals Pillow 13's Image.resize(size, filter) for all six filters and
// torch's antialiased uint8 resize (torchvision v2 on a tensor) for its four, bit for bit, on every size
// pair of Tests/Fixtures/images/resize.safetensors (up, down, mixed, 1x1, pairs Pillow resizes vertically
// first); plus the coefficient tables' worked values, torch's fixed-point precision, and window = crop.

import Testing
@testable import Imaging

/// "torch/bicubic/noise_37x23/18x11" shown as "torch bicubic noise 37x23 to 18x11".
struct ResizeCase: CustomTestStringConvertible, Sendable {
    let key: String
    var parts: [Substring] { key.split(separator: "/") }
    var resampler: Resampler { Resampler(rawValue: String(parts[0]))! }
    var filter: ResampleFilter { ResampleFilter(rawValue: String(parts[1]))! }
    var source: String { String(parts[2]) }
    var size: (width: Int, height: Int) {
        let wh = parts[3].split(separator: "x").map { Int($0)! }
        return (wh[0], wh[1])
    }
    var testDescription: String { "\(parts[0]) \(parts[1]) \(source.replacingOccurrences(of: "_", with: " ")) to \(parts[3])" }
    static let all = Fixtures.resize.tensorNames.filter { !$0.hasPrefix("src/") }.sorted().map(ResizeCase.init)
}

private func source(_ name: String) throws -> RGBImage {
    let s = try rgbImage(Fixtures.resize, "src/\(name)")
    return RGBImage(width: s.width, height: s.height, pixels: s.bytes)
}

@Suite("resize")
struct ResizeTests {
    @Test("resizes like Pillow and torch, bit for bit", arguments: ResizeCase.all)
    func resizesLikeTheLibraries(_ c: ResizeCase) throws {
        let src = try source(c.source)
        let expected = try rgbImage(Fixtures.resize, c.key)
        let out = src.resized(width: c.size.width, height: c.size.height, filter: c.filter, resampler: c.resampler)
        #expect(out.width == expected.width && out.height == expected.height)
        let identical = out.pixels == expected.bytes  // a Bool, so a failure prints the summary, not the arrays
        #expect(identical, "\(firstDifference(out.pixels, expected.bytes, width: expected.width))")
    }

    @Test("the fixture covers every filter of both libraries and both Pillow pass orders")
    func coverage() {
        let all = ResizeCase.all
        #expect(all.count >= 300)
        for r in Resampler.allCases {
            for f in r.filters {
                #expect(all.filter { $0.resampler == r && $0.filter == f }.count >= 10, "\(r) \(f)")
            }
        }
        // Vertical first in Pillow 13: height shrinks and H - newH > 2 * (W - newW).
        let srcSizes = ["noise_37x23": (37, 23), "photo_61x47": (61, 47), "strip_300x7": (300, 7),
                        "tall_9x131": (9, 131), "pixel_1x1": (1, 1), "edges_16x16": (16, 16), "photo_128x96": (128, 96)]
        let orders = all.filter { $0.resampler == .pillow && $0.filter != .nearest }.map { c -> Bool in
            let (w, h) = srcSizes[c.source]!
            return c.size.width != w && c.size.height < h && (h - c.size.height) > 2 * (w - c.size.width)
        }
        #expect(orders.filter { $0 }.count >= 20)
        #expect(orders.filter { !$0 }.count >= 20)
    }

    @Test("any window of a resize equals the same crop of the full resize",
          arguments: Resampler.allCases.flatMap { r in r.filters.map { (r, $0) } }.map { "\($0.0.rawValue) \($0.1.rawValue)" })
    func windowEqualsCrop(_ name: String) throws {
        let parts = name.split(separator: " ")
        let resampler = Resampler(rawValue: String(parts[0]))!, filter = ResampleFilter(rawValue: String(parts[1]))!
        let src = try source("photo_61x47")
        for (w, h) in [(30, 23), (122, 94), (90, 10), (7, 45), (61, 24), (24, 47)] {
            let full = src.resized(width: w, height: h, filter: filter, resampler: resampler)
            for (x, y, ww, wh) in [(0, 0, w, h), (1, 2, w - 2, h - 3), (w / 3, h / 4, w / 2, h / 2), (w - 1, h - 1, 1, 1)] {
                let win = src.resizedCrop(width: w, height: h, filter: filter, resampler: resampler, window: (x, y, ww, wh))
                let same = win == full.cropped(x: x, y: y, width: ww, height: wh)
                #expect(same, "\(w)x\(h) window \(x),\(y) \(ww)x\(wh)")
            }
        }
    }

    @Test("same size is a copy", arguments: Resampler.allCases)
    func sameSize(_ r: Resampler) throws {
        let src = try source("noise_37x23")
        for f in r.filters {
            let same = src.resized(width: 37, height: 23, filter: f, resampler: r) == src
            #expect(same, "\(f)")
        }
    }

    @Test("PIL filter codes (transformers' resample field)")
    func pilCodes() {
        #expect(ResampleFilter.allCases.map(\.pilCode).sorted() == [0, 1, 2, 3, 4, 5])
        #expect(ResampleFilter(pilCode: 2) == .bilinear && ResampleFilter(pilCode: 3) == .bicubic)
        #expect(ResampleFilter(pilCode: 0) == .nearest && ResampleFilter(pilCode: 1) == .lanczos)
        #expect(ResampleFilter(pilCode: 6) == nil)
    }

    // Worked values of /work/shared/research/models.md section 4.5, from a transcription of
    // Resample.c; the fixtures above confirm the transcription against Pillow itself.
    @Test("Pillow bilinear coefficients: 512 -> 256, 500 -> 224, 100 -> 224")
    func coefficients() {
        let a = ResampleCoefficients(inSize: 512, outSize: 256, filter: .bilinear)
        #expect(a.ksize == 5 && a.precision == 22)
        #expect(a.first[0] == 0 && a.count[0] == 3 && Array(a.weights[0..<3]) == [1797559, 1797559, 599186])
        #expect(a.first[1] == 1 && a.count[1] == 4 && Array(a.weights[5..<9]) == [524288, 1572864, 1572864, 524288])
        #expect(a.first[255] == 509 && a.count[255] == 3 && Array(a.weights[(255 * 5)..<(255 * 5 + 3)]) == [599186, 1797559, 1797559])
        let b = ResampleCoefficients(inSize: 500, outSize: 224, filter: .bilinear)
        #expect(b.first[0] == 0 && b.count[0] == 3 && Array(b.weights[0..<3]) == [1571779, 1797559, 824967])
        let k = b.ksize
        #expect(b.first[1] == 1 && b.count[1] == 5 && Array(b.weights[k..<(k + 5)]) == [321489, 1158854, 1742019, 904654, 67288])
        let c = ResampleCoefficients(inSize: 100, outSize: 224, filter: .bilinear)
        #expect(c.first[0] == 0 && c.count[0] == 1 && c.weights[0] == 4194304)
        #expect(c.first[1] == 0 && c.count[1] == 2 && Array(c.weights[c.ksize..<(c.ksize + 2)]) == [3482770, 711534])
        #expect(c.first[223] == 99 && c.count[223] == 1)
    }

    // ATen picks the largest p < 22 with round(max weight * 2^(p+1)) < 2^15: the weights are int16.
    @Test("torch fixed point: precision from the largest weight, weights fit int16",
          arguments: [(512, 256), (500, 224), (100, 224), (640, 7), (7, 640), (427, 256), (1, 5)])
    func torchPrecision(_ sizes: (Int, Int)) {
        for f in [ResampleFilter.bilinear, .bicubic, .lanczos] {
            let t = ResampleCoefficients(torch: sizes.0, outSize: sizes.1, filter: f)
            let largest = t.weights.max()!
            #expect(t.weights.allSatisfy { $0 >= Int32(Int16.min) && $0 <= Int32(Int16.max) }, "\(f)")
            // one more bit would overflow int16 (or the cap of 22 bits is reached)
            #expect(t.precision == 22 || Int(largest) * 2 >= (1 << 15) - 2, "\(f) p=\(t.precision) max=\(largest)")
            // every row sums to about 2^p
            for i in 0..<sizes.1 {
                let s = t.weights[(i * t.ksize)..<(i * t.ksize + t.count[i])].reduce(0, +)
                #expect(abs(Int(s) - (1 << Int(t.precision))) <= t.ksize, "\(f) row \(i) sums to \(s)")
            }
        }
        // 512 -> 256 bilinear: weights 3/7, 3/7, 1/7 at the edge, 1/8, 3/8, 3/8, 1/8 inside; the largest, 3/7,
        // times 2^17 would pass 2^15, so p = 16: round(3/7 * 65536) = 28087, round(1/7 * 65536) = 9362.
        let a = ResampleCoefficients(torch: 512, outSize: 256, filter: .bilinear)
        #expect(a.precision == 16 && Array(a.weights[0..<3]) == [28087, 28087, 9362])
        #expect(Array(a.weights[(a.ksize + 0)..<(a.ksize + 4)]) == [8192, 24576, 24576, 8192])
    }

    @Test("nearest: Pillow's accumulated affine walk and torch's nearest-exact index")
    func nearest() {
        #expect(nearestIndices(inSize: 4, outSize: 8, resampler: .pillow) == [0, 0, 1, 1, 2, 2, 3, 3])
        #expect(nearestIndices(inSize: 4, outSize: 8, resampler: .torch) == [0, 0, 1, 1, 2, 2, 3, 3])
        #expect(nearestIndices(inSize: 10, outSize: 3, resampler: .pillow) == [1, 5, 8])
        #expect(nearestIndices(inSize: 10, outSize: 3, resampler: .torch) == [1, 5, 8])
        #expect(nearestIndices(inSize: 5, outSize: 5, resampler: .torch) == [0, 1, 2, 3, 4])
    }
}
