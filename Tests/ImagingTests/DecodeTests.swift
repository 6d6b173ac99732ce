// Decoding: every PNG and JPEG fixture decodes to exactly the bytes of Pillow 13's
// `Image.open(p).convert("RGB")` (Tests/Fixtures/images/decoded.safetensors), and the photos of the
// pipeline tests (among them scikit-image's rocket.jpg, a camera JPEG) to the SHA-256 Pillow's decode has.

import Foundation
import Testing
@testable import Imaging

/// One decode fixture; shown as e.g. "png gray16 37x23".
struct DecodeCase: CustomTestStringConvertible, Sendable {
    let file: String
    var testDescription: String { (file as NSString).deletingPathExtension.replacingOccurrences(of: "_", with: " ") }
    static let all = Fixtures.files(in: "decode", extensions: ["png", "jpg"]).map(DecodeCase.init)
    /// Those Pillow reports transparency in (decoded.safetensors holds "white/<file>" for them).
    static let transparent = all.filter { Fixtures.decoded.tensorNames.contains("white/\($0.file)") }
}

/// A pipeline photo, checked against the hash of Pillow's decode; shown as "photo rocket.jpg".
struct PresetInputCase: CustomTestStringConvertible, Sendable {
    let file: String
    var testDescription: String { "photo \(file)" }
    static let all = Fixtures.files(in: "preset", extensions: ["png", "jpg"]).map(PresetInputCase.init)
}

@Suite("decode")
struct DecodeTests {
    @Test("the fixture set is all there")
    func fixtureSetComplete() throws {
        #expect(DecodeCase.all.count == Fixtures.decoded.tensorNames.filter { !$0.hasPrefix("white/") }.count)
        #expect(DecodeCase.transparent.count >= 20)
        #expect(DecodeCase.all.count >= 40)
        #expect(PresetInputCase.all.map(\.file) == Fixtures.pipelines.images.keys.sorted())
        #expect(PresetInputCase.all.count >= 7)
    }

    @Test("decodes like Pillow, bit for bit", arguments: DecodeCase.all)
    func decodesLikePillow(_ c: DecodeCase) throws {
        let image = try ImageDecoder.decode(file: imageFixture("decode/\(c.file)"))
        let expected = try rgbImage(Fixtures.decoded, c.file)
        #expect(image.width == expected.width && image.height == expected.height,
                "size \(image.width)x\(image.height), Pillow \(expected.width)x\(expected.height)")
        let identical = image.pixels == expected.bytes  // a Bool, so a failure prints the summary, not the arrays
        #expect(identical, "\(firstDifference(image.pixels, expected.bytes, width: expected.width))")
    }

    // transformers' convert_to_rgb: Pillow's convert("RGBA") alpha (alpha samples, palette tRNS, a tRNS
    // colour key cut to its low byte) composited onto white with Pillow's AlphaComposite.
    @Test("transparency composited onto white like transformers' convert_to_rgb", arguments: DecodeCase.all)
    func compositedLikeTransformers(_ c: DecodeCase) throws {
        let image = try ImageDecoder.decode(file: imageFixture("decode/\(c.file)"))
        guard Fixtures.decoded.tensorNames.contains("white/\(c.file)") else {
            let none = image.alpha == nil  // a Bool, so a failure does not print the whole plane
            #expect(none, "Pillow reports no transparency")
            return
        }
        let expected = try rgbImage(Fixtures.decoded, "white/\(c.file)")
        let white = image.compositedOnWhite()
        let identical = white.pixels == expected.bytes
        #expect(identical, "\(firstDifference(white.pixels, expected.bytes, width: expected.width))")
    }

    @Test("compositing onto white: every (value, alpha) pair as Pillow's alpha_composite")
    func compositeFormula() {
        // alpha 0 is white, alpha 255 the pixel; in between, rounded blends (the formula agreed with Pillow 13
        // on all 65536 (value, alpha) pairs when it was written; the decode fixtures check it on real files).
        var image = RGBImage(width: 4, height: 1, pixels: [0, 100, 255, 0, 100, 255, 0, 100, 255, 37, 38, 39])
        image.alpha = [0, 255, 128, 1]
        #expect(image.compositedOnWhite().pixels == [255, 255, 255, 0, 100, 255, 127, 177, 255, 254, 254, 254])
        let opaque = RGBImage(width: 1, height: 1, pixels: [1, 2, 3])
        #expect(opaque.compositedOnWhite() == opaque)
    }

    @Test("decodes like Pillow (SHA-256 of the RGB bytes)", arguments: PresetInputCase.all)
    func presetInputsDecodeLikePillow(_ c: PresetInputCase) throws {
        let image = try ImageDecoder.decode(file: imageFixture("preset/\(c.file)"))
        let photo = try #require(Fixtures.pipelines.images[c.file])
        #expect([image.width, image.height] == photo.size)
        let hash = image.pixels.withUnsafeBytes { sha256Hex($0) }
        #expect(hash == photo.rgb_sha256)
    }

    @Test("in-memory decode equals file decode and sniffing finds the format")
    func inMemory() throws {
        let path = imageFixture("decode/jpeg_progressive_420_37x23.jpg")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(ImageDecoder.sniff(bytes) == .jpeg)
        let same = try ImageDecoder.decode(bytes, name: "x.jpg") == (try ImageDecoder.decode(file: path))
        #expect(same)
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: imageFixture("decode/png_rgb8_1x1.png"))))
        #expect(ImageDecoder.sniff(png) == .png)
        #expect(ImageDecoder.sniff([0x47, 0x49, 0x46]) == nil)
    }

    @Test("the linked libraries are the expected ones")
    func libraries() {
        let v = ImageDecoder.libraryVersions
        #expect(v.hasPrefix("libpng 1.6."), "\(v)")
        #expect(v.contains("libjpeg-turbo"), "\(v)")
    }
}
