// `vfw verify` end to end against the committed Reference/resnet18 (activations recorded by torchvision).

import Foundation
import Testing

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite("vfw verify", .serialized)
struct VerifyCLITests {
    @Test("the committed resnet18 reference passes at 1e-4, every tap listed in execution order")
    func resnet18Passes() throws {
        let r = try runVFW(["verify", "--model", "resnet18", "--threads", "2"], cwd: repoRoot)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        let taps = lines.compactMap { l -> String? in
            let f = l.split(separator: " ", omittingEmptySubsequences: true)
            return f.last == "PASS" || f.last == "FAIL" ? String(f[0]) : nil
        }
        #expect(taps == ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1", "layer2.0", "layer2.1",
                         "layer3.0", "layer3.1", "layer4.0", "layer4.1", "avgpool", "fc"])
        #expect(lines.last?.hasPrefix("PASS: 14 of 14 taps within atol 1e-04 rtol 1e-04") == true, "\(lines.last ?? "")")
        #expect(r.stdout.contains("weights used  vfw synth --model resnet18 --seed 0 (sha256 matches the reference)"))
    }

    @Test("a tolerance of 0 makes it fail with exit 1 and name the first failing tap")
    func zeroTolerance() throws {
        let r = try runVFW(["verify", "--model", "resnet18", "--tolerance", "0"], cwd: repoRoot)
        #expect(r.status == 1)
        #expect(r.stdout.contains("first failure: conv1 at ["), "\(r.stdout)")
        #expect(r.stdout.split(separator: "\n").last?.hasPrefix("FAIL: ") == true)
    }

    @Test("wrong weights for the reference exit 1 at the first tap")
    func wrongWeights() throws {
        let dir = scratchDir("verify-wrong")
        #expect(try runVFW(["synth", "--model", "resnet18", "--seed", "5", "-o", dir + "/other.vfw"]).status == 0)
        let r = try runVFW(["verify", "--model", "resnet18", "--weights", dir + "/other.vfw"], cwd: repoRoot)
        #expect(r.status == 1)
        #expect(r.stdout.contains("first failure: conv1"))
    }

    @Test("bad references and arguments exit 2 with one line", arguments: [
        (["verify", "--model", "no-such-model"], "Reference/no-such-model: no such committed reference"),
        (["verify", "--reference", "/nonexistent/ref"], "/nonexistent/ref"),
        (["verify", "--model", "resnet18", "--weights", "/nonexistent.vfw"], "/nonexistent.vfw: no such file or folder"),
    ])
    func badInput(_ c: ([String], String)) throws {
        let r = try runVFW(c.0, cwd: repoRoot)
        #expect(r.status == 2, "\(c.0): \(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(c.1) && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
    }

    @Test("usage: exactly one of --model and --reference")
    func usage() throws {
        #expect(try runVFW(["verify"]).status == 2)
        #expect(try runVFW(["verify", "--model", "a", "--reference", "b"]).status == 2)
    }
}
