// Shared material for the `vfw verify` tests: the committed Reference/resnet18, the synthetic weights it was
// recorded from (written once per test run by `vfw synth`, byte-identical to the file the reference names),
// damaged copies of the reference and weight files with one planted fault each.

import Foundation
import Safetensors
import TensorCore
import Testing

let verifyRepoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
let resnet18Reference = verifyRepoRoot + "/Reference/resnet18"

/// One folder per test process for everything the verify tests write.
let verifyScratch: String = {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-verify-cli-\(getpid())").path
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

/// `vfw synth --model resnet18 --seed 0`: the weights Reference/resnet18 was recorded from (made once).
let resnet18Weights: String = {
    let path = verifyScratch + "/resnet18-synth.safetensors"
    let r = try! runVFW(["synth", "--model", "resnet18", "--seed", "0", "-o", path])
    precondition(r.status == 0, "vfw synth failed: \(r.stderr)")
    return path
}()

/// A fresh folder under the verify scratch folder.
func verifyDir(_ name: String) -> String {
    let dir = verifyScratch + "/" + name
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// The tensors of a safetensors file, in file order, with its metadata.
func readTensors(_ path: String) throws -> ([(name: String, tensor: RawTensor)], [String: String]) {
    let f = try SafetensorsFile(path: path)
    return (try f.tensorNames.map { ($0, try f.tensor($0)) }, f.metadata)
}

/// A copy of `source` with `edit` applied to its tensor list, written to `path`.
func rewriteSafetensors(_ source: String, to path: String, _ edit: (inout [(name: String, tensor: RawTensor)]) throws -> Void) throws {
    var (tensors, metadata) = try readTensors(source)
    // Detach from the mapped source before it may be replaced.
    tensors = tensors.map { ($0.name, $0.tensor.dtype == .f32 ? RawTensor.float32($0.tensor.floats(), shape: $0.tensor.shape) : $0.tensor) }
    try edit(&tensors)
    try SafetensorsWriter.write(to: path, tensors: tensors, metadata: metadata, force: true)
}

/// Replaces tensor `name` (which must exist) with `f(old)`.
func replace(_ tensors: inout [(name: String, tensor: RawTensor)], _ name: String, _ f: (RawTensor) -> RawTensor) {
    let i = tensors.firstIndex { $0.name == name }!
    tensors[i].tensor = f(tensors[i].tensor)
}

/// A copy of Reference/resnet18 in a fresh folder, its manifest passed through `editManifest` and its
/// activations through `editActivations`; `weights` (if any) copied in under the name the manifest gives.
func referenceCopy(_ name: String, weights: String? = nil, editManifest: (inout [String: Any]) -> Void = { _ in },
                   editActivations: ((inout [(name: String, tensor: RawTensor)]) throws -> Void)? = nil) throws -> String {
    let dir = verifyDir(name)
    var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: resnet18Reference + "/manifest.json"))) as! [String: Any]
    editManifest(&manifest)
    try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
    if let editActivations {
        try rewriteSafetensors(resnet18Reference + "/activations.safetensors", to: dir + "/activations.safetensors", editActivations)
    } else {
        try FileManager.default.copyItem(atPath: resnet18Reference + "/activations.safetensors", toPath: dir + "/activations.safetensors")
    }
    if let weights { try FileManager.default.copyItem(atPath: weights, toPath: dir + "/resnet18-synth.safetensors") }
    return dir
}

/// Removes taps from a manifest's tap list.
func dropTaps(_ names: Set<String>) -> (inout [String: Any]) -> Void {
    { m in m["taps"] = (m["taps"] as! [[String: Any]]).filter { !names.contains($0["name"] as! String) } }
}

/// resnet18 weights with `layer2.1.conv1.weight` [128, 128, 3, 3] transposed (out and in channels swapped),
/// the classic mistake of loading a [in, out] layout as [out, in]: same shape, wrong numbers.
let transposedWeights: String = {
    let path = verifyScratch + "/resnet18-transposed.safetensors"
    try! rewriteSafetensors(resnet18Weights, to: path) { t in
        replace(&t, "layer2.1.conv1.weight") { w in
            let p = Tensor(w).permuted([1, 0, 2, 3])
            return RawTensor.float32(p.data, shape: p.shape)
        }
    }
    return path
}()

