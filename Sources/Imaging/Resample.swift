// Resizing 8-bit RGB bit for bit as the two libraries vfw's pipelines use do it:
//
// Pillow 13, `Image.resize(size, filter)` on an RGB image (src/libImaging/Resample.c: precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc,
// ImagingResampleInner):
//   * one coefficient table per axis, computed in double exactly as Pillow does (same operation
//     order; support scaled by the downscale factor, which is the antialiasing), normalised to sum 1,
//     then rounded to fixed point with PRECISION_BITS = 32 - 8 - 2 = 22 bits;
//   * two separable passes, each accumulating in 32-bit ints from a bias of 2^21 and clamping
//     `acc >> 22` to 0...255 (Pillow's clip8 lookup table); the intermediate image is uint8, so
//     pass order changes results;
//   * pass order (Pillow 13, python-pillow/Pillow#9549 "If height is scaled down significantly more
//     than width, resize vertically first"): vertical first when the height shrinks and
//     `H - newH > 2 * (W - newW)`, horizontal first otherwise. vfw found that condition by testing
//     Pillow 13.0.0 itself on 1479 random size pairs (it matched all of them, with boundary cases
//     going horizontal-first) - the PR's C code was not available to read;
//   * a pass is skipped when its size does not change (Pillow's need_horizontal / need_vertical).
//   Image.resize adds nothing for RGB: no reducing_gap unless asked (torchvision and transformers do
//   not ask), box = the whole image, and the same size returns a copy.
//
// torch, `F.interpolate(uint8 NCHW, size, mode="bilinear" | "bicubic" | "lanczos", antialias=True)`,
// which is what `torchvision.transforms.v2.functional.resize` runs on a uint8 tensor on the CPU (and
// so transformers 5's default, torchvision-backend image processors). ATen's
// aten/src/ATen/native/cpu/UpSampleKernel.cpp (HelperInterpBase::_compute_index_ranges_weights,
// _compute_index_ranges_int16_weights) and UpSampleKernelAVXAntialias.h ("heavily inspired from
// PILLOW-SIMD"):
//   * the same double coefficients as Pillow's (support = interp_size / 2 * scale, the same center,
//     bounds and normalisation; bicubic evaluated with ATen's cubic_convolution1/2 expressions,
//     a = -0.5; lanczos-3 as Pillow's sinc product), the tap count clamped to the table width;
//   * fixed point with a precision chosen per axis from the largest weight of the table: the
//     largest p < 22 with round(max * 2^(p+1)) < 2^15 (the weights are int16), each weight rounded
//     half away from zero;
//   * acc = 2^(p-1) + sum(pixel * weight) in int32, `acc >> p` saturated to 0...255;
//   * always horizontal first, then vertical; a pass is skipped when its size does not change.
//   This is the int16 path of every x86 CPU with AVX2 or AVX-512 and of ARM (torchvision resizes
//   uint8 natively there). On an x86 CPU without AVX2, torchvision converts to float for bilinear
//   (`_do_native_uint8_resize_on_cpu`), and ATen's generic int16 loop orders the passes differently
//   when an output side is 1 pixel: vfw does not reproduce those machines.
//
// Nearest neighbour has no filter; see Nearest.swift.

import Dispatch
import Foundation
import TensorCore

/// The resampling filters of Pillow (`Image.Resampling`) and torch (`InterpolationMode`).
public enum ResampleFilter: String, Sendable, CaseIterable, Codable {
    /// `NEAREST` (Pillow) / `NEAREST_EXACT` (torch, which transformers maps PIL's NEAREST to).
    case nearest
    /// `BOX`: Pillow only.
    case box
    /// `BILINEAR`: triangle filter, support 1.
    case bilinear
    /// `HAMMING`: Pillow only.
    case hamming
    /// `BICUBIC`: Keys cubic with a = -0.5, support 2.
    case bicubic
    /// `LANCZOS`: Lanczos-3, support 3 (torch >= 2.12 / torchvision >= 0.27 on the CPU).
    case lanczos

