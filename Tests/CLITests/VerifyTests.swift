// `vfw verify` end to end against the committed Reference/resnet18 (activations recorded by torchvision): the
// table, JSON and JUnit outputs, tolerances and modes, and the exit codes (0 pass, 1 numbers, 2 input).
// Full-model runs are few; most cases restrict the work with --isolated --taps.

import Foundation
import Testing

@Suite("vfw verify", .serialized)
struct VerifyCLITests {
    @Test("the committed resnet18 reference passes at the f32 default; table, JSON and JUnit pinned")
    func resnet18Passes() throws {
        let dir = verifyDir("passes")
        let r = try runVFW(["verify", "--model", "resnet18", "--threads", "2", "--json", dir + "/r.json", "--junit", dir + "/r.xml"],
                           cwd: verifyRepoRoot)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("weights used  vfw synth --model resnet18 --seed 0 (tensor digest matches the reference)"))
        #expect(lines.contains("tolerance     allclose: |a - e| <= atol + rtol*|e| for every element, atol 1e-04 rtol 1e-04 (default for f32 weights)"))
        #expect(lines.contains("mode          chained: the Swift model runs end to end on the reference input, so drift accumulates"))
        #expect(lines.contains("noise floor   max |swift - truth| <= 4 x max |torch - truth|, per tap, against the float64 truth (14 of 14 taps have one); a tap passes by either rule"))
        #expect(lines.contains("tap       shape              max abs    cosine  mismatched  swift err  torch err  ratio  introduced  gain  result  by"))
        #expect(tableRows(r.stdout).map(\.tap) == resnet18Taps)
        #expect(tableRows(r.stdout).allSatisfy { $0.result == "PASS" })
        #expect(lines.contains { $0.hasPrefix("conv1     [1, 64, 112, 112]  ") && $0.contains("  0 / 802816  ") && $0.hasSuffix("  -  PASS    tolerance") })
        #expect(lines.contains("fc (logits): top-1 1 of 1, top-5 1 of 1 images agree"))
        #expect(lines.last?.hasPrefix("PASS: 14 of 14 taps within atol 1e-04 rtol 1e-04 (worst max abs ") == true, "\(lines.last ?? "")")
        #expect(!r.stdout.contains("\u{1B}"), "no colour when stdout is not a terminal")

        let json = try jsonObject(dir + "/r.json")
        #expect(json["schema_version"] as? Int == 2 && json["passed"] as? Bool == true && json["mode"] as? String == "chained")
        #expect(json["tolerance_origin"] as? String == "default for f32 weights")
        #expect((json["tolerance"] as? [String: Any])?["metric"] as? String == "allclose")
        let taps = json["taps"] as! [[String: Any]]
        #expect(taps.map { $0["name"] as! String } == resnet18Taps)
        #expect(taps.allSatisfy { $0["feed"] as? String == "chained" && $0["passed"] as? Bool == true })
        // Every tap has both errors against the truth, the rule that decided, and the isolated run's figure.
        #expect(taps.allSatisfy { ($0["truth"] as? [String: Any])?["torch"] != nil && $0["decided_by"] as? String == "tolerance" })
        #expect(taps.allSatisfy { ($0["attribution"] as? [String: Any])?["introduced"] != nil })
        #expect(json["strict"] as? Bool == false && (json["noise_floor"] as? [String: Any])?["factor"] as? Double == 4)
        #expect(((taps.last!["agreement"] as? [String: Any])?["top1_agreeing"]) as? Int == 1)
        #expect(json["failure_source"] == nil)

