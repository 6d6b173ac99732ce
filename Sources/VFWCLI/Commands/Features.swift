// The everyday feature-extraction commands: embed, classify, similar, index, search.

import ArgumentParser
import Foundation
import Imaging
import TensorCore
import VFW

#if canImport(Glibc)
import Glibc
#endif

/// Options shared by the commands that run a model on images.
struct ModelOptions: ParsableArguments {
    @Option(help: "The model's weights (.vfw; also .pth, .safetensors or a Hugging Face folder).")
    var weights: String

    @Option(help: ArgumentHelp("Preprocessing: a preset (\(PreprocessSpec.presets.map(\.name).joined(separator: ", "))), key=value items changing the stored spec (backend=hf-pil), or a full spec; default: the one stored with the weights.", valueName: "spec"))
    var preprocess: String?

    @Option(name: .customLong("image-size"), help: ArgumentHelp("Run the model on H x W inputs (N for N x N): the preprocessing resizes / crops to that size and a ViT resamples its position table as its library does (default: the model's configured size).", valueName: "H[xW]"))
    var imageSize: String?

    @Option(help: "Compute threads (default: all cores).")
    var threads: Int?

    @Option(help: "Images per forward pass.")
    var batch: Int = 8

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be positive") }
        if let t = threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try parsedImageSize()
    }

    /// `--image-size` as (height, width), or nil.
    func parsedImageSize() throws -> (height: Int, width: Int)? {
        guard let text = imageSize else { return nil }
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), let h = parts[0], let w = parts.count == 2 ? parts[1] : h, h >= 1, w >= 1 else {
            throw ValidationError("--image-size '\(text)' is not N or HxW (positive integers, height first)")
        }
        return (h, w)
    }

    /// The model, its preprocessing and its description, ready to run.
    func load() throws -> VisionModel {
        try VisionModel(weights: weights, preprocess: preprocess, imageSize: parsedImageSize(), batchSize: batch, threads: threads)
    }
}

func loadImage(_ path: String) throws -> RGBImage { try VisionModel.decode(file: path) }

// MARK: - embed

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Feature vectors of images.",
        discussion: """
        The default vector is the pooled feature for ResNet (512-d for resnet18/34, 2048-d otherwise) and the CLS
        token of the last hidden state for ViT (after the final layer norm; 768-d for ViT-Base). --layer picks any
        module by its PyTorch name (e.g. fc for logits, layer4.1, encoder.layer.11), flattened per image.

        Examples:
          vfw embed cat.jpg dog.png --weights resnet18.vfw
          vfw embed photos/*.jpg --weights vit-base.vfw --format npy -o features.npy
          vfw embed cat.jpg --weights resnet18.vfw --layer fc
        """)

    @Argument(help: "Image files (PNG or JPEG).")
    var images: [String]

    @OptionGroup var model: ModelOptions

    @Option(help: "Module whose output to return (default: the family's feature vector).")
    var layer: String?

    @Option(help: "json or npy (float32 [N, D], NumPy's format).")
    var format: OutputFormat = .json

    @Option(name: .shortAndLong, help: "Write to this file instead of standard output (needed for npy).")
    var output: String?

    @Flag(help: "Replace OUTPUT if it exists.")
    var force = false

    enum OutputFormat: String, ExpressibleByArgument { case json, npy }

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image") }
        if format == .npy && output == nil { throw ValidationError("--format npy needs -o FILE") }
    }

    func run() throws {
        let m = try model.load()
        let decoded = try images.map(loadImage)
        let vectors = try m.embed(decoded, layer: layer)
        let bytes: [UInt8]
        switch format {
        case .json:
            struct Row: Encodable { var image: String; var layer: String; var dim: Int; var vector: [Float] }
            let name = layer ?? m.model.featureName
            let rows = zip(images, vectors).map { Row(image: $0, layer: name, dim: $1.count, vector: $1) }
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            bytes = Array(try enc.encode(rows)) + [0x0A]
        case .npy:
            bytes = NPY.float32(vectors)
        }
        if let output {
            try AtomicOutput.write(bytes, to: output, force: force)
            FileHandle.standardError.write(Data("wrote \(output): \(vectors.count) x \(vectors.first?.count ?? 0)\n".utf8))
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}

/// NumPy .npy version 1.0 (numpy/lib/format.py): magic, header dict padded to 64 bytes, raw little-endian data.
enum NPY {
    static func float32(_ rows: [[Float]]) -> [UInt8] {
        let d = rows.first?.count ?? 0
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows.count), \(d)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        out += withUnsafeBytes(of: UInt16(header.utf8.count).littleEndian, Array.init)
        out += Array(header.utf8)
        for r in rows { for v in r { out += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init) } }
        return out
    }
}

// MARK: - classify

struct Classify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The top classes of an image.",
        discussion: """
        Softmax probabilities of the classifier output. Labels come from the checkpoint's config (id2label of a
        Hugging Face config.json) when it has them, else class indices are printed.

        Examples:
          vfw classify cat.jpg --weights resnet50.vfw
          vfw classify cat.jpg --weights vit-base-in1k.vfw --top 3
        """)

    @Argument(help: "Image file (PNG or JPEG).")
    var image: String

    @OptionGroup var model: ModelOptions

    @Option(help: "How many classes to show.")
    var top: Int = 5

    func validate() throws { if top < 1 { throw ValidationError("--top must be positive") } }

    func run() throws {
        let m = try model.load()
        let z = try m.logits([try loadImage(image)])[0]
        guard z.count > 1 else { throw InputError("\(model.weights): the model has no classifier head (output has \(z.count) values); use vfw embed") }
        let maxZ = z.max()!
        let e = z.map { Double(Foundation.exp(Double($0 - maxZ))) }
        let sum = e.reduce(0, +)
        let labels = m.labels
        let order = z.indices.sorted { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }.prefix(top)
        for i in order {
            // Labels come from the checkpoint's config: escaped like any text from a file.
            let label = labels?[String(i)].map { "\(oneLine($0, limit: VFW.messageLimit)) (\(i))" } ?? "class \(i)"
            print(String(format: "%6.2f%%  %@  logit %.4f", e[i] / sum * 100, label, z[i]))
        }
    }
}

// MARK: - similar

struct Similar: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cosine similarity of two images' feature vectors.",
        discussion: """
        Example:
          vfw similar cat1.jpg cat2.jpg --weights resnet18.vfw
        """)

    @Argument(help: "First image.") var a: String
    @Argument(help: "Second image.") var b: String
    @OptionGroup var model: ModelOptions
    @Option(help: "Module whose output to compare (default: the family's feature vector).") var layer: String?

    func run() throws {
        let m = try model.load()
        let v = try m.embed([try loadImage(a), try loadImage(b)], layer: layer)
        print(String(format: "%.6f", cosineSimilarity(v[0], v[1])))
    }
}
