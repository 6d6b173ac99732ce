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
        #expect(DecodeCase.all.count == Fixtures.decoded.tensorNames.count)
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
