// Reference folders built in a temporary directory (the real script's manifest as the template, tiny
// tensors), loaded whole and then damaged one way at a time.

import Foundation
import Testing
import TensorCore
import Safetensors
@testable import Verify

/// A path inside the repository (`Reference/resnet18`), found from this file's location.
func repoPath(_ relative: String, file: StaticString = #filePath) -> String {
    URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(relative).path
}

/// A fresh, empty folder for one test.
func scratch(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-verify-tests-\(getpid())/\(name)").path
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A small, valid reference folder: the committed Reference/resnet18 manifest with its input and taps replaced.
struct ReferenceBuilder {
    var manifest: [String: Any]
    var tensors: [String: RawTensor]

    init() {
        let data = FileManager.default.contents(atPath: repoPath("Reference/resnet18/manifest.json"))!
        manifest = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        manifest["input"] = ["name": "input", "shape": [1, 3, 2, 2]]
        manifest["taps"] = [["name": "conv1", "shape": [1, 2, 1, 1]], ["name": "layer1.0.relu#2", "shape": [1, 2]],
                            ["name": "fc", "shape": [1, 3]]]
        tensors = [
            "input": .float32((0..<12).map { Float($0) / 4 - 1 }, shape: [1, 3, 2, 2]),
            "conv1": .float32([0.5, -0.25], shape: [1, 2, 1, 1]),
            "layer1.0.relu#2": .float32([0, 3], shape: [1, 2]),
            "fc": .float32([1, 2, 3], shape: [1, 3]),
        ]
    }

    /// Writes manifest.json (or `manifestText` verbatim) and activations.safetensors into a fresh folder.
    func write(_ name: String, manifestText: String? = nil) throws -> String {
        let dir = scratch(name)
        let json = try manifestText.map { Data($0.utf8) }
            ?? JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys, .prettyPrinted])
        try json.write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        try SafetensorsWriter.write(to: dir + "/activations.safetensors", tensors: tensors.map { ($0.key, $0.value) },
                                    metadata: ["format": "pt"], force: true)
        return dir
    }
}

