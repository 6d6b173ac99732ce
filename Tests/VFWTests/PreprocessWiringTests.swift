// Preprocessing as a model folder states it, wired through the library: CanonicalWeights reads the folder's
// preprocessor_config.json or timm pretrained_cfg (else the family's default), VisionModel runs it (with
// --preprocess overrides). The tensors it feeds the network equal, bit for bit, what transformers and timm
// computed from the same photos and files, and the features equal theirs at 1e-4
// (Tests/Fixtures/vit/preprocess, tools/make_preprocess_wiring_fixtures.py).

import Foundation
import Testing
import Models
import Safetensors
import TensorCore
@testable import VFW

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
private let vitFixtures = repoRoot + "/Tests/Fixtures/vit"
private let photos = ["rocket.jpg", "portrait.png", "chelsea_451x97.jpg", "tiny_13x9.png"]
    .map { repoRoot + "/Tests/Fixtures/images/preset/" + $0 }

/// The real pipelines' outputs: `CASE/BACKEND/pixel_values` [4, 3, 32, 32] and `CASE/BACKEND/feature` [4, 32].
private let expected: Result<[String: Tensor], Error> = Result {
    let f = try SafetensorsFile(path: vitFixtures + "/preprocess/expected.safetensors")
    return Dictionary(uniqueKeysWithValues: try f.tensorNames.map { ($0, Tensor(try f.tensor($0))) })
}

/// A model folder in a temporary directory: Tests/Fixtures/vit/`model`'s weights and config.json, plus
/// `files` (name -> contents).
private func modelFolder(_ name: String, model: String = "hf-model", files: [String: Data] = [:]) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-preprocess-\(getpid())-\(name)").path
    try? FileManager.default.removeItem(atPath: dir)
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for f in ["config.json", "model.safetensors"] {
        try FileManager.default.copyItem(atPath: "\(vitFixtures)/\(model)/\(f)", toPath: "\(dir)/\(f)")
    }
    for (n, data) in files { try data.write(to: URL(fileURLWithPath: "\(dir)/\(n)")) }
    return dir
}

private func hfFolderConfig() throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: vitFixtures + "/preprocess/hf-folder/preprocessor_config.json"))
}

/// The model's input for the photos equals the real pipeline's bit for bit, and its features equal the real
/// model's at 1e-4.
private func expectMatches(_ model: VisionModel, _ key: String) throws {
    let want = try expected.get()
    let pixels = try #require(want["\(key)/pixel_values"]), feature = try #require(want["\(key)/feature"])
    let images = try photos.map { try VisionModel.decode(file: $0) }
    for (i, image) in images.enumerated() {
        let x = model.input([image])
        #expect(x.shape == [1, 3, 32, 32])
        let want = pixels.item(i).data
        #expect(x.data == want, "\(key): \(photos[i]): input differs by up to \(zip(x.data, want).map { abs($0 - $1) }.max() ?? 0)")
    }
    let got = try model.embed(images)
    for (i, row) in got.enumerated() {
        let e = feature.item(i).data
        let worst = zip(row, e).map { abs($0 - $1) - 1e-4 * abs($1) }.max()!
        #expect(worst <= 1e-4, "\(key): \(photos[i]): feature off by \(worst)")
    }
}

@Suite("preprocessing from the model's own configuration")
struct PreprocessWiringTests {
    @Test("a transformers ViT folder without preprocessor_config.json runs transformers 5's ViTImageProcessor (torchvision backend) at the model's image_size")
    func hfDefault() throws {
        let dir = try modelFolder("hf-default")
        let c = try CanonicalWeights.of(try WeightSource.open(dir))
        #expect(c.preprocessing == "hf-vit,resize=32x32")
        let model = try VisionModel(weights: dir)
        #expect(model.preprocess == (try PreprocessSpec.parse("backend=hf-torchvision,resize=32x32,interp=bilinear,mean=0.5,std=0.5")))
        try expectMatches(model, "hf-default/torchvision")
    }

    @Test("a folder's preprocessor_config.json is the model's preprocessing: AutoImageProcessor's torchvision backend by default")
    func hfFolder() throws {
        let dir = try modelFolder("hf-folder", files: ["preprocessor_config.json": try hfFolderConfig()])
        let c = try CanonicalWeights.of(try WeightSource.open(dir))
        #expect(c.notes.contains { $0.hasPrefix("preprocessing from \(dir)/preprocessor_config.json: backend=hf-torchvision,resize=32x32,interp=bicubic") }, "\(c.notes)")
        try expectMatches(try VisionModel(weights: dir), "hf-folder/torchvision")
    }

