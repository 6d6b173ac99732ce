// Every readable fixture, compared with what torch.load returned for it (expected.json).

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

@Suite("torch fixtures read like torch reads them")
struct FixtureTests {
    @Test("dtypes.pt: f32 f16 bf16 f64 i64 i32 i16 i8 u8 bool, 0-d and empty tensors, zero-copy views")
    func dtypes() throws {
        let ck = try checkAgainstTorch("dtypes")
        #expect(ck.notes.isEmpty)
        for (name, t) in ck.tensors where t.elementCount > 0 {
            #expect(t.bytes.owner is MappedFile, "'\(name)' is contiguous, little-endian and stored: must be a view into the file")
        }
        let zeroD = try #require(ck.tensors.first { $0.name == "bn.num_batches_tracked" })
        #expect(zeroD.tensor.shape == [] && zeroD.tensor.bytes.count == 8)
        let empty = try #require(ck.tensors.first { $0.name == "empty" })
        #expect(empty.tensor.shape == [0, 3] && empty.tensor.bytes.count == 0)
    }

    @Test("legacy.pt: the torch <= 1.5 stream (_use_new_zipfile_serialization=False)")
    func legacy() throws {
        let ck = try checkAgainstTorch("legacy")
        #expect(ck.container == .legacy)
        let w = try #require(ck.tensors.first { $0.name == "weight" })
        #expect(w.tensor.bytes.owner is MappedFile, "legacy contiguous storages are views into the file")
    }

    @Test("shared_storage.pt: views of one storage at different offsets, tied weights, one mapping")
    func sharedStorage() throws {
        let ck = try checkAgainstTorch("shared_storage")
        let byName = Dictionary(uniqueKeysWithValues: ck.tensors.map { ($0.name, $0.tensor) })
        let a = try #require(byName["a"]), b = try #require(byName["b"]), whole = try #require(byName["whole"])
        #expect(a.bytes.owner === b.bytes.owner && b.bytes.owner === whole.bytes.owner)
        #expect(b.bytes.offset == whole.bytes.offset + 4 * 4, "b starts 4 floats into the shared storage")
        #expect(byName["tied.weight"]?.bytes.offset == a.bytes.offset)
    }

    @Test("noncontiguous.pt: transposed, sliced with offset, channels_last, stride 0, permuted views gathered row-major")
    func noncontiguous() throws {
        let ck = try checkAgainstTorch("noncontiguous")
        let byName = Dictionary(uniqueKeysWithValues: ck.tensors.map { ($0.name, $0.tensor) })
        #expect(byName["transposed"]?.bytes.owner is OwnedBytes)
        #expect(byName["size1_odd_stride"]?.bytes.owner is MappedFile)
    }

    @Test("bigendian.pt: byteorder 'big' records swapped per element (complex per component)")
    func bigEndian() throws {
        let ck = try checkAgainstTorch("bigendian")
        #expect(ck.notes.contains { $0.contains("big-endian") })
        let byName = Dictionary(uniqueKeysWithValues: ck.tensors.map { ($0.name, $0.tensor) })
        #expect(byName["w"]?.bytes.owner is OwnedBytes, "swapped data is a copy")
        #expect(byName["byte"]?.bytes.owner is MappedFile, "single bytes need no swap")
    }

    @Test("deflate.pt: records re-zipped with DEFLATE are inflated")
    func deflate() throws {
        let ck = try checkAgainstTorch("deflate")
        for (name, t) in ck.tensors where t.elementCount > 0 {
            #expect(t.bytes.owner is OwnedBytes, "'\(name)' comes from an inflated record")
        }
    }

    @Test("deflate_shared.pt: a DEFLATE storage shared by several views is inflated once")
    func deflateShared() throws {
        let ck = try checkAgainstTorch("deflate_shared")
        let owners = Set(ck.tensors.map { ObjectIdentifier($0.tensor.bytes.owner) })
        #expect(owners.count == 1, "all tensors view one inflated storage")
    }

    @Test("zip64_extras.pt: sizes and offsets from ZIP64 extra fields, data descriptors, FB padding")
    func zip64Extras() throws {
        try checkAgainstTorch("zip64_extras")
    }

