// PNG and JPEG files to RGBImage, pixel for pixel what Pillow gives for `Image.open(p).convert("RGB")`.
//
// libpng / libjpeg-turbo do the decoding inside Sources/CImageShims (their longjmp error handling
// never crosses a Swift frame); this file sniffs the format and converts the decoded samples to RGB
// with Pillow's rules. Each rule below was checked against Pillow 13 (tools/make_image_fixtures.py
// writes the evidence; Tests/ImagingTests/DecodeTests.swift compares every fixture bit for bit).

import CImageShims
import Foundation

/// The two container formats vfw decodes.
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "PNG"
    case jpeg = "JPEG"
}

/// Reads PNG and JPEG files into `RGBImage`s.
public enum ImageDecoder {
    /// Reads and decodes the file at `path`. Errors name the file (`ImagingError`); never traps on bad input.
    public static func decode(file path: String) throws -> RGBImage {
        let bytes = try readFile(path)
        return try decode(bytes, name: path)
    }

    /// Decodes an in-memory PNG or JPEG; `name` is used in error messages.
    public static func decode(_ bytes: [UInt8], name: String) throws -> RGBImage {
        if bytes.isEmpty { throw ImagingError.empty(file: name) }
        guard let format = sniff(bytes) else {
            throw ImagingError.notAnImage(file: name, detected: otherFormat(bytes))
        }
        var raster = vfw_raster()
        let status = bytes.withUnsafeBufferPointer { buf in
            switch format {
            case .png: return vfw_png_decode(buf.baseAddress, buf.count, &raster)
            case .jpeg: return vfw_jpeg_decode(buf.baseAddress, buf.count, &raster)
            }
        }
        defer { vfw_raster_free(&raster) }
        guard status == Int32(VFW_OK.rawValue) else {
            throw error(for: &raster, status: status, format: format, name: name)
        }
        switch format {
        case .png:
            var image = try pngToRGB(&raster, name: name)
            image.alpha = pngAlpha(&raster, image)
            return image
        case .jpeg: return try jpegToRGB(&raster, name: name)
        }
    }

    /// The format the leading bytes announce (PNG signature, JPEG SOI + marker), or nil.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        return nil
    }

    /// libpng's and libjpeg's versions as linked, e.g. "libpng 1.6.39, libjpeg-turbo 2.1.5".
    public static var libraryVersions: String {
        let png = String(cString: vfw_libpng_version())
        let j = Int(vfw_libjpeg_version())
        return "libpng \(png), libjpeg-turbo \(j / 1_000_000).\(j / 1000 % 1000).\(j % 1000)"
    }
}

// MARK: - Files and errors

private func readFile(_ path: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw ImagingError.unreadable(file: path, reason: "is a directory")
    }
    let fd = open(path, O_RDONLY)
    if fd < 0 { throw ImagingError.unreadable(file: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw ImagingError.unreadable(file: path, reason: String(cString: strerror(errno)))
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    return bytes
}

/// Names a few formats Pillow would open but vfw does not, so the message says what the file is.
private func otherFormat(_ b: [UInt8]) -> String? {
    func starts(_ s: [UInt8], at o: Int = 0) -> Bool { b.count >= o + s.count && Array(b[o..<(o + s.count)]) == s }
    if starts(Array("GIF8".utf8)) { return "GIF" }
    if starts(Array("BM".utf8)) { return "BMP" }
    if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return "WebP" }
    if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
    if starts(Array("ftyp".utf8), at: 4) { return "HEIF/AVIF" }
    if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) || starts([0xFF, 0x4F, 0xFF, 0x51]) { return "JPEG 2000" }
    return nil
}

private func error(for raster: inout vfw_raster, status: Int32, format: ImageFormat, name: String) -> ImagingError {
    let message = withUnsafeBytes(of: &raster.error) { raw -> String in
        let bytes = raw.prefix { $0 != 0 }
        return String(decoding: bytes, as: UTF8.self)
    }
    let f = format.rawValue
    switch UInt32(status) {
    case VFW_ERR_TRUNCATED.rawValue: return .truncated(file: name, format: f)
    case VFW_ERR_UNSUPPORTED.rawValue: return .unsupported(file: name, format: f, reason: message)
    case VFW_ERR_TOO_LARGE.rawValue: return .tooLarge(file: name, format: f, reason: message)
    case VFW_ERR_MEMORY.rawValue: return .unreadable(file: name, reason: "out of memory")
    default: return .corrupt(file: name, format: f, reason: message.isEmpty ? "decoder error" : message)
    }
}

// MARK: - PNG samples to RGB (Pillow's PngImagePlugin modes, then convert("RGB"))

