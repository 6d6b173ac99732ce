// PreprocessSpec's written forms and its refusals: the text form and JSON give every fixture spec back,
// presets keep their names, bad specs and configs fail with one line naming the source and the field;
// the crop rules of the three backends on the half-pixel cases where they part.

import Foundation
import Testing
@testable import Imaging

private func message(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch { return "\(error)" }
}

private func hf(_ json: String, backend: PreprocessSpec.Backend = .hfTorchvision) throws -> PreprocessSpec {
    try PreprocessSpec.huggingFace(config: Data(json.utf8), file: "m/preprocessor_config.json", backend: backend)
}

@Suite("preprocess specs")
struct PreprocessSpecTests {
    @Test("text form: parse(text) gives every fixture spec and preset back", arguments: PipelineCase.all)
    func textRoundTrip(_ c: PipelineCase) throws {
        let s = try spec(for: c.name)
        #expect(try PreprocessSpec.parse(s.text) == s, "\(s.text)")
    }

    @Test("JSON: decode(encode(spec)) is the spec", arguments: PipelineCase.all)
    func jsonRoundTrip(_ c: PipelineCase) throws {
        let s = try spec(for: c.name)
        let data = try JSONEncoder().encode(s)
        #expect(try PreprocessSpec.decode(json: data, source: "header") == s, "\(String(decoding: data, as: UTF8.self))")
    }

