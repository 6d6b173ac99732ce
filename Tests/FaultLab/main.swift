// FaultLab: `vfw verify` on a model with one fault planted, at release speed, for the parity job and the noise-floor
// measurements (README "The noise floor"). Not a product: the faults are `@_spi(Faults)` hooks in Models and
// TensorCore that `vfw` never calls, so no shipped binary can plant one.
//
//   FaultLab --reference DIR [--weights FILE] --fault SPEC [--tolerance T] [--strict] [--isolated] [--single-run]
//            [--taps GLOB]... [--json FILE]
//
// SPEC:
//   none                          no fault (the control: must pass)
//   drop-residual:BLOCK           BLOCK (layer3.0) computes relu(branch), forgetting its identity path
//   winograd:CONV[:ROW,COL[:REL]] CONV (layer3.1.conv2)'s Winograd weight transform with G[ROW][COL] times (1 + REL)
//                                 (default G[1][1], the first ½, and REL 1e-3)
//   tanh-gelu:LAYER               encoder layer LAYER (encoder.layer.5) uses tanh-GELU instead of erf-GELU
//   shift-input:N                 the reference input shifted N pixels left (the last column repeated): an
//                                 off-by-one crop
// Prints the report; exit 0 when every tap passes, 1 when one fails, 2 on bad input (as `vfw verify`).

import Foundation
@_spi(Faults) import Models
@_spi(Faults) import TensorCore
import Verify
import VFW

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data(("FaultLab: " + message + "\n").utf8))
    exit(2)
}

var args = Array(CommandLine.arguments.dropFirst())
func value(_ flag: String) -> String? {
    guard let i = args.firstIndex(of: flag) else { return nil }
    guard i + 1 < args.count else { fail("\(flag) needs a value") }
    let v = args[i + 1]
    args.removeSubrange(i...(i + 1))
    return v
}
func values(_ flag: String) -> [String] {
    var out: [String] = []
    while let v = value(flag) { out.append(v) }
    return out
}
func flag(_ name: String) -> Bool {
    guard let i = args.firstIndex(of: name) else { return false }
    args.remove(at: i)
    return true
}

guard let referenceDir = value("--reference") else { fail("--reference DIR is required") }
guard let spec = value("--fault") else { fail("--fault SPEC is required (none, drop-residual:BLOCK, winograd:CONV, tanh-gelu:LAYER, shift-input:N)") }
let weights = value("--weights")
var settings = VerifySettings()
if let t = value("--tolerance") {
    guard let v = Double(t), v >= 0 else { fail("--tolerance must be a non-negative number") }
    settings.tolerance = v
}
settings.tapPatterns = values("--taps")
settings.strict = flag("--strict")
settings.isolated = flag("--isolated")
settings.singleRun = flag("--single-run")
let jsonPath = value("--json")
guard args.isEmpty else { fail("unknown arguments: \(args.joined(separator: " "))") }

do {
    let ref = try VerifyRunner.loadReference(referenceDir)
    var loaded = try VerifyRunner.loadModel(ref, weights: weights, roundTo: nil)
    var input: Tensor? = nil
    let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    switch parts[0] {
    case "none":
        break
    case "drop-residual" where parts.count == 2:
        guard let m = loaded.model.droppingResidual(of: parts[1]) else { fail("\(parts[1]): no such residual block") }
        loaded.model = m
    case "winograd" where (2...4).contains(parts.count):
        var row = 1, column = 1, rel = 1e-3
        if parts.count >= 3 {
            let rc = parts[2].split(separator: ",").compactMap { Int($0) }
            guard rc.count == 2, (0..<4).contains(rc[0]), (0..<3).contains(rc[1]) else { fail("winograd: ROW,COL must name an entry of the 4x3 G") }
            (row, column) = (rc[0], rc[1])
        }
        if parts.count == 4 {
            guard let r = Double(parts[3]) else { fail("winograd: REL must be a number") }
            rel = r
        }
        guard let m = loaded.model.withWinogradFault(WinogradFault(row: row, column: column, relativeError: rel), in: parts[1]) else {
            fail("\(parts[1]): no such convolution")
        }
        loaded.model = m
    case "tanh-gelu" where parts.count == 2:
        guard let m = loaded.model.withTanhGELU(in: parts[1]) else { fail("\(parts[1]): no such encoder layer") }
        loaded.model = m
    case "shift-input" where parts.count == 2:
        guard let n = Int(parts[1]), n > 0 else { fail("shift-input: N must be a positive number of pixels") }
        let x = ref.input
        let (c, h, w) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        var data = x.data
        for p in 0..<(c * h) { for col in 0..<w { data[p * w + col] = x.data[p * w + min(col + n, w - 1)] } }
        input = Tensor(shape: x.shape, data: data)
    default:
        fail("unknown fault '\(spec)' (none, drop-residual:BLOCK, winograd:CONV[:ROW,COL[:REL]], tanh-gelu:LAYER, shift-input:N)")
    }
    var report = try VerifyRunner.report(ref: ref, model: loaded, settings: settings, input: input)
    report.notes.append("planted fault: \(spec) (Tests/FaultLab)")
    print(report.text(colour: false), terminator: "")
    if let jsonPath { try report.json().write(to: URL(fileURLWithPath: jsonPath)) }
    exit(report.passed ? 0 : 1)
} catch {
    fail("\(error)")
}