/// Loading `dir` throws exactly `expected`, whose message is one line starting with `path`.
func expectLoadError(_ dir: String, _ expected: VerifyError, path: String, mentions: String? = nil,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try ReferenceSet.load(directory: dir)
        Issue.record("loading \(dir) succeeded; expected \(expected)", sourceLocation: sourceLocation)
    } catch let e as VerifyError {
        #expect(e == expected, sourceLocation: sourceLocation)
        let text = e.description
        #expect(text.hasPrefix(path + ": "), "\(text)", sourceLocation: sourceLocation)
        #expect(!text.contains("\n"), "\(text)", sourceLocation: sourceLocation)
        if let m = mentions { #expect(text.contains(m), "\(text)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("ReferenceSet: loading and damaged reference folders")
struct ReferenceSetTests {
    @Test("a valid folder loads: taps in manifest order, input, values")
    func loadsValid() throws {
        let dir = try ReferenceBuilder().write("valid")
        let ref = try ReferenceSet.load(directory: dir)
        #expect(ref.taps.map(\.name) == ["conv1", "layer1.0.relu#2", "fc"])
        #expect(ref.taps.map(\.shape) == [[1, 2, 1, 1], [1, 2], [1, 3]])
        #expect(ref.input.shape == [1, 3, 2, 2] && ref.input.data[5] == 0.25)
        #expect(ref.activation(named: "layer1.0.relu#2").data == [0, 3])
        #expect(ref.activation(named: "input") == ref.input)
        #expect(ref.hasTap("fc") && !ref.hasTap("input") && !ref.hasTap("nope"))
        #expect(ref.manifest.architecture.config["layers"]?.intArray == [2, 2, 2, 2])
        // A trailing slash is accepted.
        #expect(try ReferenceSet.load(directory: dir + "/").manifestPath == dir + "/manifest.json")
    }

    @Test("missing folder")
    func missingFolder() {
        let dir = scratch("gone") + "/nope"
        expectLoadError(dir, .missingFolder(path: dir), path: dir, mentions: "make_reference.py")
    }

    @Test("a file instead of a folder")
    func notAFolder() throws {
        let dir = try ReferenceBuilder().write("file")
        let p = dir + "/manifest.json"
        expectLoadError(p, .notAFolder(path: p), path: p)
    }

    @Test("missing manifest.json")
    func missingManifest() throws {
        let dir = try ReferenceBuilder().write("no-manifest")
        try FileManager.default.removeItem(atPath: dir + "/manifest.json")
        expectLoadError(dir, .missingFile(path: dir + "/manifest.json"), path: dir + "/manifest.json", mentions: "make_reference.py")
    }

    @Test("missing activations.safetensors")
    func missingActivations() throws {
        let dir = try ReferenceBuilder().write("no-activations")
        try FileManager.default.removeItem(atPath: dir + "/activations.safetensors")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .missingFile(path: p), path: p)
    }

    @Test("manifest is not JSON")
    func notJSON() throws {
        let dir = try ReferenceBuilder().write("not-json", manifestText: "{\"schema_version\": 1, ")
        let p = dir + "/manifest.json"
        do {
            _ = try ReferenceSet.load(directory: dir)
            Issue.record("loaded")
        } catch let VerifyError.invalidManifest(path, field, reason) {
            #expect(path == p && field == nil && reason.hasPrefix("not valid JSON"))
        }
    }

    @Test("manifest without a required field names the field")
    func missingField() throws {
        var b = ReferenceBuilder()
        b.manifest["weights"] = nil
        let dir = try b.write("no-weights")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .invalidManifest(path: p, field: "weights", reason: "missing"), path: p, mentions: "field 'weights'")
    }

    @Test("manifest with a nested field of the wrong type names it with its index")
    func wrongType() throws {
        var b = ReferenceBuilder()
        b.manifest["taps"] = [["name": "conv1", "shape": [1, 2, 1, 1]], ["name": "fc", "shape": "1x3"]]
        let dir = try b.write("wrong-type")
        let p = dir + "/manifest.json"
        do {
            _ = try ReferenceSet.load(directory: dir)
            Issue.record("loaded")
        } catch let e as VerifyError {
            guard case .invalidManifest(let path, let field, _) = e else { Issue.record("\(e)"); return }
            #expect(path == p && field == "taps[1].shape")
            #expect(e.description.contains("field 'taps[1].shape'"))
        }
    }

    @Test("manifest with a missing key inside the architecture")
    func missingNestedKey() throws {
        var b = ReferenceBuilder()
        var arch = b.manifest["architecture"] as! [String: Any]
        arch["family"] = nil
        b.manifest["architecture"] = arch
        let dir = try b.write("no-family")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .invalidManifest(path: p, field: "architecture.family", reason: "missing"), path: p)
    }

    @Test("unsupported schema version")
    func futureSchema() throws {
        var b = ReferenceBuilder()
        b.manifest["schema_version"] = 3
        b.manifest["taps"] = "changed in version 3"
        let dir = try b.write("schema-3")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .unsupportedSchemaVersion(path: p, found: 3, supported: 2), path: p, mentions: "schema_version 3")
    }

    @Test("a tap listed in the manifest but missing from the activations")
    func missingTap() throws {
        var b = ReferenceBuilder()
        b.tensors["fc"] = nil
        let dir = try b.write("missing-tap")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .missingTap(path: p, tap: "fc"), path: p, mentions: "tap 'fc'")
    }

    @Test("the input missing from the activations")
    func missingInput() throws {
        var b = ReferenceBuilder()
        b.tensors["input"] = nil
        let dir = try b.write("missing-input")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .missingTap(path: p, tap: "input"), path: p)
    }

    @Test("shape in the manifest differs from the activations")
    func shapeMismatch() throws {
        var b = ReferenceBuilder()
        b.tensors["fc"] = .float32([1, 2, 3], shape: [3, 1])
        let dir = try b.write("shape")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .shapeMismatch(path: p, tap: "fc", manifest: [1, 3], activations: [3, 1]), path: p,
                        mentions: "is [3, 1] but manifest.json says [1, 3]")
    }

    @Test("NaN in a reference tap")
    func nanInReference() throws {
        var b = ReferenceBuilder()
        b.tensors["fc"] = .float32([1, .nan, 3], shape: [1, 3])
        let dir = try b.write("nan")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .nonFinite(path: p, tap: "fc", value: "NaN", index: [0, 1]), path: p,
                        mentions: "reference tap 'fc' holds NaN (first at [0, 1]); regenerate it")
    }

    @Test("-Inf in the reference input")
    func infInReference() throws {
        var b = ReferenceBuilder()
        var values = [Float](repeating: 0, count: 12)
        values[7] = -.infinity
        b.tensors["input"] = .float32(values, shape: [1, 3, 2, 2])
        let dir = try b.write("inf")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .nonFinite(path: p, tap: "input", value: "-Inf", index: [0, 1, 1, 1]), path: p)
    }

    @Test("a reference tap stored as f16")
    func wrongDType() throws {
        var b = ReferenceBuilder()
        b.tensors["conv1"] = RawTensor.float32([0.5, -0.25], shape: [1, 2, 1, 1]).converted(to: .f16)
        let dir = try b.write("f16")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .wrongDType(path: p, tap: "conv1", dtype: "F16"), path: p)
    }

    @Test("a tap listed twice")
    func duplicateTap() throws {
        var b = ReferenceBuilder()
        b.manifest["taps"] = [["name": "fc", "shape": [1, 3]], ["name": "fc", "shape": [1, 3]]]
        let dir = try b.write("duplicate")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .duplicateTap(path: p, tap: "fc"), path: p)
    }

    @Test("a tap named input")
    func tapNamedInput() throws {
        var b = ReferenceBuilder()
        b.manifest["taps"] = [["name": "input", "shape": [1, 3, 2, 2]]]
        let dir = try b.write("tap-input")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .invalidManifest(path: p, field: "taps[0].name", reason: "\"input\" is reserved for the input batch"), path: p)
    }

    @Test("a truncated activations file")
    func truncated() throws {
        let dir = try ReferenceBuilder().write("truncated")
        let p = dir + "/activations.safetensors"
        let data = FileManager.default.contents(atPath: p)!
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: p))
        do {
            _ = try ReferenceSet.load(directory: dir)
            Issue.record("loaded")
        } catch let e as VerifyError {
            guard case .unreadableActivations(let path, let reason) = e else { Issue.record("\(e)"); return }
            #expect(path == p && !reason.hasPrefix(p))
            #expect(e.description.hasPrefix(p + ": ") && e.description.hasSuffix("regenerate it with tools/make_reference.py"))
        }
    }
}

