// `vfw verify` catches real faults and names the tap where each one is (the failure source), against the
// committed Reference/resnet18 recorded by torchvision:
//   a transposed conv weight   (weights file)   → layer2.1
//   swapped BN mean / variance (weights file)   → layer3.0
//   a dropped residual         (test-only hook) → layer1.1
//   an off-by-one crop         (input shifted)  → conv1
//   a wrong LayerNorm eps      (ViT config)     → encoder.layer.0
// Reference/resnet18 holds the float64 truth, so these run under the default rule (tolerance or noise floor); the
// tiny ViT reference has none (the tolerance alone). Subtle faults: VerifyInProcessTests and the parity job.
// Weight and config faults go through the real binary (here); the others run the same pipeline in process
// (Tests/VFWTests/VerifyInProcessTests.swift), with the fault planted by `@testable` hooks that a real model
// never has. The ViT case uses
// the tiny transformers ViT of Tests/Fixtures/vit (see `tinyViTReference`): Reference/vit-base would need
// 345 MB of synthetic weights, too slow for a debug-build test.

import Foundation
import Testing
import TensorCore

extension VerifyCLITests {
    @Suite("vfw verify catches planted faults at the right tap")
    struct Faults {
        @Test("a transposed weight (layer2.1.conv1, out/in channels swapped): fails from layer2.1, the failure source")
        func transposedWeight() throws {
            let dir = verifyDir("fault-transposed")
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--junit", dir + "/r.xml"], cwd: verifyRepoRoot)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            let rows = tableRows(r.stdout)
            #expect(rows.prefix(7).allSatisfy { $0.result == "PASS" }, "\(rows)")
            #expect(rows[7] == ("layer2.1", "FAIL *"))
            #expect(r.stdout.contains("failure source: layer2.1 (fails while layer2.0 passes): max |swift - truth| 1.5e+00 is "))
            #expect(r.stdout.contains("x PyTorch float32's own 2.2e-06 (noise floor: at most 4x); worst at [0, "))
            #expect(r.stdout.split(separator: "\n").last?.hasSuffix("; failure source: layer2.1") == true)
            #expect(r.stdout.contains("|swift - reference| at layer2.1, 100352 elements, by decade:"))
            let xml = try String(contentsOfFile: dir + "/r.xml", encoding: .utf8)
            #expect(xml.contains("name=\"layer2.1\">\n      <failure type=\"numeric\" message=\"failure source; outside atol 1e-04 rtol 1e-04 and the noise floor: max |swift - truth| 1.5e+00 is "))
            #expect(xml.contains("<testcase classname=\"vfw.verify.resnet18\" name=\"layer2.0\">\n      <system-out>max abs "))
            // The default rule: the noise floor was applied and failed too, far above 4x PyTorch's own error.
            #expect(rows[7].result == "FAIL *" && r.stdout.contains("(noise floor: at most 4x)"))
        }

        @Test("swapped batch-norm running mean and variance (layer3.0.bn2): fails from layer3.0, the failure source")
        func swappedBatchNorm() throws {
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", swappedBNWeights], cwd: verifyRepoRoot)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            let rows = tableRows(r.stdout)
            #expect(rows.prefix(8).allSatisfy { $0.result == "PASS" }, "\(rows)")
            #expect(rows[8] == ("layer3.0", "FAIL *"))
            #expect(rows.dropFirst(9).allSatisfy { $0.result == "FAIL" })
            #expect(r.stdout.contains("failure source: layer3.0 (fails while layer2.1 passes)"))
        }
    }
}

extension VerifyCLITests {
    @Suite("vfw verify on a ViT")
    struct ViTCases {
        @Test("the tiny transformers ViT passes chained and isolated; its classifier gets top-1 / top-5 agreement")
        func tinyViTPasses() throws {
            let weights = vitFixtures + "/hf-classifier"
            let chained = try runVFW(["verify", "--reference", tinyViTReference, "--weights", weights])
            #expect(chained.status == 0, "\(chained.stdout)\(chained.stderr)")
            #expect(tableRows(chained.stdout).map(\.tap) == ["embeddings", "encoder.layer.0", "encoder.layer.1", "layernorm", "classifier"])
            #expect(chained.stdout.contains("classifier (logits): top-1 2 of 2, top-5 2 of 2 images agree"))
            let isolated = try runVFW(["verify", "--reference", tinyViTReference, "--weights", weights, "--isolated"])
            #expect(isolated.status == 0, "\(isolated.stdout)\(isolated.stderr)")
            let lines = isolated.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains { $0.hasPrefix("encoder.layer.1  [2, 17, 32]  ref encoder.layer.0 ") })
            #expect(lines.contains { $0.hasPrefix("classifier       [2, 5]       ref layernorm ") })
        }

        @Test("a wrong LayerNorm eps (the config's 1e-3 ignored for HF's default 1e-12): fails from encoder.layer.0, the failure source")
        func wrongLayerNormEps() throws {
            let r = try runVFW(["verify", "--reference", tinyViTReference, "--weights", try vitClassifier(eps: 1e-12)])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(tableRows(r.stdout).map(\.result) == ["PASS", "FAIL *", "FAIL", "FAIL", "FAIL"])
            #expect(r.stdout.contains("failure source: encoder.layer.0 (fails while embeddings passes)"))
            // Isolated, every module holding a LayerNorm fails on its own; the embeddings do not.
            let iso = try runVFW(["verify", "--reference", tinyViTReference, "--weights", try vitClassifier(eps: 1e-12), "--isolated"])
            #expect(iso.status == 1)
            #expect(tableRows(iso.stdout).map(\.result) == ["PASS", "FAIL *", "FAIL *", "FAIL *", "PASS"])
            #expect(iso.stdout.contains("also failing on their own: encoder.layer.1, layernorm"))
        }
    }
}