    @Test("--preprocess backend=hf-pil keeps the folder's spec and switches to transformers' PIL backend")
    func hfFolderPil() throws {
        let dir = try modelFolder("hf-folder-pil", files: ["preprocessor_config.json": try hfFolderConfig()])
        let model = try VisionModel(weights: dir, preprocess: "backend=hf-pil")
        #expect(model.preprocess.backend == .hfPil && model.preprocess.interpolation == .bicubic && model.preprocess.mean == PreprocessSpec.imagenetMean)
        try expectMatches(model, "hf-folder/pil")
    }

    @Test("a timm folder's config.json pretrained_cfg is its preprocessing: timm's eval transform (crop_pct, bicubic, mean/std)")
    func timmConfig() throws {
        let c = try CanonicalWeights.of(try WeightSource.open(vitFixtures + "/timm"))
        #expect(c.preprocessing == "backend=pil,crop_pct=0.9,interp=bicubic,crop=32,rescale=1/255,mean=0.5,std=0.5")
        try expectMatches(try VisionModel(weights: vitFixtures + "/timm"), "timm-cfg/pil")
    }

    @Test("a preprocessor_config.json vfw cannot run is refused in one line naming the file, unless --preprocess states the pipeline")
    func unreadableConfig() throws {
        let bad = Data(#"{"image_processor_type": "LayoutLMv3ImageProcessor", "size": 32}"#.utf8)
        let dir = try modelFolder("hf-bad", files: ["preprocessor_config.json": bad])
        let file = "\(dir)/preprocessor_config.json"
        #expect { try VisionModel(weights: dir) } throws: { e in
            let m = "\(e)"
            return m.hasPrefix(file + ": ") && m.contains("LayoutLMv3ImageProcessor") && m.contains("--preprocess") && !m.contains("\n")
        }
        // key=value items change the model's own spec, which cannot be read: the same message.
        #expect { try VisionModel(weights: dir, preprocess: "backend=hf-pil") } throws: { "\($0)".hasPrefix(file + ": ") }
        // A preset with overrides, or a full spec, stands alone.
        let model = try VisionModel(weights: dir, preprocess: "hf-vit,resize=32x32")
        try expectMatches(model, "hf-default/torchvision")
    }

    @Test("preprocessing that does not make a fixed-size model's image size is refused, naming both sizes")
    func wrongSize() throws {
        // torchvision's VisionTransformer runs its image_size only (no rule for resampling its position table).
        let dir = try modelFolder("tv-size", model: "torchvision")
        #expect { try VisionModel(weights: dir, preprocess: "hf-vit") } throws: { e in
            let m = "\(e)"
            return m.contains("takes 32x32 images") && m.contains("makes 224x224") && m.contains("hf-vit")
        }
        #expect { try VisionModel(weights: dir, preprocess: "backend=pil,resize=40,crop=none,mean=imagenet,std=imagenet") } throws: {
            "\($0)".contains("images of varying size")
        }
        #expect { try VisionModel(weights: dir, imageSize: (48, 48)) } throws: { e in
            let m = "\(e)"
            return m.contains("--image-size 48x48") && m.contains("takes 32x32 images only") && !m.contains("\n")
        }
    }

    @Test("--image-size: the model's own preprocessing made to that size; a transformers ViT then runs it")
    func imageSize() throws {
        let dir = try modelFolder("hf-image-size")
        let model = try VisionModel(weights: dir, imageSize: (48, 24))
        #expect(model.preprocess.resize == .size(height: 48, width: 24) && model.preprocess.crop == nil)
        let image = try VisionModel.decode(file: photos[0])
        #expect(model.input([image]).shape == [1, 3, 48, 24])
        #expect(try model.features(of: image).count == 32)
        // The same model without --image-size runs at its configured 32x32.
        #expect(try VisionModel(weights: dir).input([image]).shape == [1, 3, 32, 32])
        #expect { try VisionModel(weights: dir, imageSize: (0, 24)) } throws: { "\($0)".contains("--image-size") }
    }

    @Test("every registered family's default preprocessing makes the size its models take")
    func familyDefaults() throws {
        for f in Families.all {
            for name in f.modelNames {
                let d = try ModelZoo.description(named: name)
                let spec = try PreprocessSpec.parse(try ModelZoo.preprocessing(for: d), source: name)
                #expect(spec.fixedOutputSize != nil, "\(name): \(spec.text)")
            }
        }
    }
}
