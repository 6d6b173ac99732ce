// A model's input pipeline as data: resize rule, interpolation, center crop, rescale, mean/std, and
// the backend whose arithmetic is reproduced. Every step is exactly one of the libraries':
//
// backend `pil`: torchvision.transforms on a PIL image (torchvision weights' `transforms()`, timm's
//   eval transform): Resize (Pillow `Image.resize`), CenterCrop, ToTensor, Normalize.
//   * CenterCrop (torchvision F.center_crop): top = int(round((h - crop) / 2.0)), Python's round is
//     half to even; a crop larger than the image first zero-pads (crop - h) // 2 on top.
//   * ToTensor: uint8 -> float32, `.div(255)`; Normalize: `sub_(mean).div_(std)` in float32.
// backend `hf-pil`: transformers' *ImageProcessorPil (PilBackend._preprocess):
//   * resize: image_transforms.resize -> Pillow `Image.resize`, no reducing_gap;
//   * center_crop (image_transforms.center_crop): top = (h - crop) // 2; a crop larger than the image
//     zero-pads ceil((crop - h) / 2) on top;
//   * rescale: `image.astype(float64) * scale`, then `.astype(float32)`;
//   * normalize: `(image - mean) / std` in float32 (mean, std as float32 arrays).
// backend `hf-torchvision`: transformers 5's default processors (TorchvisionBackend._preprocess):
//   * the PIL image becomes a uint8 tensor; resize: torchvision.transforms.v2.functional.resize(uint8,
//     antialias=True) = torch's uint8 antialiased interpolate (Resample.swift), NEAREST -> nearest-exact;
//   * center_crop: top = int((h - crop) / 2.0); a crop larger than the image zero-pads (crop - h) // 2;
//   * rescale and normalize fused (_fuse_mean_std_and_rescale_factor): mean' = float32(mean) *
//     float32(1 / rescale_factor), std' likewise, then `(float32(x) - mean') / std'`; rescale alone is
//     float32(x) * float32(rescale_factor).
// transformers' do_convert_rgb (convert_to_rgb) composites a transparent image onto white before all
// that: `transparency` .white (Pillow's AlphaComposite over Pillow's convert("RGBA"); RGBImage.alpha).
// Two transformers quirks are fields: `rescaleOffset` (EfficientNet's rescale_offset: subtract 1 after
// rescaling, which also stops the fusion) and `stdAgain` (EfficientNet's include_top: a second
// normalize with mean 0 and the same std).
//
// The value of every output element depends only on its channel and its uint8 value after resize
// and crop, so the float stage is a 3 x 256 table computed with exactly that arithmetic.

import Foundation
import TensorCore

/// A preprocessing pipeline: RGB image in, normalised NCHW float tensor out.
public struct PreprocessSpec: Sendable, Equatable, Hashable {
    /// Whose pipeline, and so whose resize, crop rounding and float arithmetic.
    public enum Backend: String, Sendable, CaseIterable, Codable {
        /// torchvision.transforms on a PIL image (torchvision weights, timm).
        case pil = "pil"
        /// transformers' PIL backend (*ImageProcessorPil).
        case hfPil = "hf-pil"
        /// transformers 5's default, torchvision-backend processors (uint8 tensors).
        case hfTorchvision = "hf-torchvision"

        /// The resampler this backend's resize runs.
        public var resampler: Resampler { self == .hfTorchvision ? .torch : .pillow }
    }

    /// What happens to a transparent image's alpha before anything else.
    public enum Transparency: String, Sendable, CaseIterable, Codable {
        /// Dropped: Pillow's `convert("RGB")`, what torchvision and timm pipelines and transformers
        /// processors without do_convert_rgb are given.
        case drop
        /// Composited onto white: transformers' convert_to_rgb (do_convert_rgb=True, e.g. CLIP, SigLIP,
        /// BiT/DINOv2), applied to the image as Pillow opened it.
        case white
    }

    /// How the image is resized before cropping.
    public enum Resize: Sendable, Equatable, Hashable {
        /// Not resized.
        case none
        /// The shorter side becomes `n`, the longer `int(n * long / short)` (torchvision `Resize(n)`,
        /// transformers `{"shortest_edge": n}`; a square image counts its width as the shorter side).
        case shortestEdge(Int)
        /// Exactly `height` x `width`, aspect ratio not kept.
        case size(height: Int, width: Int)
        /// timm's crop_pct rule: the shorter side becomes floor(crop / pct) (the crop must be square).
        case cropPct(Double)
    }

