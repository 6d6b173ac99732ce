// Resizing: RGBImage.resized equals Pillow 13's Image.resize(size, BILINEAR | BICUBIC) bit for bit on
// every size pair of Tests/Fixtures/images/resize.safetensors (up, down, mixed, 1x1, pairs Pillow
// resizes vertically first), plus the coefficient tables' worked values and window = crop.

import Testing
@testable import Imaging

/// "bilinear/noise_37x23/18x11" shown as "bilinear noise 37x23 to 18x11".
struct ResizeCase: CustomTestStringConvertible, Sendable {
    let key: String
    var parts: [Substring] { key.split(separator: "/") }
    var filter: ResampleFilter { ResampleFilter(rawValue: String(parts[0]))! }
    var source: String { String(parts[1]) }
    var size: (width: Int, height: Int) {
        let wh = parts[2].split(separator: "x").map { Int($0)! }
        return (wh[0], wh[1])
    }
    var testDescription: String { "\(parts[0]) \(source.replacingOccurrences(of: "_", with: " ")) to \(parts[2])" }
    static let all = Fixtures.resize.tensorNames.filter { !$0.hasPrefix("src/") }.sorted().map(ResizeCase.init)
}

private func source(_ name: String) throws -> RGBImage {
    let s = try rgbImage(Fixtures.resize, "src/\(name)")
    return RGBImage(width: s.width, height: s.height, pixels: s.bytes)
}

@Suite("resize")
struct ResizeTests {
    @Test("resizes like Pillow, bit for bit", arguments: ResizeCase.all)
    func resizesLikePillow(_ c: ResizeCase) throws {
        let src = try source(c.source)
        let expected = try rgbImage(Fixtures.resize, c.key)
        let out = src.resized(width: c.size.width, height: c.size.height, filter: c.filter)
        #expect(out.width == expected.width && out.height == expected.height)
        let identical = out.pixels == expected.bytes  // a Bool, so a failure prints the summary, not the arrays
        #expect(identical, "\(firstDifference(out.pixels, expected.bytes, width: expected.width))")
    }

    @Test("the fixture covers both pass orders and both filters")
    func coverage() {
        let all = ResizeCase.all
        #expect(all.count >= 80)
        #expect(all.contains { $0.filter == .bicubic })
        // Vertical first in Pillow 13: height shrinks and H - newH > 2 * (W - newW).
        let srcSizes = ["noise_37x23": (37, 23), "photo_61x47": (61, 47), "strip_300x7": (300, 7),
                        "tall_9x131": (9, 131), "pixel_1x1": (1, 1), "edges_16x16": (16, 16)]
        let orders = all.map { c -> Bool in
            let (w, h) = srcSizes[c.source]!
            return c.size.width != w && c.size.height < h && (h - c.size.height) > 2 * (w - c.size.width)
        }
        #expect(orders.filter { $0 }.count >= 10)
        #expect(orders.filter { !$0 }.count >= 10)
    }

    @Test("any window of a resize equals the same crop of the full resize")
    func windowEqualsCrop() throws {
        let src = try source("photo_61x47")
        for (w, h) in [(30, 23), (122, 94), (90, 10), (7, 45), (61, 24), (24, 47)] {
            for filter in ResampleFilter.allCases {
                let full = src.resized(width: w, height: h, filter: filter)
                for (x, y, ww, wh) in [(0, 0, w, h), (1, 2, w - 2, h - 3), (w / 3, h / 4, w / 2, h / 2), (w - 1, h - 1, 1, 1)] {
                    let win = src.resizedCrop(width: w, height: h, filter: filter, window: (x, y, ww, wh))
                    let same = win == full.cropped(x: x, y: y, width: ww, height: wh)
                    #expect(same, "\(filter) \(w)x\(h) window \(x),\(y) \(ww)x\(wh)")
                }
            }
        }
    }

    @Test("same size is a copy")
    func sameSize() throws {
        let src = try source("noise_37x23")
        let same = src.resized(width: 37, height: 23) == src
        #expect(same)
    }

    // Worked values of /work/shared/research/models.md section 4.5, from a transcription of
    // Resample.c; the fixtures above confirm the transcription against Pillow itself.
    @Test("bilinear coefficients: 512 -> 256, 500 -> 224, 100 -> 224")
    func coefficients() {
        let a = ResampleCoefficients(inSize: 512, outSize: 256, filter: .bilinear)
        #expect(a.ksize == 5)
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
}