    @Test("checkpoint_module_prefix.pt: state_dict chosen, optimizer and epoch skipped, 'module.' stripped")
    func checkpointModulePrefix() throws {
        let ck = try checkAgainstTorch("checkpoint_module_prefix")
        #expect(ck.notes == [
            "weights from entry 'state_dict', prefix 'module.' stripped",
            "skipped entry 'optimizer' (training state)",
            "skipped entry 'epoch' (not tensors)",
        ])
    }

    @Test("checkpoint_keys.pt without --key: model, model_ema and extra.ema are all full, so it asks for --key")
    func checkpointNoKey() {
        let p = Fixtures.path("checkpoint_keys.pt")
        expectError(.ambiguous(path: p, candidates: ["model", "model_ema", "extra.ema"])) { _ = try TorchCheckpoint.load(path: p) }
        #expect(TorchArchiveError.ambiguous(path: p, candidates: ["model", "model_ema"]).description
            == "\(p): several entries hold tensors: model, model_ema; pass --key to choose one")
    }

    @Test("checkpoint_keys.pt --key model")
    func checkpointKeyModel() throws {
        let ck = try checkAgainstTorch("checkpoint_keys#model")
        #expect(ck.notes == ["weights from entry 'model'"])
    }

    @Test("checkpoint_keys.pt --key model_ema")
    func checkpointKeyEMA() throws {
        let ck = try checkAgainstTorch("checkpoint_keys#model_ema")
        #expect(ck.notes == ["weights from entry 'model_ema'"])
    }

    @Test("checkpoint_keys.pt --key extra.ema (dotted path)")
    func checkpointDottedKey() throws {
        try checkAgainstTorch("checkpoint_keys#extra.ema")
    }

    @Test("checkpoint_keys.pt --key that does not exist lists the keys")
    func checkpointMissingKey() {
        let p = Fixtures.path("checkpoint_keys.pt")
        expectError(.keyNotFound(path: p, key: "nope", available: ["model", "model_ema", "extra", "epoch"])) {
            _ = try TorchCheckpoint.load(path: p, key: "nope")
        }
        expectError(.keyHoldsNoTensors(path: p, key: "epoch", holds: "the int 5")) {
            _ = try TorchCheckpoint.load(path: p, key: "epoch")
        }
    }

    @Test("checkpoint_ema_only.pt: EMA weights used when nothing else holds tensors")
    func checkpointEMAOnly() throws {
        let ck = try checkAgainstTorch("checkpoint_ema_only")
        #expect(ck.notes == ["weights from entry 'model_ema'", "skipped entry 'epoch' (not tensors)"])
    }

    @Test("orig_mod_prefix.pt: torch.compile's '_orig_mod.' stripped")
    func origModPrefix() throws {
        let ck = try checkAgainstTorch("orig_mod_prefix")
        #expect(ck.notes == ["weights from the top level, prefix '_orig_mod.' stripped"])
    }

    @Test("protocol4.pt: pickle protocol 4 (FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE)")
    func protocol4() throws { try checkAgainstTorch("protocol4") }

    @Test("protocol5.pt: pickle protocol 5")
    func protocol5() throws { try checkAgainstTorch("protocol5") }

    @Test("parameters.pt: nn.Parameter (_rebuild_parameter) and _rebuild_from_type_v2 unwrapped")
    func parameters() throws { try checkAgainstTorch("parameters") }

    @Test("v3_dtypes.pt: _rebuild_tensor_v3 over UntypedStorage (float8, uint16/32/64)")
    func v3DTypes() throws { try checkAgainstTorch("v3_dtypes") }

    @Test("complex64.pt: complex64 as c64")
    func complex64() throws { try checkAgainstTorch("complex64") }

    @Test("every case in expected.json has a test above or in LayoutTests")
    func everyCaseCovered() {
        let covered: Set<String> = ["dtypes", "legacy", "shared_storage", "noncontiguous", "bigendian", "deflate",
                                    "deflate_shared", "zip64_extras", "checkpoint_module_prefix", "checkpoint_keys#model",
                                    "checkpoint_keys#model_ema", "checkpoint_keys#extra.ema", "checkpoint_ema_only",
                                    "orig_mod_prefix", "protocol4", "protocol5", "parameters", "v3_dtypes", "complex64"]
        #expect(Set(Fixtures.cases.keys) == covered.union(LayoutTests.cases))
        #expect(!Fixtures.cases.isEmpty, "expected.json was found and parsed")
    }

    @Test("looksLikeTorchFile: true for every torch.save fixture (.pt, .pth, .ckpt), false for other files")
    func looksLikeTorch() {
        for f in Fixtures.allFiles {
            #expect(TorchCheckpoint.looksLikeTorchFile(path: Fixtures.path(f)), "\(f)")
        }
        #expect(!TorchCheckpoint.looksLikeTorchFile(path: Fixtures.path("expected.json")))
        #expect(!TorchCheckpoint.looksLikeTorchFile(path: Fixtures.path("does-not-exist.pt")))
    }
}