    /// PIL's `Image.Resampling` value, as transformers' `resample` field stores it.
    public var pilCode: Int {
        switch self {
        case .nearest: return 0
        case .lanczos: return 1
        case .bilinear: return 2
        case .bicubic: return 3
        case .box: return 4
        case .hamming: return 5
        }
    }

    /// The filter whose `pilCode` is `code`, or nil.
    public init?(pilCode code: Int) {
        guard let f = ResampleFilter.allCases.first(where: { $0.pilCode == code }) else { return nil }
        self = f
    }

    /// Filter support in input pixels at scale 1 (Resample.c `struct filter` table; ATen interp_size / 2).
    var support: Double {
        switch self {
        case .nearest: return 0
        case .box: return 0.5
        case .bilinear, .hamming: return 1.0
        case .bicubic: return 2.0
        case .lanczos: return 3.0
        }
    }
}

/// Which library's resampler to reproduce.
public enum Resampler: String, Sendable, CaseIterable, Codable {
    /// Pillow's `Image.resize` (torchvision transforms on PIL images, transformers' *ImageProcessorPil).
    case pillow
    /// torch's antialiased uint8 interpolate (torchvision v2 `resize` on a uint8 tensor, transformers 5's
    /// default torchvision-backend processors).
    case torch

    /// The filters this resampler has.
    public var filters: [ResampleFilter] {
        switch self {
        case .pillow: return ResampleFilter.allCases
        case .torch: return [.nearest, .bilinear, .bicubic, .lanczos]
        }
    }
}

// MARK: - Filter functions

/// sinc(x) = sin(pi x) / (pi x), as Resample.c sinc_filter and ATen HelperInterpLanczos::sinc_filter.
@inline(__always) private func sinc(_ x: Double) -> Double {
    if x == 0.0 { return 1.0 }
    let y = x * Double.pi
    return Foundation.sin(y) / y
}

/// Resample.c's filter functions, same double arithmetic (`a = -0.5`; Hamming's constants are the
/// C floats `0.54f`, `0.46f`).
@inline(__always) private func pillowWeight(_ filter: ResampleFilter, _ t: Double) -> Double {
    switch filter {
    case .nearest:
        return 0
    case .box:
        return t > -0.5 && t <= 0.5 ? 1.0 : 0.0
    case .bilinear:
        let x = t < 0 ? -t : t
        return x < 1.0 ? 1.0 - x : 0.0
    case .hamming:
        var x = t < 0 ? -t : t
        if x == 0.0 { return 1.0 }
        if x >= 1.0 { return 0.0 }
        x = x * Double.pi
        return Foundation.sin(x) / x * (Double(Float(0.54)) + Double(Float(0.46)) * Foundation.cos(x))
    case .bicubic:
        let a = -0.5
        let x = t < 0 ? -t : t
        if x < 1.0 { return ((a + 2.0) * x - (a + 3.0)) * x * x + 1 }
        if x < 2.0 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0.0
    case .lanczos:
        return -3.0 <= t && t < 3.0 ? sinc(t) * sinc(t / 3) : 0.0
    }
}

/// ATen's aa_filter functions (HelperInterpLinear / HelperInterpCubic<use_keys_cubic = true> /
/// HelperInterpLanczos), same double arithmetic: cubic_convolution1(x, A) = ((A + 2) x - (A + 3)) x x + 1,
/// cubic_convolution2(x, A) = ((A x - 5 A) x + 8 A) x - 4 A.
@inline(__always) private func torchWeight(_ filter: ResampleFilter, _ t: Double) -> Double {
    let x = abs(t)
    switch filter {
    case .bilinear:
        return x < 1.0 ? 1.0 - x : 0.0
    case .bicubic:
        let a = -0.5
        if x < 1.0 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2.0 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        return 0.0
    case .lanczos:
        return x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0
    case .nearest, .box, .hamming:
        return 0
    }
}

// MARK: - Coefficients