/// resnet18 weights with layer3.0.bn2's running_mean and running_var swapped.
let swappedBNWeights: String = {
    let path = verifyScratch + "/resnet18-bn-swapped.safetensors"
    try! rewriteSafetensors(resnet18Weights, to: path) { t in
        let mean = t.first { $0.name == "layer3.0.bn2.running_mean" }!.tensor
        let variance = t.first { $0.name == "layer3.0.bn2.running_var" }!.tensor
        replace(&t, "layer3.0.bn2.running_mean") { _ in variance }
        replace(&t, "layer3.0.bn2.running_var") { _ in mean }
    }
    return path
}()

/// The data rows of a printed report table: (tap, result) for every line ending in PASS, FAIL or FAIL *.
func tableRows(_ stdout: String) -> [(tap: String, result: String)] {
    stdout.split(separator: "\n").compactMap { line in
        let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard f.count > 2, let i = f.firstIndex(where: { $0 == "PASS" || $0 == "FAIL" }), i >= 2 else { return nil }
        return (f[0], f[i] + (i + 1 < f.count && f[i + 1] == "*" ? " *" : ""))
    }
}

/// The JSON object in `path`.
func jsonObject(_ path: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
}

let resnet18Taps = ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1", "layer2.0", "layer2.1",
                    "layer3.0", "layer3.1", "layer4.0", "layer4.1", "avgpool", "fc"]

// MARK: - A tiny ViT reference

let vitFixtures = verifyRepoRoot + "/Tests/Fixtures/vit"

/// A reference folder for the tiny Hugging Face ViTForImageClassification of Tests/Fixtures/vit/hf-classifier
/// (hidden 32, 2 layers, 32x32 input, 5 labels, layer_norm_eps 1e-3), made of what real transformers computed
/// (tools/make_vit_fixtures.py: forward hooks, float32, batch 2 of a fixed random input). The activations and
/// the input are PyTorch's; only the manifest around them is written here, because tools/make_reference.py
/// preprocesses photos at 224x224 and this model takes 32x32.
let tinyViTReference: String = {
    let dir = verifyDir("tiny-vit")
    let (input, _) = try! readTensors(vitFixtures + "/input.safetensors")
    let (acts, _) = try! readTensors(vitFixtures + "/hf-classifier/activations.safetensors")
    let order = ["embeddings", "encoder.layer.0", "encoder.layer.1", "layernorm", "classifier"]
    let byName = Dictionary(uniqueKeysWithValues: acts.map { ($0.name, $0.tensor) })
    try! SafetensorsWriter.write(to: dir + "/activations.safetensors",
                                 tensors: input + order.map { ($0, byName[$0]!) }, metadata: ["format": "pt"], force: true)
    var m = try! JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: verifyRepoRoot + "/Reference/vit-base/manifest.json"))) as! [String: Any]
    m["architecture"] = ["name": "vit-custom", "family": "vit", "config": [
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "patch_size": 8,
        "image_size": 32, "num_channels": 3, "layer_norm_eps": 1e-3, "num_labels": 5, "has_pooler": false, "qkv_bias": false]]
    let weights = try! Data(contentsOf: URL(fileURLWithPath: vitFixtures + "/hf-classifier/model.safetensors"))
    m["weights"] = ["file": "model.safetensors", "format": "safetensors", "sha256": weights.withUnsafeBytes { SHA256.hex($0) }]
    m["batch"] = 2
    m["items"] = [["image": 0, "copy": 0], ["image": 0, "copy": 1]]
    m["truth"] = nil  // the fixture's activations come without a float64 truth: the tolerance alone decides
    m["input"] = ["name": "input", "shape": [2, 3, 32, 32]]
    m["taps"] = order.map { ["name": $0, "shape": byName[$0]!.shape] }
    var p = m["preprocessing"] as! [String: Any]
    p["steps"] = ["torch.randn(2, 3, 32, 32) (tools/make_vit_fixtures.py, seed 20261127): a fixed random input, not an image"]
    m["preprocessing"] = p
    try! JSONSerialization.data(withJSONObject: m, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
    return dir
}()

/// The hf-classifier folder with config.json's layer_norm_eps replaced by `eps` (weights unchanged).
func vitClassifier(eps: Double) throws -> String {
    let dir = verifyDir("vit-eps-\(eps)")
    let src = vitFixtures + "/hf-classifier"
    try FileManager.default.copyItem(atPath: src + "/model.safetensors", toPath: dir + "/model.safetensors")
    var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: src + "/config.json"))) as! [String: Any]
    config["layer_norm_eps"] = eps
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
}
