// A model ready to run on images: weights opened and recognised, the network built (strictly), its
// preprocessing chosen. What `vfw embed / classify / similar / index / search` use, and what a Swift program
// uses to do the same (README "Use from Swift").
//
//   let model = try VisionModel(weights: "resnet18.vfw")
//   let image = try VisionModel.decode(file: "cat.jpg")
//   let vector = try model.features(of: image)        // 512 floats: the pooled feature
//   let logits = try model.output(of: image)           // 1000 floats
//   let block = try model.output(of: image, layer: "layer4.1")

import Foundation
import Imaging
import Models
import TensorCore

/// A built model, its description and its preprocessing.
public struct VisionModel {
    /// The network.
    public let model: AnyModel
    /// Which model it is (name, family, config).
    public var description: ModelDescription { model.description }
    /// The preprocessing applied to images before the network.
    public let preprocess: PreprocessSpec
    /// Images per forward pass.
    public var batchSize: Int
    /// The weight file the model came from, for messages.
    public let path: String
    /// Threads and instruction set its kernels run with (two models in one process can differ).
    public let context: ComputeContext

    /// Opens `weights` (.vfw, .pth/.pt/.bin, .safetensors, a sharded index or a Hugging Face folder), recognises
    /// the model and builds it. Preprocessing is the spec stored with the weights (a model folder's
    /// preprocessor_config.json, else the family's default); `preprocess` (PreprocessSpec's text form) replaces it
    /// with a preset or full spec, or changes some of its keys (`backend=hf-pil`). `threads` sets this model's
    /// compute threads (default: the process default, every core).
    /// `imageSize` (height, width) makes the preprocessing produce inputs of that size (`PreprocessSpec.sized`):
    /// a ViT from transformers or timm then runs with its position table resampled as its library does.
    public init(weights: String, preprocess: String? = nil, imageSize: (height: Int, width: Int)? = nil,
                batchSize: Int = 8, threads: Int? = nil) throws {
        let c = try CanonicalWeights.of(try WeightSource.open(weights))
        let model = try c.build()
        var spec = try c.preprocessingSpec(overriddenBy: preprocess)
        if let size = imageSize {
            do { spec = try spec.sized(height: size.height, width: size.width) } catch { throw PipelineError.input("\(error)") }
            if let s = model.imageSize, size.height != s || size.width != s {
                throw PipelineError.input("\(weights): --image-size \(size.height)x\(size.width): the model takes \(s)x\(s) images only (its layout has no rule for resampling the position table)")
            }
        }
        // A model built for one size (a ViT's position embeddings) cannot take another as it is.
        if let s = model.imageSize {
            guard let out = spec.fixedOutputSize, out.height == s, out.width == s else {
                let makes = spec.fixedOutputSize.map { "\($0.height)x\($0.width)" } ?? "images of varying size (no crop)"
                throw PipelineError.input("\(weights): the model takes \(s)x\(s) images, the preprocessing (\(spec.presetName ?? spec.text)) makes \(makes); pass --preprocess with crop=\(s) or resize=\(s)x\(s)")
            }
        }
        self.init(model: model, preprocess: spec, batchSize: batchSize, path: weights,
                  context: threads.map { ComputeContext(threads: $0) } ?? .current)
    }

    /// A model already built (for instance with synthetic weights), run with `preprocess` in `context`.
    public init(model: AnyModel, preprocess: PreprocessSpec, batchSize: Int = 8, path: String = "model", context: ComputeContext = .current) {
        precondition(batchSize >= 1, "VisionModel: batchSize must be positive")
        self.model = model
        self.preprocess = preprocess
        self.batchSize = batchSize
        self.path = path
        self.context = context
    }

    /// The preprocessing as stored and shown: a preset name, or the spec's full text form.
    public var preprocessText: String { preprocess.presetName ?? preprocess.text }

    /// Decodes a PNG or JPEG file as Pillow's `Image.open(path).convert("RGB")` does.
    public static func decode(file path: String) throws -> RGBImage {
        do { return try ImageDecoder.decode(file: path) } catch let e as ImagingError { throw PipelineError.input("\(e)") }
    }

    /// The preprocessed batch of `images`, `[N, 3, H, W]` (every image must give the same size; see `batches`).
    public func input(_ images: [RGBImage]) -> Tensor { preprocess.batch(images) }

    /// The family's feature vector of every image (ResNet: the pooled vector; ViT: the CLS token of the last hidden
    /// state), or the output of module `layer` flattened per image. Runs in batches of `batchSize`.
    public func embed(_ images: [RGBImage], layer: String? = nil) throws -> [[Float]] {
        try batches(images) { x in
            guard let layer else { return model.features(x) }
            let taps = TapRecorder(.names([layer]))
            _ = model(x, taps: taps)
            guard let v = taps.recorded.first?.value else {
                throw PipelineError.input("--layer \(layer): the model has no module of that name; modules are named like \(taps.offered.prefix(6).joined(separator: ", "))")
            }
            return v
        }
    }

    /// The network's output (logits for a classifier) for every image.
    public func logits(_ images: [RGBImage]) throws -> [[Float]] {
        try batches(images) { model($0) }
    }

    /// The feature vector of one image.
    public func features(of image: RGBImage) throws -> [Float] { try embed([image])[0] }

    /// The network's output for one image, or module `layer`'s output flattened.
    public func output(of image: RGBImage, layer: String? = nil) throws -> [Float] {
        try layer.map { try embed([image], layer: $0)[0] } ?? logits([image])[0]
    }

    /// Class labels from the checkpoint's config (id2label), when it names them.
    public var labels: [String: String]? {
        description.config["id2label"]?.objectValue?.compactMapValues(\.stringValue)
    }

    private func batches(_ images: [RGBImage], _ run: (Tensor) throws -> Tensor) throws -> [[Float]] {
        var out: [[Float]] = []
        // A spec without a crop or an exact resize keeps each image's aspect ratio: one image per pass.
        let step = preprocess.fixedOutputSize == nil ? 1 : batchSize
        for start in stride(from: 0, to: images.count, by: step) {
            let x = input(Array(images[start..<min(start + step, images.count)]))
            let y = try context.run { try run(x) }
            let n = y.shape[0], d = n == 0 ? 0 : y.count / n
            for i in 0..<n { out.append(Array(y.data[(i * d)..<((i + 1) * d)])) }
        }
        return out
    }
}

/// Cosine similarity of two vectors, in Double (0 when either is all zeros).
public func cosineSimilarity(_ a: [Float], _ b: [Float]) -> Double {
    var dot = 0.0, na = 0.0, nb = 0.0
    for i in 0..<min(a.count, b.count) {
        dot += Double(a[i]) * Double(b[i]); na += Double(a[i]) * Double(a[i]); nb += Double(b[i]) * Double(b[i])
    }
    return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
}