/// One axis' coefficient table: output `i` reads inputs `first[i] ..< first[i] + count[i]` with
/// weights `weights[i * ksize ..< i * ksize + count[i]]`, fixed point with `precision` bits.
struct ResampleCoefficients {
    let ksize: Int
    let precision: Int32
    var first: [Int]
    var count: [Int]
    var weights: [Int32]

    /// Pillow: Resample.c precompute_coeffs(inSize, in0, in1, outSize) then normalize_coeffs_8bpc
    /// (22 bits). `in0`/`in1` are the box edges, floats as in Pillow (`float box[4]`).
    init(inSize: Int, in0: Float = 0, in1: Float? = nil, outSize: Int, filter: ResampleFilter) {
        let in1 = in1 ?? Float(inSize)
        // filterscale = scale = (double)(in1 - in0) / outSize; the subtraction is in float.
        let scale = Double(in1 - in0) / Double(outSize)
        let filterscale = max(scale, 1.0)
        let support = filter.support * filterscale
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var table = CoefficientTable(outSize: outSize, ksize: ksize)
        let ss = 1.0 / filterscale
        for xx in 0..<outSize {
            let center = Double(in0) + (Double(xx) + 0.5) * scale
            // (int) casts truncate toward zero; Int(Double) does too.
            var xmin = Int(center - support + 0.5)
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            table.fill(xx, first: xmin, count: xmax - xmin) { x in
                // C: (x + xmin - center + 0.5) * ss, the int sum converted to double first.
                pillowWeight(filter, (Double(x + xmin) - center + 0.5) * ss)
            }
        }
        self.init(table, precision: 22)
    }

    /// torch: ATen `_compute_index_ranges_int16_weights(inSize, outSize, align_corners = false,
    /// antialias = true)` for `filter` (bilinear, bicubic or lanczos), scale = inSize / outSize.
    init(torch inSize: Int, outSize: Int, filter: ResampleFilter) {
        precondition(filter == .bilinear || filter == .bicubic || filter == .lanczos, "torch has no \(filter) filter")
        let scale = Double(inSize) / Double(outSize)   // area_pixel_compute_scale: (double)in / out
        let support = scale >= 1.0 ? filter.support * scale : filter.support
        let ksize = Int(support.rounded(.up)) * 2 + 1
        var table = CoefficientTable(outSize: outSize, ksize: ksize)
        let invscale = scale >= 1.0 ? 1.0 / scale : 1.0
        for i in 0..<outSize {
            let center = scale * (Double(i) + 0.5)
            let xmin = max(Int(center - support + 0.5), 0)
            // "There are rare cases when due to precision xsize can be larger than max_interp_size by one."
            let xsize = min(max(min(Int(center + support + 0.5), inSize) - xmin, 0), ksize)
            table.fill(i, first: xmin, count: xsize) { j in
                torchWeight(filter, (Double(j + xmin) - center + 0.5) * invscale)
            }
        }
        // weights_precision: for (p = 0; p < 22; ++p) if ((int)(0.5 + max * (1 << (p + 1))) >= (1 << 15)) break;
        var p: Int32 = 0
        while p < 22 && Int(0.5 + table.largest * Double(Int32(1) << (p + 1))) < (1 << 15) { p += 1 }
        self.init(table, precision: p)
    }

    private init(_ t: CoefficientTable, precision: Int32) {
        ksize = t.ksize
        self.precision = precision
        first = t.first
        count = t.count
        // Pillow's normalize_coeffs_8bpc and ATen's int16 rescale: v = w * 2^p, then (int)(v -/+ 0.5).
        let scale = Double(Int32(1) << precision)
        weights = t.k.map { k in
            let v = k * scale
            return v < 0 ? Int32(-0.5 + v) : Int32(0.5 + v)
        }
    }

    /// One past the last input index used by outputs `outputs` (0 when empty).
    func inputEnd(_ outputs: Range<Int>) -> Int {
        var e = 0
        for i in outputs { e = max(e, first[i] + count[i]) }
        return e
    }

    /// First input index used by outputs `outputs`.
    func inputStart(_ outputs: Range<Int>) -> Int {
        var s = Int.max
        for i in outputs { s = min(s, first[i]) }
        return s == Int.max ? 0 : s
    }
}

