// The packed C GEMM (Sources/CKernels) and PreparedLinear against a Double loop, on every instruction set this
// CPU has: tile edges in both directions, K split into several blocks, rows split into several row blocks, k = 0,
// and each part of the epilogue.

import Foundation
import Testing
@testable import TensorCore

struct GemmCase: CustomTestStringConvertible, Sendable {
    var m, n, k: Int
    var rowBias = false, colBias = false, residual = false, relu = false
    var kc = 0, mc = 0
    var label: String
    var testDescription: String { "\(label): \(m)x\(n)x\(k)" }
}

let gemmCases: [GemmCase] = [
    GemmCase(m: 1, n: 1, k: 1, label: "one element"),
    GemmCase(m: 8, n: 32, k: 16, label: "one AVX-512 tile"),
    GemmCase(m: 4, n: 16, k: 9, label: "one AVX2 tile"),
    GemmCase(m: 13, n: 37, k: 21, rowBias: true, label: "edges in rows and columns, row bias"),
    GemmCase(m: 64, n: 49, k: 300, rowBias: true, residual: true, relu: true, label: "conv-like, K past one block, residual, relu"),
    GemmCase(m: 30, n: 70, k: 40, colBias: true, residual: true, label: "linear-like, column bias and residual"),
    GemmCase(m: 50, n: 33, k: 70, rowBias: true, colBias: true, relu: true, kc: 16, mc: 8, label: "small blocks: 5 K blocks, 7 row blocks"),
    GemmCase(m: 5, n: 7, k: 0, rowBias: true, relu: true, label: "k = 0: the epilogue of an empty sum"),
    GemmCase(m: 197, n: 96, k: 64, label: "ViT-like rows"),
]

@Suite("packed GEMM")
struct KernelGemmTests {
    @Test("matches the Double loop (A packed, A as stored, product stored transposed)", arguments: gemmCases,
          KernelISA.supported.flatMap { isa in GemmTestLayout.allCases.map { (isa, $0) } })
    func gemm(_ cs: GemmCase, _ path: (KernelISA, GemmTestLayout)) {
        let (isa, layout) = path
        let a = randomTensor([cs.m, cs.k], seed: 200).data, b = randomTensor([cs.k, cs.n], seed: 201).data
        let rb = cs.rowBias ? randomTensor([cs.m], seed: 202).data : nil
        let cb = cs.colBias ? randomTensor([cs.n], seed: 203).data : nil
        let res = cs.residual ? randomTensor([cs.m, cs.n], seed: 204).data : nil
        let c = packedGemmForTests(isa: isa, layout: layout, m: cs.m, n: cs.n, k: cs.k, a: a, b: b, rowBias: rb, colBias: cb,
                                   residual: res, relu: cs.relu, kc: cs.kc, mc: cs.mc)
        var ref = [Double](repeating: 0, count: cs.m * cs.n)
        for i in 0..<cs.m {
            for j in 0..<cs.n {
                var s = 0.0
                for p in 0..<cs.k { s += Double(a[i * cs.k + p]) * Double(b[p * cs.n + j]) }
                if let rb { s += Double(rb[i]) }
                if let cb { s += Double(cb[j]) }
                if let res { s += Double(res[i * cs.n + j]) }
                ref[i * cs.n + j] = cs.relu && s < 0 ? 0 : s
            }
        }
        expectClose(Tensor(shape: [cs.m, cs.n], data: c), ref, shape: [cs.m, cs.n], "\(isa) \(layout) \(cs.testDescription)")
    }

    @Test("ReLU keeps NaN, as torch.relu does", arguments: KernelISA.supported)
    func reluNaN(_ isa: KernelISA) {
        let c = packedGemmForTests(isa: isa, m: 8, n: 32, k: 1, a: [Float](repeating: 1, count: 8),
                                   b: [.nan, -1] + [Float](repeating: 2, count: 30), rowBias: nil, colBias: nil, residual: nil, relu: true)
        #expect(c[0].isNaN && c[1] == 0 && c[2] == 2)
    }

    @Test("PreparedLinear matches the Double loop", arguments: [
        (rows: 1, inF: 5, outF: 3, act: Activation.none, residual: false),
        (rows: 7, inF: 64, outF: 40, act: .gelu, residual: false),
        (rows: 197, inF: 96, outF: 80, act: .none, residual: true),
        (rows: 3, inF: 300, outF: 17, act: .relu, residual: true),
        (rows: 1, inF: 40, outF: 9, act: .silu, residual: false),         // one row: the matrix-vector path
        (rows: 70, inF: 600, outF: 20, act: .none, residual: true),       // K past one block, transposed accumulation
        (rows: 10, inF: 12, outF: 33, act: .quickGelu, residual: false),
    ], KernelISA.supported)
    func preparedLinear(_ cs: (rows: Int, inF: Int, outF: Int, act: Activation, residual: Bool), _ isa: KernelISA) {
        let x = randomTensor([cs.rows, cs.inF], seed: 210), w = randomTensor([cs.outF, cs.inF], seed: 211)
        let b = randomTensor([cs.outF], seed: 212)
        let r = cs.residual ? randomTensor([cs.rows, cs.outF], seed: 213) : nil
        let y = ComputeContext(threads: 2, isa: isa).run { PreparedLinear(weight: w, bias: b)(x, activation: cs.act, residual: r) }
        var ref = [Double](repeating: 0, count: cs.rows * cs.outF)
        for i in 0..<cs.rows {
            for j in 0..<cs.outF {
                var s = Double(b.data[j])
                for p in 0..<cs.inF { s += Double(x.data[i * cs.inF + p]) * Double(w.data[j * cs.inF + p]) }
                if let r { s += Double(r.data[i * cs.outF + j]) }
                ref[i * cs.outF + j] = applyReference(cs.act, s)
            }
        }
        // Float accumulation over `in` terms of ±1·±1: tolerance grows with the depth.
        expectClose(y, ref, shape: [cs.rows, cs.outF], atol: 1e-5 * Double(max(1, cs.inF / 128)), rtol: 1e-5, "\(isa) linear \(cs.rows)x\(cs.inF)->\(cs.outF) \(cs.act)")
    }

    @Test("two contexts with different thread counts give the same result in one process")
    func contexts() {
        let x = randomTensor([2, 16, 12, 12], seed: 220), w = randomTensor([24, 16, 3, 3], seed: 221)
        let conv = PreparedConv2d(weight: w, padding: 1)
        let one = ComputeContext(threads: 1).run { conv(x, activation: .relu) }
        let three = ComputeContext(threads: 3).run { conv(x, activation: .relu) }
        #expect(ComputeContext(threads: 3).run { ComputeContext.current.threads } == 3)
        #expect(one == three)
    }
}