    public var backend: Backend
    public var resize: Resize
    public var interpolation: ResampleFilter
    /// Center crop (height, width), or nil.
    public var crop: Size?
    /// Rescale factor (transformers' `rescale_factor`; 1/255 for torchvision's ToTensor), or nil: no rescale.
    public var rescale: Double?
    /// transformers' EfficientNet `rescale_offset`: subtract 1 after rescaling.
    public var rescaleOffset: Bool
    /// Per-channel mean and std (three values each), or nil: no normalisation.
    public var mean: [Double]?
    public var std: [Double]?
    /// transformers' EfficientNet `include_top`: divide by std a second time.
    public var stdAgain: Bool
    /// Alpha dropped (Pillow's convert("RGB")) or composited onto white (transformers' do_convert_rgb).
    public var transparency: Transparency

    /// A height and width.
    public struct Size: Sendable, Equatable, Hashable {
        public var height: Int
        public var width: Int
        public init(height: Int, width: Int) { self.height = height; self.width = width }
        public init(_ side: Int) { self.init(height: side, width: side) }
    }

    public init(backend: Backend, resize: Resize, interpolation: ResampleFilter = .bilinear, crop: Size? = nil,
                rescale: Double? = 1.0 / 255.0, rescaleOffset: Bool = false, mean: [Double]? = nil,
                std: [Double]? = nil, stdAgain: Bool = false, transparency: Transparency = .drop) {
        self.backend = backend
        self.resize = resize
        self.interpolation = interpolation
        self.crop = crop
        self.rescale = rescale
        self.rescaleOffset = rescaleOffset
        self.mean = mean
        self.std = std
        self.stdAgain = stdAgain
        self.transparency = transparency
    }

    /// Largest side a spec may ask for.
    public static let maxSide = 16384

    /// Throws `ImagingError.badPreprocess` naming `source` when the spec cannot be run: sizes outside
    /// 1...16384, a filter the backend lacks, mean/std not three finite values (std non-zero), a
    /// crop_pct rule without a square crop, a rescale torchvision's ToTensor does not do.
    public func validate(source: String) throws {
        func bad(_ reason: String) -> ImagingError { .badPreprocess(source: source, reason: reason) }
        func side(_ n: Int, _ what: String) throws {
            guard n >= 1 && n <= PreprocessSpec.maxSide else { throw bad("\(what) \(n) is outside 1...\(PreprocessSpec.maxSide)") }
        }
        switch resize {
        case .none: break
        case let .shortestEdge(n): try side(n, "resize")
        case let .size(h, w): try side(h, "resize height"); try side(w, "resize width")
        case let .cropPct(p):
            guard p.isFinite && p > 0 && p <= 4 else { throw bad("crop_pct \(p) is outside (0, 4]") }
            guard let c = crop, c.height == c.width else {
                throw bad("crop_pct needs a square crop (it resizes the shorter side to floor(crop / crop_pct))")
            }
            try side(Int((Double(c.height) / p).rounded(.down)), "crop / crop_pct")
        }
        if let c = crop { try side(c.height, "crop height"); try side(c.width, "crop width") }
        guard backend.resampler.filters.contains(interpolation) else {
            throw bad("\(interpolation.rawValue) interpolation is Pillow's only; the \(backend.rawValue) backend has \(backend.resampler.filters.map(\.rawValue).joined(separator: ", "))")
        }
        if let r = rescale, !(r.isFinite && r > 0) { throw bad("rescale \(r) must be a positive number") }
        switch (mean, std) {
        case (nil, nil): break
        case let (m?, s?):
            guard m.count == 3, s.count == 3, (m + s).allSatisfy(\.isFinite) else {
                throw bad("mean and std need three finite values each (one per RGB channel)")
            }
            guard !s.contains(0) else { throw bad("std has a zero, which would divide by zero") }
        default: throw bad("mean and std come together: give both or neither")
        }
        if stdAgain && std == nil { throw bad("std_again needs std") }
        if backend == .pil {
            // torchvision's ToTensor always divides by 255; there is nothing else to configure.
            guard rescale == 1.0 / 255.0 else { throw bad("the pil backend (torchvision ToTensor) rescales by 1/255 exactly; got \(rescale.map { "\($0)" } ?? "none")") }
            guard !rescaleOffset && !stdAgain else { throw bad("rescale_offset and std_again are transformers' EfficientNet options; use an hf backend") }
        }
        if rescaleOffset && rescale == nil { throw bad("rescale_offset needs a rescale") }
    }

    // MARK: Geometry

    /// The size after the resize step, (width, height), for an input of `width` x `height`.
    public func resizedSize(width w: Int, height h: Int) -> (width: Int, height: Int) {
        switch resize {
        case .none: return (w, h)
        case let .shortestEdge(n): return PreprocessSpec.shortestEdgeSize(width: w, height: h, shorter: n)
        case let .size(height, width): return (width, height)
        case let .cropPct(p):
            // timm: scale_size = math.floor(img_size / crop_pct); transformers ConvNext: int(size / crop_pct).
            let n = Int((Double(crop!.height) / p).rounded(.down))
            return PreprocessSpec.shortestEdgeSize(width: w, height: h, shorter: n)
        }
    }