/// The double coefficients both libraries compute before fixed point: per output, the raw filter
/// values summed left to right, then each divided by the sum (when it is not 0).
private struct CoefficientTable {
    let ksize: Int
    var first: [Int]
    var count: [Int]
    var k: [Double]
    /// The largest normalised weight of the table (ATen's wt_max).
    var largest = 0.0

    init(outSize: Int, ksize: Int) {
        self.ksize = ksize
        first = [Int](repeating: 0, count: outSize)
        count = [Int](repeating: 0, count: outSize)
        k = [Double](repeating: 0, count: outSize * ksize)
    }

    mutating func fill(_ i: Int, first xmin: Int, count n: Int, weight: (Int) -> Double) {
        first[i] = xmin
        count[i] = n
        let base = i * ksize
        var ww = 0.0
        for x in 0..<n {
            let w = weight(x)
            k[base + x] = w
            ww += w
        }
        if ww != 0.0 {
            for x in 0..<n {
                k[base + x] /= ww
                largest = max(largest, k[base + x])
            }
        }
    }
}

/// `acc >> shift` clamped to 0...255: Pillow's clip8 lookup (which covers -640..639, a range no
/// filter's sum leaves) and ATen's srai + packs/packus saturation.
@inline(__always) private func clip8(_ acc: Int32, _ shift: Int32) -> UInt8 {
    let v = acc >> shift
    return v < 0 ? 0 : (v > 255 ? 255 : UInt8(truncatingIfNeeded: v))
}

// MARK: - Public API

extension RGBImage {
    /// `Image.resize((width, height), filter)` (Pillow) or torch's antialiased uint8 interpolate to
    /// `(height, width)`, bit for bit. Precondition: `width >= 1`, `height >= 1`, the image is not
    /// empty and `resampler` has `filter`.
    public func resized(width: Int, height: Int, filter: ResampleFilter = .bilinear,
                        resampler: Resampler = .pillow) -> RGBImage {
        resampled(width: width, height: height, filter: filter, resampler: resampler, window: (0, 0, width, height))
    }

    /// The `window` (x, y, width, height) of `resized(width:height:filter:resampler:)`, computing only
    /// the pixels inside it. Equal to resizing then cropping, bit for bit: every output pixel depends
    /// only on its own row and column coefficients and on the pass order, which the full size decides.
    public func resizedCrop(width: Int, height: Int, filter: ResampleFilter = .bilinear,
                            resampler: Resampler = .pillow,
                            window: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        resampled(width: width, height: height, filter: filter, resampler: resampler, window: window)
    }

