// Checkpoint layouts as training code writes them (tools/make_fixtures.py, real torch / torchvision / timm /
// Lightning): vfw must find the tensors the wrapped module's own state_dict() holds and note what
// tools/vfw_unwrap.py (the same rule in Python, make_reference.py's) notes, word for word.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

@Suite("checkpoint layouts from the wild")
struct LayoutTests {
    static let cases: Set<String> = [
        "layout_imagenet_example", "layout_imagenet_legacy", "layout_torchvision_train", "layout_torchvision_train_p4",
        "layout_torchvision_train_ema#model_ema", "layout_torchvision_train_ema#model", "layout_lightning",
        "layout_lightning_ema#state_dict.model_ema", "layout_lightning_ema#state_dict.model", "layout_timm_train#state_dict_ema",
        "layout_ema_only", "layout_prefixes_combined", "layout_tutorial_net", "layout_backbone", "layout_objects",
    ]

    @Test("the weights torch's module holds, with the Python rule's notes", arguments: cases.sorted())
    func layout(_ id: String) throws {
        try checkAgainstTorch(id)
    }

    @Test("pytorch/examples ImageNet: the tensor beside the state_dict does not defeat unwrapping")
    func imagenet() throws {
        let ck = try checkAgainstTorch("layout_imagenet_example")
        #expect(ck.notes.first == "weights from entry 'state_dict', prefix 'module.' stripped")
        #expect(ck.notes.contains("skipped entry 'best_acc1' (tensors beside the weights)"))
        #expect(ck.tensors.map(\.name).starts(with: ["conv1.weight", "bn1.weight"]))
    }

    @Test("torchvision train.py: args (argparse.Namespace) is a placeholder, noted by class")
    func torchvisionTrain() throws {
        let ck = try checkAgainstTorch("layout_torchvision_train")
        #expect(ck.notes.contains("skipped entry 'args' (an object of argparse.Namespace, which vfw does not build)"))
    }

    @Test("Lightning: state_dict with 'model.', training state and hyper_parameters objects skipped")
    func lightning() throws {
        let ck = try checkAgainstTorch("layout_lightning")
        #expect(ck.notes.first == "weights from entry 'state_dict', prefix 'model.' stripped")
        #expect(ck.notes.contains("skipped entry 'optimizer_states' (training state)"))
        #expect(ck.notes.contains { $0.hasPrefix("skipped entry 'hyper_parameters' (holds objects of pathlib.PosixPath") })
    }

    @Test("AveragedModel EMA: n_averaged dropped, 'module.' stripped")
    func averagedModel() throws {
        let ck = try checkAgainstTorch("layout_torchvision_train_ema#model_ema")
        #expect(ck.notes == ["weights from entry 'model_ema', prefix 'module.' stripped",
                             "dropped 'n_averaged' (a scalar beside the wrapped model)"])
    }

    @Test("combined prefixes: model._orig_mod.module. stripped at once")
    func combinedPrefixes() throws {
        let ck = try checkAgainstTorch("layout_prefixes_combined")
        #expect(ck.notes == ["weights from the top level, prefix 'model._orig_mod.module.' stripped"])
    }

    @Test("ambiguous checkpoints ask for --key, naming every candidate", arguments: Fixtures.ambiguous)
    func ambiguous(_ a: Fixtures.Ambiguous) {
        let p = Fixtures.path(a.file)
        expectError(.ambiguous(path: p, candidates: a.candidates)) { _ = try TorchCheckpoint.load(path: p) }
    }

    @Test("tensors that would come from an object vfw does not build are refused, saying so", arguments: Fixtures.foreign)
    func foreign(_ f: Fixtures.Foreign) throws {
        let p = Fixtures.path(f.file)
        do {
            _ = try TorchCheckpoint.load(path: p, key: f.key)
            Issue.record("\(f.file) loaded")
        } catch let e as TorchArchiveError {
            checkMessageShape(e)
            switch e {
            case .wholeModel(_, _, _, let c):
                #expect(f.wholeModel && c == f.className, "\(e)")
                #expect(e.description.contains("save `model.state_dict()`"))
            case .foreignObject(_, let entry, let c, let stream, let offset):
                #expect(!f.wholeModel && c == f.className && entry == f.entry, "\(e)")
                #expect(stream == "data.pkl" && offset > 0)
                #expect(e.description.contains("entry '\(f.entry)' is an object of \(f.className)")
                        && e.description.contains("tensors would come from it"), "\(e.description)")
            default:
                Issue.record("\(f.file): \(e)")
            }
        }
    }

    @Test("a foreign-object refusal reads as one sentence naming the entry and the class")
    func foreignMessage() {
        let e = TorchArchiveError.foreignObject(path: "/c.pth", entry: "weights", className: "argparse.Namespace",
                                                stream: "data.pkl", offset: 40)
        #expect(e.description == "/c.pth: entry 'weights' is an object of argparse.Namespace (named in data.pkl at byte 40), "
            + "which vfw does not build: tensors would come from it, and only running its Python code could make them, "
            + "which vfw never does; save a dict of tensors (model.state_dict()) instead, or pass --key to choose another entry")
    }

    @Test("--key names a group of a flat state_dict: state_dict.model_ema takes model_ema.*")
    func keyPrefix() throws {
        let ck = try checkAgainstTorch("layout_lightning_ema#state_dict.model_ema")
        #expect(ck.notes.first == "weights from entry 'state_dict.model_ema', prefix 'module.' stripped")
    }
}

@Suite("the wrapper prefix")
struct WrapperPrefixTests {
    @Test("longest chain of wrapper names every name has", arguments: [
        (["module.a.w", "module.b"], "module."),
        (["model._orig_mod.module.a", "model._orig_mod.module.b"], "model._orig_mod.module."),
        (["net.conv.w", "net.fc.w"], "net."),
        (["backbone.x", "head.y"], ""),
        (["module.", "module.a"], ""),  // a name no longer than the prefix keeps it
        (["model.model.x", "model.model.y"], "model.model."),
        (["resnet.embedder.w", "classifier.1.w"], ""),
        ([], ""),
    ])
    func prefix(_ c: ([String], String)) {
        #expect(StateDictSelector.wrapperPrefix(c.0) == c.1)
    }
}
