// Unreadable, corrupt, truncated and non-image inputs: an ImagingError of the expected case whose
// message is one line naming the file; never a crash. Pillow rejects every one of these files too
// (its exception is recorded in Tests/Fixtures/images/corrupt.json), except the GIF, which it reads.

import Foundation
import Testing
@testable import Imaging

struct CorruptCase: CustomTestStringConvertible, Sendable {
    let file: String
    let expected: String
    let pillow: String
    var testDescription: String { "error \((file as NSString).deletingPathExtension.replacingOccurrences(of: "_", with: " "))" }
    static let all = Fixtures.corrupt.keys.sorted().map {
        CorruptCase(file: $0, expected: Fixtures.corrupt[$0]!["expected"]!, pillow: Fixtures.corrupt[$0]!["pillow"]!)
    }
}

private func caseName(_ e: ImagingError) -> String {
    switch e {
    case .unreadable: return "unreadable"
    case .empty: return "empty"
    case .notAnImage: return "notAnImage"
    case .corrupt: return "corrupt"
    case .truncated: return "truncated"
    case .unsupported: return "unsupported"
    case .tooLarge: return "tooLarge"
    case .badPreprocess: return "badPreprocess"
    }
}

@Suite("errors")
struct ErrorTests {
    @Test("fails with a one-line error naming the file", arguments: CorruptCase.all)
    func corruptFile(_ c: CorruptCase) throws {
        let path = imageFixture("corrupt/\(c.file)")
        do {
            let image = try ImageDecoder.decode(file: path)
            Issue.record("decoded \(image.width)x\(image.height); Pillow: \(c.pillow)")
        } catch let e as ImagingError {
            #expect(caseName(e) == c.expected, "\(e) (Pillow: \(c.pillow))")
            let message = "\(e)"
            #expect(message.hasPrefix(path + ": "), "\(message)")
            #expect(!message.contains("\n"), "\(message)")
        }
    }

    @Test("missing file and directory are unreadable")
    func unreadable() throws {
        let missing = imageFixture("corrupt/does-not-exist.png")
        #expect(throws: ImagingError.unreadable(file: missing, reason: "No such file or directory")) {
            try ImageDecoder.decode(file: missing)
        }
        let dir = imageFixture("corrupt")
        #expect(throws: ImagingError.unreadable(file: dir, reason: "is a directory")) {
            try ImageDecoder.decode(file: dir)
        }
    }

    @Test("every prefix of a PNG and a JPEG fails cleanly or decodes")
    func everyPrefix() throws {
        // Cut at many points, including inside headers and markers: errors only, never a trap.
        for name in ["png_rgba16_interlaced_37x23.png", "jpeg_progressive_420_37x23.jpg", "jpeg_cmyk_37x23.jpg"] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: imageFixture("decode/\(name)"))))
            for cut in Swift.stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
                do {
                    _ = try ImageDecoder.decode(Array(bytes[0..<cut]), name: "\(name)[0..<\(cut)]")
                    // A JPEG cut after its last scan may still decode (Pillow also accepts a missing EOI).
                    #expect(name.hasSuffix(".jpg") && cut > bytes.count - 4, "\(name) cut at \(cut) decoded")
                } catch let e as ImagingError {
                    #expect("\(e)".hasPrefix("\(name)[0..<\(cut)]: "))
                }
            }
        }
    }

    @Test("flipped bytes give an error or an image, never a crash")
    func bitFlips() throws {
        var rng = SystemRandomNumberGenerator()
        for name in ["png_palette4_interlaced_37x23.png", "jpeg_baseline_420_64x48.jpg", "jpeg_progressive_444_64x48.jpg"] {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: imageFixture("decode/\(name)"))))
            for _ in 0..<200 {
                var b = bytes
                for _ in 0..<3 { b[Int.random(in: 0..<b.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
                _ = try? ImageDecoder.decode(b, name: name)
            }
        }
    }
}
