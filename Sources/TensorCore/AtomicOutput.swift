// Writing outputs so that nothing is ever lost or half-written.
//
// Bytes go to a temporary file beside the target ("NAME.tmp-PID-RANDOM"), are flushed with fsync,
// and the file is renamed over the target only when complete. A crash, an error or Ctrl-C leaves
// at most a stray temporary file (removed on error and on SIGINT/SIGTERM), never a truncated output.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

public enum OutputError: Error, CustomStringConvertible {
    case exists(path: String)
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .exists(let p): return "\(p): already exists; pass --force to replace it"
        case .cannotCreate(let p, let r): return "\(p): cannot create the output: \(r)"
        case .writeFailed(let p, let r): return "\(p): writing failed: \(r)"
        }
    }
}

/// Temporary files still being written, removed if the process is interrupted.
private let pendingLock = NSLock()
nonisolated(unsafe) private var pendingPaths: Set<String> = []
nonisolated(unsafe) private var handlersInstalled = false

private func installSignalCleanup() {
    pendingLock.lock(); defer { pendingLock.unlock() }
    if handlersInstalled { return }
    handlersInstalled = true
    for sig in [SIGINT, SIGTERM, SIGHUP] {
        signal(sig) { s in
            // Async-signal context: unlink is async-signal-safe; the set is only read.
            for p in pendingPaths { unlink(p) }
            signal(s, SIG_DFL)
            raise(s)
        }
    }
}

/// A file being written under a temporary name, published by `commit()`.
public final class AtomicOutput {
    public let path: String
    public let temporaryPath: String
    private var fd: Int32
    private var committed = false
    private var buffer: [UInt8] = []
    public private(set) var bytesWritten: Int = 0

    /// Opens a temporary file in the folder of `path`. Throws `.exists` when `path` exists and `force` is false.
    public init(path: String, force: Bool) throws {
        self.path = path
        if !force && FileManager.default.fileExists(atPath: path) { throw OutputError.exists(path: path) }
        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let tmp = (dir.isEmpty ? "" : dir + "/") + ".\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        temporaryPath = tmp
        installSignalCleanup()
        pendingLock.lock(); pendingPaths.insert(tmp); pendingLock.unlock()
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            pendingLock.lock(); pendingPaths.remove(tmp); pendingLock.unlock()
            throw OutputError.cannotCreate(path: path, reason: reason)
        }
        buffer.reserveCapacity(1 << 20)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        bytesWritten += bytes.count
        if buffer.count + bytes.count <= 1 << 20 {
            buffer.append(contentsOf: bytes)
            return
        }
        try flushBuffer()
        if bytes.count >= 1 << 20 { try writeAll(bytes) } else { buffer.append(contentsOf: bytes) }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    public func writeZeros(_ count: Int) throws {
        if count > 0 { try write([UInt8](repeating: 0, count: count)) }
    }

    private func flushBuffer() throws {
        if buffer.isEmpty { return }
        try buffer.withUnsafeBytes { try writeAll($0) }
        buffer.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw OutputError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            off += n
        }
    }

    /// Replaces already-written bytes at `offset` (used to fill in a header once its checksums are known).
    public func overwrite(at offset: Int, _ bytes: [UInt8]) throws {
        try flushBuffer()
        precondition(offset + bytes.count <= bytesWritten, "overwrite past the written end")
        let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress!, $0.count, off_t(offset)) }
        guard n == bytes.count else { throw OutputError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Flushes, fsyncs and renames the temporary file onto `path`.
    public func commit() throws {
        try flushBuffer()
        guard fsync(fd) == 0 else { throw OutputError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        close(fd); fd = -1
        guard rename(temporaryPath, path) == 0 else {
            throw OutputError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        committed = true
        pendingLock.lock(); pendingPaths.remove(temporaryPath); pendingLock.unlock()
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed {
            unlink(temporaryPath)
            pendingLock.lock(); pendingPaths.remove(temporaryPath); pendingLock.unlock()
        }
    }

    /// Writes `data` to `path` atomically in one call.
    public static func write(_ data: [UInt8], to path: String, force: Bool) throws {
        let out = try AtomicOutput(path: path, force: force)
        try out.write(data)
        try out.commit()
    }
}
