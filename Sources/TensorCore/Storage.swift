// The bytes tensors live in: a memory-mapped file (zero-copy views) or memory vfw allocated.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Owns a run of bytes and keeps it alive while any view into it exists.
public protocol ByteOwner: AnyObject, Sendable {
    var bytes: UnsafeRawBufferPointer { get }
}

/// A read-only `mmap` of a whole file. Opening costs O(1): no byte is read until used.
public final class MappedFile: ByteOwner, @unchecked Sendable {
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public enum OpenError: Error, CustomStringConvertible {
        case cannotOpen(path: String, reason: String)
        case isDirectory(path: String)
        public var description: String {
            switch self {
            case .cannotOpen(let path, let reason): return "\(path): cannot open: \(reason)"
            case .isDirectory(let path): return "\(path): is a folder, not a file"
            }
        }
    }

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw OpenError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw OpenError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw OpenError.isDirectory(path: path) }
        let size = Int(st.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw OpenError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        bytes = UnsafeRawBufferPointer(start: p, count: size)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }

    /// Lowercase hex SHA-256 of the whole file. The mapping is kept alive while it is read: `bytes` alone
    /// does not own it, and Swift may release a MappedFile right after its last use.
    public func sha256() -> String {
        withExtendedLifetime(self) { SHA256.hex(bytes) }
    }

    /// SHA-256 of the file at `path`.
    public static func sha256(path: String) throws -> String {
        try MappedFile(path: path).sha256()
    }
}

/// Bytes vfw allocated itself (converted or gathered tensors), 64-byte aligned.
public final class OwnedBytes: ByteOwner, @unchecked Sendable {
    public let mutableBytes: UnsafeMutableRawBufferPointer
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(mutableBytes) }

    public let count: Int

    /// `count` zeroed bytes (one byte is allocated for `count == 0` so the pointer is never null).
    public init(count: Int) {
        self.count = count
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        mutableBytes = UnsafeMutableRawBufferPointer(rebasing: storage[0..<count])
        base = storage
    }
    private let base: UnsafeMutableRawBufferPointer

    public convenience init(copying source: UnsafeRawBufferPointer) {
        self.init(count: source.count)
        if source.count > 0 { mutableBytes.baseAddress!.copyMemory(from: source.baseAddress!, byteCount: source.count) }
    }

    deinit { base.deallocate() }
}

/// A slice of bytes inside an owner. Copying a view never copies the bytes.
public struct ByteView: @unchecked Sendable {
    public let owner: ByteOwner
    public let offset: Int
    public let count: Int

    public init(owner: ByteOwner, offset: Int = 0, count: Int? = nil) {
        self.owner = owner
        self.offset = offset
        self.count = count ?? (owner.bytes.count - offset)
        precondition(offset >= 0 && self.count >= 0 && offset + self.count <= owner.bytes.count, "ByteView out of bounds")
    }

    public init(owned: OwnedBytes) { self.init(owner: owned, offset: 0, count: owned.count) }

    public var buffer: UnsafeRawBufferPointer {
        guard count > 0, let base = owner.bytes.baseAddress else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    public func slice(_ start: Int, _ length: Int) -> ByteView {
        ByteView(owner: owner, offset: offset + start, count: length)
    }
}
