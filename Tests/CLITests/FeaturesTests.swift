// embed / classify / similar / index / search end to end on committed images (their parity with
// torchvision and transformers is proven in the CI parity job, tools/check_embed.py).

import Foundation
import Testing

private let photo = fixture("images/preset/rocket.jpg")
private let png = fixture("images/decode/png_palette8_trns_37x23.png")

/// resnet18 synthetic weights with 5 classes, made once for the suite.
private let weights: String = {
    let dir = scratchDir("features-weights")
    _ = try? runVFW(["synth", "--model", "resnet18", "--classes", "5", "-o", dir + "/r18.vfw"])
    return dir + "/r18.vfw"
}()

@Suite("feature commands", .serialized)
struct FeaturesTests {
    @Test("embed: one 512-d pooled vector per image, as JSON")
    func embedJSON() throws {
        let r = try runVFW(["embed", photo, png, "--weights", weights])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
        #expect(rows.count == 2)
        #expect(rows.map { $0["dim"] as? Int } == [512, 512])
        #expect(rows[0]["layer"] as? String == "pooled" && rows[0]["image"] as? String == photo)
        #expect((rows[0]["vector"] as! [Double]) != (rows[1]["vector"] as! [Double]))
    }

    @Test("embed --layer fc --format npy writes NumPy's float32 [N, D]")
    func embedNPY() throws {
        let out = scratchDir("npy") + "/f.npy"
        let r = try runVFW(["embed", photo, "--weights", weights, "--layer", "fc", "--format", "npy", "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(Array(bytes[0..<6]) == [0x93] + Array("NUMPY".utf8))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.contains("'descr': '<f4'") && header.contains("'shape': (1, 5)"))
        #expect(bytes.count == 10 + headerLength + 5 * 4 && (10 + headerLength) % 64 == 0)
    }

    @Test("embed --image-size: a transformers ViT runs at another size (its table resampled); bad sizes exit 2, as --batch 0",
          arguments: [("20", 0), ("48x28", 0), ("0x28", 2), ("28y28", 2)])
    func embedImageSize(_ size: String, _ status: Int32) throws {
        let vit = fixture("vit/sizes/hf")
        let r = try runVFW(["embed", photo, "--weights", vit, "--image-size", size])
        #expect(r.status == status, "\(size): \(r.stderr)")
        if status == 0 {
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
            #expect(rows.map { $0["dim"] as? Int } == [32])
        } else {
            // ArgumentParser's validation: the error line, then the usage (as for --batch 0).
            #expect(r.stderr.hasPrefix("Error: --image-size '\(size)' is not N or HxW"), "\(r.stderr)")
        }
    }

    @Test("embed --image-size on a fixed-size model (torchvision ViT) is refused naming both sizes, exit 2")
    func embedImageSizeFixed() throws {
        let r = try runVFW(["embed", photo, "--weights", fixture("vit/torchvision"), "--image-size", "48"])
        #expect(r.status == 2 && r.stderr.contains("takes 32x32 images only") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test("similar: an image is identical to itself, and not to another")
    func similar() throws {
        let same = try runVFW(["similar", photo, photo, "--weights", weights])
        #expect(same.status == 0 && same.stdout == "1.000000\n", "\(same.stdout)\(same.stderr)")
        let other = try runVFW(["similar", photo, png, "--weights", weights])
        #expect(other.status == 0 && (Double(other.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1) < 0.9999)
    }

    @Test("classify: the top classes with probabilities, class indices when no labels")
    func classify() throws {
        let r = try runVFW(["classify", photo, "--weights", weights, "--top", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines.allSatisfy { $0.contains("%  class ") })
    }

    @Test("index skips and lists unreadable images; search finds the query first")
    func indexAndSearch() throws {
        let dir = scratchDir("index")
        let photos = dir + "/photos"
        try FileManager.default.createDirectory(atPath: photos + "/sub", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: photo, toPath: photos + "/a.jpg")
        try FileManager.default.copyItem(atPath: png, toPath: photos + "/sub/b.png")
        try Data("not a jpeg".utf8).write(to: URL(fileURLWithPath: photos + "/broken.jpg"))
        let r = try runVFW(["index", photos, "--weights", weights, "-o", dir + "/i.vfw"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipped: \(photos)/broken.jpg: "), "\(r.stderr)")
        #expect(r.stdout.contains("2 images x 512") && r.stdout.contains("1 skipped"))
        let s = try runVFW(["search", dir + "/i.vfw", photo, "--top", "2"])
        #expect(s.status == 0, "\(s.stderr)")
        let first = s.stdout.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("1.000000  ") && first.hasSuffix("/a.jpg"), "\(s.stdout)")
        let again = try runVFW(["index", photos, "--weights", weights, "-o", dir + "/i.vfw"])
        #expect(again.status == 2 && again.stderr.contains("already exists"))
    }

    @Test("bad images exit 2 with one line naming the file", arguments: ["corrupt/jpeg_soi_then_garbage.jpg", "corrupt/empty.png", "corrupt/image.gif"])
    func badImage(_ name: String) throws {
        let path = fixture("images/" + name)
        let r = try runVFW(["embed", path, "--weights", weights])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(path): ") && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
    }
}