@Suite("ReferenceSet: the float64 truth and manifest versions")
struct ReferenceTruthTests {
    /// The builder's reference with a truth for conv1: difference 0.5·2⁻¹⁰ and −2⁻¹², exact in bf16.
    static func withTruth() -> ReferenceBuilder {
        var b = ReferenceBuilder()
        var taps = b.manifest["taps"] as! [[String: Any]]
        taps[0]["truth"] = "truth/conv1"
        b.manifest["taps"] = taps
        b.tensors["truth/conv1"] = RawTensor.float32([0.5 / 1024, -1.0 / 4096], shape: [1, 2, 1, 1]).converted(to: .bf16)
        return b
    }

    @Test("a truth loads as activation + difference in Double; taps without one have none")
    func loadsTruth() throws {
        let ref = try ReferenceSet.load(directory: try Self.withTruth().write("truth"))
        #expect(ref.truth(named: "conv1") == [0.5 + 0.5 / 1024, -0.25 - 1.0 / 4096])
        #expect(ref.hasTruth("conv1") && !ref.hasTruth("fc") && ref.truth(named: "fc") == nil)
        #expect(ref.manifest.truth?.storedAs == "bf16-difference")
    }

    @Test("a damaged truth is one line naming the tap and the tensor", arguments: ["missing", "f32", "shape", "nan"])
    func badTruth(damage: String) throws {
        var b = Self.withTruth()
        let reason: String
        switch damage {
        case "missing": b.tensors["truth/conv1"] = nil; reason = "is missing"
        case "f32": b.tensors["truth/conv1"] = .float32([0, 0], shape: [1, 2, 1, 1]); reason = "is F32, not BF16"
        case "shape": b.tensors["truth/conv1"] = RawTensor.float32([0, 0], shape: [2]).converted(to: .bf16); reason = "is [2], not the tap's [1, 2, 1, 1]"
        default: b.tensors["truth/conv1"] = RawTensor.float32([0, .nan], shape: [1, 2, 1, 1]).converted(to: .bf16); reason = "holds NaN (first at [0, 1, 0, 0])"
        }
        let dir = try b.write("truth-\(damage)")
        let p = dir + "/activations.safetensors"
        expectLoadError(dir, .badTruth(path: p, tap: "conv1", tensor: "truth/conv1", reason: reason), path: p, mentions: "regenerate")
    }

