// `vfw synth --model NAME -o FILE`: deterministic synthetic weights for every supported architecture.

import ArgumentParser
import Foundation
import Models
import VFW

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
        let model = try ModelZoo.description(named: self.model, numClasses: classes)
        // safetensors: the framework's own state_dict (loads with strict=True); .vfw: the canonical tensors.
        let tensors = try Synthetic.write(model, seed: seed, to: output, force: force)
        let bytes = tensors.reduce(0) { $0 + $1.tensor.bytes.count }
        print("wrote \(output): \(model.name) seed \(seed), \(tensors.count) tensors, \(Format.bytes(bytes))")
    }
}
