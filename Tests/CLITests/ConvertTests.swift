// `vfw convert`, end to end on committed fixtures made by real torch and safetensors.

import Foundation
import Testing
import TensorCore

private func sha256sum(_ path: String) throws -> String {
    // The system's sha256sum, not vfw's own SHA-256, is the judge of the provenance hash.
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    p.arguments = [path]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    p.waitUntilExit()
    return String(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64))
}

private func header(_ path: String) throws -> [String: Any] {
    let r = try runVFW(["inspect", path, "--json"])
    return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
}

@Suite("vfw convert")
struct ConvertTests {
    @Test("a torch zip checkpoint converts; provenance records the file and its SHA-256")
    func torchZip() throws {
        let dir = scratchDir("torchzip")
        let src = fixture("torch/dtypes.pt")
        let r = try runVFW(["convert", src, "-o", dir + "/out.vfw"])
        #expect(r.status == 0, "\(r.stderr)")
        let h = try header(dir + "/out.vfw")
        let prov = h["provenance"] as! [String: Any]
        #expect(prov["source_file"] as? String == "dtypes.pt")
        #expect(prov["source_format"] as? String == "pytorch-zip")
        #expect(prov["source_sha256"] as? String == (try sha256sum(src)))
        #expect((h["tensor_count"] as? Int ?? 0) > 5)
    }