    @Test("taps naming a truth without the manifest's truth object, or a truth named like a tap: invalid manifest")
    func truthManifest() throws {
        var b = Self.withTruth()
        b.manifest["truth"] = nil
        let dir = try b.write("truth-undeclared")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .invalidManifest(path: p, field: "truth", reason: "missing, but taps name truth tensors"), path: p)
        var c = Self.withTruth()
        var taps = c.manifest["taps"] as! [[String: Any]]
        taps[0]["truth"] = "fc"
        c.manifest["taps"] = taps
        let dir2 = try c.write("truth-is-a-tap")
        expectLoadError(dir2, .invalidManifest(path: dir2 + "/manifest.json", field: "taps[0].truth", reason: "'fc' is not a tensor name of its own"),
                        path: dir2 + "/manifest.json")
    }

    @Test("a version-1 manifest (one image, no items, no truth) still loads: item b is copy b of the image")
    func versionOne() throws {
        var b = ReferenceBuilder()
        b.manifest["schema_version"] = 1
        b.manifest["image"] = (b.manifest["images"] as! [[String: Any]])[0]
        b.manifest["images"] = nil
        b.manifest["items"] = nil
        b.manifest["truth"] = nil
        let ref = try ReferenceSet.load(directory: try b.write("version-1"))
        #expect(ref.manifest.images.count == 1 && ref.manifest.image.file == "chelsea.png")
        #expect(ref.manifest.items == [.init(image: 0, copy: 0)])
        #expect(ref.truth(named: "conv1") == nil)
    }

    @Test("items that do not fit the batch or name no image: invalid manifest")
    func badItems() throws {
        var b = ReferenceBuilder()
        b.manifest["items"] = [["image": 0, "copy": 0], ["image": 0, "copy": 1]]
        let dir = try b.write("items-count")
        let p = dir + "/manifest.json"
        expectLoadError(dir, .invalidManifest(path: p, field: "items", reason: "lists 2 items for a batch of 1"), path: p)
        var c = ReferenceBuilder()
        c.manifest["items"] = [["image": 3, "copy": 0]]
        let dir2 = try c.write("items-image")
        expectLoadError(dir2, .invalidManifest(path: dir2 + "/manifest.json", field: "items[0]", reason: "names image 3 copy 0, but there are 1 images"),
                        path: dir2 + "/manifest.json")
    }
}
