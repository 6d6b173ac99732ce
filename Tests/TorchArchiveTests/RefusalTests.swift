// Files vfw must refuse, each with its exact error; hostile payloads must not run.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

@Suite("refused torch files")
struct RefusalTests {
    /// The refusal expected.json recorded for `file` (global name and byte found by Python's pickletools).
    func refusal(_ file: String) throws -> Fixtures.Refusal {
        try #require(Fixtures.refusals[file], "expected.json has no refusal for \(file)")
    }

    func checkPayloadDidNotRun(_ file: String, marker: String) throws {
        try? FileManager.default.removeItem(atPath: marker)
        let r = try refusal(file)
        let p = Fixtures.path(file)
        expectError(.refusedGlobal(path: p, stream: r.stream, offset: r.offset, global: r.global)) {
            _ = try TorchCheckpoint.load(path: p)
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "\(file): the payload ran (\(marker) exists)")
    }

    @Test("malicious_system.pt: os.system payload refused by name and byte, marker file never created")
    func maliciousSystem() throws {
        #expect(try refusal("malicious_system.pt").global == "posix.system")
        try checkPayloadDidNotRun("malicious_system.pt", marker: "/tmp/vfw-pwned-system")
        let e = TorchArchiveError.refusedGlobal(path: "/x/evil.pth", stream: "data.pkl", offset: 123, global: "posix.system")
        #expect(e.description == "/x/evil.pth: refused global posix.system in data.pkl at byte 123 (vfw never runs code from a pickle)")
    }

    @Test("malicious_fickling.pt: fickling-injected exec payload refused, marker file never created")
    func maliciousFickling() throws {
        #expect(try refusal("malicious_fickling.pt").global == "builtins.exec")
        try checkPayloadDidNotRun("malicious_fickling.pt", marker: "/tmp/vfw-pwned-fickling")
    }

    @Test("malicious_legacy.pt: os.system payload in a legacy stream refused at its file byte, marker never created")
    func maliciousLegacy() throws {
        try checkPayloadDidNotRun("malicious_legacy.pt", marker: "/tmp/vfw-pwned-legacy")
    }

    @Test("whole_model.pt: torch.save(model) of __main__.Net says to save the state_dict")
    func wholeModel() throws {
        let r = try refusal("whole_model.pt")
        let p = Fixtures.path("whole_model.pt")
        expectError(.wholeModel(path: p, stream: "data.pkl", offset: r.offset, className: "__main__.Net")) {
            _ = try TorchCheckpoint.load(path: p)
        }
        let text = TorchArchiveError.wholeModel(path: p, stream: "data.pkl", offset: 2, className: "__main__.Net").description
        #expect(text.contains("model.state_dict()"))
    }

    @Test("whole_model_sequential.pt: torch.nn.modules classes are a whole model")
    func wholeModelSequential() throws {
        let r = try refusal("whole_model_sequential.pt")
        let p = Fixtures.path("whole_model_sequential.pt")
        expectError(.wholeModel(path: p, stream: "data.pkl", offset: r.offset, className: "torch.nn.modules.container.Sequential")) {
            _ = try TorchCheckpoint.load(path: p)
        }
    }

