// A zip reader for torch.save archives: EOCD -> ZIP64 locator / EOCD -> central directory (zip64 extra 0x0001).
// Data offsets come from the LOCAL header (its extra field holds torch's 64-byte padding); sizes from the central
// directory (torch's local headers have zero CRC and sizes). STORED records are views into the mapped file; DEFLATE
// records (third-party re-zips) are inflated with zlib. Every offset and length is bounds-checked.

import CZlib
import TensorCore

struct ZipEntry {
    var name: String
    var method: UInt16
    var flags: UInt16
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
    var dataOffset: Int = 0
}

struct ZipArchive {
    let file: ByteOwner
    let path: String
    private(set) var entries: [ZipEntry] = []
    private(set) var index: [String: Int] = [:]
    /// Where the central directory starts: no entry may reach into it.
    private(set) var centralDirectoryOffset = 0

    init(file: ByteOwner, path: String) throws {
        self.file = file
        self.path = path
        try parse()
    }

    private func fail(_ reason: String) -> TorchArchiveError { .malformedZip(path: path, reason: reason) }

    private var bytes: UnsafeRawBufferPointer { file.bytes }

    private func le(_ at: Int, _ n: Int) -> UInt64? {
        guard at >= 0, n >= 0, at <= bytes.count, n <= bytes.count - at else { return nil }
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
        return v
    }

    private func u16(_ at: Int) throws -> Int {
        guard let v = le(at, 2) else { throw fail("a header at byte \(at) runs past the end of the file (truncated?)") }
        return Int(v)
    }

    private func u32(_ at: Int) throws -> Int {
        guard let v = le(at, 4) else { throw fail("a header at byte \(at) runs past the end of the file (truncated?)") }
        return Int(v)
    }

    private func u64(_ at: Int) throws -> Int {
        guard let v = le(at, 8) else { throw fail("a header at byte \(at) runs past the end of the file (truncated?)") }
        guard v <= UInt64(Int.max) else { throw fail("a 64-bit field at byte \(at) is out of range") }
        return Int(v)
    }

