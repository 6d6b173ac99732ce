// Hand-run timing of decode + preprocess (off by default). Run in release, next to the Python figures:
//
//   ~/.cache/vfw-venv/bin/python tools/bench_image_preprocess.py          # makes /tmp/vfw-bench-1024x768.jpg
//   VFW_IMAGING_BENCH=/tmp/vfw-bench-1024x768.jpg swift test -c release --scratch-path .build-img \
//       --filter ImagingBenchmark
//
// Prints median and minimum wall times over 60 runs, with the default thread count and with one
// thread (Pillow's decode and resize are single-threaded).

import Foundation
import Testing
import TensorCore
@testable import Imaging

private let benchPath = ProcessInfo.processInfo.environment["VFW_IMAGING_BENCH"]

private func timed(runs: Int = 60, _ body: () throws -> Void) rethrows -> (median: Double, min: Double) {
    try body()
    var ts: [Double] = []
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        try body()
        ts.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    ts.sort()
    return (ts[ts.count / 2], ts[0])
}

@Suite("ImagingBenchmark")
struct ImagingBenchmark {
    @Test("decode + preprocess a 1024x768 JPEG", .enabled(if: benchPath != nil))
    func decodeAndPreprocess() throws {
        let path = benchPath!
        let image = try ImageDecoder.decode(file: path)
        print("\(path): \(image.width)x\(image.height), \(ImageDecoder.libraryVersions)")
        let defaultThreads = computeThreads
        for threads in [defaultThreads, 1] {
            setComputeThreads(threads)
            var rows: [(String, () throws -> Void)] = [("decode", { _ = try ImageDecoder.decode(file: path) })]
            for name in ["torchvision", "hf-vit", "hf-vit-pil", "clip"] {
                let spec = PreprocessSpec.preset(name)!
                rows.append(("\(name) decode + preprocess", { _ = spec.tensor(from: try ImageDecoder.decode(file: path)) }))
                rows.append(("\(name) preprocess only", { _ = spec.tensor(from: image) }))
            }
            rows.append(("resize 1024x768 -> 341x256 only", { _ = image.resized(width: 341, height: 256) }))
            rows.append(("torch resize 1024x768 -> 224x224 only", { _ = image.resized(width: 224, height: 224, resampler: .torch) }))
            for (name, body) in rows {
                let t = try timed(body)
                print(String(format: "  %d thread(s)  %-34@ median %7.2f ms   min %7.2f ms", threads, name as NSString, t.median, t.min))
            }
        }
        setComputeThreads(defaultThreads)
    }
}
