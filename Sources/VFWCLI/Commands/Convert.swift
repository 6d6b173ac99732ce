// `vfw convert INPUT -o OUTPUT`: any checkpoint vfw reads into .vfw (or safetensors).

import ArgumentParser
import Foundation
import Models
import Safetensors
import TensorCore
import VFW
import VFWFormat

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a PyTorch or safetensors checkpoint into a .vfw file.",
        discussion: """
        INPUT may be a torch.save file (.pth/.pt/.bin, zip or legacy format), a .safetensors file, a sharded
        model.safetensors.index.json, a Hugging Face model folder (config.json + weights), or a .vfw file.
        The output format follows the extension of -o: .vfw (default) or .safetensors.

        Nothing in the input is executed: pickles are read by a machine that only knows tensors and refuses
        any other global by name. Set SOURCE_DATE_EPOCH for byte-identical output across runs.

        Examples:
          vfw convert resnet18.pth -o resnet18.vfw
          vfw convert vit-base/ -o vit-base.vfw --dtype f16
          vfw convert checkpoint.pth --key model_ema -o ema.vfw --force
          vfw convert resnet18.vfw -o resnet18.safetensors
          vfw convert vit-base/ -o vit-base.vfw --preprocess backend=hf-pil

        The preprocessing stored in the file is the model folder's preprocessor_config.json (as transformers 5's
        AutoImageProcessor runs it, torchvision backend) or timm pretrained_cfg when there is one, else the
        family's default; --preprocess replaces it or changes some of its keys.
        """)

    @Argument(help: "The checkpoint file or Hugging Face folder to convert.")
    var input: String

    @Option(name: .shortAndLong, help: "The file to write (.vfw or .safetensors).")
    var output: String

    @Option(help: "Element type of floating-point tensors: keep, f32, f16 or bf16. Integer tensors are kept.")
    var dtype: DTypeChoice = .keep

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    @Option(help: "In a checkpoint that nests its state_dict, the entry to convert (e.g. state_dict, model_ema).")
    var key: String?

    @Option(help: "The architecture, when the keys do not tell it or to override (\(ModelZoo.knownNames.joined(separator: ", "))).")
    var arch: String?

    @Option(help: ArgumentHelp("Preprocessing stored in the file: a preset (\(PreprocessSpec.presets.map(\.name).joined(separator: ", "))), key=value items changing the default (backend=hf-pil), or a full spec; default: the model folder's preprocessor_config.json, else the family's.", valueName: "spec"))
    var preprocess: String?

    @Option(name: .customLong("metadata"), help: "Add user metadata KEY=VALUE to the header (repeatable).")
    var metadata: [String] = []

    enum DTypeChoice: String, ExpressibleByArgument, CaseIterable {
        case keep, f32, f16, bf16
        var target: DType? { self == .keep ? nil : DType(rawValue: rawValue) }
    }

    func validate() throws {
        for m in metadata where !m.contains("=") {
            throw ValidationError("--metadata takes KEY=VALUE, got '\(m)'")
        }
        let ext = (output as NSString).pathExtension.lowercased()
        guard ext == "vfw" || ext == "safetensors" else {
            throw ValidationError("-o must end in .vfw or .safetensors, got '\(output)'")
        }
    }

    func run() throws {
        let source = try WeightSource.open(input, key: key)
        var notes = source.notes
        let canonical = try CanonicalWeights.of(source, arch: arch)
        notes += canonical.notes
        // As strict as build: a recognised model whose tensors do not all fit (missing, unused, mis-shaped) is
        // refused here, naming the keys, rather than converted and refused later. The built model is dropped
        // before writing starts, so peak memory is the larger of the two, not their sum.
        if canonical.model != nil { _ = try canonical.build() }
        // Each output tensor is produced when the writer reaches it (converted lazily), so peak memory
        // stays near one tensor beyond the mapped input.
        var outputs = canonical.tensors.map { t in
            VFWTensorSource(name: t.name, sourceName: t.source, tensor: t.tensor)
        }
        if let target = dtype.target {
            var changed = 0, kept = 0
            outputs = zip(outputs, canonical.tensors).map { out, t in
                guard [.f32, .f16, .bf16, .f64].contains(t.tensor.dtype) else { kept += 1; return out }
                guard t.tensor.dtype != target else { return out }
                changed += 1
                let raw = t.tensor
                return VFWTensorSource(name: out.name, sourceName: out.sourceName, dtype: target, shape: raw.shape) {
                    raw.converted(to: target)
                }
            }
            if changed > 0 { notes.append("converted \(changed) floating-point tensors to \(target.rawValue)") }
            if kept > 0 { notes.append("kept \(kept) non-floating-point tensors as they were") }
        }
        var meta = source.metadata
        for m in metadata {
            let parts = m.split(separator: "=", maxSplits: 1)
            meta[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let totalBytes = outputs.reduce(0) { $0 + $1.dtype.byteCount(elements: elementCount($1.shape) ?? 0)! }
        let progress = Progress(label: "converting \((input as NSString).lastPathComponent)", total: totalBytes)
        if output.lowercased().hasSuffix(".safetensors") {
            try SafetensorsWriter.write(to: output, tensors: try outputs.map { ($0.name, try $0.load()) }, metadata: meta, force: force)
        } else {
            // Checked (and stored in its canonical form: a preset name or the full text) now, not when the file is
            // first used; a model folder's preprocessing file vfw cannot run is refused here unless --preprocess
            // states the pipeline.
            var preprocessing = canonical.preprocessing
            if canonical.model != nil || preprocess != nil {
                let spec = try canonical.preprocessingSpec(overriddenBy: preprocess)
                preprocessing = spec.presetName ?? spec.text
            }
            let header = VFWHeader(architecture: canonical.model?.json,
                                   preprocessing: preprocessing,
                                   provenance: try Provenance.of(source, notes: notes), metadata: meta)
            try VFWWriter.write(to: output, header: header, tensors: outputs, force: force) { done, _ in progress.update(done) }
        }
        progress.finish()
        for n in notes { FileHandle.standardError.write(Data("note: \(n)\n".utf8)) }
        print("wrote \(output): \(outputs.count) tensors, \(Format.bytes(totalBytes))")
    }
}

/// A progress line on stderr for long jobs (shown only for more than 100 MB of work).
final class Progress {
    let label: String
    let total: Int
    private var lastShown = -1
    private let enabled: Bool
    private let tty = isatty(2) != 0

    init(label: String, total: Int) {
        self.label = label
        self.total = total
        enabled = total > 100_000_000
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let pct = Int(Double(done) / Double(total) * 100)
        let step = tty ? 1 : 25
        guard pct / step != lastShown / step || lastShown < 0 else { return }
        lastShown = pct
        let line = "\(label): \(pct)% (\(Format.bytes(done)) of \(Format.bytes(total)))"
        FileHandle.standardError.write(Data((tty ? "\r\(line)" : "\(line)\n").utf8))
    }

    func finish() {
        if enabled && tty { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
