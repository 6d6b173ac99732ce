// The kernel seam: what a compute backend is given (a context: threads and instruction set), the epilogue value
// kernels fuse into their output pass, and the tuning constants, named in one place.
//
// Kernels read `ComputeContext.current` once, on the calling thread, and pass what they need down to their
// workers. A model runs under a context with `context.run { model(x) }`; two models with different thread
// counts can run in one process, each in its own context. Code that never sets a context runs under
// `ComputeContext.default`, whose thread count `setComputeThreads` sets (the CLI's --threads).
//
// Backends: the packed GEMM micro-kernels, im2col and (later) other kernels are C in Sources/CKernels, one path
// per instruction set chosen at run time (CPUID, capped by VFW_ISA=generic|avx2|avx512); OpenBLAS still serves
// plain `linear`, `matmul` and attention products. Platform code (Glibc, OpenBLAS through pkg-config) stays behind
// this file and the C targets: models call the kernel functions only.

import CKernels
import Foundation

// MARK: - Instruction set

/// The vector instruction set a kernel runs with.
public enum KernelISA: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Plain C: any CPU.
    case generic = 0
    /// AVX2 + FMA (x86-64 since Haswell / Zen 1).
    case avx2 = 1
    /// AVX-512F (Skylake-SP, Zen 4 and later).
    case avx512 = 2

    /// Whether this CPU (and OS) can run it.
    public var isSupported: Bool { vfw_isa_supported(cValue) != 0 }

    /// The instruction sets this machine can run, generic first.
    public static var supported: [KernelISA] { allCases.filter(\.isSupported) }

    /// The best supported one, capped by the environment variable VFW_ISA (generic, avx2 or avx512).
    public static var best: KernelISA { KernelISA(rawValue: Int(vfw_isa_best().rawValue)) ?? .generic }

    public var description: String { ["generic", "avx2", "avx512"][rawValue] }

    var cValue: vfw_isa { vfw_isa(UInt32(rawValue)) }
}

// MARK: - Context

/// Threads and instruction set a model's kernels run with. Immutable; make one per configuration.
public final class ComputeContext: Sendable {
    /// Threads kernels split their work over (the calling thread is one of them). At least 1.
    public let threads: Int
    /// The instruction set the C kernels use.
    public let isa: KernelISA

    /// - Parameters:
    ///   - threads: at least 1.
    ///   - isa: must be supported by this CPU (`KernelISA.supported`); default `KernelISA.best`.
    public init(threads: Int, isa: KernelISA = .best) {
        precondition(threads >= 1, "ComputeContext: need at least one thread, got \(threads)")
        precondition(isa.isSupported, "ComputeContext: this CPU cannot run \(isa)")
        self.threads = threads
        self.isa = isa
    }

    /// Runs `body` with this context as `ComputeContext.current` (on this thread and the tasks it starts).
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        try ComputeContext.$scoped.withValue(self, operation: body)
    }

    @TaskLocal static var scoped: ComputeContext?

    /// The context kernels called now use: the innermost `run`, else `ComputeContext.default`.
    public static var current: ComputeContext { scoped ?? ComputeContext.default }

    private static let defaultLock = NSLock()
    nonisolated(unsafe) private static var defaultContext: ComputeContext?

    /// The process-wide fallback: all active cores (or what `setComputeThreads` said), `KernelISA.best`.
    public static var `default`: ComputeContext {
        defaultLock.lock(); defer { defaultLock.unlock() }
        if let c = defaultContext { return c }
        let c = ComputeContext(threads: ProcessInfo.processInfo.activeProcessorCount)
        defaultContext = c
        return c
    }

    /// Replaces the process-wide fallback (setComputeThreads).
    static func setDefault(_ c: ComputeContext) {
        defaultLock.lock(); defaultContext = c; defaultLock.unlock()
    }
}

// MARK: - Epilogue

/// What a kernel applies to each output value before storing it, while it is still in registers or cache:
/// `activation(value + bias + residual)`. Bias is per output channel (conv) or feature (linear); the residual has
/// the output's shape.
public struct Epilogue: Sendable {
    public var bias: Tensor?
    public var residual: Tensor?
    public var activation: Activation

    public init(bias: Tensor? = nil, residual: Tensor? = nil, activation: Activation = .none) {
        self.bias = bias
        self.residual = residual
        self.activation = activation
    }
}

// MARK: - Tuning constants

/// Every tuning constant of the kernels, with where it was measured. Benchmarks may change them; models never do.
public enum KernelTuning {
    /// Packed GEMM: K block and row block (0 = the C defaults per instruction set, vfw_gemm_default_kc/mc).
    nonisolated(unsafe) public static var gemmKC = 0
    nonisolated(unsafe) public static var gemmMC = 0
    /// Packed convolution: floats of packed im2col columns a thread gathers per block (kept in L2 with the
    /// weights' row block): 128 K floats = 512 KB.
    nonisolated(unsafe) public static var convColumnBlockFloats = 131_072
    /// Winograd tile of 3×3 stride-1 convolutions prepared from now on: 2 = F(2×2, 3×3), 4 = F(4×4, 3×3), 0 = none
    /// (im2col). VFW_WINOGRAD=2|4|off in the environment sets it for a whole run (benchmarks, error measurements).
    nonisolated(unsafe) public static var winogradTile: Int = {
        switch ProcessInfo.processInfo.environment["VFW_WINOGRAD"] {
        case "off": return 0
        case "4": return 4
        default: return 2
        }
    }()
    /// Elementwise loops stay on the calling thread below this many elements per thread.
    public static let elementwiseGrain = 65_536
}

/// The C tuning value for the current constants.
var gemmTuning: vfw_gemm_tuning { vfw_gemm_tuning(kc: Int32(KernelTuning.gemmKC), mc: Int32(KernelTuning.gemmMC)) }