/// Pillow reads PNG (bit depth, colour type) into these modes (src/PIL/PngImagePlugin.py `_MODES`,
/// unpackers in src/libImaging/Unpack.c) and `convert("RGB")` then drops any alpha or transparency
/// without compositing (src/libImaging/Convert.c):
///
/// | PNG            | Pillow mode (rawmode)   | RGB from it                                             |
/// |----------------|-------------------------|---------------------------------------------------------|
/// | gray 1/2/4/8   | 1, L (L;2, L;4)         | gray replicated; low depths scaled by bit replication    |
/// | gray 16        | I;16 (I;16B)            | min(v, 255) replicated: Convert.c I16 -> RGB *clips*, it  |
/// |                |                         | does not scale, so most 16-bit gray images come out white |
/// | RGB 8 / 16     | RGB (RGB, RGB;16B)      | 16-bit: high byte of each sample (truncation)            |
/// | palette 1-8    | P (P;1, P;2, P;4, P)    | PLTE entry; indices past PLTE are (0, 0, 0); tRNS ignored |
/// | gray+alpha 8   | LA                      | gray replicated, alpha dropped                            |
/// | gray+alpha 16  | RGBA (LA;16B)           | high byte of gray replicated, alpha dropped               |
/// | RGBA 8 / 16    | RGBA (RGBA, RGBA;16B)   | RGB (16-bit: high bytes), alpha dropped                   |
///
/// A tRNS chunk on gray or RGB images only sets `info["transparency"]`; `convert("RGB")` ignores it.
private func pngToRGB(_ r: inout vfw_raster, name: String) throws -> RGBImage {
    let w = Int(r.width), h = Int(r.height), ch = Int(r.channels)
    let wide = r.bit_depth == 16
    let bytesPerSample = wide ? 2 : 1
    let rowBytes = Int(r.row_bytes)
    guard let src = UnsafePointer<UInt8>(r.pixels) else {
        throw ImagingError.corrupt(file: name, format: "PNG", reason: "decoder returned no pixels")
    }
    let colorType = Int(r.color_type)
    let expected: [Int: Int] = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4]
    guard expected[colorType] == ch else {
        throw ImagingError.unsupported(file: name, format: "PNG", reason: "colour type \(colorType) with \(ch) channels")
    }
    // Palette: 256 entries, those past PLTE black (Pillow's palette is zero-filled past PLTE).
    var palette = [UInt8](repeating: 0, count: 256 * 3)
    if colorType == 3 {
        let count = Int(r.palette_count)
        withUnsafeBytes(of: &r.palette) { raw in
            for i in 0..<(count * 3) { palette[i] = raw[i] }
        }
    }
    return RGBImage(width: w, height: h) { out in
        let dst = out.baseAddress!
        palette.withUnsafeBufferPointer { pal in
            for y in 0..<h {
                let row = src + y * rowBytes
                let o = dst + y * w * 3
                // Offset of the high (or only) byte of sample `c` of pixel `x`.
                @inline(__always) func hi(_ x: Int, _ c: Int) -> UInt8 { row[(x * ch + c) * bytesPerSample] }
                switch colorType {
                case 0:
                    if wide {
                        for x in 0..<w {
                            // Convert.c I16_RGB: `v = in[1] == 0 ? in[0] : 255` (little-endian I;16), i.e. min(v, 255).
                            let v16 = Int(row[2 * x]) << 8 | Int(row[2 * x + 1])
                            let v = UInt8(min(v16, 255))
                            o[3 * x] = v; o[3 * x + 1] = v; o[3 * x + 2] = v
                        }
                    } else {
                        for x in 0..<w { let v = row[x]; o[3 * x] = v; o[3 * x + 1] = v; o[3 * x + 2] = v }
                    }
                case 2, 6:
                    for x in 0..<w { o[3 * x] = hi(x, 0); o[3 * x + 1] = hi(x, 1); o[3 * x + 2] = hi(x, 2) }
                case 4:
                    for x in 0..<w { let v = hi(x, 0); o[3 * x] = v; o[3 * x + 1] = v; o[3 * x + 2] = v }
                default:  // 3, palette: one index per byte (CImageShims unpacks low bit depths)
                    for x in 0..<w {
                        let i = Int(row[x]) * 3
                        o[3 * x] = pal[i]; o[3 * x + 1] = pal[i + 1]; o[3 * x + 2] = pal[i + 2]
                    }
                }
            }
        }
    }
}