        let xml = try String(contentsOfFile: dir + "/r.xml", encoding: .utf8)
        #expect(xml.contains("<testsuites name=\"vfw verify\" tests=\"14\" failures=\"0\" errors=\"0\">"))
        #expect(xml.contains("<testsuite name=\"resnet18\" tests=\"14\" failures=\"0\" errors=\"0\" skipped=\"0\">"))
        for t in resnet18Taps {
            #expect(xml.contains("<testcase classname=\"vfw.verify.resnet18\" name=\"\(t)\">\n      <system-out>max abs "), "\(t)")
        }
        #expect(xml.contains("; decided by tolerance\nintroduced "))
    }

    @Test("a tolerance of 0 fails with exit 1: failure source conv1 with its worst element, a histogram, JUnit failures")
    func zeroTolerance() throws {
        let dir = verifyDir("zero")
        let r = try runVFW(["verify", "--model", "resnet18", "--weights", resnet18Weights, "--tolerance", "0", "--strict", "--junit", dir + "/r.xml"],
                           cwd: verifyRepoRoot)
        #expect(r.status == 1)
        #expect(r.stdout.contains("failure source: conv1 (the first tap, fed by the model input): worst at [0, "), "\(r.stdout)")
        #expect(r.stdout.contains("|swift - reference| at conv1, 802816 elements, by decade:"))
        #expect(r.stdout.contains("  0 (exact)  "))
        #expect(tableRows(r.stdout).first! == ("conv1", "FAIL *"))
        #expect(r.stdout.contains("tap       shape              max abs    cosine       mismatched  swift err  torch err  ratio  introduced  gain  result  by         worst at"))
        #expect(r.stdout.contains("noise floor   off (--strict): the tolerance alone decides"))
        #expect(r.stdout.split(separator: "\n").last?.hasPrefix("FAIL: ") == true)
        #expect(r.stdout.split(separator: "\n").last?.hasSuffix("; failure source: conv1") == true)
        let xml = try String(contentsOfFile: dir + "/r.xml", encoding: .utf8)
        #expect(xml.contains("<testcase classname=\"vfw.verify.resnet18\" name=\"conv1\">\n      <failure type=\"numeric\" message=\"failure source; outside atol 0e+00 rtol 0e+00: worst at [0, "))
    }

    @Test("wrong weights for the reference exit 1 at the first tap")
    func wrongWeights() throws {
        let dir = verifyDir("wrong")
        #expect(try runVFW(["synth", "--model", "resnet18", "--seed", "5", "-o", dir + "/other.vfw"]).status == 0)
        let r = try runVFW(["verify", "--model", "resnet18", "--weights", dir + "/other.vfw", "--isolated", "--taps", "conv1", "--taps", "fc"],
                           cwd: verifyRepoRoot)
        #expect(r.status == 1)
        #expect(r.stdout.contains("failure source: conv1"))
        // Isolated, each module was fed the reference: both are wrong on their own.
        #expect(tableRows(r.stdout).map(\.result) == ["FAIL *", "FAIL *"])
        #expect(r.stdout.contains("also failing on their own: fc"))
    }

    @Test("--isolated: each tap fed its reference input; a tap whose input the reference lacks runs chained, with a note")
    func isolatedWithFallback() throws {
        // Without layer1.1 in the reference, layer2.0 (whose input is layer1.1's output) cannot run alone.
        let ref = try referenceCopy("no-layer1.1", editManifest: dropTaps(["layer1.1"]))
        let json = verifyScratch + "/isolated.json"
        let r = try runVFW(["verify", "--reference", ref, "--weights", resnet18Weights, "--isolated", "--metric", "nmse",
                            "--tolerance", "1e-9", "--json", json])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("mode          isolated: each tapped module runs alone on the reference activations of its inputs"))
        #expect(r.stdout.contains("tolerance     nmse: sum (a - e)^2 / sum e^2 <= atol, nmse <= 1e-09 (--tolerance)"))
        #expect(r.stdout.contains("tap       shape              fed from            max abs    cosine     nmse  mismatched  swift err  torch err  ratio  chained  gain  result  by"))
        #expect(r.stdout.contains("              chained: the same taps end to end; gain: chained / the largest chained error feeding it"))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("layer2.0  [1, 128, 28, 28]   chained (see note)") })
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("layer2.1  [1, 128, 28, 28]   ref layer2.0") })
        #expect(r.stdout.contains("note: layer2.0 ran chained: its input layer1.1 is not in the reference"))
        let taps = try jsonObject(json)["taps"] as! [[String: Any]]
        let byName = Dictionary(uniqueKeysWithValues: taps.map { ($0["name"] as! String, $0) })
        #expect(byName["conv1"]?["feed"] as? String == "isolated" && byName["conv1"]?["fed_from"] as? [String] == ["input"])
        #expect(byName["layer1.0"]?["fed_from"] as? [String] == ["maxpool"])
        #expect(byName["layer2.0"]?["feed"] as? String == "chained-fallback")
        #expect(byName["layer2.0"]?["feed_note"] as? String == "its input layer1.1 is not in the reference")
        #expect(byName["layer2.0"]?["inputs"] as? [String] == ["layer1.0"], "the nearest compared tap upstream")
        #expect(byName["avgpool"]?["fed_from"] as? [String] == ["layer4.1"])
        #expect((try jsonObject(json)["mode"]) as? String == "isolated")
    }

    @Test("--weights-dtype f16: the f16 default (1e-2) passes; a tap held to f32's 1e-4 fails and is the source")
    func halfPrecisionWeights() throws {
        let r = try runVFW(["verify", "--model", "resnet18", "--weights", resnet18Weights, "--weights-dtype", "f16", "--isolated",
                            "--taps", "layer4.*", "--taps", "fc", "--tolerance-for", "layer4.0=1e-4"], cwd: verifyRepoRoot)
        #expect(r.status == 1, "\(r.stdout)")
        #expect(r.stdout.contains("atol 1e-02 rtol 1e-02 (default for f16 weights)"))
        #expect(r.stdout.contains("weights rounded to f16 (round to nearest even) before running: --weights-dtype f16"))
        #expect(tableRows(r.stdout).map(\.tap) == ["layer4.0", "layer4.1", "fc"])
        #expect(tableRows(r.stdout).map(\.result) == ["FAIL *", "PASS", "PASS"])
        #expect(r.stdout.contains("failure source: layer4.0 (fails on the reference layer3.1)"))
    }

    @Test("--tolerance-for: the last matching rule wins over --tolerance; the table shows each tap's")
    func perTapRules() throws {
        let r = try runVFW(["verify", "--model", "resnet18", "--weights", resnet18Weights, "--isolated", "--taps", "conv1", "--taps", "bn1",
                            "--tolerance", "0", "--tolerance-for", "*=1e-4", "--tolerance-for", "conv1=0", "--strict"], cwd: verifyRepoRoot)
        #expect(r.status == 1)
        #expect(tableRows(r.stdout).map(\.result) == ["FAIL *", "PASS"])
        #expect(r.stdout.contains("              *: atol 1e-04 rtol 1e-04 (--tolerance-for; the last matching rule wins)"))
        #expect(r.stdout.contains("              conv1: atol 0e+00 rtol 0e+00 (--tolerance-for; the last matching rule wins)"))
        #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("bn1 ") && $0.contains("  1e-04  ") })
    }

    @Test("bad arguments and references exit 2 with one line naming the file", arguments: [
        (["verify", "--model", "no-such-model"], "Reference/no-such-model: no such committed reference"),
        (["verify", "--reference", "/nonexistent/ref"], "/nonexistent/ref"),
        (["verify", "--model", "resnet18", "--weights", "/nonexistent.vfw"], "/nonexistent.vfw: no such file or folder"),
        (["verify", "--model", "resnet18", "--tolerance-for", "layr4.*=1e-3"], "manifest.json: --tolerance-for 'layr4.*' matches no tap of this reference (its taps: conv1, bn1,"),
        (["verify", "--model", "resnet18", "--taps", "layer9*"], "manifest.json: --taps 'layer9*' matches no tap"),
        (["verify", "--all", "/nonexistent/refs"], "/nonexistent/refs: no such folder"),
    ])
    func badInput(_ c: ([String], String)) throws {
        let r = try runVFW(c.0, cwd: verifyRepoRoot)
        #expect(r.status == 2, "\(c.0): \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(c.1) && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
    }

    @Test("usage errors exit 2", arguments: [
        ["verify"], ["verify", "--model", "a", "--reference", "b"], ["verify", "--all", "--model", "resnet18"],
        ["verify", "--all", "--weights", "w.vfw"], ["verify", "--model", "resnet18", "somewhere"],
        ["verify", "--model", "resnet18", "--tolerance-for", "layer4.*"], ["verify", "--model", "resnet18", "--metric", "close"],
        ["verify", "--model", "resnet18", "--weights-dtype", "f8"], ["verify", "--model", "resnet18", "--atol", "-1"],
        ["verify", "--model", "resnet18", "--noise-floor", "-1"], ["verify", "--model", "resnet18", "--strict", "--noise-floor", "2"],
    ])
    func usage(_ args: [String]) throws {
        #expect(try runVFW(args, cwd: verifyRepoRoot).status == 2)
    }

    @Test("--help documents the metrics, tolerance defaults and rules, modes, --all")
    func help() throws {
        let r = try runVFW(["verify", "--help"])
        let text = r.stdout.replacingOccurrences(of: "\n", with: " ")
        for needle in ["allclose  every element |swift - ref| <= atol + rtol * |ref|", "max-abs   max |swift - ref| <= atol",
                       "cosine    1 - cos(swift, ref) <= atol", "nmse      sum (swift - ref)^2 / sum ref^2 <= atol",
                       "1e-4 for f32 weights, 1e-2 for f16, 1e-1 for bf16", "the last matching rule wins", "--isolated",
                       "--all [DIR]", "--junit", "--json", "--weights-dtype", "--tolerance-for"] {
            #expect(text.contains(needle), "\(needle)")
        }
    }
}

