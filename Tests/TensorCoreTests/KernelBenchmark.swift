// Hand-run micro benchmarks (off by default). Run in release:
//
//   VFW_KERNEL_BENCH=1 swift test -c release --scratch-path .build-kernels --filter KernelBenchmark
//   VFW_KERNEL_BENCH=1 VFW_KERNEL_BENCH_CPU=1 ...   one thread, thread CPU time (busy machines)
//
// Prints GFLOP/s of raw sgemm and of conv2d on resnet50 shapes (batch 1 and 8), and the time of a
// whole resnet18 / resnet50 / ViT-B/16 forward built from these kernels with random weights
// (BN folded, as the model loader does), to compare with PyTorch's times in
// /work/shared/research/measured.md (same machine class, 2 threads).

import COpenBLAS
import Foundation
import Testing
@testable import TensorCore

private let benchEnabled = ProcessInfo.processInfo.environment["VFW_KERNEL_BENCH"] == "1"

/// VFW_KERNEL_BENCH_CPU=1: run on one thread and time with the thread's CPU clock instead of the wall
/// clock. On a shared machine this is the figure other processes cannot inflate; two threads then
/// take about 55% of it.
private let cpuMode = ProcessInfo.processInfo.environment["VFW_KERNEL_BENCH_CPU"] == "1"

