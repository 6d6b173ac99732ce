// ViTs on inputs of other sizes against the real libraries (Tests/Fixtures/vit/sizes, written by
// tools/make_vit_size_fixtures.py; versions in versions.json): a tiny patch-4 ViT built for 28x28 (a 7x7 grid, as a
// patch-32 ViT at 224) run at 20x20, 28x28, 36x36, 48x28 and 16x36 by transformers (interpolate_pos_encoding=True:
// bicubic) and timm (dynamic_img_size=True: bicubic with antialias), every tap compared at 1e-4; the position-table
// resampling alone against each library's own function, down, up, non-square and 2x; the layout's rule in the
// config, and torchvision's fixed size.

import Foundation
import Safetensors
import Testing
import TensorCore
@testable import Models

enum ViTSizeFixture {
    static func path(_ relative: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/vit/\(relative)").path
    }

    static func tensors(_ relative: String) throws -> [(name: String, tensor: RawTensor)] {
        let f = try SafetensorsFile(path: path(relative))
        return try f.tensorNames.map { ($0, try f.tensor($0)) }
    }

    static func tensor(_ relative: String, _ name: String) throws -> Tensor {
        Tensor(try #require(try tensors(relative).first { $0.name == name }).tensor)
    }

    /// The model of folder `name` recognised and built as `vfw convert` does.
    static func load(_ name: String) throws -> (Recognition, AnyModel) {
        let source = try tensors("\(name)/model.safetensors")
        let config = FileManager.default.contents(atPath: path("\(name)/config.json"))
        let r = try ModelZoo.recognise(source.map { ($0.name, $0.tensor.shape) }, configJSON: config)
        let canonical = try r.canonicalTensors(source)
        return (r, try ModelZoo.build(r.model, weights: WeightStore(canonical.map { ($0.name, $0.tensor) })))
    }
}

@Suite("ViT at other input sizes")
struct ViTSizeTests {
    @Test("every tap matches the library at 1e-4: table shrunk, untouched, grown, non-square",
          arguments: ["sizes/hf", "sizes/timm"], ["20x20", "28x28", "36x36", "48x28", "16x36"])
    func parity(_ name: String, _ size: String) throws {
        let (_, model) = try ViTSizeFixture.load(name)
        let expected = try ViTSizeFixture.tensors("\(name)/activations-\(size).safetensors")
        let x = try ViTSizeFixture.tensor("sizes/input.safetensors", "input-\(size)")
        let taps = TapRecorder(.all)
        _ = model(x, taps: taps)
        #expect(Set(taps.offered) == Set(expected.map(\.name)), "\(name): offered \(taps.offered)")
        for (tap, raw) in expected {
            let want = Tensor(raw)
            guard let got = taps.recorded.first(where: { $0.name == tap })?.value, got.shape == want.shape else {
                Issue.record("\(name) \(size): tap \(tap) missing or mis-shaped")
                continue
            }
            let err = got.maxAbsDifference(want)
            #expect(err <= 1e-4, "\(name) \(size) \(tap): max |Swift − PyTorch| = \(err)")
        }
    }

    @Test("the position table resamples as transformers' interpolate_pos_encoding and timm's resample_abs_pos_embed",
          arguments: ["3x3", "5x5", "9x9", "12x7", "4x9", "14x14"])
    func resampling(_ grid: String) throws {
        let table = try ViTSizeFixture.tensor("sizes/resample.safetensors", "grid")
        let hw = grid.split(separator: "x").map { Int($0)! }
        for (library, mode) in [("hf", PositionResampling.bicubic), ("timm", .bicubicAntialias)] {
            let want = try ViTSizeFixture.tensor("sizes/resample.safetensors", "\(library)-\(grid)")
            let got = resamplePositions(table, from: 7, to: hw[0], hw[1], mode)
            #expect(got.shape == [hw[0] * hw[1], 32])
            #expect(got.maxAbsDifference(want) <= 1e-5, "\(library) \(grid): \(got.maxAbsDifference(want))")
            // Where the two rules differ (shrinking: antialias widens the filter), the test tells them apart.
            if hw[0] < 7 || hw[1] < 7 {
                let other = resamplePositions(table, from: 7, to: hw[0], hw[1], mode == .bicubic ? .bicubicAntialias : .bicubic)
                #expect(other.maxAbsDifference(want) > 1e-3, "\(library) \(grid): both rules agree")
            }
        }
    }

    @Test("the layout decides the rule: transformers bicubic, timm bicubic with antialias, torchvision none (fixed size)")
    func rules() throws {
        let (hf, hfModel) = try ViTSizeFixture.load("sizes/hf")
        #expect(try hf.model.config(of: ViT.self).positionResampling == .bicubic)
        #expect(hfModel.imageSize == nil)
        let (timm, _) = try ViTSizeFixture.load("sizes/timm")
        #expect(try timm.model.config(of: ViT.self).positionResampling == .bicubicAntialias)
        let (tv, tvModel) = try ViTSizeFixture.load("torchvision")
        #expect(try tv.model.config(of: ViT.self).positionResampling == nil)
        #expect(tvModel.imageSize == 32)
        #expect(tvModel.network.isolatedModules().first?.itemShapes == [[3, 32, 32]])
        #expect(hfModel.network.isolatedModules().first?.itemShapes == [[3, nil, nil]])
    }

    @Test("position_resampling round-trips through the header; a header without it runs at image_size only")
    func header() throws {
        var c = try #require(ViTConfig.named("vit-tiny-patch16-224"))
        #expect(c.positionResampling == .bicubic)
        c.positionResampling = .bicubicAntialias
        let data = try JSONEncoder().encode(c)
        #expect(String(decoding: data, as: UTF8.self).contains(#""position_resampling":"bicubic-antialias""#))
        #expect(try JSONDecoder().decode(ViTConfig.self, from: data) == c)
        var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        object["position_resampling"] = nil
        let old = try JSONDecoder().decode(ViTConfig.self, from: try JSONSerialization.data(withJSONObject: object))
        #expect(old.positionResampling == nil)
    }
}