extension VerifyCLITests {
    @Suite("vfw verify: damaged references")
    struct BadReferences {
        /// Runs verify on `ref` with the shared weights and cheap isolated taps.
        func verify(_ ref: String, _ extra: [String] = ["--isolated", "--taps", "fc"]) throws -> RunResult {
            try runVFW(["verify", "--reference", ref, "--weights", resnet18Weights] + extra)
        }

        func expectInputError(_ r: RunResult, _ needle: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == 2, "\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
            #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(needle) && r.stderr.filter { $0 == "\n" }.count == 1,
                    "\(r.stderr)", sourceLocation: sourceLocation)
        }

        @Test("a tap the model does not have (reference for another model): exit 2 before running")
        func unknownTap() throws {
            let ref = try referenceCopy("unknown-tap", editManifest: { m in
                m["taps"] = (m["taps"] as! [[String: Any]]).map { t in t["name"] as? String == "layer4.1" ? ["name": "layer4.2", "shape": t["shape"]!] : t }
            }, editActivations: { t in t = t.map { ($0.name == "layer4.1" ? "layer4.2" : $0.name, $0.tensor) } })
            expectInputError(try verify(ref), "/manifest.json: the model has no module named 'layer4.2'; its modules are named like conv1, bn1")
        }

        @Test("a tap listed in the manifest but missing from the activations: exit 2")
        func missingTap() throws {
            let ref = try referenceCopy("missing-tap", editActivations: { t in t.removeAll { $0.name == "layer3.0" } })
            expectInputError(try verify(ref), "activations.safetensors: tap 'layer3.0' listed in manifest.json is missing")
        }