    private mutating func parse() throws {
        let size = bytes.count
        guard size >= 22 else { throw fail("the file is \(size) bytes, too short for a zip end record (truncated?)") }
        // End of central directory: the last "PK\5\6" whose comment fits in the file.
        var eocd = -1
        var i = size - 22
        let lowest = max(0, size - 22 - 65535)
        while i >= lowest {
            if bytes[i] == 0x50 && bytes[i + 1] == 0x4B && bytes[i + 2] == 0x05 && bytes[i + 3] == 0x06 {
                let commentLength = try u16(i + 20)
                if i + 22 + commentLength <= size { eocd = i; break }
            }
            i -= 1
        }
        guard eocd >= 0 else {
            throw fail("no end-of-central-directory record (truncated, or not a zip file)")
        }
        var entryCount = try u16(eocd + 10)
        var cdSize = try u32(eocd + 12)
        var cdOffset = try u32(eocd + 16)
        let diskNumber = try u16(eocd + 4)
        var cdLimit = eocd  // the central directory must end before this
        // ZIP64 locator just before the EOCD.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let z64 = try u64(eocd - 20 + 8)
            guard z64 <= eocd - 20 - 56 else { throw fail("the ZIP64 end record offset \(z64) is outside the archive") }
            guard try u32(z64) == 0x0606_4B50 else { throw fail("no ZIP64 end record at byte \(z64)") }
            entryCount = try u64(z64 + 32)
            cdSize = try u64(z64 + 40)
            cdOffset = try u64(z64 + 48)
            cdLimit = z64
        } else if entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw fail("the end record needs a ZIP64 record, which is missing")
        }
        guard diskNumber == 0 || diskNumber == 0xFFFF else { throw fail("multi-disk archives are not supported") }
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
            throw fail("the central directory (\(cdSize) bytes at byte \(cdOffset)) is outside the archive (truncated?)")
        }
        guard entryCount <= cdSize / 46 else {
            throw fail("the end record claims \(entryCount) entries, more than a \(cdSize)-byte central directory can hold")
        }
        centralDirectoryOffset = cdOffset
        var p = cdOffset
        let cdEnd = cdOffset + cdSize
        entries.reserveCapacity(entryCount)
        for n in 0..<entryCount {
            guard p <= cdEnd - 46 else { throw fail("central directory entry \(n) runs past the directory") }
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory signature at byte \(p)") }
            let flags = try u16(p + 8)
            let method = try u16(p + 10)
            let crc = try u32(p + 16)
            var compressed = try u32(p + 20)
            var uncompressed = try u32(p + 24)
            let nameLength = try u16(p + 28)
            let extraLength = try u16(p + 30)
            let commentLength = try u16(p + 32)
            var localOffset = try u32(p + 42)
            let nameStart = p + 46
            let extraStart = nameStart + nameLength
            let next = extraStart + extraLength + commentLength
            guard next <= cdEnd else { throw fail("central directory entry \(n) runs past the directory") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<extraStart]), as: UTF8.self)
            // ZIP64 extended information: the fields whose 32-bit value is all ones, in this order.
            var e = extraStart
            let extraEnd = extraStart + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e)
                let len = try u16(e + 2)
                guard e + 4 + len <= extraEnd else { throw fail("entry '\(name)' has a damaged extra field") }
                if id == 0x0001 {
                    var q = e + 4
                    let qEnd = q + len
                    func field() throws -> Int {
                        guard q + 8 <= qEnd else { throw fail("entry '\(name)' has a short ZIP64 extra field") }
                        defer { q += 8 }
                        return try u64(q)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try field() }
                    if compressed == 0xFFFF_FFFF { compressed = try field() }
                    if localOffset == 0xFFFF_FFFF { localOffset = try field() }
                }
                e += 4 + len
            }
            if index[name] != nil { throw fail("the archive holds '\(name)' twice") }
            index[name] = entries.count
            entries.append(ZipEntry(name: name, method: UInt16(method), flags: UInt16(flags), crc: UInt32(crc),
                                    compressedSize: compressed, uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            p = next
        }
        // Local headers: the data offset, and that every record lies before the central directory without overlaps.
        for k in entries.indices {
            let entry = entries[k]
            let lh = entry.localHeaderOffset
            guard cdOffset >= 30, lh <= cdOffset - 30 else {
                throw fail("entry '\(entry.name)' has its local header at byte \(lh), outside the archive data")
            }
            guard try u32(lh) == 0x0403_4B50 else { throw fail("no local header for '\(entry.name)' at byte \(lh)") }
            let nameLength = try u16(lh + 26)
            let extraLength = try u16(lh + 28)
            let dataOffset = lh + 30 + nameLength + extraLength
            guard nameLength == entry.name.utf8.count, dataOffset <= cdOffset,
                  bytes[(lh + 30)..<(lh + 30 + nameLength)].elementsEqual(entry.name.utf8) else {
                throw fail("the local header at byte \(lh) does not match entry '\(entry.name)'")
            }
            guard entry.compressedSize <= cdOffset - dataOffset else {
                throw fail("entry '\(entry.name)' (\(entry.compressedSize) bytes at byte \(dataOffset)) overlaps the central directory or runs past the archive")
            }
            entries[k].dataOffset = dataOffset
        }
        let order = entries.indices.sorted { entries[$0].localHeaderOffset < entries[$1].localHeaderOffset }
        for (a, b) in zip(order, order.dropFirst()) {
            let end = entries[a].dataOffset + entries[a].compressedSize
            if end > entries[b].localHeaderOffset {
                throw fail("entries '\(entries[a].name)' and '\(entries[b].name)' overlap")
            }
        }
    }

    func entry(_ name: String) -> ZipEntry? {
        guard let i = index[name] else { return nil }
        return entries[i]
    }

    /// A record's uncompressed bytes: a view into the mapped file when STORED, inflated into owned memory when DEFLATEd.
    func data(of entry: ZipEntry) throws -> (bytes: ByteView, stored: Bool) {
        if entry.flags & 1 != 0 {
            throw TorchArchiveError.badRecord(path: path, record: entry.name, reason: "it is encrypted")
        }
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw TorchArchiveError.badRecord(path: path, record: entry.name,
                    reason: "stored record with compressed size \(entry.compressedSize) != size \(entry.uncompressedSize)")
            }
            return (ByteView(owner: file, offset: entry.dataOffset, count: entry.compressedSize), true)
        case 8:
            let owned = try inflate(entry)
            return (ByteView(owned: owned), false)
        default:
            throw TorchArchiveError.badRecord(path: path, record: entry.name,
                reason: "compression method \(entry.method) is not supported (only stored and DEFLATE)")
        }
    }

    /// DEFLATE cannot expand more than 1032:1; a larger claim is a damaged or hostile size field. Checked before
    /// anything is allocated, and before the global limits (which the Loader applies to claims that pass this).
    func checkDeflateClaim(_ entry: ZipEntry) throws {
        guard entry.method == 8 else { return }
        let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: 1032)
        if overflow || entry.uncompressedSize > bound + 1024 {
            throw TorchArchiveError.badRecord(path: path, record: entry.name,
                reason: "claims \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed bytes, more than DEFLATE can produce")
        }
    }

    private func inflate(_ entry: ZipEntry) throws -> OwnedBytes {
        func bad(_ r: String) -> TorchArchiveError { .badRecord(path: path, record: entry.name, reason: r) }
        try checkDeflateClaim(entry)
        let out = OwnedBytes(count: entry.uncompressedSize)
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw bad("zlib could not start (status \(initStatus))") }
        defer { inflateEnd(&stream) }
        let src = file.bytes
        var inOffset = entry.dataOffset
        let inEnd = entry.dataOffset + entry.compressedSize
        var outOffset = 0
        let chunk = Int(UInt32.max >> 1)
        var status = Z_OK
        while true {
            if stream.avail_in == 0 && inOffset < inEnd {
                let n = min(chunk, inEnd - inOffset)
                stream.next_in = UnsafeMutablePointer(mutating: (src.baseAddress! + inOffset).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = UInt32(n)
                inOffset += n
            }
            if stream.avail_out == 0 {
                let n = min(chunk, out.count - outOffset)
                // One spare byte past the end lets zlib report data beyond the declared size instead of stalling.
                if n == 0 {
                    var spare: UInt8 = 0
                    let before = stream.total_out
                    status = withUnsafeMutablePointer(to: &spare) { p -> Int32 in
                        stream.next_out = p
                        stream.avail_out = 1
                        return CZlib.inflate(&stream, Z_NO_FLUSH)
                    }
                    stream.avail_out = 0
                    if stream.total_out != before { throw bad("inflates to more than the \(entry.uncompressedSize) bytes the directory says") }
                    if status == Z_STREAM_END { break }
                    if status != Z_OK && status != Z_BUF_ERROR { throw bad("DEFLATE data is corrupt (zlib status \(status))") }
                    if stream.avail_in == 0 && inOffset >= inEnd { throw bad("DEFLATE data ends early (truncated?)") }
                    continue
                }
                stream.next_out = (out.mutableBytes.baseAddress! + outOffset).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = UInt32(n)
                outOffset += n
            }
            let availInBefore = stream.avail_in
            let availOutBefore = stream.avail_out
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 && inOffset >= inEnd {
                throw bad("DEFLATE data ends early (truncated?)")
            }
            if status != Z_OK && status != Z_BUF_ERROR { throw bad("DEFLATE data is corrupt (zlib status \(status))") }
            if status == Z_BUF_ERROR && availInBefore == stream.avail_in && availOutBefore == stream.avail_out
                && stream.avail_in != 0 && stream.avail_out != 0 {
                throw bad("DEFLATE data is corrupt (no progress)")
            }
        }
        let produced = outOffset - Int(stream.avail_out)
        guard produced == entry.uncompressedSize else {
            throw bad("inflates to \(produced) bytes, the directory says \(entry.uncompressedSize)")
        }
        return out
    }
}
