// The two presets vfw had before PreprocessSpec, kept as an enum for the command line until it takes
// specs (issue 15 item 4 wiring). Each case is a named PreprocessSpec; `hfViT` keeps its old meaning,
// transformers' PIL backend (the spec preset "hf-vit-pil"), until then.

import TensorCore

/// A preprocessing preset by its old name: RGB image in, normalised NCHW float tensor out.
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

    /// The spec this preset runs.
    public var spec: PreprocessSpec {
        PreprocessSpec.preset(self == .torchvision ? "torchvision" : "hf-vit-pil")!
    }

    /// Side of the square tensor the preset produces.
    public var outputSize: Int { 224 }

    /// Per-channel mean and std, as the Python pipeline states them (Python floats).
    public var mean: [Double] { spec.mean! }
    public var std: [Double] { spec.std! }

    /// The preprocessed image as a `[1, 3, 224, 224]` tensor.
    public func tensor(from image: RGBImage) -> Tensor { spec.tensor(from: image) }

    /// The preprocessed images stacked as `[N, 3, 224, 224]`. Precondition: `images` is not empty.
    public func batch(_ images: [RGBImage]) -> Tensor { spec.batch(images) }

    /// The 224x224 uint8 image the preset turns into floats (after resize and crop).
    public func resizedImage(_ image: RGBImage) -> RGBImage { spec.resizedImage(image) }

    /// value[c][v]: the final float for a byte `v` in channel `c`.
    var lookupTable: [Float] { spec.lookupTable }
}
