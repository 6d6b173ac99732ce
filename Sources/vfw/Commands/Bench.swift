// `vfw bench`: timings measured in-process, printed in a form tools/bench.sh puts beside PyTorch's.

import ArgumentParser
import Foundation
import Models
import TensorCore
import VFWFormat

#if canImport(Glibc)
import Glibc
#endif

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time a model's forward pass, or opening and checking a .vfw file.",
        discussion: """
        Forward timing: median of --runs runs after --warmup runs, synthetic weights unless --weights is given,
        on a deterministic input of the model's size. Compare with tools/bench_torch.py at the same thread count
        (tools/bench.sh runs both in the same session and prints the ratio).

        Examples:
          vfw bench --model resnet50 --batch 8 --threads 2
          vfw bench --file resnext101.vfw          # open time and --check throughput
        """)

    @Option(help: "Model to time (\(ModelZoo.knownNames.joined(separator: ", "))).")
    var model: String?

    @Option(help: "Weights to time instead of synthetic ones (.vfw, .pth, .safetensors).")
    var weights: String?

    @Option(help: "Batch size.")
    var batch: Int = 1

    @Option(help: "Timed runs (the median is reported).")
    var runs: Int = 10

    @Option(help: "Untimed warm-up runs.")
    var warmup: Int = 2

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: "A .vfw file: time opening it (header only) and verifying every checksum.")
    var file: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if (model == nil && weights == nil) == (file == nil) { throw ValidationError("give --model/--weights or --file") }
        if batch < 1 || runs < 1 || warmup < 0 { throw ValidationError("--batch and --runs must be positive") }
    }

    func run() throws {
        if let t = threads { setComputeThreads(t) }
        if let file { return try benchFile(file) }
        let (m, name) = try loadModel()
        let x = Bench.input(batch: batch, size: m.imageSize)
        for _ in 0..<warmup { _ = m(x) }
        var times: [Double] = []
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = m(x)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        times.sort()
        let median = times[times.count / 2]
        let rss = peakRSSMegabytes()
        if json {
            print("{\"model\":\"\(name)\",\"batch\":\(batch),\"threads\":\(threads ?? ProcessInfo.processInfo.activeProcessorCount),\"median_ms\":\(String(format: "%.2f", median)),\"min_ms\":\(String(format: "%.2f", times[0])),\"peak_rss_mb\":\(String(format: "%.0f", rss))}")
        } else {
            print("\(name) batch \(batch): median \(String(format: "%.1f", median)) ms, min \(String(format: "%.1f", times[0])) ms over \(runs) runs; peak RSS \(String(format: "%.0f", rss)) MB")
        }
    }

    func loadModel() throws -> (AnyModel, String) {
        if let w = weights {
            let c = try Canonical.tensors(of: try WeightSource.open(w), arch: model)
            return (try c.model(path: w), c.architecture?.name ?? w)
        }
        let arch = try ModelZoo.architecture(named: model!)
        let tensors = try ModelZoo.synthesise(arch, seed: 0)
        return (try ModelZoo.build(arch, weights: WeightStore(tensors)), arch.name)
    }

    func benchFile(_ path: String) throws {
        var opens: [Double] = []
        var f: VFWFile?
        for _ in 0..<max(runs, 5) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            f = try VFWFile(path: path)
            opens.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        opens.sort()
        let t0 = DispatchTime.now().uptimeNanoseconds
        try f!.verifyChecksums()
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        let gbps = Double(f!.fileSize) / secs / 1e9
        if json {
            print("{\"file\":\"\(path)\",\"bytes\":\(f!.fileSize),\"open_ms\":\(String(format: "%.3f", opens[opens.count / 2])),\"check_s\":\(String(format: "%.3f", secs)),\"check_gb_per_s\":\(String(format: "%.2f", gbps))}")
        } else {
            print("\(path): \(Format.bytes(f!.fileSize)); open (header, validation) median \(String(format: "%.3f", opens[opens.count / 2])) ms; --check \(String(format: "%.3f", secs)) s = \(String(format: "%.2f", gbps)) GB/s")
        }
    }

    /// A deterministic input in the range of a normalised photo.
    static func input(batch: Int, size: Int) -> Tensor {
        Tensor(shape: [batch, 3, size, size], uninitialized: { buf in
            for i in 0..<buf.count { buf[i] = Float((i * 7919) % 2001) / 1000 - 1 }
        })
    }
}

/// Peak resident set size of this process (VmHWM from /proc/self/status), in MB.
func peakRSSMegabytes() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
        return kb / 1024
    }
    return 0
}
