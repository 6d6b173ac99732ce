// `vfw index DIR -o INDEX` and `vfw search INDEX QUERY`: exact cosine search over image feature vectors
// (the index format: VFW's SearchIndex).

import ArgumentParser
import Foundation
import TensorCore
import VFW

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
        if !force && FileManager.default.fileExists(atPath: output) { throw InputError("\(output): already exists; pass --force to replace it") }
        let files = try SearchIndex.imageFiles(in: folder)
        guard !files.isEmpty else { throw InputError("\(folder): holds no .png, .jpg or .jpeg files") }
        let m = try model.load()
        let start = DispatchTime.now().uptimeNanoseconds
        let tty = isatty(2) != 0
        var batches = 0
        let (index, bad) = try SearchIndex.build(folder: folder, files: files, model: m, layer: layer) { done, total in
            let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let line = "indexing: \(done)/\(total) images, \(String(format: "%.1f", Double(done) / max(secs, 1e-9))) images/s"
            if tty { FileHandle.standardError.write(Data("\r\(line)".utf8)) }
            else if done == total || batches % 10 == 9 { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
            batches += 1
        }
        if tty { FileHandle.standardError.write(Data("\n".utf8)) }
        // File names come from the folder, so from whoever filled it: escaped like any text from a file.
        for b in bad { FileHandle.standardError.write(Data("skipped: \(oneLine(b, limit: VFW.messageLimit))\n".utf8)) }
        try index.write(to: output, force: force, note: "vfw index \(folder)")
        let secs = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("wrote \(output): \(index.files.count) images x \(index.dimension), \(String(format: "%.1f", Double(files.count) / secs)) images/s\(bad.isEmpty ? "" : ", \(bad.count) skipped")")
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
        let idx = try SearchIndex.open(index)
        let m = try idx.model(weights: weights, threads: threads, indexPath: index)
        let q = try m.embed([try loadImage(query)], layer: idx.layer)[0]
        do {
            for r in try idx.search(q, top: top) {
                print(String(format: "%.6f  %@", r.score, oneLine(r.file, limit: VFW.messageLimit)))
            }
        } catch let e as PipelineError {
            throw InputError("\(index): \(e)")
        }
    }
}