private func clockNow() -> Double {
    if cpuMode {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// Fastest time in seconds of `body` over `runs` runs after one warm-up. The fastest, not the
/// median: the 2 cores are shared, and the best run is the one least disturbed by other processes.
private func fastest(runs: Int = 7, _ body: () -> Void) -> Double {
    if cpuMode { setComputeThreads(1) }
    body()
    var best = Double.infinity
    for _ in 0..<runs {
        let t0 = clockNow()
        body()
        best = min(best, clockNow() - t0)
    }
    return best
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

// MARK: - Model skeletons (random weights, BN already folded into conv bias)

private struct ConvLayer {
    var conv: PreparedConv2d
    var stride: Int { conv.stride.0 }
    init(_ cin: Int, _ cout: Int, _ k: Int, stride: Int = 1, seed: UInt64) {
        conv = PreparedConv2d(weight: randomTensor([cout, cin, k, k], seed: seed, -0.05, 0.05),
                              bias: randomTensor([cout], seed: seed &+ 1, -0.1, 0.1), stride: stride, padding: k / 2)
    }
    func callAsFunction(_ x: Tensor, relu: Bool, residual: Tensor? = nil) -> Tensor {
        conv(x, activation: relu ? .relu : .none, residual: residual)
    }
}

private struct Block {
    var convs: [ConvLayer]
    var down: ConvLayer?
    /// relu(convs(x) + identity), the add and ReLU fused into the last conv.
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for c in convs.dropLast() { h = c(h, relu: true) }
        return convs.last!(h, relu: true, residual: down.map { $0(x, relu: false) } ?? x)
    }
}

private struct ResNet {
    var stem: ConvLayer, blocks: [Block], fcW: Tensor, fcB: Tensor
    init(bottleneck: Bool, layers: [Int]) {
        var seed: UInt64 = 100
        func next() -> UInt64 { seed += 2; return seed }
        stem = ConvLayer(3, 64, 7, stride: 2, seed: next())
        var blocks: [Block] = []
        var inC = 64
        for (stage, count) in layers.enumerated() {
            let planes = 64 << stage, outC = bottleneck ? planes * 4 : planes
            for i in 0..<count {
                let s = (i == 0 && stage > 0) ? 2 : 1
                let convs = bottleneck
                    ? [ConvLayer(inC, planes, 1, seed: next()), ConvLayer(planes, planes, 3, stride: s, seed: next()), ConvLayer(planes, outC, 1, seed: next())]
                    : [ConvLayer(inC, planes, 3, stride: s, seed: next()), ConvLayer(planes, planes, 3, seed: next())]
                let down = (s != 1 || inC != outC) ? ConvLayer(inC, outC, 1, stride: s, seed: next()) : nil
                blocks.append(Block(convs: convs, down: down))
                inC = outC
            }
        }
        self.blocks = blocks
        fcW = randomTensor([1000, inC], seed: next(), -0.05, 0.05); fcB = randomTensor([1000], seed: next())
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = maxPool2d(stem(x, relu: true), kernel: 3, stride: 2, padding: 1)
        for b in blocks { h = b(h) }
        h = globalAvgPool2d(h)
        return linear(h.reshaped([h.shape[0], -1]), weight: fcW, bias: fcB)
    }
}

private struct ViTBlockWeights {
    var ln1w, ln1b, qkvW, qkvB, projW, projB, ln2w, ln2b, fc1W, fc1B, fc2W, fc2B: Tensor
    init(seed: UInt64) {
        func r(_ s: [Int], _ k: UInt64) -> Tensor { randomTensor(s, seed: seed &+ k, -0.03, 0.03) }
        ln1w = r([768], 1); ln1b = r([768], 2); qkvW = r([2304, 768], 3); qkvB = r([2304], 4)
        projW = r([768, 768], 5); projB = r([768], 6); ln2w = r([768], 7); ln2b = r([768], 8)
        fc1W = r([3072, 768], 9); fc1B = r([3072], 10); fc2W = r([768, 3072], 11); fc2B = r([768], 12)
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        let a = attention(qkv: linear(layerNorm(x, weight: ln1w, bias: ln1b, eps: 1e-6), weight: qkvW, bias: qkvB), heads: 12)
        var h = linear(a, weight: projW, bias: projB)
        addInPlace(&h, x)
        var m = linear(linear(layerNorm(h, weight: ln2w, bias: ln2b, eps: 1e-6), weight: fc1W, bias: fc1B, activation: .gelu),
                       weight: fc2W, bias: fc2B)
        addInPlace(&m, h)
        return m
    }
}

private struct ViT {
    var patchW = randomTensor([768, 3, 16, 16], seed: 900, -0.03, 0.03), patchB = randomTensor([768], seed: 901)
    var cls = randomTensor([1, 1, 768], seed: 902), pos = randomTensor([1, 197, 768], seed: 903)
    var blocks = (0..<12).map { ViTBlockWeights(seed: 1000 + UInt64($0) * 20) }
    var lnW = randomTensor([768], seed: 904), lnB = randomTensor([768], seed: 905)
    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = x.shape[0]
        let p = conv2d(x, weight: patchW, bias: patchB, stride: 16)            // [N, 768, 14, 14]
        var tokens = Tensor(shape: [n, 197, 768], repeating: 0)
        for i in 0..<n {                                                        // flatten(2).transpose(1, 2), prepend cls
            for d in 0..<768 { tokens.data[i * 197 * 768 + d] = cls.data[d] }
            for d in 0..<768 { for t in 0..<196 { tokens.data[(i * 197 + 1 + t) * 768 + d] = p.data[(i * 768 + d) * 196 + t] } }
        }
        addInPlace(&tokens, pos)
        for b in blocks { tokens = b(tokens) }
        return layerNorm(tokens, weight: lnW, bias: lnB, eps: 1e-6)
    }
}

// MARK: - Benchmarks

@Suite("KernelBenchmark", .enabled(if: benchEnabled), .serialized)
struct KernelBenchmark {
    @Test("sgemm and conv2d GFLOP/s on resnet50 shapes")
    func convShapes() {
        if cpuMode { setComputeThreads(1) }
        print("\(cpuMode ? "thread CPU time, 1 thread" : "wall time"), threads \(computeThreads), OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "-")")
        // Raw sgemm, M x N x K as conv sees them (M = Cout, N = Ho·Wo, K = Cin·k²).
        for (m, n, k) in [(64, 3136, 576), (128, 784, 1152), (256, 196, 2304), (512, 49, 4608), (512, 392, 4608), (768, 197, 768), (3072, 197, 768)] {
            let a = randomTensor([m, k], seed: 1), b = randomTensor([k, n], seed: 2)
            var c = Tensor.zeros([m, n])
            let t = fastest {
                a.data.withUnsafeBufferPointer { ap in b.data.withUnsafeBufferPointer { bp in c.data.withUnsafeMutableBufferPointer { cp in
                    sgemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n, c: cp.baseAddress!, ldc: n)
                } } }
            }
            print("sgemm   \(pad("M\(m) N\(n) K\(k)", 34)) \(String(format: "%7.3f ms %6.1f GFLOP/s", t * 1e3, 2.0 * Double(m * n * k) / t / 1e9))")
        }
        struct Shape { var name: String; var c, h, o, k, s: Int }
        let shapes = [
            Shape(name: "stem 7x7/2 3→64 @224", c: 3, h: 224, o: 64, k: 7, s: 2),
            Shape(name: "l1 1x1 64→64 @56", c: 64, h: 56, o: 64, k: 1, s: 1),
            Shape(name: "l1 3x3 64→64 @56", c: 64, h: 56, o: 64, k: 3, s: 1),
            Shape(name: "l1 1x1 64→256 @56", c: 64, h: 56, o: 256, k: 1, s: 1),
            Shape(name: "l1 1x1 256→64 @56", c: 256, h: 56, o: 64, k: 1, s: 1),
            Shape(name: "l2 3x3/2 128→128 @56", c: 128, h: 56, o: 128, k: 3, s: 2),
            Shape(name: "l2 3x3 128→128 @28", c: 128, h: 28, o: 128, k: 3, s: 1),
            Shape(name: "l2 1x1 512→128 @28", c: 512, h: 28, o: 128, k: 1, s: 1),
            Shape(name: "l3 3x3 256→256 @14", c: 256, h: 14, o: 256, k: 3, s: 1),
            Shape(name: "l3 1x1 1024→256 @14", c: 1024, h: 14, o: 256, k: 1, s: 1),
            Shape(name: "l4 3x3 512→512 @7", c: 512, h: 7, o: 512, k: 3, s: 1),
            Shape(name: "l4 1x1 2048→512 @7", c: 2048, h: 7, o: 512, k: 1, s: 1),
            Shape(name: "l4 1x1/2 1024→2048 @14", c: 1024, h: 14, o: 2048, k: 1, s: 2),
        ]
        for batch in [1, 8] {
            for sh in shapes {
                let x = randomTensor([batch, sh.c, sh.h, sh.h], seed: 3), w = randomTensor([sh.o, sh.c, sh.k, sh.k], seed: 4)
                let b = randomTensor([sh.o], seed: 5)
                var y = Tensor.zeros([1])
                let t = fastest { y = conv2d(x, weight: w, bias: b, stride: sh.s, padding: sh.k / 2, activation: .relu) }
                let flops = 2.0 * Double(y.count) * Double(sh.c * sh.k * sh.k)
                var line = "conv n\(batch) \(pad(sh.name, 30)) \(String(format: "%7.3f ms %6.1f GFLOP/s", t * 1e3, flops / t / 1e9))"
                let prepared = PreparedConv2d(weight: w, bias: b, stride: sh.s, padding: sh.k / 2)
                if prepared.usesWinograd(inputShape: x.shape) {
                    let tw = fastest { y = prepared(x, activation: .relu) }
                    line += String(format: "   winograd %7.3f ms %6.1f direct-equivalent GFLOP/s", tw * 1e3, flops / tw / 1e9)
                }
                print(line)
            }
        }
    }

    @Test("whole-network forward times")
    func networks() {
        for (name, net, gflop) in [("resnet18", ResNet(bottleneck: false, layers: [2, 2, 2, 2]), 3.64),
                                   ("resnet50", ResNet(bottleneck: true, layers: [3, 4, 6, 3]), 8.2)] {
            for batch in [1, 8] {
                let x = randomTensor([batch, 3, 224, 224], seed: 7)
                var y = Tensor.zeros([1])
                let t = fastest(runs: batch == 1 ? 11 : 5) { y = net(x) }
                #expect(y.shape == [batch, 1000])
                print("\(name) batch \(batch): \(String(format: "%7.1f ms  %6.1f GFLOP/s", t * 1e3, gflop * Double(batch) / t))")
            }
        }
        let vit = ViT()
        for batch in [1, 8] {
            let x = randomTensor([batch, 3, 224, 224], seed: 8)
            var y = Tensor.zeros([1])
            let t = fastest(runs: batch == 1 ? 5 : 3) { y = vit(x) }
            #expect(y.shape == [batch, 197, 768])
            print("vit-b/16 batch \(batch): \(String(format: "%7.1f ms  %6.1f GFLOP/s", t * 1e3, 35.1 * Double(batch) / t))")
        }
    }
}

