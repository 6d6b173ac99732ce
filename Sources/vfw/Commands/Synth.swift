// `vfw synth --model NAME -o FILE`: deterministic synthetic weights for every supported architecture.

import ArgumentParser
import Foundation
import Models
import Safetensors
import TensorCore
import VFWFormat

struct Synth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write deterministic synthetic weights for a supported architecture.",
        discussion: """
        Every parameter is varied away from its default (batch-norm weight, bias, running mean and variance
        included) and scaled so activations stay in a realistic range through the whole network. The same
        model and seed always give the same bytes. Tests and the committed references use these weights,
        since this project downloads no pretrained ones; with real weights, use yours.

        Examples:
          vfw synth --model resnet18 -o resnet18-synth.vfw
          vfw synth --model resnet50 --seed 7 --classes 10 -o r50.safetensors
        """)

    @Option(help: "Model name (\(ModelZoo.knownNames.joined(separator: ", "))).")
    var model: String

    @Option(help: "Random seed.")
    var seed: UInt64 = 0

    @Option(help: "Number of classes of the classifier head (default: the model's, 1000 for ImageNet).")
    var classes: Int?

    @Option(name: .shortAndLong, help: "The file to write (.vfw or .safetensors).")
    var output: String

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    func validate() throws {
        guard output.hasSuffix(".vfw") || output.hasSuffix(".safetensors") else {
            throw ValidationError("-o must end in .vfw or .safetensors, got '\(output)'")
        }
        if let c = classes, c <= 0 { throw ValidationError("--classes must be positive") }
    }

    func run() throws {
        let arch = try ModelZoo.architecture(named: model, numClasses: classes)
        // safetensors: the framework's own state_dict (loads with strict=True); .vfw: the canonical tensors.
        let tensors = output.hasSuffix(".safetensors") ? try ModelZoo.synthesiseCheckpoint(arch, seed: seed)
                                                       : try ModelZoo.synthesise(arch, seed: seed)
        try SynthWeights.write(tensors, architecture: arch, seed: seed, to: output, force: force)
        let bytes = tensors.reduce(0) { $0 + $1.tensor.bytes.count }
        print("wrote \(output): \(arch.name) seed \(seed), \(tensors.count) tensors, \(Format.bytes(bytes))")
    }
}

enum SynthWeights {
    /// Metadata recorded in synthetic files so a reference can say which weights it was made with.
    static func metadata(_ arch: VFWHeader.Architecture, seed: UInt64) -> [String: String] {
        ["vfw.synth.model": arch.name, "vfw.synth.seed": String(seed), "vfw.version": vfwVersion]
    }

    static func write(_ tensors: [(name: String, tensor: RawTensor)], architecture arch: VFWHeader.Architecture,
                      seed: UInt64, to output: String, force: Bool) throws {
        if output.hasSuffix(".safetensors") {
            try SafetensorsWriter.write(to: output, tensors: tensors, metadata: metadata(arch, seed: seed), force: force)
        } else {
            let header = VFWHeader(
                architecture: arch, preprocessing: ModelZoo.preprocessing(for: arch.family),
                provenance: .init(sourceFile: nil, sourceSHA256: nil, sourceFormat: "synthetic", converter: "vfw \(vfwVersion)",
                                  created: Provenance.creationTime(), notes: ["vfw synth --model \(arch.name) --seed \(seed)"]),
                metadata: metadata(arch, seed: seed))
            try VFWWriter.write(to: output, header: header, tensors: tensors.map { VFWTensorSource(name: $0.name, tensor: $0.tensor) }, force: force)
        }
    }
}