    @Test("presets: names, overrides, and the text of each")
    func presets() throws {
        #expect(PreprocessSpec.presets.map(\.name) == ["torchvision", "hf-vit", "hf-vit-pil", "clip", "siglip", "dinov2", "timm"])
        for p in PreprocessSpec.presets {
            #expect(try PreprocessSpec.parse(p.name) == p.spec)
            #expect(p.spec.presetName == p.name)
            try p.spec.validate(source: p.name)
        }
        #expect(PreprocessSpec.preset("torchvision")!.text
                == "backend=pil,resize=256,interp=bilinear,crop=224,rescale=1/255,mean=imagenet,std=imagenet")
        #expect(PreprocessSpec.preset("hf-vit")!.text
                == "backend=hf-torchvision,resize=224x224,interp=bilinear,crop=none,rescale=1/255,mean=0.5,std=0.5")
        #expect(try PreprocessSpec.parse("hf-vit,backend=hf-pil") == PreprocessSpec.preset("hf-vit-pil"))
        let v2 = try PreprocessSpec.parse("torchvision,resize=232")
        #expect(v2.resize == .shortestEdge(232) && v2.crop == .init(224) && v2.presetName == nil)
        let t = try PreprocessSpec.parse("backend=pil, crop_pct=0.9, crop=224, interp=bicubic, mean=0.5, std=0.5")
        #expect(t.resize == .cropPct(0.9) && t.mean == [0.5, 0.5, 0.5] && t.rescale == 1.0 / 255.0)
        // Overrides of a model's own spec.
        let own = PreprocessSpec.preset("clip")!
        #expect(try PreprocessSpec.parse("backend=hf-pil", base: own) == { var s = own; s.backend = .hfPil; return s }())
        #expect(try PreprocessSpec.parse("hf-vit", base: own) == PreprocessSpec.preset("hf-vit"))
        let c = try PreprocessSpec.parse("backend=hf-pil,resize=none,crop=300x200,rescale=none,mean=0.1:0.2:0.3,std=clip")
        #expect(c.resize == .none && c.crop == .init(height: 300, width: 200) && c.rescale == nil && c.std == PreprocessSpec.clipStd)
        #expect(c.text == "backend=hf-pil,resize=none,interp=bilinear,crop=300x200,rescale=none,mean=0.1:0.2:0.3,std=clip")
    }

    @Test("bad text specs: one line naming the option and the problem", arguments: [
        ("imagenet", "unknown preprocessing preset 'imagenet'"),
        ("", "empty preprocessing spec"),
        ("torchvision,size=3", "unknown key 'size'"),
        ("torchvision,resize", "'resize' is not key=value"),
        ("torchvision,backend=onnx", "unknown backend 'onnx'"),
        ("torchvision,resize=0", "resize '0' is not N, HxW or none"),
        ("torchvision,interp=area", "unknown interpolation 'area'"),
        ("torchvision,rescale=1/0", "rescale '1/0' is not a number"),
        ("torchvision,mean=0.1:0.2", "mean '0.1:0.2' is not imagenet, clip"),
        ("torchvision,std=0", "std has a zero"),
        ("torchvision,std=none", "mean and std come together"),
        ("torchvision,rescale=1/127.5", "the pil backend (torchvision ToTensor) rescales by 1/255 exactly"),
        ("hf-vit,interp=box", "box interpolation is Pillow's only"),
        ("timm,crop=224x256", "crop_pct needs a square crop"),
        ("torchvision,resize=99999", "resize 99999 is outside 1...16384"),
        ("backend=pil,crop=224", "no resize="),
        ("resize=256", "no backend="),
    ])
    func badText(_ c: (String, String)) {
        let m = message { try PreprocessSpec.parse(c.0) } ?? ""
        #expect(m.hasPrefix("--preprocess: ") && m.contains(c.1) && !m.contains("\n"), "\(m)")
    }

    @Test("bad JSON specs name the key")
    func badJSON() {
        for (json, part) in [("{\"backend\":\"pil\",\"resize\":null,\"interpolation\":\"bilinear\",\"size\":3}", "unknown preprocessing key 'size'"),
                             ("{\"backend\":\"pil\",\"interpolation\":\"bilinear\"}", "missing resize"),
                             ("{\"backend\":\"gpu\",\"resize\":null,\"interpolation\":\"bilinear\"}", "backend"),
                             ("{\"backend\":\"pil\",\"resize\":{\"longest_edge\":3},\"interpolation\":\"bilinear\"}", "resize must be")] {
            let m = message { try PreprocessSpec.decode(json: Data(json.utf8), source: "x.vfw") } ?? ""
            #expect(m.hasPrefix("x.vfw: preprocessing spec: ") && m.contains(part), "\(m)")
        }
    }

    @Test("transformers configs: legacy forms, class defaults, both backends")
    func huggingFaceForms() throws {
        // feature_extractor_type, int size (square for ViT), no do_rescale: the class defaults apply.
        let vit = try hf(#"{"feature_extractor_type": "ViTFeatureExtractor", "size": 384, "resample": 2}"#)
        #expect(vit == PreprocessSpec(backend: .hfTorchvision, resize: .size(height: 384, width: 384), interpolation: .bilinear,
                                      mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]))
        // An int size is the shorter side for CLIP; the Fast and Pil suffixes do not pick the backend.
        let clip = try hf(#"{"image_processor_type": "CLIPImageProcessorFast", "size": 336, "crop_size": 336}"#, backend: .hfPil)
        #expect(clip.backend == .hfPil && clip.resize == .shortestEdge(336) && clip.crop == .init(336) && clip.interpolation == .bicubic)
        #expect(try hf(#"{"image_processor_type": "ViTImageProcessorPil"}"#) == PreprocessSpec.preset("hf-vit"))
        // null means the class default; do_pad false is harmless.
        #expect(try hf(#"{"image_processor_type": "ViTImageProcessor", "do_center_crop": null, "do_pad": false}"#) == PreprocessSpec.preset("hf-vit"))
        // ConvNext: crop_pct below 384, a plain square at 384.
        let cn = try hf(#"{"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 224}, "crop_pct": 0.875}"#)
        #expect(cn.resize == .cropPct(0.875) && cn.crop == .init(224) && cn.resizedSize(width: 640, height: 480) == (341, 256))
        #expect(try hf(#"{"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 384}}"#).resize == .size(height: 384, width: 384))
        // EfficientNet: include_top divides by std twice; rescale_offset.
        let e = try hf(#"{"image_processor_type": "EfficientNetImageProcessor", "rescale_offset": true}"#)
        #expect(e.stdAgain && e.rescaleOffset && e.resize == .size(height: 346, width: 346) && e.crop == nil)
    }

    @Test("transformers configs vfw cannot reproduce: one line naming the field and --preprocess", arguments: [
        (#"{"image_processor_type": "ViTImageProcessor", "do_flip": true}"#, "field 'do_flip' (true) is not one vfw knows for ViTImageProcessor"),
        (#"{"image_processor_type": "BeitImageProcessor"}"#, "image_processor_type 'BeitImageProcessor' is not one vfw reproduces"),
        (#"{"size": 224}"#, "no image_processor_type"),
        (#"{"image_processor_type": "ViTImageProcessor", "auto_map": {"AutoImageProcessor": "x.Y"}}"#, "field 'auto_map'"),
        (#"{"image_processor_type": "CLIPImageProcessor", "size": {"shortest_edge": 224, "longest_edge": 448}}"#, "a longest_edge limit"),
        (#"{"image_processor_type": "ViTImageProcessor", "do_pad": true}"#, "field 'do_pad' (true): padding"),
        (#"{"image_processor_type": "ViTImageProcessor", "resample": 7}"#, "field 'resample' (7)"),
        (#"{"image_processor_type": "ViTImageProcessor", "resample": 4}"#, "field 'resample' (4): PIL's box filter"),
        (#"{"image_processor_type": "ViTImageProcessor", "image_mean": [0.5, 0.5]}"#, "field 'image_mean' ([0.5, 0.5])"),
        (#"{"image_processor_type": "ViTImageProcessor", "crop_pct": 0.9}"#, "field 'crop_pct'"),
        (#"[1, 2]"#, "not a JSON object"),
        (#"{"image_processor_type": "ViTImageProcessor", "size": {"height": 224, "width": 224}"#, "not valid JSON"),
    ])
    func huggingFaceRefusals(_ c: (String, String)) {
        let m = message { try hf(c.0) } ?? ""
        #expect(m.hasPrefix("m/preprocessor_config.json: ") && m.contains(c.1) && !m.contains("\n"), "\(m)")
        if !c.1.contains("JSON") { #expect(m.contains("--preprocess SPEC"), "\(m)") }
    }

    @Test("HF box filter on the PIL backend is fine")
    func boxOnPil() throws {
        #expect(try hf(#"{"image_processor_type": "ViTImageProcessor", "resample": 4}"#, backend: .hfPil).interpolation == .box)
    }

    @Test("timm configs: defaults, squash, refusals")
    func timmConfigs() throws {
        func timm(_ json: String) throws -> PreprocessSpec { try PreprocessSpec.timm(config: Data(json.utf8), file: "t/config.json") }
        #expect(try timm(#"{"architecture": "x", "pretrained_cfg": {"input_size": [3, 224, 224]}}"#) == PreprocessSpec.preset("timm"))
        let sq = try timm(#"{"input_size": [3, 384, 384], "crop_pct": 1.0, "crop_mode": "squash", "interpolation": "bilinear"}"#)
        #expect(sq.resize == .size(height: 384, width: 384) && sq.crop == .init(384) && sq.interpolation == .bilinear)
        #expect(try timm(#"{"input_size": [3, 224, 224], "mean": [0.5], "std": [0.5]}"#).mean == [0.5, 0.5, 0.5])
        for (json, part) in [(#"{"input_size": [3, 224, 224], "crop_mode": "border"}"#, "crop_mode"),
                             (#"{"input_size": [3, 224, 256]}"#, "non-square"),
                             (#"{"input_size": [3, 224, 224], "color_jitter": 0.4}"#, "field 'color_jitter' is not one of timm's"),
                             (#"{"input_size": [3, 224, 224], "interpolation": "random"}"#, "interpolation")] {
            let m = message { try timm(json) } ?? ""
            #expect(m.hasPrefix("t/config.json: pretrained_cfg field '") && m.contains(part) && m.contains("--preprocess SPEC"), "\(m)")
        }
    }

    @Test("a model folder: preprocessor_config.json first, else a timm config.json, else nothing")
    func modelFolder() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-spec-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try PreprocessSpec.fromModelConfiguration(at: dir) == nil)
        try Data(#"{"model_type": "vit", "image_size": 224}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        #expect(try PreprocessSpec.fromModelConfiguration(at: dir) == nil)
        try Data(#"{"architecture": "vit_x", "pretrained_cfg": {"input_size": [3, 224, 224]}}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        #expect(try PreprocessSpec.fromModelConfiguration(at: dir) == PreprocessSpec.preset("timm"))
        try Data(#"{"image_processor_type": "SiglipImageProcessor"}"#.utf8).write(to: URL(fileURLWithPath: dir + "/preprocessor_config.json"))
        #expect(try PreprocessSpec.fromModelConfiguration(at: dir) == PreprocessSpec.preset("siglip"))
        #expect(try PreprocessSpec.fromModelConfiguration(at: dir + "/config.json") == PreprocessSpec.preset("timm"))
        let m = message { try PreprocessSpec.fromModelConfiguration(at: dir + "/nothing") } ?? ""
        #expect(m.hasSuffix("/nothing: no such file or folder"), "\(m)")
    }

    // The three center-crop rules part at half pixels: torchvision rounds half to even, transformers'
    // numpy crop floors, its torchvision crop truncates; larger crops pad (c - n) // 2 before, except
    // transformers' numpy crop, which pads ceil((c - n) / 2).
    @Test("crop offsets of the three backends")
    func cropOffsets() {
        func offsets(_ b: PreprocessSpec.Backend, _ n: Int, _ c: Int) -> Int {
            PreprocessSpec(backend: b, resize: .none).cropOffset(size: n, crop: c)
        }
        #expect(offsets(.pil, 383, 224) == 80 && offsets(.hfPil, 383, 224) == 79 && offsets(.hfTorchvision, 383, 224) == 79)
        #expect(offsets(.pil, 441, 224) == 108 && offsets(.hfPil, 441, 224) == 108)
        #expect(offsets(.pil, 256, 224) == 16 && offsets(.hfTorchvision, 256, 224) == 16)
        #expect(offsets(.pil, 221, 224) == -1 && offsets(.hfTorchvision, 221, 224) == -1 && offsets(.hfPil, 221, 224) == -2)
        #expect(offsets(.pil, 222, 224) == -1 && offsets(.hfPil, 222, 224) == -1)
        // torchvision _compute_resized_output_size: int(256 * long / short).
        #expect(PreprocessSpec.shortestEdgeSize(width: 640, height: 427, shorter: 256) == (383, 256))
        #expect(PreprocessSpec.shortestEdgeSize(width: 300, height: 517, shorter: 256) == (256, 441))
        #expect(PreprocessSpec.shortestEdgeSize(width: 500, height: 500, shorter: 256) == (256, 256))
    }

    @Test("a crop larger than the image pads with byte 0, which the table maps like any byte")
    func padding() throws {
        let image = RGBImage(width: 3, height: 2, pixels: [UInt8](repeating: 200, count: 18))
        for b in PreprocessSpec.Backend.allCases {
            let s = PreprocessSpec(backend: b, resize: .none, crop: .init(height: 5, width: 6))
            let out = s.resizedImage(image)
            #expect(out.width == 6 && out.height == 5)
            let lit = (0..<30).filter { out.pixels[3 * $0] == 200 }
            let top = b == .hfPil ? 2 : 1, left = b == .hfPil ? 2 : 1
            #expect(lit == [top * 6 + left, top * 6 + left + 1, top * 6 + left + 2,
                            (top + 1) * 6 + left, (top + 1) * 6 + left + 1, (top + 1) * 6 + left + 2], "\(b)")
        }
    }

    @Test("sized(height:width:): --image-size's rule per resize kind (tools/make_reference.py --image-size mirrors it)",
          arguments: [
            // (spec, H, W, resize after, crop after)
            ("hf-vit", 384, 224, "resize=384x224", "crop=none"),
            ("timm", 288, 288, "crop_pct=0.875", "crop=288"),
            ("dinov2", 288, 288, "resize=329", "crop=288"),        // floor(256 * 288/224 + 0.5) = 329
            ("dinov2", 160, 320, "resize=366", "crop=160x320"),    // f = max(160/224, 320/224)
            ("timm,backend=hf-torchvision,resize=256x256", 384, 224, "resize=439x256", "crop=384x224"),
            ("torchvision", 160, 160, "resize=183", "crop=160"),   // floor(256 * 160/224 + 0.5) = 183
          ])
    func sized(_ spec: String, _ h: Int, _ w: Int, _ resize: String, _ crop: String) throws {
        let s = try PreprocessSpec.parse(spec).sized(height: h, width: w)
        #expect(s.text.split(separator: ",").contains(Substring(resize)), "\(spec): \(s.text)")
        #expect(s.text.split(separator: ",").contains(Substring(crop)), "\(spec): \(s.text)")
        #expect(s.fixedOutputSize == .init(height: h, width: w))
    }

    @Test("sized refuses a non-square size with timm's crop_pct rule and sizes outside 1...16384, naming --image-size")
    func sizedRefusals() throws {
        let timm = try #require(PreprocessSpec.preset("timm"))
        #expect { try timm.sized(height: 384, width: 224) } throws: { "\($0)".contains("--image-size") && "\($0)".contains("ResizeKeepRatio") }
        #expect { try timm.sized(height: 0, width: 224) } throws: { "\($0)".contains("--image-size") }
        #expect { try timm.sized(height: 20000, width: 20000) } throws: { "\($0)".contains("16384") }
    }
}
