// The two input pipelines vfw's models were trained with, reproduced on RGBImage:
//
// torchvision (ImageNet classification weights, e.g. ResNet50_Weights.IMAGENET1K_V1.transforms()):
//   Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std), on a PIL image:
//   * Resize(256): torchvision.transforms.functional._compute_resized_output_size: the shorter side
//     becomes 256, the longer `int(256 * long / short)` (truncated; w == h counts w as the short
//     side); then F_pil.resize = PIL `img.resize((w, h), BILINEAR)` (PIL's filter always
//     antialiases when shrinking). Same size: the image is returned untouched.
//   * CenterCrop(224): top = int(round((h - 224) / 2.0)), left likewise; Python's round() is
//     half-to-even.
//   * ToTensor: uint8 -> float32, `.div(255)` (true float32 division).
//   * Normalize: `tensor.sub_(mean).div_(std)` with float32 mean/std tensors.
//
// hf-vit (transformers 5.24 ViTImageProcessorPil, the PIL backend; AutoImageProcessor picks it with
// backend="pil", older releases called it the "slow" ViTImageProcessor):
//   * resize to 224x224 (aspect ratio not kept) with PIL BILINEAR, no reducing_gap
//     (image_transforms.resize -> PIL Image.resize);
//   * rescale 1/255: `image.astype(np.float64) * scale`, then `.astype(np.float32)`
//     (image_transforms.rescale);
//   * normalize mean = std = 0.5: `(image - mean) / std` in float32 (image_transforms.normalize).
//   transformers' default ViTImageProcessor in 5.x is the torchvision backend, which resizes with
//   torch's antialiased bilinear instead of PIL's and gives slightly different numbers.
//
// The final value of every element depends only on its channel and its uint8 value, so each preset
// builds a 3 x 256 lookup table with exactly the Python arithmetic and the per-pixel work is a lookup.

import TensorCore

/// A preprocessing pipeline: RGB image in, normalised NCHW float tensor out.
public enum Preprocess: String, Sendable, CaseIterable {
    /// torchvision ImageNet eval: Resize(256) shorter side, CenterCrop(224), ToTensor, Normalize.
    case torchvision = "torchvision"
    /// transformers ViTImageProcessorPil: resize to 224x224 bilinear, rescale 1/255, normalize 0.5 / 0.5.
    case hfViT = "hf-vit"

    /// The preset called `name` ("torchvision", "hf-vit"; case-insensitive), or nil.
    public init?(name: String) {
        guard let p = Preprocess(rawValue: name.lowercased()) else { return nil }
        self = p
    }

    /// Side of the square tensor the preset produces.
    public var outputSize: Int { 224 }

    /// Per-channel mean and std, as the Python pipeline states them (Python floats).
    public var mean: [Double] {
        switch self {
        case .torchvision: return [0.485, 0.456, 0.406]
        case .hfViT: return [0.5, 0.5, 0.5]
        }
    }

    public var std: [Double] {
        switch self {
        case .torchvision: return [0.229, 0.224, 0.225]
        case .hfViT: return [0.5, 0.5, 0.5]
        }
    }

    /// The preprocessed image as a `[1, 3, 224, 224]` tensor.
    public func tensor(from image: RGBImage) -> Tensor {
        let s = outputSize
        return Tensor(shape: [1, 3, s, s]) { out in write(image, into: out) }
    }

    /// The preprocessed images stacked as `[N, 3, 224, 224]`. Precondition: `images` is not empty.
    public func batch(_ images: [RGBImage]) -> Tensor {
        precondition(!images.isEmpty, "Preprocess.batch of no images")
        let s = outputSize, plane = 3 * s * s
        return Tensor(shape: [images.count, 3, s, s]) { out in
            for (i, image) in images.enumerated() {
                write(image, into: UnsafeMutableBufferPointer(rebasing: out[(i * plane)..<((i + 1) * plane)]))
            }
        }
    }

    /// The 224x224 uint8 image the preset turns into floats (after resize and crop).
    public func resizedImage(_ image: RGBImage) -> RGBImage {
        let s = outputSize
        switch self {
        case .torchvision:
            let (w, h) = Preprocess.torchvisionResizedSize(width: image.width, height: image.height, shorter: 256)
            precondition(w >= s && h >= s, "Resize(256) gave \(w)x\(h), smaller than the crop")
            let top = Preprocess.centerCropOffset(h, s), left = Preprocess.centerCropOffset(w, s)
            if w == image.width && h == image.height {
                return image.cropped(x: left, y: top, width: s, height: s)  // F.resize returns img as is
            }
            // Only the cropped window is computed; bit-identical to resize-then-crop.
            return image.resizedCrop(width: w, height: h, filter: .bilinear, window: (left, top, s, s))
        case .hfViT:
            return image.resized(width: s, height: s, filter: .bilinear)
        }
    }

    /// torchvision `_compute_resized_output_size(image_size, [shorter])`: (width, height).
    public static func torchvisionResizedSize(width w: Int, height h: Int, shorter: Int) -> (width: Int, height: Int) {
        precondition(w >= 1 && h >= 1, "image size \(w)x\(h)")
        let (short, long) = w <= h ? (w, h) : (h, w)
        // Python: int(requested * long / short) - exact ints, one correctly rounded division, truncation.
        let newLong = Int(Double(shorter * long) / Double(short))
        return w <= h ? (shorter, newLong) : (newLong, shorter)
    }

    /// torchvision center_crop offset: `int(round((size - crop) / 2.0))`, round half to even.
    public static func centerCropOffset(_ size: Int, _ crop: Int) -> Int {
        Int((Double(size - crop) / 2.0).rounded(.toNearestOrEven))
    }

    /// value[c][v]: the final float for a byte `v` in channel `c`, with the Python arithmetic.
    var lookupTable: [Float] {
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            // torch.as_tensor(list of Python floats, dtype=float32) / np.array(..., dtype=float32):
            // each double rounded once to float.
            let m = Float(mean[c]), sd = Float(std[c])
            for v in 0..<256 {
                let x: Float
                switch self {
                case .torchvision: x = Float(v) / Float(255)                 // ToTensor: .div(255) in float32
                case .hfViT: x = Float(Double(v) * (1.0 / 255.0))            // float64 multiply, then astype(float32)
                }
                table[c * 256 + v] = (x - m) / sd                             // float32 sub, then div
            }
        }
        return table
    }

    /// Writes the `3 x 224 x 224` CHW floats of `image` into `out`.
    private func write(_ image: RGBImage, into out: UnsafeMutableBufferPointer<Float>) {
        let s = outputSize
        precondition(out.count == 3 * s * s)
        let small = resizedImage(image)
        let table = lookupTable
        small.pixels.withUnsafeBufferPointer { px in
            table.withUnsafeBufferPointer { lut in
                let o = out.baseAddress!
                for c in 0..<3 {
                    let plane = o + c * s * s
                    let l = lut.baseAddress! + c * 256
                    for i in 0..<(s * s) { plane[i] = l[Int(px[3 * i + c])] }
                }
            }
        }
    }
}