// MARK: - Where the time goes

/// Accumulated seconds per label.
private final class Profile {
    var seconds: [String: Double] = [:]
    func time<R>(_ label: String, _ body: () -> R) -> R {
        let t0 = clockNow()
        let r = body()
        seconds[label, default: 0] += clockNow() - t0
        return r
    }
    func report(_ title: String, runs: Int) {
        let total = seconds.values.reduce(0, +)
        print("\(title): \(String(format: "%.1f", total / Double(runs) * 1e3)) ms per forward")
        for (k, v) in seconds.sorted(by: { $0.value > $1.value }) {
            print("   \(pad(k, 28)) \(String(format: "%7.2f ms  %4.1f%%", v / Double(runs) * 1e3, v / total * 100))")
        }
    }
}

extension KernelBenchmark {
    @Test("resnet50 time per op kind")
    func resnetProfile() {
        let net = ResNet(bottleneck: true, layers: [3, 4, 6, 3])
        for batch in [1, 8] {
            let x = randomTensor([batch, 3, 224, 224], seed: 7)
            let runs = batch == 1 ? 10 : 3
            _ = net(x)
            let prof = Profile()
            if cpuMode { setComputeThreads(1) }
            for _ in 0..<runs {
                func conv(_ c: ConvLayer, _ h: Tensor, relu: Bool, residual: Tensor? = nil) -> Tensor {
                    let k = c.conv.weight.shape[2]
                    let path = c.conv.usesWinograd(inputShape: h.shape) ? " winograd" : ""
                    let label = "conv \(k)x\(k)\(c.stride > 1 ? "/\(c.stride)" : "") @\(h.shape[2])\(path)"
                    return prof.time(label) { c(h, relu: relu, residual: residual) }
                }
                var h = conv(net.stem, x, relu: true)
                h = prof.time("maxpool") { maxPool2d(h, kernel: 3, stride: 2, padding: 1) }
                for b in net.blocks {
                    var y = h
                    for c in b.convs.dropLast() { y = conv(c, y, relu: true) }
                    let id = b.down.map { conv($0, h, relu: false) } ?? h
                    h = conv(b.convs.last!, y, relu: true, residual: id)  // add + relu fused
                }
                h = prof.time("avgpool") { globalAvgPool2d(h) }
                _ = prof.time("fc") { linear(h.reshaped([batch, -1]), weight: net.fcW, bias: net.fcB) }
            }
            prof.report("resnet50 batch \(batch)", runs: runs)
        }
    }