        @Test("the manifest and the activations disagree on a shape: exit 2")
        func shapeDisagreement() throws {
            let ref = try referenceCopy("shape-disagreement", editManifest: { m in
                m["taps"] = (m["taps"] as! [[String: Any]]).map { t in t["name"] as? String == "fc" ? ["name": "fc", "shape": [1, 10]] : t }
            })
            expectInputError(try verify(ref), "tap 'fc' is [1, 1000] but manifest.json says [1, 10]")
        }

        @Test("a truncated activations file: exit 2")
        func truncated() throws {
            let ref = try referenceCopy("truncated")
            let p = ref + "/activations.safetensors"
            let data = try Data(contentsOf: URL(fileURLWithPath: p))
            try data.prefix(data.count - 1000).write(to: URL(fileURLWithPath: p))
            expectInputError(try verify(ref), p + ": ")
        }

        @Test("NaN in the reference: exit 2, naming the tap and the first index")
        func nanInReference() throws {
            let ref = try referenceCopy("nan", editActivations: { t in
                replace(&t, "layer2.0") { raw in
                    var v = raw.floats()
                    v[5] = .nan
                    return .float32(v, shape: raw.shape)
                }
            })
            expectInputError(try verify(ref), "reference tap 'layer2.0' holds NaN (first at [0, 0, 0, 5])")
        }