/// The alpha Pillow's `convert("RGBA")` gives a PNG (what transformers' convert_to_rgb composites onto white),
/// nil when every pixel is opaque:
///
/// | PNG                 | alpha                                                                          |
/// |---------------------|--------------------------------------------------------------------------------|
/// | gray+alpha, RGBA    | the alpha sample (16-bit: its high byte)                                        |
/// | palette + tRNS      | tRNS entry of the index, 255 past the entries tRNS lists (putpalettealphas)     |
/// | gray / RGB + tRNS   | 0 where the RGB pixel (as convert("RGB") gives it) equals the tRNS colour,      |
/// |                     | each tRNS sample masked to its low byte (Convert.c rgbT2rgba: `r & 0xff`), else 255 |
private func pngAlpha(_ r: inout vfw_raster, _ image: RGBImage) -> [UInt8]? {
    let w = Int(r.width), h = Int(r.height), ch = Int(r.channels)
    let wide = r.bit_depth == 16
    guard let src = UnsafePointer<UInt8>(r.pixels) else { return nil }
    let rowBytes = Int(r.row_bytes)
    var alpha: [UInt8]
    switch Int(r.color_type) {
    case 4, 6:
        let a = ch - 1, step = wide ? 2 : 1
        alpha = [UInt8](unsafeUninitializedCapacity: w * h) { buf, n in
            for y in 0..<h {
                let row = src + y * rowBytes
                for x in 0..<w { buf[y * w + x] = row[(x * ch + a) * step] }
            }
            n = w * h
        }
    case 3 where r.trns_count > 0:
        var table = [UInt8](repeating: 255, count: 256)
        withUnsafeBytes(of: &r.trns_alpha) { raw in
            for i in 0..<Int(r.trns_count) { table[i] = raw[i] }
        }
        alpha = [UInt8](unsafeUninitializedCapacity: w * h) { buf, n in
            for y in 0..<h {
                let row = src + y * rowBytes
                for x in 0..<w { buf[y * w + x] = table[Int(row[x])] }
            }
            n = w * h
        }
    case 0 where r.trns_count > 0, 2 where r.trns_count > 0:
        let key = withUnsafeBytes(of: &r.trns_color) { raw -> [UInt8] in
            let c = raw.bindMemory(to: UInt16.self)
            return r.color_type == 0 ? Array(repeating: UInt8(c[0] & 0xFF), count: 3) : (0..<3).map { UInt8(c[$0] & 0xFF) }
        }
        alpha = image.pixels.withUnsafeBufferPointer { px in
            [UInt8](unsafeUninitializedCapacity: w * h) { buf, n in
                for i in 0..<(w * h) {
                    buf[i] = px[3 * i] == key[0] && px[3 * i + 1] == key[1] && px[3 * i + 2] == key[2] ? 0 : 255
                }
                n = w * h
            }
        }
    default:
        return nil
    }
    return alpha.contains { $0 != 255 } ? alpha : nil
}

// MARK: - JPEG samples to RGB

/// libjpeg already converted YCbCr to RGB (or gave gray / CMYK). Pillow's modes: 1 component "L",
/// 3 "RGB", 4 "CMYK" read with rawmode "CMYK;I" (JpegImagePlugin.py: always assumes Adobe's inverted
/// CMYK), then Convert.c `cmyk2rgb`.
private func jpegToRGB(_ r: inout vfw_raster, name: String) throws -> RGBImage {
    let w = Int(r.width), h = Int(r.height), ch = Int(r.channels)
    let rowBytes = Int(r.row_bytes)
    guard let src = UnsafePointer<UInt8>(r.pixels) else {
        throw ImagingError.corrupt(file: name, format: "JPEG", reason: "decoder returned no pixels")
    }
    guard (r.color_type == 0 && ch == 1) || (r.color_type == 2 && ch == 3) || (r.color_type == 5 && ch == 4) else {
        throw ImagingError.unsupported(file: name, format: "JPEG", reason: "\(ch) output components")
    }
    return RGBImage(width: w, height: h) { out in
        let dst = out.baseAddress!
        for y in 0..<h {
            let row = src + y * rowBytes
            let o = dst + y * w * 3
            switch ch {
            case 1:
                for x in 0..<w { let v = row[x]; o[3 * x] = v; o[3 * x + 1] = v; o[3 * x + 2] = v }
            case 3:
                (o).update(from: row, count: w * 3)
            default:
                for x in 0..<w {
                    // Unpack.c "CMYK;I": every sample inverted. Convert.c cmyk2rgb:
                    //   nk = 255 - k; out = CLIP8(nk - MULDIV255(c, nk))
                    //   MULDIV255(a, b) = (t = a*b + 128, ((t >> 8) + t) >> 8)
                    let p = row + 4 * x
                    let nk = Int(p[3])  // 255 - (255 - raw k)
                    for c in 0..<3 {
                        let t = (255 - Int(p[c])) * nk + 128
                        let v = nk - (((t >> 8) + t) >> 8)
                        o[3 * x + c] = UInt8(max(0, min(255, v)))
                    }
                }
            }
        }
    }
}