    /// torchvision `_compute_resized_output_size(image_size, [shorter])` (and transformers'
    /// get_resize_output_image_size with default_to_square=False): (width, height).
    public static func shortestEdgeSize(width w: Int, height h: Int, shorter: Int) -> (width: Int, height: Int) {
        precondition(w >= 1 && h >= 1, "image size \(w)x\(h)")
        let (short, long) = w <= h ? (w, h) : (h, w)
        // Python: int(requested * long / short) - exact ints, one correctly rounded division, truncation.
        let newLong = Int(Double(shorter * long) / Double(short))
        return w <= h ? (shorter, newLong) : (newLong, shorter)
    }

    /// Where a `crop`-long window starts along an axis of length `size`: negative when the crop is
    /// longer (the image then sits that far inside zero padding).
    public func cropOffset(size n: Int, crop c: Int) -> Int {
        if c > n {
            switch backend {
            case .pil, .hfTorchvision: return -((c - n) / 2)     // pad (c - n) // 2 before
            case .hfPil: return -((c - n + 1) / 2)                // pad ceil((c - n) / 2) before
            }
        }
        switch backend {
        case .pil: return Int((Double(n - c) / 2.0).rounded(.toNearestOrEven))   // int(round(x / 2.0))
        case .hfPil: return (n - c) / 2                                            // (n - c) // 2
        case .hfTorchvision: return Int(Double(n - c) / 2.0)                       // int(x / 2.0)
        }
    }

    /// The (width, height) of the output for an input of `width` x `height`.
    public func outputSize(width w: Int, height h: Int) -> (width: Int, height: Int) {
        if let c = crop { return (c.width, c.height) }
        return resizedSize(width: w, height: h)
    }

    /// The same pipeline making `height` x `width` inputs (`--image-size`; tools/make_reference.py
    /// `--image-size` does the same with the libraries' own processors):
    ///   no crop:                   resize exactly to height x width (transformers `size={"height", "width"}`);
    ///   crop_pct (timm), square:   crop = the size, shorter side floor(size / crop_pct) (timm's
    ///                              `resolve_data_config({"input_size": (3, S, S)})`); non-square is refused
    ///                              (timm then resizes with ResizeKeepRatio, which vfw does not implement);
    ///   resize + crop:             crop = the size, the resize scaled by f = max(height / crop height,
    ///                              width / crop width): shortest edge ⌊s·f + 0.5⌋, or ⌊h·height/crop height +
    ///                              0.5⌋ x ⌊w·width/crop width + 0.5⌋ for an exact resize (transformers
    ///                              `size=..., crop_size=...`).
    public func sized(height: Int, width: Int, source: String = "--image-size") throws -> PreprocessSpec {
        func bad(_ reason: String) -> ImagingError { .badPreprocess(source: source, reason: reason) }
        guard (1...PreprocessSpec.maxSide).contains(height), (1...PreprocessSpec.maxSide).contains(width) else {
            throw bad("\(height)x\(width) is outside 1...\(PreprocessSpec.maxSide)")
        }
        var out = self
        guard let c = crop else {
            out.resize = .size(height: height, width: width)
            return out
        }
        out.crop = Size(height: height, width: width)
        func scaled(_ n: Int, _ f: Double) -> Int { Int((Double(n) * f + 0.5).rounded(.down)) }
        switch resize {
        case .none: break
        case .cropPct:
            guard height == width else {
                throw bad("a non-square \(height)x\(width) input with timm's crop_pct rule (timm resizes with ResizeKeepRatio then, which vfw does not implement); give a square size or --preprocess with resize=HxW")
            }
        case let .shortestEdge(n):
            out.resize = .shortestEdge(scaled(n, max(Double(height) / Double(c.height), Double(width) / Double(c.width))))
        case let .size(h, w):
            out.resize = .size(height: scaled(h, Double(height) / Double(c.height)), width: scaled(w, Double(width) / Double(c.width)))
        }
        try out.validate(source: source)
        return out
    }

    /// The output (height, width) when it does not depend on the input (a crop or an exact resize), else nil.
    public var fixedOutputSize: Size? {
        if let c = crop { return c }
        if case let .size(h, w) = resize { return Size(height: h, width: w) }
        return nil
    }

