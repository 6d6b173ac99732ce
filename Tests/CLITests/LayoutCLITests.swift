// `vfw convert` on checkpoint layouts as training code writes them (Tests/Fixtures/torch/layout_*, real torch,
// torchvision, timm and Lightning; tools/make_fixtures.py): the tensors the wrapped module holds, the notes
// tools/vfw_unwrap.py (make_reference.py's rule) gives, --key where the file is ambiguous, one-line refusals.

import Foundation
import Testing

/// expected.json's layout cases: (id, file, key, tensor names, notes).
struct LayoutCase: Sendable, CustomTestStringConvertible {
    var id: String
    var file: String
    var key: String?
    var names: [String]
    var notes: [String]
    var testDescription: String { id }

    static let all: [LayoutCase] = {
        guard let d = FileManager.default.contents(atPath: fixture("torch/expected.json")),
              let o = try? JSONSerialization.jsonObject(with: d) as? [String: Any] else { return [] }
        return (o["cases"] as? [[String: Any]] ?? []).compactMap { c in
            guard let id = c["id"] as? String, id.hasPrefix("layout_") || id.hasPrefix("checkpoint_") else { return nil }
            return LayoutCase(id: id, file: c["file"] as? String ?? "?", key: c["key"] as? String,
                              names: (c["tensors"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String },
                              notes: c["notes"] as? [String] ?? [])
        }
    }()
}

@Suite("vfw convert: checkpoint layouts")
struct LayoutCLITests {
    @Test("converts to the module's own tensors and prints the rule's notes", arguments: LayoutCase.all)
    func convert(_ c: LayoutCase) throws {
        #expect(LayoutCase.all.count >= 20)
        let dir = scratchDir("layout-" + c.id.replacingOccurrences(of: "#", with: "-"))
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runVFW(["convert", fixture("torch/" + c.file), "-o", dir + "/out.vfw"] + (c.key.map { ["--key", $0] } ?? []))
        #expect(r.status == 0, "\(c.id): \(r.stderr)")
        for n in c.notes { #expect(r.stderr.contains("note: \(n)\n"), "\(c.id): missing note '\(n)' in \(r.stderr)") }
        let i = try runVFW(["inspect", dir + "/out.vfw", "--json"])
        let h = try JSONSerialization.jsonObject(with: Data(i.stdout.utf8)) as! [String: Any]
        let names = (h["tensors"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(Set(names) == Set(c.names), "\(c.id): \(names)")
        let prov = h["provenance"] as! [String: Any]
        let kept = prov["notes"] as? [String] ?? []
        #expect(c.notes.allSatisfy(kept.contains), "\(c.id): the notes are kept in the header's provenance")
    }

    @Test("an ambiguous checkpoint exits 2 with one line naming the candidates and --key", arguments: [
        ("layout_torchvision_train_ema.pth", "model, model_ema"),
        ("layout_lightning_ema.ckpt", "state_dict.model, state_dict.model_ema"),
        ("layout_timm_train.pth", "state_dict, state_dict_ema"),
        ("checkpoint_keys.pt", "model, model_ema, extra.ema"),
    ])
    func ambiguous(_ c: (String, String)) throws {
        let dir = scratchDir("layout-amb-" + c.0)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = fixture("torch/" + c.0)
        let r = try runVFW(["convert", src, "-o", dir + "/out.vfw"])
        #expect(r.status == 2)
        #expect(r.stderr == "error: \(src): several entries hold tensors: \(c.1); pass --key to choose one\n", "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("tensors that would come from an object vfw does not build: exit 2, one line saying so", arguments: [
        ("layout_tensors_in_namespace.pth", [String](), "entry 'weights' is an object of argparse.Namespace"),
        ("layout_key_into_object.pth", ["--key", "args.lr"], "entry 'args' is an object of argparse.Namespace"),
        ("layout_whole_model_nested.pth", [], "builds an object of class __main__.TinyNet: this is a whole pickled model"),
    ])
    func foreign(_ c: (String, [String], String)) throws {
        let dir = scratchDir("layout-foreign-" + c.0)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = fixture("torch/" + c.0)
        let r = try runVFW(["convert", src, "-o", dir + "/out.vfw"] + c.1)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: \(src): ") && r.stderr.contains(c.2), "\(r.stderr)")
        #expect(r.stderr.filter { $0 == "\n" }.count == 1, "one line: \(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("vfw inspect of a Lightning checkpoint lists the weights and the notes")
    func inspectLightning() throws {
        let r = try runVFW(["inspect", fixture("torch/layout_lightning.ckpt")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("note: weights from entry 'state_dict', prefix 'model.' stripped"), "\(r.stdout)")
        #expect(r.stdout.contains("conv1.weight"))
    }
}
