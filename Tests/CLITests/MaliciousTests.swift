// The malicious-checkpoint suite end to end: `vfw inspect` and `vfw convert` on every hostile file of
// Tests/Fixtures/malicious (tools/make_malicious.py; cases.json says what each must give), under a memory and a
// time limit: exit 2, one line naming the file and the refusal, no output left behind, and no payload run.
// The library-level tests of the same refusals live in Tests/TorchArchiveTests; this suite is the user's view.

import Foundation
import Testing

/// One expectation of cases.json.
struct MaliciousCase: Decodable, Sendable, CustomTestStringConvertible {
    var file: String
    var what: String
    var refusal: String
    var marker: String?
    var env: String?
    var loads_without_env: Bool
    var testDescription: String { file }
}

enum MaliciousSuite {
    static let folder = fixture("malicious")

    static let cases: [MaliciousCase] = {
        struct Doc: Decodable { var cases: [MaliciousCase] }
        guard let data = FileManager.default.contents(atPath: folder + "/cases.json"),
              let doc = try? JSONDecoder().decode(Doc.self, from: data) else { return [] }
        return doc.cases
    }()

    /// Address space each run may use. The worst case, pickle_list_bomb.pt, builds the 10,000,000 items
    /// maxContainerItems allows (about 420 MB resident in a debug build) before it is refused; the others stay
    /// near 30 MB. Under a sanitizer (VFW_SANITIZER set by `make test-sanitize`) no address-space limit is set:
    /// AddressSanitizer reserves terabytes of shadow memory up front.
    static let addressSpace = 1 << 30
    /// Wall-clock seconds each run may take (the slowest case takes about 7 s in a debug build on a busy machine);
    /// CPU seconds are limited to the same through prlimit.
    static let seconds: Double = 60
    static let sanitized = ProcessInfo.processInfo.environment["VFW_SANITIZER"] != nil
}

