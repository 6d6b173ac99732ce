// `vfw bench`: timings measured in-process, printed in a form tools/bench.sh puts beside PyTorch's.

import ArgumentParser
import Foundation
import Imaging
import Models
import TensorCore
import VFW
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
          vfw bench --image photo.jpg              # decode + preprocess time per preset
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

    @Option(help: "An image: time decoding it and preprocessing it with each preset.")
    var image: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        let modes = [model != nil || weights != nil, file != nil, image != nil].filter { $0 }.count
        if modes != 1 { throw ValidationError("give one of --model/--weights, --file or --image") }
        if batch < 1 || runs < 1 || warmup < 0 { throw ValidationError("--batch and --runs must be positive") }
    }

    func run() throws {
        if let t = threads { setComputeThreads(t) }
        if let file { return try benchFile(file) }
        if let image { return try benchImage(image) }
        let (m, name) = try loadModel()
        let x = Bench.input(batch: batch, size: m.imageSize ?? 224)
        for _ in 0..<warmup { _ = m(x) }
        var times: [Double] = [], cpu: [Double] = []
        for _ in 0..<runs {
            let c0 = processCPUSeconds()
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = m(x)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            cpu.append((processCPUSeconds() - c0) * 1e3)
        }
        times.sort()
        cpu.sort()
        let median = times[times.count / 2]
        let rss = peakRSSMegabytes()
        if json {
            print("{\"model\":\"\(name)\",\"batch\":\(batch),\"threads\":\(threads ?? ProcessInfo.processInfo.activeProcessorCount),\"median_ms\":\(String(format: "%.2f", median)),\"min_ms\":\(String(format: "%.2f", times[0])),\"cpu_ms\":\(String(format: "%.2f", cpu[cpu.count / 2])),\"peak_rss_mb\":\(String(format: "%.0f", rss))}")
        } else {
            print("\(name) batch \(batch): median \(String(format: "%.1f", median)) ms, min \(String(format: "%.1f", times[0])) ms over \(runs) runs (CPU time, all threads: median \(String(format: "%.1f", cpu[cpu.count / 2])) ms); peak RSS \(String(format: "%.0f", rss)) MB")
        }
    }

    /// CPU time of the whole process (all threads) so far: on a busy machine, the figure other processes cannot
    /// inflate much (with --threads 1, about the kernel cost alone).
    func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    func loadModel() throws -> (AnyModel, String) {
        if let w = weights {
            let c = try CanonicalWeights.of(try WeightSource.open(w), arch: model)
            return (try c.build(), c.model?.name ?? w)
        }
        let d = try ModelZoo.description(named: model!)
        let tensors = try Synthetic.canonical(d, seed: 0)
        return (try ModelZoo.build(d, weights: WeightStore(tensors)), d.name)
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

    /// Decode alone, then decode + each preset, median (and min) of --runs runs, in milliseconds.
    func benchImage(_ path: String) throws {
        func time(_ body: () throws -> Void) rethrows -> (Double, Double) {
            for _ in 0..<warmup { try body() }
            var t: [Double] = []
            for _ in 0..<max(runs, 5) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                t.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            t.sort()
            return (t[t.count / 2], t[0])
        }
        func decode() throws -> RGBImage {
            do { return try ImageDecoder.decode(file: path) } catch { throw InputError("\(error)") }
        }
        let d = try time { _ = try decode() }
        let torchvision = PreprocessSpec.preset("torchvision")!, hfViT = PreprocessSpec.preset("hf-vit-pil")!   // beside ViTImageProcessorPil (tools/bench_image_preprocess.py)
        let tv = try time { _ = torchvision.tensor(from: try decode()) }
        let hf = try time { _ = hfViT.tensor(from: try decode()) }
        if json {
            print("{\"image\":\"\(path)\",\"decode_ms\":\(String(format: "%.2f", d.0)),\"torchvision_ms\":\(String(format: "%.2f", tv.0)),\"hf_vit_ms\":\(String(format: "%.2f", hf.0))}")
        } else {
            print("\(path): decode \(String(format: "%.2f", d.0)) ms; decode + torchvision preset \(String(format: "%.2f", tv.0)) ms; decode + hf-vit-pil preset \(String(format: "%.2f", hf.0)) ms (medians)")
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