    /// The uint8 image the spec turns into floats (after resize and crop; zero where a crop pads).
    public func resizedImage(_ original: RGBImage) -> RGBImage {
        let image = transparency == .white ? original.compositedOnWhite() : original
        let (rw, rh) = resizedSize(width: image.width, height: image.height)
        let resampler = backend.resampler
        guard let c = crop else {
            return image.resized(width: rw, height: rh, filter: interpolation, resampler: resampler)
        }
        let x0 = cropOffset(size: rw, crop: c.width), y0 = cropOffset(size: rh, crop: c.height)
        // The part of the crop window inside the resized image.
        let ix0 = max(x0, 0), iy0 = max(y0, 0)
        let ix1 = min(x0 + c.width, rw), iy1 = min(y0 + c.height, rh)
        let inner = image.resizedCrop(width: rw, height: rh, filter: interpolation, resampler: resampler,
                                      window: (ix0, iy0, ix1 - ix0, iy1 - iy0))
        if x0 >= 0 && y0 >= 0 && x0 + c.width <= rw && y0 + c.height <= rh { return inner }
        // Zero padding around it.
        let dx = ix0 - x0, dy = iy0 - y0
        var out = [UInt8](repeating: 0, count: c.width * c.height * 3)
        for row in 0..<inner.height {
            let from = row * inner.width * 3, to = ((dy + row) * c.width + dx) * 3
            for i in 0..<(inner.width * 3) { out[to + i] = inner.pixels[from + i] }
        }
        return RGBImage(width: c.width, height: c.height, pixels: out)
    }

    // MARK: Arithmetic

    /// value[c * 256 + v]: the final float for a byte `v` in channel `c`, with the backend's arithmetic.
    public var lookupTable: [Float] {
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            // torch.as_tensor(list of Python floats, dtype=float32) / np.array(..., dtype=float32):
            // each double rounded once to float.
            let m = mean.map { Float($0[c]) }, s = std.map { Float($0[c]) }
            for v in 0..<256 {
                var x: Float
                switch backend {
                case .pil:
                    x = Float(v) / Float(255)                                   // ToTensor: .div(255) in float32
                    if let m, let s { x = (x - m) / s }                         // sub_, then div_
                case .hfPil:
                    x = rescale.map { Float(Double(v) * $0) } ?? Float(v)       // float64 multiply, astype(float32)
                    if rescaleOffset { x -= 1 }
                    if let m, let s { x = (x - m) / s }
                case .hfTorchvision:
                    if let r = rescale, let m, let s, !rescaleOffset {
                        // torch.tensor(mean) * (1.0 / rescale_factor): a float32 tensor times a Python
                        // float, computed in float32.
                        let k = Float(1.0 / r)
                        x = (Float(v) - m * k) / (s * k)
                    } else {
                        x = Float(v)
                        if let r = rescale { x = x * Float(r); if rescaleOffset { x -= 1 } }
                        if let m, let s { x = (x - m) / s }
                    }
                }
                if stdAgain, let s { x = (x - 0) / s }
                table[c * 256 + v] = x
            }
        }
        return table
    }

    // MARK: Tensors

    /// The preprocessed image as a `[1, 3, H, W]` tensor.
    public func tensor(from image: RGBImage) -> Tensor {
        tensor(resized: resizedImage(image))
    }

    /// The `[1, 3, H, W]` tensor of an image already resized and cropped (`resizedImage`).
    public func tensor(resized small: RGBImage) -> Tensor {
        Tensor(shape: [1, 3, small.height, small.width]) { out in
            write(small, table: lookupTable, into: out)
        }
    }

    /// The preprocessed images stacked as `[N, 3, H, W]`. Precondition: `images` is not empty and
    /// every image gives the same output size (always true with a crop or an exact resize).
    public func batch(_ images: [RGBImage]) -> Tensor {
        precondition(!images.isEmpty, "PreprocessSpec.batch of no images")
        let sizes = images.map { outputSize(width: $0.width, height: $0.height) }
        let (w, h) = sizes[0]
        precondition(sizes.allSatisfy { $0 == (w, h) }, "PreprocessSpec.batch: images give different sizes; the spec needs a crop or an exact resize")
        let plane = 3 * w * h
        let table = lookupTable
        return Tensor(shape: [images.count, 3, h, w]) { out in
            for (i, image) in images.enumerated() {
                write(resizedImage(image), table: table,
                      into: UnsafeMutableBufferPointer(rebasing: out[(i * plane)..<((i + 1) * plane)]))
            }
        }
    }

    /// Writes the CHW floats of the resized image `small` into `out` (3 * width * height floats).
    private func write(_ small: RGBImage, table: [Float], into out: UnsafeMutableBufferPointer<Float>) {
        let n = small.width * small.height
        precondition(out.count == 3 * n)
        small.pixels.withUnsafeBufferPointer { px in
            table.withUnsafeBufferPointer { lut in
                let o = out.baseAddress!
                for c in 0..<3 {
                    let plane = o + c * n
                    let l = lut.baseAddress! + c * 256
                    for i in 0..<n { plane[i] = l[Int(px[3 * i + c])] }
                }
            }
        }
    }
}
