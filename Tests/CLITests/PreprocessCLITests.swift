// `vfw convert` stores the model folder's own preprocessing (preprocessor_config.json, timm pretrained_cfg) in the
// header, `--preprocess` replaces it or changes some of its keys, and `vfw embed` of the .vfw runs what is stored:
// the vectors equal what transformers computed from the same photos and files (Tests/Fixtures/vit/preprocess,
// tools/make_preprocess_wiring_fixtures.py).

import Foundation
import Safetensors
import Testing

private let photos = ["rocket.jpg", "portrait.png", "chelsea_451x97.jpg", "tiny_13x9.png"].map { fixture("images/preset/" + $0) }

/// Tests/Fixtures/vit/hf-model's weights and config.json in a fresh folder, with `preprocessor` as its
/// preprocessor_config.json when given.
private func hfFolder(_ name: String, preprocessor: Data?) throws -> String {
    let dir = scratchDir(name)
    for f in ["config.json", "model.safetensors"] {
        try FileManager.default.copyItem(atPath: fixture("vit/hf-model/" + f), toPath: dir + "/" + f)
    }
    try preprocessor?.write(to: URL(fileURLWithPath: dir + "/preprocessor_config.json"))
    return dir
}

private func expectEmbedMatches(_ weights: String, _ key: String, extra: [String] = []) throws {
    let r = try runVFW(["embed"] + photos + ["--weights", weights] + extra)
    #expect(r.status == 0, "\(r.stderr)")
    let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [[String: Any]]
    let f = try SafetensorsFile(path: fixture("vit/preprocess/expected.safetensors"))
    let want = try f.tensor(key + "/feature").floats()
    #expect(rows.count == photos.count)
    for (i, row) in rows.enumerated() {
        let got = (row["vector"] as! [Double]).map(Float.init)
        let e = Array(want[(i * 32)..<((i + 1) * 32)])
        let worst = zip(got, e).map { abs($0 - $1) - 1e-4 * abs($1) }.max()!
        #expect(worst <= 1e-4, "\(key): \(photos[i]) off by \(worst)")
    }
}

@Suite("preprocessing on the command line", .serialized)
struct PreprocessCLITests {
    @Test("convert stores the folder's preprocessor_config.json; embed of the .vfw equals AutoImageProcessor + ViTModel")
    func convertStoresFolderSpec() throws {
        let config = try Data(contentsOf: URL(fileURLWithPath: fixture("vit/preprocess/hf-folder/preprocessor_config.json")))
        let dir = try hfFolder("pp-folder", preprocessor: config)
        let r = try runVFW(["convert", dir, "-o", dir + "/m.vfw"])
        #expect(r.status == 0, "\(r.stderr)")
        let stored = "backend=hf-torchvision,resize=32x32,interp=bicubic,crop=none,rescale=1/255,mean=imagenet,std=imagenet"
        #expect(r.stderr.contains("note: preprocessing from \(dir)/preprocessor_config.json: \(stored)"), "\(r.stderr)")
        let i = try runVFW(["inspect", dir + "/m.vfw"])
        #expect(i.stdout.contains("preprocessing: \(stored)"), "\(i.stdout)")
        // The .vfw alone, moved away from the folder, still runs it.
        let alone = scratchDir("pp-folder-alone") + "/m.vfw"
        try FileManager.default.moveItem(atPath: dir + "/m.vfw", toPath: alone)
        try expectEmbedMatches(alone, "hf-folder/torchvision")
        try expectEmbedMatches(alone, "hf-folder/pil", extra: ["--preprocess", "backend=hf-pil"])
    }

    @Test("convert --preprocess changes keys of the folder's spec, or replaces it with a preset")
    func convertOverrides() throws {
        let config = try Data(contentsOf: URL(fileURLWithPath: fixture("vit/preprocess/hf-folder/preprocessor_config.json")))
        let dir = try hfFolder("pp-override", preprocessor: config)
        #expect(try runVFW(["convert", dir, "-o", dir + "/pil.vfw", "--preprocess", "backend=hf-pil"]).status == 0)
        #expect(try runVFW(["inspect", dir + "/pil.vfw"]).stdout.contains("preprocessing: backend=hf-pil,resize=32x32,interp=bicubic,"))
        try expectEmbedMatches(dir + "/pil.vfw", "hf-folder/pil")
        #expect(try runVFW(["convert", dir, "-o", dir + "/tv.vfw", "--preprocess", "torchvision,resize=32,crop=32"]).status == 0)
        #expect(try runVFW(["inspect", dir + "/tv.vfw"]).stdout.contains("preprocessing: backend=pil,resize=32,interp=bilinear,crop=32,rescale=1/255,mean=imagenet,std=imagenet"))
        let noFolderSpec = try hfFolder("pp-default", preprocessor: nil)
        #expect(try runVFW(["convert", noFolderSpec, "-o", noFolderSpec + "/d.vfw"]).status == 0)
        #expect(try runVFW(["inspect", noFolderSpec + "/d.vfw"]).stdout.contains("preprocessing: backend=hf-torchvision,resize=32x32,interp=bilinear,crop=none,rescale=1/255,mean=0.5,std=0.5"))
        try expectEmbedMatches(noFolderSpec + "/d.vfw", "hf-default/torchvision")
    }

    @Test("a preprocessor_config.json vfw cannot run: convert exits 2 with one line naming the file and field; --preprocess states the pipeline instead", arguments: [
        (#"{"image_processor_type": "ViTImageProcessor", "do_pad": true, "pad_size": {"height": 40, "width": 40}}"#, "field 'do_pad'"),
        (#"{"image_processor_type": "LayoutLMv3ImageProcessor"}"#, "'LayoutLMv3ImageProcessor' is not one vfw reproduces"),
        (#"{"image_processor_type": "ViTImageProcessor", "size": {"longest_edge": 32}}"#, "a longest_edge limit"),
        ("not json", "not valid JSON"),
    ])
    func refusedConfig(_ c: (String, String)) throws {
        let dir = try hfFolder("pp-bad", preprocessor: Data(c.0.utf8))
        let r = try runVFW(["convert", dir, "-o", dir + "/m.vfw"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(dir)/preprocessor_config.json: ") && r.stderr.contains(c.1) && r.stderr.contains("--preprocess")
                && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/m.vfw"))
        let e = try runVFW(["embed", photos[0], "--weights", dir])
        #expect(e.status == 2 && e.stderr.hasPrefix("error: \(dir)/preprocessor_config.json: "), "\(e.stderr)")
        let ok = try runVFW(["convert", dir, "-o", dir + "/m.vfw", "--preprocess", "hf-vit,resize=32x32"])
        #expect(ok.status == 0, "\(ok.stderr)")
        try expectEmbedMatches(dir + "/m.vfw", "hf-default/torchvision")
    }

    @Test("a bad --preprocess exits 2 with one line saying what is wrong", arguments: [
        ("imagenet", "unknown preprocessing preset 'imagenet'"),
        ("backend=hf-pil,resize=0", "resize '0' is not N, HxW or none"),
        ("hf-vit,interp=cubic", "unknown interpolation 'cubic'"),
    ])
    func badPreprocess(_ c: (String, String)) throws {
        let dir = try hfFolder("pp-badflag", preprocessor: nil)
        for args in [["convert", dir, "-o", dir + "/m.vfw"], ["embed", photos[0], "--weights", dir]] {
            let r = try runVFW(args + ["--preprocess", c.0])
            #expect(r.status == 2 && r.stderr.hasPrefix("error: --preprocess: ") && r.stderr.contains(c.1) && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
        }
    }
}
