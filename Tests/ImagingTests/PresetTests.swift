// Presets: `Preprocess.tensor(from:)` on the decoded preset inputs equals the tensor the REAL
// torchvision transforms / transformers ViTImageProcessorPil produce (tools/make_image_fixtures.py):
// the uint8 224x224 image behind it equals Python's exactly, every float within 1e-6 of Python's
// (in fact bit-identical: the SHA-256 of the float32 bytes matches the real tensor's).

import Testing
import TensorCore
@testable import Imaging

struct PresetCase: CustomTestStringConvertible, Sendable {
    let preset: Preprocess
    let file: String
    var testDescription: String { "\(preset.rawValue) \(file)" }
    static let all = Preprocess.allCases.flatMap { p in
        ["camera.png", "portrait.png", "rocket.jpg"].map { PresetCase(preset: p, file: $0) }
    }
}

/// The real pipeline's value for byte v in channel c, measured in Python.
private func realTable(_ p: Preprocess) throws -> [Float] {
    let t = try Fixtures.presets.tensor("\(p.rawValue)/table")
    #expect(t.shape == [3, 256])
    return Tensor(t).data
}

@Suite("presets")
struct PresetTests {
    @Test("matches the Python pipeline", arguments: PresetCase.all)
    func matchesPython(_ c: PresetCase) throws {
        let image = try ImageDecoder.decode(file: imageFixture("preset/\(c.file)"))
        #expect(min(image.width, image.height) > 256, "the preset tests need the real resize path")
        let tensor = c.preset.tensor(from: image)
        #expect(tensor.shape == [1, 3, 224, 224])

        // The uint8 image after resize (and crop), against the one behind the real tensor.
        let expected = try uint8Tensor(Fixtures.presets, "\(c.preset.rawValue)/\(c.file)/uint8")
        let small = c.preset.resizedImage(image)
        let identical = small.pixels == expected.bytes
        #expect(identical, "\(firstDifference(small.pixels, expected.bytes, width: 224))")

        // The floats: the real tensor is table[c][uint8] exactly (asserted when the fixture was made).
        let table = try realTable(c.preset)
        var worst: Float = 0
        for ch in 0..<3 {
            for i in 0..<(224 * 224) {
                let want = table[ch * 256 + Int(expected.bytes[3 * i + ch])]
                worst = max(worst, abs(tensor.data[ch * 224 * 224 + i] - want))
            }
        }
        #expect(worst <= 1e-6, "max |vfw - python| = \(worst)")

        // Bit-identical to the real tensor.
        let sums = try #require(Fixtures.presetSums["\(c.preset.rawValue)/\(c.file)"])
        let hash = tensor.data.withUnsafeBytes { sha256Hex($0) }
        #expect(hash == sums["tensor_sha256"]?.string, "float32 bytes differ from the real tensor's")
    }

    @Test("lookup tables equal the real pipelines' measured values", arguments: Preprocess.allCases)
    func tables(_ p: Preprocess) throws {
        let table = try realTable(p)
        let same = p.lookupTable == table
        #expect(same, "max diff \(zip(p.lookupTable, table).map { abs($0 - $1) }.max()!)")
    }

    @Test("names, sizes and crop offsets")
    func naming() {
        #expect(Preprocess(name: "torchvision") == .torchvision)
        #expect(Preprocess(name: "HF-ViT") == .hfViT)
        #expect(Preprocess(name: "imagenet") == nil)
        // torchvision _compute_resized_output_size: int(256 * long / short).
        #expect(Preprocess.torchvisionResizedSize(width: 640, height: 427, shorter: 256) == (383, 256))
        #expect(Preprocess.torchvisionResizedSize(width: 300, height: 517, shorter: 256) == (256, 441))
        #expect(Preprocess.torchvisionResizedSize(width: 1024, height: 768, shorter: 256) == (341, 256))
        #expect(Preprocess.torchvisionResizedSize(width: 500, height: 500, shorter: 256) == (256, 256))
        // int(round(x / 2.0)) with Python's half-to-even.
        #expect(Preprocess.centerCropOffset(383, 224) == 80)   // 79.5 -> 80
        #expect(Preprocess.centerCropOffset(441, 224) == 108)  // 108.5 -> 108
        #expect(Preprocess.centerCropOffset(256, 224) == 16)
    }

    @Test("batch stacks the single-image tensors")
    func batch() throws {
        let a = try ImageDecoder.decode(file: imageFixture("preset/rocket.jpg"))
        let b = try ImageDecoder.decode(file: imageFixture("preset/camera.png"))
        for p in Preprocess.allCases {
            let t = p.batch([a, b])
            #expect(t.shape == [2, 3, 224, 224])
            let first = t.item(0).data == p.tensor(from: a).data, second = t.item(1).data == p.tensor(from: b).data
            #expect(first && second)
        }
    }
}
