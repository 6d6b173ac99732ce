// `vfw inspect FILE`: what a weight file holds.

import ArgumentParser
import Foundation
import Models
import TensorCore
import VFW
import VFWFormat

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the tensors, totals and metadata of a weight file.",
        discussion: """
        Reads .vfw, .safetensors (and sharded indexes), torch.save .pth/.pt/.bin files and Hugging Face folders.

        Examples:
          vfw inspect resnet18.vfw
          vfw inspect model.safetensors --json
          vfw inspect resnet18.vfw --check      # also verify every tensor's CRC-32
        """)

    @Argument(help: "The weight file or folder.")
    var file: String

    @Flag(help: "Print JSON (Schemas/inspect.schema.json) instead of a table.")
    var json = false

    @Flag(help: "Verify each tensor's CRC-32 (.vfw); exit 2 on the first corrupt tensor.")
    var check = false

    @Option(help: "In a checkpoint that nests its state_dict, the entry to read (e.g. state_dict, model_ema).")
    var key: String?

    func run() throws {
        let source = try WeightSource.open(file, key: key)
        var checksums = "none"
        if check {
            if let f = source.vfw {
                try f.verifyChecksums()
                checksums = "ok"
            } else {
                checksums = "none"
            }
        } else if source.vfw != nil {
            checksums = "not-checked"
        }
        let report = InspectReport(source: source, checksums: checksums)
        if json {
            print(try Format.json(report))
        } else {
            print(report.text)
        }
    }
}

/// What `inspect` prints; its JSON form is specified by Schemas/inspect.schema.json.
struct InspectReport: Encodable {
    struct Tensor: Encodable {
        var name: String
        var dtype: String
        var shape: [Int]
        var bytes: Int
        var offset: Int?
        var crc32: String?
        var source_name: String?
    }
    struct DTypeTotal: Encodable {
        var dtype: String
        var tensors: Int
        var bytes: Int
    }

    var file: String
    var format: String
    var format_version: String?
    var file_bytes: Int
    var tensor_count: Int
    var total_elements: Int
    var total_bytes: Int
    var by_dtype: [DTypeTotal]
    var architecture: JSONValue?
    var preprocessing: String?
    var provenance: VFWHeader.Provenance?
    var metadata: [String: String]
    var notes: [String]
    /// `ok` (verified), `not-checked` (has checksums, --check not given), `none` (format has none).
    var checksums: String
    var tensors: [Tensor]

    init(source: WeightSource, checksums: String) {
        file = source.path
        format = source.kind.rawValue
        let attrs = try? FileManager.default.attributesOfItem(atPath: source.weightsPath)
        file_bytes = (attrs?[.size] as? Int) ?? 0
        tensor_count = source.tensors.count
        total_elements = source.tensors.reduce(0) { $0 + $1.tensor.elementCount }
        total_bytes = source.tensors.reduce(0) { $0 + $1.tensor.bytes.count }
        var totals: [DType: (Int, Int)] = [:]
        for (_, t) in source.tensors { totals[t.dtype, default: (0, 0)].0 += 1; totals[t.dtype, default: (0, 0)].1 += t.bytes.count }
        by_dtype = totals.keys.sorted { $0.rawValue < $1.rawValue }.map { DTypeTotal(dtype: $0.rawValue, tensors: totals[$0]!.0, bytes: totals[$0]!.1) }
        metadata = source.metadata
        notes = source.notes
        self.checksums = checksums
        if let f = source.vfw {
            format_version = "1.\(f.minorVersion)"
            architecture = f.header.architecture
            preprocessing = f.header.preprocessing
            provenance = f.header.provenance
            tensors = f.header.tensors.map {
                Tensor(name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape, bytes: $0.length, offset: $0.offset,
                       crc32: $0.crc32, source_name: $0.sourceName)
            }
        } else {
            tensors = source.tensors.map {
                Tensor(name: $0.name, dtype: $0.tensor.dtype.rawValue, shape: $0.tensor.shape, bytes: $0.tensor.bytes.count)
            }
        }
    }

    /// The table. Names, metadata, notes and header fields are the file's words, and a hostile file can put newlines
    /// or terminal escapes in them (a tensor named "\u{1b}[2J" clears the screen): every line after the first (the
    /// path the user typed) and every tensor name go through `oneLine`, escaped but not cut, since a long metadata
    /// value is legitimate here. `--json` is for programs; its encoder escapes newlines and ESC itself.
    var text: String {
        func shown(_ s: String) -> String { oneLine(s, limit: .max) }
        var lines: [String] = []
        lines.append("\(file): \(format)\(format_version.map { " \($0)" } ?? ""), \(Format.bytes(file_bytes))")
        if let json = architecture {
            if let a = try? ModelDescription(json: json) {
                let cfg = a.config.keys.sorted().map { "\($0)=\(a.config[$0]!)" }.joined(separator: " ")
                lines.append(shown("architecture: \(a.name) (\(a.family))\(cfg.isEmpty ? "" : "  \(cfg)")"))
            } else {
                lines.append(shown("architecture: \(json)"))
            }
        }
        if let p = preprocessing { lines.append(shown("preprocessing: \(p)")) }
        if let p = provenance {
            var s = "provenance: \(p.sourceFormat)"
            if let f = p.sourceFile { s += " \(f)" }
            if let h = p.sourceSHA256 { s += " sha256 \(h.prefix(16))..." }
            s += ", \(p.converter), \(p.created)"
            lines.append(shown(s))
            for n in p.notes { lines.append(shown("  note: \(n)")) }
        }
        for n in notes { lines.append(shown("note: \(n)")) }
        for k in metadata.keys.sorted() { lines.append(shown("metadata: \(k) = \(metadata[k]!)")) }
        lines.append("")
        lines.append(Format.table(tensors.map { [shown($0.name), $0.dtype, Format.shape($0.shape), Format.grouped($0.bytes)] },
                                  header: ["name", "dtype", "shape", "bytes"], rightAligned: [3]))
        lines.append("")
        let dt = by_dtype.map { "\($0.dtype) \($0.tensors) (\(Format.bytes($0.bytes)))" }.joined(separator: ", ")
        lines.append("total: \(tensor_count) tensors, \(Format.grouped(total_elements)) elements, \(Format.bytes(total_bytes)); \(dt)")
        switch checksums {
        case "ok": lines.append("checksums: OK (\(tensor_count) tensors verified)")
        case "not-checked": lines.append("checksums: not checked (pass --check)")
        default: break
        }
        return lines.joined(separator: "\n")
    }
}