    @Test("ViT-B block time per op kind")
    func vitProfile() {
        let blk = ViTBlockWeights(seed: 5)
        for batch in [1, 8] {
            let x = randomTensor([batch, 197, 768], seed: 9)
            let runs = batch == 1 ? 12 : 3
            _ = blk(x)
            let prof = Profile()
            if cpuMode { setComputeThreads(1) }
            for _ in 0..<runs {
                let l1 = prof.time("layernorm") { layerNorm(x, weight: blk.ln1w, bias: blk.ln1b, eps: 1e-6) }
                let qkv = prof.time("linear qkv") { linear(l1, weight: blk.qkvW, bias: blk.qkvB) }
                let a = prof.time("attention") { attention(qkv: qkv, heads: 12) }
                var h = prof.time("linear proj") { linear(a, weight: blk.projW, bias: blk.projB) }
                prof.time("add") { addInPlace(&h, x) }
                let l2 = prof.time("layernorm") { layerNorm(h, weight: blk.ln2w, bias: blk.ln2b, eps: 1e-6) }
                let f1 = prof.time("linear fc1+gelu") { linear(l2, weight: blk.fc1W, bias: blk.fc1B, activation: .gelu) }
                var m = prof.time("linear fc2") { linear(f1, weight: blk.fc2W, bias: blk.fc2B) }
                prof.time("add") { addInPlace(&m, h) }
            }
            prof.report("vit block batch \(batch) (x12 for the model)", runs: runs)
        }
    }
}
