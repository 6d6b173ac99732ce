// `vfw index DIR -o INDEX` and `vfw search INDEX QUERY`: exact cosine search over image feature vectors.
//
// An index is a .vfw file: tensor `embeddings` [N, D] f32 (one row per image, as `vfw embed` gives them),
// and metadata `vfw.index.files` (JSON array of the image paths, row order), `vfw.index.weights` (the weights
// used), `vfw.index.weights_sha256`, `vfw.index.layer` and `vfw.index.preprocess`.

import ArgumentParser
import Foundation
import Imaging
import Models
import TensorCore
import VFWFormat

#if canImport(Glibc)
import Glibc
#endif

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Embed every image in a folder into a search index.",
        discussion: """
        Walks DIR recursively for .png, .jpg and .jpeg files (sorted by path), embeds them in batches and writes
        the index (a .vfw file). Unreadable images are skipped and listed; the rest are indexed.

        Example:
          vfw index photos/ --weights resnet18.vfw -o photos.vfw
        """)

    @Argument(help: "Folder of images.") var folder: String
    @OptionGroup var model: ModelOptions
    @Option(help: "Module whose output to index (default: the family's feature vector).") var layer: String?
    @Option(name: .shortAndLong, help: "The index file to write (.vfw).") var output: String
    @Flag(help: "Replace OUTPUT if it exists.") var force = false

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw InputError("\(folder): not a folder")
        }
        if !force && FileManager.default.fileExists(atPath: output) { throw InputError("\(output): already exists; pass --force to replace it") }
        let files = imageFiles(in: folder)
        guard !files.isEmpty else { throw InputError("\(folder): holds no .png, .jpg or .jpeg files") }
        let m = try model.load()
        var rows: [[Float]] = [], kept: [String] = [], bad: [String] = []
        let start = DispatchTime.now().uptimeNanoseconds
        let tty = isatty(2) != 0
        for chunkStart in stride(from: 0, to: files.count, by: m.batch) {
            let chunk = files[chunkStart..<min(chunkStart + m.batch, files.count)]
            var images: [RGBImage] = []
            for f in chunk {
                do { images.append(try ImageDecoder.decode(file: f)); kept.append(f) } catch { bad.append("\(error)") }
            }
            if !images.isEmpty { rows += try m.embed(images, layer: layer) }
            let done = chunkStart + chunk.count
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let line = "indexing: \(done)/\(files.count) images, \(String(format: "%.1f", Double(done) / max(secs, 1e-9))) images/s"
            if tty { FileHandle.standardError.write(Data("\r\(line)".utf8)) }
            else if done == files.count || (chunkStart / m.batch) % 10 == 9 { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        // File names come from the folder, so from whoever filled it: escaped like any text from a file.
        for b in bad { FileHandle.standardError.write(Data("skipped: \(oneLine(b, limit: VFW.messageLimit))\n".utf8)) }
        guard !rows.isEmpty else { throw InputError("\(folder): none of its \(files.count) images could be read") }
        let d = rows[0].count
        let emb = RawTensor.float32(rows.flatMap { $0 }, shape: [rows.count, d])
        let filesJSON = String(decoding: try JSONEncoder().encode(kept), as: UTF8.self)
        let sha = try MappedFile.sha256(path: (try WeightSource.open(model.weights)).weightsPath)
        let header = VFWHeader(
            provenance: .init(sourceFile: nil, sourceSHA256: nil, sourceFormat: "vfw", converter: "vfw \(vfwVersion)",
                              created: Provenance.creationTime(), notes: ["vfw index \(folder)"]),
            metadata: ["vfw.index.files": filesJSON, "vfw.index.weights": model.weights, "vfw.index.weights_sha256": sha,
                       "vfw.index.layer": layer ?? "default", "vfw.index.preprocess": m.preprocess.rawValue])
        try VFWWriter.write(to: output, header: header, tensors: [VFWTensorSource(name: "embeddings", tensor: emb)], force: force)
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("wrote \(output): \(rows.count) images x \(d), \(String(format: "%.1f", Double(files.count) / secs)) images/s\(bad.isEmpty ? "" : ", \(bad.count) skipped")")
    }

    func imageFiles(in dir: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: dir) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let ext = (rel as NSString).pathExtension.lowercased()
            if ["png", "jpg", "jpeg"].contains(ext) { out.append((dir as NSString).appendingPathComponent(rel)) }
        }
        return out.sorted()
    }
}

struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The images of an index most similar to a query image (exact cosine search).",
        discussion: """
        The query is embedded with the weights the index was built with (recorded in it; --weights overrides,
        and must have the same SHA-256).

        Example:
          vfw search photos.vfw query.jpg --top 5
        """)

    @Argument(help: "An index made by vfw index.") var index: String
    @Argument(help: "The query image.") var query: String
    @Option(help: "How many results.") var top: Int = 5
    @Option(help: "Weights (default: those recorded in the index).") var weights: String?
    @Option(help: "Compute threads (default: all cores).") var threads: Int?

    func run() throws {
        let f = try VFWFile(path: index)
        let meta = f.header.metadata
        guard let emb = f.tensor("embeddings"), emb.shape.count == 2, emb.dtype == .f32,
              let filesJSON = meta["vfw.index.files"],
              let files = try? JSONDecoder().decode([String].self, from: Data(filesJSON.utf8)), files.count == emb.shape[0] else {
            throw InputError("\(index): not a vfw index (needs an f32 'embeddings' [N, D] tensor and vfw.index.files metadata)")
        }
        let w = weights ?? meta["vfw.index.weights"] ?? ""
        guard FileManager.default.fileExists(atPath: w) else {
            throw InputError("\(index): the weights it was built with (\(w)) are not there; pass --weights")
        }
        let source = try WeightSource.open(w)
        if let expected = meta["vfw.index.weights_sha256"], try MappedFile.sha256(path: source.weightsPath) != expected {
            throw InputError("\(w): not the weights \(index) was built with (SHA-256 differs); rebuild the index")
        }
        var opts = try ModelOptions.parse(["--weights", w, "--preprocess", meta["vfw.index.preprocess"] ?? "torchvision"])
        opts.threads = threads
        let m = try opts.load()
        let layer = meta["vfw.index.layer"].flatMap { $0 == "default" ? nil : $0 }
        let q = try m.embed([try loadImage(query)], layer: layer)[0]
        let d = emb.shape[1]
        guard q.count == d else { throw InputError("\(index): index vectors have \(d) values, the query has \(q.count)") }
        let all = emb.floats()
        let scores = (0..<files.count).map { cosine(q, Array(all[($0 * d)..<(($0 + 1) * d)])) }
        for i in scores.indices.sorted(by: { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }).prefix(top) {
            print(String(format: "%.6f  %@", scores[i], oneLine(files[i], limit: VFW.messageLimit)))
        }
    }
}