        @Test("weights for another configuration than the reference's: exit 2 naming the difference")
        func wrongArchitecture() throws {
            let ref = try referenceCopy("other-arch", editManifest: { m in
                var a = m["architecture"] as! [String: Any]
                var c = a["config"] as! [String: Any]
                c["num_classes"] = 10
                a["config"] = c
                m["architecture"] = a
            })
            expectInputError(try verify(ref), "the reference was recorded from resnet18 but \(resnet18Weights) holds resnet18 (num_classes 1000, not 10)")
        }

        @Test("the model computes another shape than the reference holds: a numeric failure, exit 1, at that tap")
        func modelShapeDiffers() throws {
            // A consistent reference whose fc is [1000, 1]: the model gives [1, 1000].
            let ref = try referenceCopy("fc-shape", editManifest: { m in
                m["taps"] = (m["taps"] as! [[String: Any]]).map { t in t["name"] as? String == "fc" ? ["name": "fc", "shape": [1000, 1]] : t }
            }, editActivations: { t in replace(&t, "fc") { raw in .float32(raw.floats(), shape: [1000, 1]) } })
            let r = try verify(ref)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("failure source: fc (fails on the reference avgpool): shape [1, 1000] differs from the reference [1000, 1]"))
        }

        @Test("--all: a summary row per reference; exit 2 when one cannot be verified, else 1 when one fails; JUnit and JSON")
        func all() throws {
            let root = verifyDir("all")
            _ = try referenceCopy("all/a-ok", weights: resnet18Weights)
            _ = try referenceCopy("all/b-faulty", weights: transposedWeights)
            try FileManager.default.createDirectory(atPath: root + "/c-broken", withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/c-broken/manifest.json"))
            let args = ["verify", "--all", root, "--isolated", "--taps", "layer2.*", "--junit", root + "/r.xml", "--json", root + "/r.json"]
            let r = try runVFW(args)
            #expect(r.status == 2, "\(r.stdout)\(r.stderr)")
            #expect(r.stderr.hasPrefix("error: 1 of 3 references could not be verified; first: \(root)/c-broken/manifest.json: invalid reference manifest"))
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("== \(root)/b-faulty =="))
            #expect(lines.contains { $0.hasPrefix("resnet18  \(root)/a-ok ") && $0.contains("     2  ") && $0.contains(" PASS") })
            #expect(lines.contains { $0.hasPrefix("resnet18  \(root)/b-faulty ") && $0.contains("FAIL    layer2.1: max |swift - truth| ") })
            #expect(lines.contains { $0.hasPrefix("c-broken  \(root)/c-broken ") && $0.contains("ERROR   \(root)/c-broken/manifest.json") })
            #expect(lines.last == "FAIL: 1 of 3 references failed, 1 could not be verified")
            let xml = try String(contentsOfFile: root + "/r.xml", encoding: .utf8)
            #expect(xml.contains("<testsuites name=\"vfw verify\" tests=\"5\" failures=\"1\" errors=\"1\">"))
            let json = try jsonObject(root + "/r.json")
            #expect((json["references"] as! [[String: Any]]).map { $0["status"] as! String } == ["pass", "fail", "error"])

            try FileManager.default.removeItem(atPath: root + "/c-broken")
            let numeric = try runVFW(["verify", "--all", root, "--isolated", "--taps", "layer2.*"])
            #expect(numeric.status == 1, "\(numeric.stdout)\(numeric.stderr)")
            #expect(numeric.stdout.split(separator: "\n").last == "FAIL: 1 of 2 references failed")
        }
    }
}
