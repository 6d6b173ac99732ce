// Images whose headers claim far more pixels than their data can hold: vfw refuses them before it allocates
// the raster (Sources/CImageShims: png_decode.c's IDAT check, jpeg_decode.c's check_scan_data), including the
// ones Pillow decodes into invented pixels, and still decodes, exactly as Pillow, the legitimate files that sit
// on those rules' edge. tools/make_hostile_images.py writes Tests/Fixtures/images/hostile with Pillow's verdict
// on each file; Tests/Fixtures/fuzz/{png,jpeg} holds what the fuzz targets found. The same files run end to end
// under a 1 GiB address-space limit in Tests/CLITests/MaliciousTests.swift, where, before the fix, the JPEGs
// crashed vfw and the 13000x13000 PNG ran out of memory.

import Foundation
import Testing
@testable import Imaging

struct HostileImage: CustomTestStringConvertible, Sendable {
    let path: String
    let refusal: String
    var testDescription: String { (path as NSString).lastPathComponent }
}

private struct HostileManifest: Decodable {
    struct Case: Decodable { var vfw_refusal: String; var pillow: String }
    struct Edge: Decodable { var bytes: Int; var rgb_sha256: String }
    var cases: [String: Case]
    var edge: [String: Edge]
    static let loaded: HostileManifest? = {
        guard let data = FileManager.default.contents(atPath: imageFixture("hostile/cases.json")) else { return nil }
        return try? JSONDecoder().decode(HostileManifest.self, from: data)
    }()
}

enum HostileImages {
    static let generated: [HostileImage] = (HostileManifest.loaded?.cases ?? [:]).keys.sorted().map {
        HostileImage(path: imageFixture("hostile/\($0)"), refusal: HostileManifest.loaded!.cases[$0]!.vfw_refusal)
    }
    /// What each fuzz finding must now give (Fuzz/README.md "Findings").
    static let fuzzFindings: [HostileImage] = [
        HostileImage(path: imageFixture("../fuzz/png/ztxt-chunk-claims-2GB-41-bytes.png"), refusal: "truncated PNG"),
        HostileImage(path: imageFixture("../fuzz/png/ihdr-13000x13000-rgba16-69-bytes.png"), refusal: "truncated PNG"),
        HostileImage(path: imageFixture("../fuzz/jpeg/sof2-13000x13000-144-bytes.jpg"),
                     refusal: "13000x13000 JPEG with a scan of 14 bytes for 2640625 8x8 blocks (at least one bit each): image data missing"),
    ]
    static let edges: [String] = (HostileManifest.loaded?.edge ?? [:]).keys.sorted()
}

@Suite("hostile images")
struct HostileImageTests {
    @Test("the manifest lists every hostile and edge file, and each exists")
    func manifest() throws {
        let m = try #require(HostileManifest.loaded, "Tests/Fixtures/images/hostile/cases.json missing or unreadable")
        #expect(m.cases.count >= 4 && m.edge.count >= 2)
        let listed = Set(m.cases.keys).union(m.edge.keys)
        let present = Set(Fixtures.files(in: "hostile", extensions: ["png", "jpg"]))
        #expect(listed == present, "listed \(listed.sorted()), present \(present.sorted())")
        // The point of three of them: Pillow decodes them, vfw does not.
        #expect(m.cases.values.filter { $0.pillow.hasPrefix("decodes it") }.count >= 3)
    }

    @Test("refused with a one-line message naming the file and the reason",
          arguments: HostileImages.generated + HostileImages.fuzzFindings)
    func refused(_ c: HostileImage) throws {
        #expect(FileManager.default.fileExists(atPath: c.path), "\(c.path) missing")
        do {
            let image = try ImageDecoder.decode(file: c.path)
            Issue.record("decoded \(image.width)x\(image.height)")
        } catch let e as ImagingError {
            let message = "\(e)"
            #expect(message.hasPrefix(c.path + ": ") && message.contains(c.refusal), "\(message)")
            #expect(!message.contains("\n"))
        }
    }

    @Test("files on the rules' edge decode exactly as Pillow", arguments: HostileImages.edges)
    func edge(_ name: String) throws {
        let expected = try #require(HostileManifest.loaded?.edge[name])
        let image = try ImageDecoder.decode(file: imageFixture("hostile/\(name)"))
        #expect(image.pixels.withUnsafeBytes { sha256Hex($0) } == expected.rgb_sha256)
    }
}