/// Runs vfw under prlimit (address space and CPU time) and a wall-clock deadline.
private func runLimited(_ args: [String], env: [String: String] = [:]) throws -> (result: RunResult, seconds: Double) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
    var limits = ["--cpu=\(Int(MaliciousSuite.seconds))"]
    if !MaliciousSuite.sanitized { limits.append("--as=\(MaliciousSuite.addressSpace)") }
    p.arguments = limits + ["--", vfwBinary] + args
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    environment["VFW_LIMITS"] = nil
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let start = Date()
    try p.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let deadline = DispatchWorkItem { if p.isRunning { p.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + MaliciousSuite.seconds, execute: deadline)
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    deadline.cancel()
    let r = RunResult(status: p.terminationStatus, stdout: String(decoding: outBox.data, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    return (r, Date().timeIntervalSince(start))
}

private func environment(_ c: MaliciousCase) -> [String: String] {
    c.env.map { ["VFW_LIMITS": $0] } ?? [:]
}

@Suite("malicious checkpoints, end to end")
struct MaliciousTests {
    @Test("cases.json lists every file of Tests/Fixtures/malicious, and each file exists")
    func manifest() throws {
        let cases = MaliciousSuite.cases
        #expect(cases.count >= 40, "cases.json missing or short: \(cases.count) cases")
        let listed = Set(cases.map(\.file))
        let enumerator = FileManager.default.enumerator(atPath: MaliciousSuite.folder)
        while let f = enumerator?.nextObject() as? String {
            var isDir: ObjCBool = false
            FileManager.default.fileExists(atPath: MaliciousSuite.folder + "/" + f, isDirectory: &isDir)
            guard !isDir.boolValue, f != "cases.json", f != "README.md" else { continue }
            #expect(listed.contains(f), "\(f) is in the folder but not in cases.json")
        }
        for c in cases { #expect(FileManager.default.fileExists(atPath: MaliciousSuite.folder + "/" + c.file), "\(c.file)") }
    }

    @Test("vfw inspect refuses it: exit 2, one line naming the file and the reason, within the memory and time limits, payload never runs",
          arguments: MaliciousSuite.cases)
    func inspect(_ c: MaliciousCase) throws {
        if let m = c.marker { try? FileManager.default.removeItem(atPath: m) }
        let path = MaliciousSuite.folder + "/" + c.file
        let (r, seconds) = try runLimited(["inspect", path], env: environment(c))
        #expect(r.status == 2, "\(c.file): exit \(r.status), stderr \(r.stderr.prefix(300))")
        #expect(r.stderr.hasPrefix("error: \(path): ") && r.stderr.contains(c.refusal), "\(c.file): \(r.stderr.prefix(400))")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(c.file): not one line: \(r.stderr.prefix(400))")
        #expect(r.stdout.isEmpty, "\(c.file): printed a report for a refused file")
        #expect(seconds < MaliciousSuite.seconds, "\(c.file): took \(seconds) s")
        if let m = c.marker { #expect(!FileManager.default.fileExists(atPath: m), "\(c.file): the payload ran (\(m) exists)") }
    }

    @Test("vfw convert refuses it the same way and leaves no output", arguments: MaliciousSuite.cases)
    func convert(_ c: MaliciousCase) throws {
        if let m = c.marker { try? FileManager.default.removeItem(atPath: m) }
        let dir = scratchDir("malicious-" + c.file.replacingOccurrences(of: "/", with: "_"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = MaliciousSuite.folder + "/" + c.file
        let (r, _) = try runLimited(["convert", path, "-o", dir + "/out.vfw"], env: environment(c))
        #expect(r.status == 2, "\(c.file): exit \(r.status), stderr \(r.stderr.prefix(300))")
        #expect(r.stderr.hasPrefix("error: \(path): ") && r.stderr.contains(c.refusal), "\(c.file): \(r.stderr.prefix(400))")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "\(c.file): not one line: \(r.stderr.prefix(400))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "\(c.file): output or temporary file left")
        if let m = c.marker { #expect(!FileManager.default.fileExists(atPath: m), "\(c.file): the payload ran (\(m) exists)") }
    }

    @Test("the files refused only under a lowered VFW_LIMITS load with the defaults",
          arguments: MaliciousSuite.cases.filter(\.loads_without_env))
    func loadsWithDefaults(_ c: MaliciousCase) throws {
        let (r, _) = try runLimited(["inspect", MaliciousSuite.folder + "/" + c.file])
        #expect(r.status == 0, "\(c.file): \(r.stderr.prefix(300))")
    }

    @Test("a malformed VFW_LIMITS is refused naming the variable, for every format", arguments: [
        ("tensors=lots", "'lots' for tensors is not a non-negative number"),
        ("memory=1G", "unknown limit 'memory'"),
        ("tensors", "'tensors' is not key=value"),
    ])
    func badVariable(_ c: (String, String)) throws {
        for f in ["vfw/golden.vfw", "safetensors/all_dtypes.safetensors", "torch/dtypes.pt"] {
            let path = fixture(f)
            let (r, _) = try runLimited(["inspect", path], env: ["VFW_LIMITS": c.0])
            #expect(r.status == 2, "\(f) under VFW_LIMITS=\(c.0): exit \(r.status)")
            #expect(r.stderr.hasPrefix("error: \(path): ") && r.stderr.contains("VFW_LIMITS: \(c.1)"), "\(f): \(r.stderr)")
        }
    }

    @Test("VFW_LIMITS raises a limit: a 100-byte header limit refuses golden.vfw, sizes with suffixes are accepted")
    func raiseAndLower() throws {
        let path = fixture("vfw/golden.vfw")
        let low = try runLimited(["inspect", path], env: ["VFW_LIMITS": "header=100"]).result
        #expect(low.status == 2 && low.stderr.contains("exceeds the 100-byte limit (raise it with VFW_LIMITS=header=N)"), "\(low.stderr)")
        let high = try runLimited(["inspect", path], env: ["VFW_LIMITS": "header=1Gi, tensors=2_000_000,memo=2M"]).result
        #expect(high.status == 0, "\(high.stderr)")
    }
}

/// Images whose headers claim far more pixels than their data holds (Tests/Fixtures/images/hostile, written by
/// tools/make_hostile_images.py with Pillow's verdicts) and the image fuzz findings (Tests/Fixtures/fuzz): before
/// vfw checked the data against the header, under this address-space limit the JPEGs crashed vfw (a 507 MB raster
/// it could not allocate) and the 13000x13000 PNG failed with "out of memory".
enum HostileImageSuite {
    struct Case: Sendable, CustomTestStringConvertible {
        var path: String
        var refusal: String
        var testDescription: String { (path as NSString).lastPathComponent }
    }
    static let cases: [Case] = {
        struct Doc: Decodable { struct C: Decodable { var vfw_refusal: String }; var cases: [String: C] }
        let folder = fixture("images/hostile")
        guard let data = FileManager.default.contents(atPath: folder + "/cases.json"),
              let doc = try? JSONDecoder().decode(Doc.self, from: data) else { return [] }
        return doc.cases.keys.sorted().map { Case(path: folder + "/" + $0, refusal: doc.cases[$0]!.vfw_refusal) } + [
            Case(path: fixture("fuzz/png/ztxt-chunk-claims-2GB-41-bytes.png"), refusal: "truncated PNG"),
            Case(path: fixture("fuzz/png/ihdr-13000x13000-rgba16-69-bytes.png"), refusal: "truncated PNG"),
            Case(path: fixture("fuzz/jpeg/sof2-13000x13000-144-bytes.jpg"), refusal: "image data missing"),
        ]
    }()
    /// resnet18 synthetic weights, made once for the suite.
    static let weights: String = {
        let dir = scratchDir("hostile-images-weights")
        _ = try? runVFW(["synth", "--model", "resnet18", "--classes", "5", "-o", dir + "/r18.vfw"])
        return dir + "/r18.vfw"
    }()
}

@Suite("hostile images, end to end")
struct HostileImageCLITests {
    @Test("vfw embed refuses it: exit 2, one line naming the file and the reason, within the memory and time limits",
          arguments: HostileImageSuite.cases)
    func embed(_ c: HostileImageSuite.Case) throws {
        #expect(HostileImageSuite.cases.count >= 7)
        let (r, seconds) = try runLimited(["embed", c.path, "--weights", HostileImageSuite.weights])
        #expect(r.status == 2, "exit \(r.status), stderr \(r.stderr.prefix(300))")
        #expect(r.stderr.hasPrefix("error: \(c.path): ") && r.stderr.contains(c.refusal), "\(r.stderr.prefix(400))")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "not one line: \(r.stderr.prefix(400))")
        let printed = r.stdout.utf8.count
        #expect(printed == 0, "printed a result for a refused image")
        #expect(seconds < MaliciousSuite.seconds, "took \(seconds) s")
    }
}
