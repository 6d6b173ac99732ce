// Pipelines: PreprocessSpec on real photos equals, bit for bit, what the real libraries compute
// (Tests/Fixtures/images/pipelines.json, by tools/make_image_fixtures.py): vfw's named presets against
// the pipelines they name, transformers preprocessor_config.json files read by vfw against
// AutoImageProcessor.from_pretrained (default torchvision backend, and backend="pil"), timm configs
// against create_transform(**resolve_data_config(pretrained_cfg)), and torchvision weights' transforms()
// against the spec text read off them. Per case: the float table equals the real pipeline's measured
// values; per photo: the uint8 image after resize and crop, and the float32 tensor, have the real ones'
// CRC-32 (zlib's) and shape.

import Foundation
import Testing
import TensorCore
@testable import Imaging

/// One case of pipelines.json, e.g. "hf/dinov2-base/torchvision".
struct PipelineCase: CustomTestStringConvertible, Sendable {
    let name: String
    var testDescription: String { name }
    static let all = Fixtures.pipelines.cases.keys.sorted().map(PipelineCase.init)
}

/// The spec vfw derives for a case: from its text, or from its config file as a model folder.
func spec(for name: String) throws -> PreprocessSpec {
    let c = Fixtures.pipelines.cases[name]!
    if let text = c.spec { return try PreprocessSpec.parse(text, source: name) }
    let folder = (imageFixture(c.config!) as NSString).deletingLastPathComponent
    let backend: PreprocessSpec.Backend = c.backend == "pil" ? .hfPil : .hfTorchvision
    return try #require(try PreprocessSpec.fromModelConfiguration(at: folder, backend: backend))
}

@Suite("pipelines")
struct PipelineTests {
    @Test("the fixture covers presets, transformers configs on both backends, timm and torchvision weights")
    func coverage() {
        let names = PipelineCase.all.map(\.name)
        for p in PreprocessSpec.presets.map(\.name) { #expect(names.contains("preset/\(p)"), "\(p)") }
        #expect(names.filter { $0.hasPrefix("hf/") && $0.hasSuffix("/torchvision") }.count >= 12)
        #expect(names.filter { $0.hasPrefix("hf/") && $0.hasSuffix("/pil") }.count >= 12)
        #expect(names.filter { $0.hasPrefix("timm/") }.count >= 8)
        #expect(names.filter { $0.hasPrefix("torchvision/") }.count >= 12)
        let specs = PipelineCase.all.compactMap { try? spec(for: $0.name) }
        #expect(specs.count == names.count)
        for f in ResampleFilter.allCases where f != .box && f != .hamming {
            #expect(specs.contains { $0.interpolation == f }, "\(f)")
        }
        #expect(specs.contains { $0.rescaleOffset } && specs.contains { $0.stdAgain } && specs.contains { $0.mean == nil })
    }

    @Test("equals the real pipeline, bit for bit", arguments: PipelineCase.all)
    func matchesTheLibraries(_ c: PipelineCase) throws {
        let expected = try #require(Fixtures.pipelines.cases[c.name])
        let s = try spec(for: c.name)

        // The float stage: the real pipeline's value for each byte in each channel.
        let t = try Fixtures.pipelineTables.tensor("\(c.name)/table")
        let table = Tensor(t).data
        let same = s.lookupTable == table
        #expect(same, "\(s.text): table differs from \(expected.python) by up to \(zip(s.lookupTable, table).map { abs($0 - $1) }.max()!)")

        // transformers' do_convert_rgb composites transparency onto white (portrait.png has a transparent
        // palette entry); the others drop it.
        #expect((s.transparency == .white) == (expected.convert_rgb == true), "\(s.text)")
        for (photo, out) in expected.outputs.sorted(by: { $0.key < $1.key }) {
            try check(s, photo: photo, out, expected)
        }
    }

    private func check(_ s: PreprocessSpec, photo: String, _ out: PipelineManifest.Output, _ expected: PipelineManifest.Case) throws {
        let image = try ImageDecoder.decode(file: imageFixture("preset/\(photo)"))
        // Resize and crop (the uint8 image behind the real tensor) ...
        let small = s.resizedImage(image)
        #expect([1, 3, small.height, small.width] == out.shape, "\(photo): \(small.width)x\(small.height)")
        let pixels = small.pixels.withUnsafeBytes { crc32($0) }
        #expect(pixels == out.uint8_crc32, "\(photo): the pixels after resize and crop differ from \(expected.python) (\(s.text))")
        // ... and the float32 tensor itself.
        let tensor = s.tensor(resized: small)
        #expect(tensor.shape == out.shape)
        let bytes = tensor.data.withUnsafeBytes { crc32($0) }
        #expect(bytes == out.tensor_crc32, "\(photo): float32 bytes differ from \(expected.python)")
    }

    @Test("batch stacks the single-image tensors")
    func batch() throws {
        let a = try ImageDecoder.decode(file: imageFixture("preset/rocket.jpg"))
        let b = try ImageDecoder.decode(file: imageFixture("preset/tiny_13x9.png"))
        for p in PreprocessSpec.presets {
            let t = p.spec.batch([a, b])
            let side = p.spec.fixedOutputSize!
            #expect(t.shape == [2, 3, side.height, side.width])
            let first = t.item(0).data == p.spec.tensor(from: a).data, second = t.item(1).data == p.spec.tensor(from: b).data
            #expect(first && second, "\(p.name)")
        }
    }
}