    @Test("an existing output is kept without --force and replaced with it")
    func force() throws {
        let dir = scratchDir("force")
        let out = dir + "/out.vfw"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out))
        let r = try runVFW(["convert", fixture("safetensors/all_dtypes.safetensors"), "-o", out])
        #expect(r.status == 2)
        #expect(r.stderr == "error: \(out): already exists; pass --force to replace it\n")
        #expect(String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self) == "keep me")
        let f = try runVFW(["convert", fixture("safetensors/all_dtypes.safetensors"), "-o", out, "--force"])
        #expect(f.status == 0)
        #expect(try runVFW(["inspect", out, "--check"]).status == 0)
    }

    @Test("hostile and unsupported files exit 2 with one line, leave no output and run nothing", arguments: [
        ("malicious_system.pt", "refused global posix.system in data.pkl at byte", "/tmp/vfw-pwned-system"),
        ("malicious_fickling.pt", "refused global", "/tmp/vfw-pwned-fickling"),
        ("malicious_legacy.pt", "refused global", "/tmp/vfw-pwned-legacy"),
        ("torchscript.pt", "is a TorchScript archive", ""),
        ("whole_model.pt", "save `model.state_dict()`", ""),
    ])
    func hostile(_ c: (String, String, String)) throws {
        if !c.2.isEmpty { try? FileManager.default.removeItem(atPath: c.2) }
        let dir = scratchDir("hostile-\(c.0)")
        let src = fixture("torch/\(c.0)")
        let r = try runVFW(["convert", src, "-o", dir + "/out.vfw"])
        #expect(r.status == 2, "\(c.0)")
        #expect(r.stderr.hasPrefix("error: \(src): ") && r.stderr.contains(c.1), "\(c.0): \(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no output or temporary file left")
        if !c.2.isEmpty { #expect(!FileManager.default.fileExists(atPath: c.2), "payload of \(c.0) ran") }
    }

    @Test("a truncated torch file exits 2 naming it", arguments: [100, 1000, 3000])
    func truncated(_ keep: Int) throws {
        let dir = scratchDir("trunc\(keep)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture("torch/dtypes.pt")))
        let src = dir + "/cut.pt"
        try bytes.prefix(keep).write(to: URL(fileURLWithPath: src))
        let r = try runVFW(["convert", src, "-o", dir + "/out.vfw"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(src): "), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.vfw"))
    }

    @Test("SOURCE_DATE_EPOCH makes the output byte-identical")
    func deterministic() throws {
        let dir = scratchDir("det")
        for name in ["a", "b"] {
            let r = try runVFW(["convert", fixture("torch/legacy.pt"), "-o", "\(dir)/\(name).vfw"], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/a.vfw")), b = try Data(contentsOf: URL(fileURLWithPath: dir + "/b.vfw"))
        #expect(a == b)
        #expect(String(decoding: a, as: UTF8.self).contains("\"created\":\"2023-11-14T22:13:20Z\""))
    }

    @Test("--dtype f16 converts floating tensors and keeps integers, with notes")
    func dtype() throws {
        let dir = scratchDir("dtype")
        let r = try runVFW(["convert", fixture("safetensors/all_dtypes.safetensors"), "-o", dir + "/h.vfw", "--dtype", "f16"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("note: converted 6 floating-point tensors to f16"))
        let tensors = (try header(dir + "/h.vfw"))["tensors"] as! [[String: Any]]
        let dt = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0["dtype"] as! String) })
        #expect(dt["f32"] == "f16" && dt["bf16"] == "f16" && dt["f64"] == "f16" && dt["f16"] == "f16")
        #expect(dt["i64"] == "i64" && dt["u8"] == "u8" && dt["bool"] == "bool")
    }

    @Test("a ResNet checkpoint is recognised: canonical architecture and config in the header")
    func recognisesResNet() throws {
        let dir = scratchDir("recog")
        #expect(try runVFW(["synth", "--model", "resnet18", "--classes", "7", "-o", dir + "/r.safetensors"]).status == 0)
        let r = try runVFW(["convert", dir + "/r.safetensors", "-o", dir + "/r.vfw"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("note: recognised resnet18"))
        let h = try header(dir + "/r.vfw")
        let a = h["architecture"] as! [String: Any]
        #expect(a["name"] as? String == "resnet18" && a["family"] as? String == "resnet")
        let cfg = a["config"] as! [String: Any]
        #expect(cfg["num_classes"] as? Int == 7 && cfg["block"] as? String == "basic" && cfg["layers"] as? [Int] == [2, 2, 2, 2])
        #expect(h["preprocessing"] as? String == "torchvision")
    }

    @Test("convert is as strict as build: a stray, missing or mis-shaped tensor of a recognised model exits 2 naming the key", arguments: [
        ("stray", "1 tensor not used by the model: 'extra.weight'"),
        ("missing", "missing tensor 'layer3.1.bn2.running_mean' (expected shape [256])"),
        ("misshaped", "tensor 'fc.bias' has shape [6], the model expects [7]"),
    ])
    func strictConvert(_ c: (String, String)) throws {
        let dir = scratchDir("strict-\(c.0)")
        #expect(try runVFW(["synth", "--model", "resnet18", "--classes", "7", "-o", dir + "/r.safetensors"]).status == 0)
        try rewriteSafetensors(dir + "/r.safetensors", to: dir + "/bad.safetensors") { t in
            switch c.0 {
            case "stray": t.append(("extra.weight", .float32([1, 2], shape: [2])))
            case "missing": t.removeAll { $0.name == "layer3.1.bn2.running_mean" }
            default: replace(&t, "fc.bias") { _ in .float32([Float](repeating: 0, count: 6), shape: [6]) }
            }
        }
        let r = try runVFW(["convert", dir + "/bad.safetensors", "-o", dir + "/bad.vfw"])
        #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: \(dir)/bad.safetensors: "), "\(r.stderr)")
        #expect(r.stderr.contains(c.1), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir + "/bad.vfw"))
        // The training-only buffers the build does not use are dropped with a note, not refused.
        let ok = try runVFW(["convert", dir + "/r.safetensors", "-o", dir + "/ok.vfw"])
        #expect(ok.status == 0 && ok.stderr.contains("note: dropped 20 num_batches_tracked buffers (unused in eval mode)"), "\(ok.stderr)")
    }

    @Test("--arch naming a model the tensors do not fit exits 2")
    func wrongArch() throws {
        let dir = scratchDir("wrongarch")
        let src = fixture("safetensors/all_dtypes.safetensors")
        let r = try runVFW(["convert", src, "-o", dir + "/x.vfw", "--arch", "resnet18"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(src): cannot tell the architecture"), "\(r.stderr)")
    }

    @Test("usage errors exit 2", arguments: [["convert"], ["convert", "x.pth", "-o", "out.txt"], ["convert", "x", "-o", "y.vfw", "--dtype", "f8"]])
    func usage(_ args: [String]) throws {
        let r = try runVFW(args)
        #expect(r.status == 2, "\(args): \(r.stderr)")
    }
}
