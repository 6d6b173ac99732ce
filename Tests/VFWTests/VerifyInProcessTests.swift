// The verify pipeline run in process (the library's VerifyRunner), for faults only a test can plant: a dropped
// residual (a `@testable` hook a real model never has) and an off-by-one crop (the reference's input shifted),
// against the committed Reference/resnet18 with the synthetic weights its manifest names; and the ResNet module
// graph the failure-source rule and --isolated rely on.

import Foundation
import Testing
import Verify
import Safetensors
@_spi(Faults) import TensorCore
@_spi(Faults) @testable import Models
@testable import VFW

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
private let resnet18Reference = repoRoot + "/Reference/resnet18"
private let resnet18Taps = ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1", "layer2.0", "layer2.1",
                            "layer3.0", "layer3.1", "layer4.0", "layer4.1", "avgpool", "fc"]

/// The reference and the model built once from the synthetic weights the manifest names.
private let shared: Result<(ReferenceSet, ModelUnderTest), Error> = Result {
    let ref = try VerifyRunner.loadReference(resnet18Reference)
    return (ref, try VerifyRunner.loadModel(ref, weights: nil, roundTo: nil))
}

private func names(_ r: VerifyReport, passed: Bool) -> [String] { r.results.filter { $0.passed == passed }.map(\.name) }

@Suite("verify in process: faults planted by hooks, the ResNet module graph")
struct VerifyInProcessTests {
    @Test("a dropped residual (layer1.1 forgets its identity path): chained, everything from layer1.1 fails and it is the source; isolated, only layer1.1 fails")
    func droppedResidual() throws {
        let (ref, base) = try shared.get()
        var faulty = base
        faulty.model = try #require(base.model.droppingResidual(of: "layer1.1"))

        let chained = try VerifyRunner.report(ref: ref, model: faulty, settings: VerifySettings())
        #expect(names(chained, passed: true) == Array(resnet18Taps.prefix(5)))
        #expect(chained.failureSource?.name == "layer1.1")
        #expect(chained.failureSources.map(\.name) == ["layer1.1"])

        let isolated = try VerifyRunner.report(ref: ref, model: faulty, settings: VerifySettings(isolated: true))
        #expect(names(isolated, passed: false) == ["layer1.1"])
        #expect(isolated.failureSourceLine?.hasPrefix("failure source: layer1.1 (fails on the reference layer1.0): ") == true)
        // Without the fault the same model passes: the hook is off by default.
        #expect(try VerifyRunner.report(ref: ref, model: base, settings: VerifySettings(isolated: true, tapPatterns: ["layer1.*"])).passed)
    }

