// The default thread count (ComputeContext.default, and OpenBLAS's pool for the products still on it), a
// parallel-for over index ranges, and the scratch buffers (packed columns, attention scores) kernels reuse.

import COpenBLAS
import Dispatch
import Foundation

// MARK: - Thread count

/// Sets how many threads kernels use when no `ComputeContext` is running (the process-wide default context),
/// and OpenBLAS's pool (`openblas_set_num_threads`, process-global) for the products still on it.
/// Precondition: `n >= 1`. Default: the number of cores.
public func setComputeThreads(_ n: Int) {
    precondition(n >= 1, "setComputeThreads: need at least one thread, got \(n)")
    ComputeContext.setDefault(ComputeContext(threads: n))
    openblas_set_num_threads(Int32(n))
}

/// Threads kernels called now use: `ComputeContext.current.threads`.
public var computeThreads: Int { ComputeContext.current.threads }

// MARK: - Parallel loops

/// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items, on up to
/// `computeThreads` threads (on the calling thread alone when there is not enough work). `body`
/// must only write disjoint memory per index.
///
/// There are up to 4 chunks per thread, claimed dynamically, so a thread that the OS deschedules
/// (the 2 cores are shared) delays the loop by one small chunk, not by half of it.
@inline(__always)
func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    if count <= 0 { return }
    let threads = computeThreads
    let chunks = Swift.min(threads * 4, count / Swift.max(grain, 1))
    if threads <= 1 || chunks <= 1 { body(0..<count); return }
    parallelItems(chunks, threads: threads) { k in
        body((count * k / chunks)..<(count * (k + 1) / chunks))
    }
}

/// Runs `body(i)` for every i in `0..<count` on at most `threads` threads (the caller is one of
/// them); each thread claims the next unclaimed i until none is left.
func parallelItems(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let workers = Swift.min(threads, count)
    if workers <= 1 { for i in 0..<count { body(i) }; return }
    let next = ItemCounter()
    DispatchQueue.concurrentPerform(iterations: workers) { _ in
        while true {
            let i = next.claim()
            if i >= count { break }
            body(i)
        }
    }
}

/// A shared "next item" counter.
private final class ItemCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func claim() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value - 1
    }
}

// MARK: - Scratch buffers

/// A pool of 64-byte aligned Float buffers lent to kernels for the length of one call.
/// Thread-safe; a kernel running on several threads at once simply gets several buffers.
final class ScratchPool: @unchecked Sendable {
    private let lock = NSLock()
    private var free: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
    private let maxKept = 4

    static let shared = ScratchPool()

    /// Lends a buffer of at least `count` Floats (contents undefined) to `body`.
    func with<R>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        let buf = take(Swift.max(count, 1))
        defer { give(buf) }
        return try body(buf.pointer)
    }

    private func take(_ count: Int) -> (pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        lock.lock()
        // Smallest kept buffer that fits.
        var best = -1
        for (i, b) in free.enumerated() where b.capacity >= count {
            if best < 0 || b.capacity < free[best].capacity { best = i }
        }
        if best >= 0 { let b = free.remove(at: best); lock.unlock(); return b }
        lock.unlock()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
        return (raw.bindMemory(to: Float.self, capacity: count), count)
    }

    private func give(_ b: (pointer: UnsafeMutablePointer<Float>, capacity: Int)) {
        lock.lock()
        free.append(b)
        var dropped: [(pointer: UnsafeMutablePointer<Float>, capacity: Int)] = []
        if free.count > maxKept {
            free.sort { $0.capacity > $1.capacity }
            dropped = Array(free[maxKept...])
            free.removeLast(free.count - maxKept)
        }
        lock.unlock()
        for d in dropped { UnsafeMutableRawPointer(d.pointer).deallocate() }
    }
}
