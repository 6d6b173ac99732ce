// An exact cosine-search index over image feature vectors (`vfw index`, `vfw search`).
//
// An index is a .vfw file: tensor `embeddings` [N, D] f32 (one row per image, as `VisionModel.embed` gives them),
// and metadata `vfw.index.files` (JSON array of the image paths, row order), `vfw.index.weights` (the weights
// used), `vfw.index.weights_sha256`, `vfw.index.layer` and `vfw.index.preprocess`.

import Foundation
import Imaging
import TensorCore
import VFWFormat

public struct SearchIndex {
    /// Image paths, one per row of `embeddings`.
    public var files: [String]
    /// Row-major [files.count, dimension].
    public var embeddings: [Float]
    public var dimension: Int
    /// The weights the vectors were made with, their SHA-256, the layer (nil: the family's feature) and preset.
    public var weights: String
    public var weightsSHA256: String?
    public var layer: String?
    public var preprocess: String

    /// Every .png, .jpg and .jpeg file under `folder` (recursively), sorted by path.
    public static func imageFiles(in folder: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw PipelineError.input("\(folder): not a folder")
        }
        guard let e = FileManager.default.enumerator(atPath: folder) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            if ["png", "jpg", "jpeg"].contains(ext) { out.append((folder as NSString).appendingPathComponent(rel)) }
        }
        return out.sorted()
    }

    /// Embeds `files` with `model` in batches. Unreadable images are skipped and returned with why;
    /// `progress(done, total)` is called after each batch.
    public static func build(folder: String, files: [String], model: VisionModel, layer: String?,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> (index: SearchIndex, skipped: [String]) {
        var rows: [[Float]] = [], kept: [String] = [], bad: [String] = []
        for start in stride(from: 0, to: files.count, by: model.batchSize) {
            let chunk = files[start..<min(start + model.batchSize, files.count)]
            var images: [RGBImage] = []
            for f in chunk {
                do { images.append(try ImageDecoder.decode(file: f)); kept.append(f) } catch { bad.append("\(error)") }
            }
            if !images.isEmpty { rows += try model.embed(images, layer: layer) }
            progress(start + chunk.count, files.count)
        }
        guard let d = rows.first?.count else {
            throw PipelineError.input("\(folder): none of its \(files.count) images could be read")
        }
        let source = try WeightSource.open(model.path)
        let index = SearchIndex(files: kept, embeddings: rows.flatMap { $0 }, dimension: d, weights: model.path,
                                weightsSHA256: try MappedFile.sha256(path: source.weightsPath), layer: layer,
                                preprocess: model.preprocessText)
        return (index, bad)
    }

    /// Writes the index as a .vfw file (temporary file, then rename; an existing file is kept unless `force`).
    public func write(to path: String, force: Bool, note: String) throws {
        let emb = RawTensor.float32(embeddings, shape: [files.count, dimension])
        let filesJSON = String(decoding: try JSONEncoder().encode(files), as: UTF8.self)
        var meta = ["vfw.index.files": filesJSON, "vfw.index.weights": weights, "vfw.index.layer": layer ?? "default",
                    "vfw.index.preprocess": preprocess]
        if let s = weightsSHA256 { meta["vfw.index.weights_sha256"] = s }
        let header = VFWHeader(
            provenance: .init(sourceFile: nil, sourceSHA256: nil, sourceFormat: "vfw", converter: "vfw \(vfwVersion)",
                              created: Provenance.creationTime(), notes: [note]),
            metadata: meta)
        try VFWWriter.write(to: path, header: header, tensors: [VFWTensorSource(name: "embeddings", tensor: emb)], force: force)
    }

    /// Reads an index written by `write`.
    public static func open(_ path: String) throws -> SearchIndex {
        let f = try VFWFile(path: path)
        let meta = f.header.metadata
        guard let emb = f.tensor("embeddings"), emb.shape.count == 2, emb.dtype == .f32,
              let filesJSON = meta["vfw.index.files"],
              let files = try? JSONDecoder().decode([String].self, from: Data(filesJSON.utf8)), files.count == emb.shape[0] else {
            throw PipelineError.input("\(path): not a vfw index (needs an f32 'embeddings' [N, D] tensor and vfw.index.files metadata)")
        }
        return SearchIndex(files: files, embeddings: emb.floats(), dimension: emb.shape[1], weights: meta["vfw.index.weights"] ?? "",
                           weightsSHA256: meta["vfw.index.weights_sha256"],
                           layer: meta["vfw.index.layer"].flatMap { $0 == "default" ? nil : $0 },
                           preprocess: meta["vfw.index.preprocess"] ?? "torchvision")
    }

    /// The model the index was built with: `weights` (default: the recorded path), which must have the recorded
    /// SHA-256.
    public func model(weights override: String? = nil, threads: Int? = nil, indexPath: String) throws -> VisionModel {
        let w = override ?? weights
        guard FileManager.default.fileExists(atPath: w) else {
            throw PipelineError.input("\(indexPath): the weights it was built with (\(w)) are not there; pass --weights")
        }
        let source = try WeightSource.open(w)
        if let expected = weightsSHA256, try MappedFile.sha256(path: source.weightsPath) != expected {
            throw PipelineError.input("\(w): not the weights \(indexPath) was built with (SHA-256 differs); rebuild the index")
        }
        return try VisionModel(weights: w, preprocess: preprocess, threads: threads)
    }

    /// The `top` rows most similar to `query` by cosine similarity, best first (ties: lower row first).
    public func search(_ query: [Float], top: Int) throws -> [(file: String, score: Double)] {
        guard query.count == dimension else {
            throw PipelineError.input("index vectors have \(dimension) values, the query has \(query.count)")
        }
        let scores = (0..<files.count).map { cosineSimilarity(query, Array(embeddings[($0 * dimension)..<(($0 + 1) * dimension)])) }
        return scores.indices.sorted(by: { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) })
            .prefix(top).map { (files[$0], scores[$0]) }
    }
}