    @Test("an off-by-one crop (the input shifted one pixel left): conv1 fails first; isolated, nothing downstream does")
    func offByOneCrop() throws {
        let (ref, model) = try shared.get()
        // What a crop one pixel to the right gives: column x of the image is column x + 1 of the reference's
        // (the last column repeated).
        let x = ref.input
        let (c, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        var data = x.data
        for p in 0..<(c * h) {
            for col in 0..<w { data[p * w + col] = x.data[p * w + min(col + 1, w - 1)] }
        }
        let shifted = Tensor(shape: x.shape, data: data)

        let chained = try VerifyRunner.report(ref: ref, model: model, settings: VerifySettings(), input: shifted)
        #expect(chained.failureSource?.name == "conv1")
        #expect(chained.failureSourceLine?.hasPrefix("failure source: conv1 (the first tap, fed by the model input): ") == true)
        #expect(chained.results.first?.histogram != nil)

        let isolated = try VerifyRunner.report(ref: ref, model: model, settings: VerifySettings(isolated: true, tapPatterns: ["conv1", "bn1", "layer4.*"]),
                                               input: shifted)
        #expect(names(isolated, passed: false) == ["conv1"])
    }


    // Subtle faults under the default rule (tolerance or noise floor): Reference/resnet18 holds the float64 truth of
    // every tap, and each fault below is far above 4x PyTorch float32's own error at its block, however small.

    /// The reference's synthetic weights with `key` scaled by (1 + `rel`), written to a temporary .safetensors.
    private func scaledWeights(_ key: String, _ rel: Float) throws -> String {
        let (ref, _) = try shared.get()
        let tensors = try Synthetic.checkpoint(ref.manifest.architecture, seed: UInt64(ref.manifest.weights.synth!.seed))
        #expect(tensors.contains { $0.name == key })
        let changed = tensors.map { t in
            t.name == key ? (t.name, RawTensor.float32(t.tensor.floats().map { $0 * (1 + rel) }, shape: t.tensor.shape)) : t
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vfw-inprocess-\(getpid())-\(key).safetensors").path
        try SafetensorsWriter.write(to: path, tensors: changed, force: true)
        return path
    }

    @Test("subtle weight faults fail at their block, outside both rules, under the default rule",
          arguments: [("layer3.1.conv2.weight", Float(1e-3), "layer3.1"), ("layer2.0.downsample.0.weight", Float(3e-4), "layer2.0")])
    func subtleWeightFault(key: String, rel: Float, block: String) throws {
        let (ref, _) = try shared.get()
        let faulty = try VerifyRunner.loadModel(ref, weights: try scaledWeights(key, rel), roundTo: nil)
        var settings = VerifySettings()
        settings.singleRun = true
        let r = try VerifyRunner.report(ref: ref, model: faulty, settings: settings)
        #expect(r.failureSource?.name == block)
        let at = try #require(r.results.first { $0.name == block })
        #expect(at.decidedBy == .both && at.withinNoiseFloor == false)
        #expect(try #require(at.truth).ratio > 10, "\(at.truth!)")
        // Every tap before the block passes.
        #expect(r.results.prefix { $0.name != block }.allSatisfy { $0.passed })
    }

    @Test("a Winograd weight transform with G[1][1] off by 1e-3 in layer3.1.conv2 fails at layer3.1; the clean model passes with every tap decided")
    func winogradCoefficient() throws {
        let (ref, base) = try shared.get()
        var faulty = base
        faulty.model = try #require(base.model.withWinogradFault(WinogradFault(row: 1, column: 1, relativeError: 1e-3), in: "layer3.1.conv2"))
        var settings = VerifySettings()
        settings.singleRun = true
        let r = try VerifyRunner.report(ref: ref, model: faulty, settings: settings)
        #expect(r.failureSource?.name == "layer3.1")
        #expect(r.results.first { $0.name == "layer3.1" }?.decidedBy == .both)
        #expect(base.model.withWinogradFault(WinogradFault(row: 1, column: 1, relativeError: 1e-3), in: "layer9.0.conv2") == nil)

        let clean = try VerifyRunner.report(ref: ref, model: base, settings: VerifySettings())
        #expect(clean.passed)
        #expect(clean.results.allSatisfy { $0.truth != nil && $0.attribution != nil && ($0.decidedBy == .tolerance || $0.decidedBy == .noiseFloor) })
        // Introduced vs inherited: conv1 is fed by the exact input, so it inherits nothing; layer1.0 inherits maxpool's error.
        #expect(clean.results[0].attribution?.inherited == nil)
        let l10 = try #require(clean.results.first { $0.name == "layer1.0" }?.attribution)
        #expect(l10.inherited == clean.results.first { $0.name == "maxpool" }?.maxAbs)
    }

    @Test("edges: stem chain, block inputs, a block's relu#2 summing bn2 and the identity, aliases")
    func graph() throws {
        let (_, loaded) = try shared.get()
        let g = loaded.model.moduleGraph
        #expect(g.logits == "fc")
        #expect(g.node("conv1")?.inputs == ["input"] && g.node("maxpool")?.inputs == ["relu"])
        #expect(g.node("layer1.0")?.inputs == ["maxpool"] && g.node("layer2.0")?.inputs == ["layer1.1"])
        #expect(g.node("layer1.0.relu#2")?.inputs == ["layer1.0.bn2", "maxpool"])
        #expect(g.node("layer2.0.relu#2")?.inputs == ["layer2.0.bn2", "layer2.0.downsample"])
        #expect(g.node("avgpool")?.inputs == ["layer4.1"] && g.node("fc")?.inputs == ["avgpool"])
        #expect(g.aliases(of: "layer1") == ["layer1.1.relu#2", "layer1.1", "layer1"])
        // Forward-hook order inside a block: children, then the block.
        let names = g.nodes.map(\.name)
        #expect(Array(names[4..<13]) == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "layer1.0.conv2", "layer1.0.bn2",
                                         "layer1.0.relu#2", "layer1.0", "layer1.1.conv1", "layer1.1.bn1"])
        // What the failure-source rule sees with block-level taps, and with every module.
        let blocks: Set = ["conv1", "maxpool", "layer1.0", "layer1.1", "layer2.0", "avgpool", "fc"]
        #expect(g.upstreamTaps(of: "layer2.0", recorded: blocks) == ["layer1.1"])
        #expect(g.upstreamTaps(of: "maxpool", recorded: blocks) == ["conv1"])
        #expect(g.upstreamTaps(of: "conv1", recorded: blocks) == [])
        #expect(g.upstreamTaps(of: "layer1.0", recorded: ["layer1.0.relu#2", "layer1.0", "maxpool"]) == ["layer1.0.relu#2"])
        #expect(g.recordedInputs(of: "avgpool", recorded: ["layer4"]) == ["layer4"])
        #expect(g.recordedInputs(of: "layer2.0", recorded: ["layer1"]) == ["layer1"])
        #expect(g.recordedInputs(of: "layer2.0", recorded: ["layer1.0"]) == nil)
        // Every module the forward offers is in the graph, in the same order (the graph also has the
        // downsample nn.Sequential, which the Swift forward does not record: its output is downsample.1's).
        let recorder = TapRecorder(.all)
        _ = loaded.model(Tensor.zeros([1, 3, 32, 32]), taps: recorder)
        #expect(recorder.offered == names.filter { !$0.hasSuffix(".downsample") })
        #expect(g.node("layer2.0.downsample")?.sameOutputAs == "layer2.0.downsample.1")
    }

    @Test("every module run alone on its inputs' forward values reproduces the forward's own output")
    func isolatedMatchesForward() throws {
        let (ref, loaded) = try shared.get()
        let x = ref.input.narrowed(axis: 2, start: 0, length: 64).narrowed(axis: 3, start: 0, length: 64)
        let recorder = TapRecorder(.all)
        _ = loaded.model(x, taps: recorder)
        let values = Dictionary(recorder.recorded.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let g = loaded.model.moduleGraph
        for n in g.nodes where values[n.name] != nil {
            let inputs = n.inputs.map { $0 == "input" ? x : values[$0] ?? values[g.aliases(of: $0).first { values[$0] != nil }!]! }
            let y = try loaded.model.runIsolated(n.name, inputs: inputs)
            #expect(y.shape == values[n.name]!.shape, "\(n.name)")
            #expect(y.maxAbsDifference(values[n.name]!) <= 1e-4, "\(n.name)")
        }
        #expect(throws: ModelError.self) { try loaded.model.runIsolated("layer9.0", inputs: [x]) }
        #expect(throws: ModelError.self) { try loaded.model.runIsolated("layer1.0", inputs: [x]) }  // 3 channels, not 64
    }
    }