    private func resampled(width W2: Int, height H2: Int, filter: ResampleFilter, resampler: Resampler,
                           window: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        precondition(W2 >= 1 && H2 >= 1, "resize to \(W2)x\(H2): width and height must be > 0")
        precondition(width >= 1 && height >= 1, "resize of an empty \(width)x\(height) image")
        precondition(resampler.filters.contains(filter), "\(resampler) has no \(filter) filter")
        let (wx, wy, ww, wh) = window
        precondition(wx >= 0 && wy >= 0 && ww >= 0 && wh >= 0 && wx + ww <= W2 && wy + wh <= H2,
                     "window (\(wx), \(wy), \(ww)x\(wh)) outside \(W2)x\(H2)")
        let W = width, H = height
        let needH = W2 != W, needV = H2 != H
        if !needH && !needV { return cropped(x: wx, y: wy, width: ww, height: wh) }
        if ww == 0 || wh == 0 { return RGBImage(width: ww, height: wh, pixels: []) }
        if filter == .nearest {
            return nearestResampled(width: W2, height: H2, resampler: resampler, window: window)
        }

        let cols = wx..<(wx + ww), rows = wy..<(wy + wh)
        func table(_ inSize: Int, _ outSize: Int) -> ResampleCoefficients {
            switch resampler {
            case .pillow: return ResampleCoefficients(inSize: inSize, outSize: outSize, filter: filter)
            case .torch: return ResampleCoefficients(torch: inSize, outSize: outSize, filter: filter)
            }
        }
        let horiz = needH ? table(W, W2) : nil
        let vert = needV ? table(H, H2) : nil
        let verticalFirst = resampler == .pillow && needH && needV && H2 < H && (H - H2) > 2 * (W - W2)

        return pixels.withUnsafeBufferPointer { srcBuf -> RGBImage in
            let src = srcBuf.baseAddress!
            let stride = W * 3
            switch (horiz, vert) {
            case let (h?, nil):
                return RGBImage(width: ww, height: wh) { out in
                    horizontalPass(src: src + wy * stride, srcStride: stride, srcColumn0: 0, rows: wh,
                                   coefficients: h, outputs: cols, dst: out.baseAddress!, dstStride: ww * 3)
                }
            case let (nil, v?):
                return RGBImage(width: ww, height: wh) { out in
                    verticalPass(src: src + wx * 3, srcStride: stride, srcRow0: 0, rowBytes: ww * 3,
                                 coefficients: v, outputs: rows, dst: out.baseAddress!, dstStride: ww * 3)
                }
            case let (h?, v?) where !verticalFirst:
                // Horizontal pass over only the input rows the window's output rows read.
                let r0 = v.inputStart(rows), r1 = v.inputEnd(rows)
                let tmp = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, (r1 - r0) * ww * 3))
                defer { tmp.deallocate() }
                horizontalPass(src: src + r0 * stride, srcStride: stride, srcColumn0: 0, rows: r1 - r0,
                               coefficients: h, outputs: cols, dst: tmp, dstStride: ww * 3)
                return RGBImage(width: ww, height: wh) { out in
                    verticalPass(src: tmp, srcStride: ww * 3, srcRow0: r0, rowBytes: ww * 3,
                                 coefficients: v, outputs: rows, dst: out.baseAddress!, dstStride: ww * 3)
                }
            case let (h?, v?):
                // Vertical first, over only the input columns the window's output columns read.
                let c0 = h.inputStart(cols), c1 = h.inputEnd(cols)
                let tw = c1 - c0
                let tmp = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, wh * tw * 3))
                defer { tmp.deallocate() }
                verticalPass(src: src + c0 * 3, srcStride: stride, srcRow0: 0, rowBytes: tw * 3,
                             coefficients: v, outputs: rows, dst: tmp, dstStride: tw * 3)
                return RGBImage(width: ww, height: wh) { out in
                    horizontalPass(src: tmp, srcStride: tw * 3, srcColumn0: c0, rows: wh,
                                   coefficients: h, outputs: cols, dst: out.baseAddress!, dstStride: ww * 3)
                }
            case (nil, nil):
                fatalError("unreachable: no pass needed is handled above")
            }
        }
    }
}

// MARK: - Kernels

/// Below this many multiply-adds a pass runs on the calling thread.
private let parallelWorkThreshold = 400_000

/// Runs `body` over `0..<count` in contiguous chunks on up to `computeThreads` threads.
func parallelChunks(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
    let threads = min(computeThreads, count, max(1, work / parallelWorkThreshold))
    if threads <= 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        body((count * t / threads)..<(count * (t + 1) / threads))
    }
}