    @Test("torchscript.pt: TorchScript archives refused by name")
    func torchScript() {
        let p = Fixtures.path("torchscript.pt")
        expectError(.torchScript(path: p)) { _ = try TorchCheckpoint.load(path: p) }
        #expect(TorchArchiveError.torchScript(path: p).description
            == "\(p): is a TorchScript archive (torch.jit.save); vfw reads torch.save state_dicts: save `model.state_dict()` with torch.save")
    }

    @Test("complex128.pt: unsupported dtype named")
    func complex128() {
        let p = Fixtures.path("complex128.pt")
        expectError(.unsupportedDType(path: p, tensor: "x", dtype: "torch.complex128")) { _ = try TorchCheckpoint.load(path: p) }
        #expect(TorchArchiveError.unsupportedDType(path: p, tensor: "x", dtype: "torch.complex128").description
            == "\(p): tensor 'x' has dtype torch.complex128, which vfw does not support")
    }

    @Test("conj.pt: a tensor with the conjugate bit is refused")
    func conj() {
        let p = Fixtures.path("conj.pt")
        expectError(.unsupportedTensor(path: p, tensor: "zc", reason: "has the conjugate bit set (saved from x.conj())")) {
            _ = try TorchCheckpoint.load(path: p)
        }
    }

    @Test("quantized.pt: quantized tensors are refused")
    func quantized() {
        let p = Fixtures.path("quantized.pt")
        expectError(.unsupportedTensor(path: p, tensor: "q", reason: "is a quantized tensor")) { _ = try TorchCheckpoint.load(path: p) }
    }

    @Test("ambiguous.pt: two dicts of tensors and no preferred key lists both")
    func ambiguous() throws {
        let p = Fixtures.path("ambiguous.pt")
        expectError(.ambiguous(path: p, candidates: ["encoder", "decoder"])) { _ = try TorchCheckpoint.load(path: p) }
        let ck = try TorchCheckpoint.load(path: p, key: "decoder")
        #expect(ck.tensors.map(\.name) == ["w", "b"])
    }

    @Test("no_tensors.pt: optimizer state only lists the candidate keys")
    func noTensors() {
        let p = Fixtures.path("no_tensors.pt")
        expectError(.noTensors(path: p, candidates: ["optimizer", "epoch"])) { _ = try TorchCheckpoint.load(path: p) }
        #expect(TorchArchiveError.noTensors(path: p, candidates: ["optimizer", "epoch"]).description
            == "\(p): holds no tensors; candidate keys: optimizer, epoch; pass --key")
    }

    @Test("bare_tensor.pt: a single tensor is not a state_dict")
    func bareTensor() {
        let p = Fixtures.path("bare_tensor.pt")
        expectError(.notAStateDict(path: p, holds: "a tensor")) { _ = try TorchCheckpoint.load(path: p) }
    }

    @Test("non-torch inputs: missing file, folder, empty file, JSON, safetensors-like, plain pickle, tar, PYTORCH1")
    func notTorch() {
        let missing = Fixtures.path("missing.pt")
        do {
            _ = try TorchCheckpoint.load(path: missing)
            Issue.record("missing file loaded")
        } catch let e as TorchArchiveError {
            guard case .cannotOpen(let p, _) = e else { Issue.record("wrong error \(e)"); return }
            #expect(p == missing)
        } catch { Issue.record("\(error)") }
        expectError(.cannotOpen(path: Fixtures.directory, reason: "it is a folder, not a file")) {
            _ = try TorchCheckpoint.load(path: Fixtures.directory)
        }
        let f = TempFile([])
        expectError(.notTorchFile(path: f.path, reason: "the file is empty")) { _ = try TorchCheckpoint.load(path: f.path) }
        f.write(Array("{\"a\": 1}".utf8))
        expectError(.notTorchFile(path: f.path,
            reason: "it starts with neither a zip header (PK\\x03\\x04) nor the legacy torch.save magic number")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        f.write([16, 0, 0, 0, 0, 0, 0, 0] + Array("{\"__metadata__\":{}}".utf8))
        expectError(.notTorchFile(path: f.path, reason: "it looks like a safetensors file; read it as safetensors")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        f.write([0x80, 0x02, 0x7D, 0x2E])
        expectError(.notTorchFile(path: f.path, reason: "it is a plain pickle without torch's zip container or legacy magic number")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
        var tar = [UInt8](repeating: 0, count: 1024)
        for (i, c) in "ustar".utf8.enumerated() { tar[257 + i] = c }
        f.write(tar)
        expectError(.unsupportedContainer(path: f.path, what: "the tar format of torch < 0.1.10")) { _ = try TorchCheckpoint.load(path: f.path) }
        f.write(Array("PYTORCH1....".utf8))
        expectError(.unsupportedContainer(path: f.path, what: "the \"PYTORCH1\" format of a torch preview release")) {
            _ = try TorchCheckpoint.load(path: f.path)
        }
    }
}