/// Horizontal pass (Resample.c ImagingResampleHorizontal_8bpc, 3-band branch; ATen
/// ImagingResampleHorizontalConvolution8u).
///
/// Shapes and layout: `src` holds `rows` rows of interleaved RGB uint8, `srcStride` bytes apart;
/// its first byte is input column `srcColumn0`. `dst` receives `rows` rows of `outputs.count` RGB
/// pixels, `dstStride` bytes apart: dst pixel (j, r) = resized column `outputs.lowerBound + j` of
/// src row r. Per pixel and channel: acc = 2^(p-1) + sum_t src[first + t] * w[t] (Int32, p the
/// table's precision), then clip8. Integer sums, so the tap order does not matter.
///
/// Scalar on purpose: a variant that transposes 8-row blocks so each tap is a 24-wide vector
/// multiply-add measured no faster on the x86-64 baseline (SSE2 has no 32-bit vector multiply).
private func horizontalPass(src: UnsafePointer<UInt8>, srcStride: Int, srcColumn0: Int, rows: Int,
                            coefficients c: ResampleCoefficients, outputs: Range<Int>,
                            dst: UnsafeMutablePointer<UInt8>, dstStride: Int) {
    let outCount = outputs.count
    let ksize = c.ksize
    let shift = c.precision
    let taps = c.count[outputs].reduce(0, +)
    c.first.withUnsafeBufferPointer { firstBuf in
    c.count.withUnsafeBufferPointer { countBuf in
    c.weights.withUnsafeBufferPointer { weightBuf in
        let first = firstBuf.baseAddress!, count = countBuf.baseAddress!, weights = weightBuf.baseAddress!
        parallelChunks(rows, work: rows * taps * 3) { chunk in
            let bias: Int32 = 1 << (shift - 1)
            for r in chunk {
                let srow = src + r * srcStride
                let drow = dst + r * dstStride
                for j in 0..<outCount {
                    let xx = outputs.lowerBound + j
                    let n = count[xx]
                    let k = weights + xx * ksize
                    var p = srow + (first[xx] - srcColumn0) * 3
                    var s0 = bias, s1 = bias, s2 = bias
                    for t in 0..<n {
                        let w = k[t]
                        s0 &+= Int32(p[0]) &* w
                        s1 &+= Int32(p[1]) &* w
                        s2 &+= Int32(p[2]) &* w
                        p += 3
                    }
                    drow[3 * j] = clip8(s0, shift)
                    drow[3 * j + 1] = clip8(s1, shift)
                    drow[3 * j + 2] = clip8(s2, shift)
                }
            }
        }
    }}}
}

/// Vertical pass (Resample.c ImagingResampleVertical_8bpc, 3-band branch; ATen
/// ImagingResampleVerticalConvolution8u).
///
/// Shapes and layout: `src` holds rows of `rowBytes` uint8 (interleaved RGB), `srcStride` bytes
/// apart; its first row is input row `srcRow0`. `dst` receives `outputs.count` rows of `rowBytes`,
/// `dstStride` bytes apart: dst row i = resized row `outputs.lowerBound + i`. Every byte of a row
/// gets acc = 2^(p-1) + sum_t src[first + t][byte] * w[t] (Int32), then clip8; the sum runs over
/// taps one whole source row at a time (contiguous, so the compiler vectorises it).
private func verticalPass(src: UnsafePointer<UInt8>, srcStride: Int, srcRow0: Int, rowBytes: Int,
                          coefficients c: ResampleCoefficients, outputs: Range<Int>,
                          dst: UnsafeMutablePointer<UInt8>, dstStride: Int) {
    let ksize = c.ksize
    let shift = c.precision
    let taps = c.count[outputs].reduce(0, +)
    c.first.withUnsafeBufferPointer { firstBuf in
    c.count.withUnsafeBufferPointer { countBuf in
    c.weights.withUnsafeBufferPointer { weightBuf in
        let first = firstBuf.baseAddress!, count = countBuf.baseAddress!, weights = weightBuf.baseAddress!
        parallelChunks(outputs.count, work: taps * rowBytes) { chunk in
            let acc = UnsafeMutablePointer<Int32>.allocate(capacity: max(rowBytes, 1))
            defer { acc.deallocate() }
            let bias: Int32 = 1 << (shift - 1)
            for i in chunk {
                let yy = outputs.lowerBound + i
                let n = count[yy]
                let k = weights + yy * ksize
                acc.update(repeating: bias, count: rowBytes)
                for t in 0..<n {
                    let w = k[t]
                    let srow = src + (first[yy] + t - srcRow0) * srcStride
                    for b in 0..<rowBytes { acc[b] &+= Int32(srow[b]) &* w }
                }
                let drow = dst + i * dstStride
                for b in 0..<rowBytes { drow[b] = clip8(acc[b], shift) }
            }
        }
    }}}
}
