// `vfw verify --model-explorer DIR`: the verify report as files for Google's Model Explorer
// (PyPI ai-edge-model-explorer): the model's module graph, and per metric a node-data file that colours it.
//
//   NAME.graph.json        a GraphCollection {label, graphs: [Graph]} (model_explorer/graph_builder.py): one op
//                          node per leaf module (a module no other module's name extends with "."), plus `input`;
//                          namespaces from the dotted module names ("layer1.0.conv1" in "layer1/layer1.0"); edges
//                          from the module graph, an input that is a container resolved to the leaf returning its
//                          output (`sameOutputAs`: layer1.0 is layer1.0.relu#2's tensor); every tap's numbers as
//                          node attributes, a tapped container's on its group (groupNodeAttributes)
//   NAME.max_abs.json      ModelNodeData {graph id: GraphNodeData} (model_explorer/node_data_builder.py): max |swift -
//                          reference| per tapped node, thresholds in decades around atol (green ... red)
//   NAME.cosine.json       cosine similarity per tapped node, thresholds 0.999 / 0.99999 / 1
//   NAME.verdict.json      0 PASS, 1 FAIL, 2 FAIL and a failure source, each with its colour
//   NAME.floor_ratio.json  (references with the float64 truth) max |swift - truth| / max |torch - truth| per tapped
//                          node: green to 1.5, light green to k (the noise floor, 4), amber to 10k, red beyond
// A tap is shown on the node whose output it is: the leaf of that name, or the leaf returning a container's output.
// JSON has no NaN or infinity: a non-finite error is written as `nonFiniteValue` (beyond every threshold, red).
// Fields are written as the library's dataclasses serialise them (asdict, Nones dropped), so loading a file into
// those classes and writing it back gives the same JSON (tools/check_model_explorer.py).

import Foundation
import Models
import TensorCore

public enum ModelExplorerExport {
    /// Stands for NaN and ±infinity in node data values.
    public static let nonFiniteValue = 3.0e38

    static let green = "#15803d", lightGreen = "#86efac", amber = "#fbbf24", red = "#dc2626"

    /// The file names (in the output folder) `files` writes for `name`.
    public static func fileNames(_ name: String) -> [String] {
        ["graph", "max_abs", "cosine", "verdict", "floor_ratio"].map { "\(fileName(name)).\($0).json" }
    }

    /// `name` as a file name: ASCII letters, digits, `.`, `-` and `_`, anything else as `-`, no leading dot (a model
    /// name comes from a manifest and must not lead the files out of the folder).
    public static func fileName(_ name: String) -> String {
        let safe = String(name.unicodeScalars.map { c -> Character in
            c.value < 128 && (CharacterSet.alphanumerics.contains(c) || c == "." || c == "-" || c == "_") ? Character(c) : "-"
        })
        return safe.hasPrefix(".") || safe.isEmpty ? "-" + safe : safe
    }

    /// The graph and node-data files for `report` of a model whose modules are `graph`; `name` prefixes the file
    /// names and is the graph's id.
    public static func files(report: VerifyReport, graph: ModuleGraph, name rawName: String) throws -> [(name: String, data: Data)] {
        let name = fileName(rawName)
        let layout = Layout(graph)
        var out: [(String, Data)] = [("\(name).graph.json", try encode(graphCollection(report: report, layout: layout, name: name)))]
        let byNode = layout.tapsByNode(report.results)
        let atol = report.tolerance.atol > 0 ? report.tolerance.atol : 1e-4
        func nodeData(_ label: String, _ value: (TapResult) -> Double?, thresholds: [Threshold], colour: ((TapResult) -> String)? = nil) -> GraphNodeData {
            var results: [String: Result] = [:]
            for (node, r) in byNode where r.status == .compared {
                guard let v = value(r) else { continue }
                results[node] = Result(value: v.isFinite ? v : nonFiniteValue, bgColor: colour?(r))
            }
            return GraphNodeData(results: results, name: label, thresholds: thresholds)
        }
        out.append(("\(name).max_abs.json", try encode([name: nodeData(
            "max |swift - pytorch| (vfw verify, \(report.mode.rawValue))", { $0.maxAbs },
            thresholds: [Threshold(value: atol / 100, bgColor: green), Threshold(value: atol, bgColor: lightGreen),
                         Threshold(value: atol * 10, bgColor: amber), Threshold(value: nonFiniteValue, bgColor: red)])])))
        out.append(("\(name).cosine.json", try encode([name: nodeData(
            "cosine(swift, pytorch) (vfw verify)", { $0.cosine.isNaN ? -1 : $0.cosine },
            thresholds: [Threshold(value: 0.999, bgColor: red), Threshold(value: 0.99999, bgColor: amber), Threshold(value: 1, bgColor: green)])])))
        let sources = Set(report.failureSources.map(\.name))
        var verdict = nodeData("verdict: 0 PASS, 1 FAIL, 2 FAIL (failure source) (vfw verify)",
                               { $0.passed ? 0 : sources.contains($0.name) ? 2 : 1 },
                               thresholds: [Threshold(value: 0, bgColor: green), Threshold(value: 1, bgColor: amber), Threshold(value: 2, bgColor: red)],
                               colour: { $0.passed ? green : sources.contains($0.name) ? red : amber })
        // Missing and mis-shaped taps fail too.
        for (node, r) in byNode where r.status != .compared { verdict.results[node] = Result(value: 1, bgColor: amber) }
        out.append(("\(name).verdict.json", try encode([name: verdict])))
        // Only a reference holding the truth has a floor ratio.
        if report.results.contains(where: { $0.truth != nil }) {
            let k = report.results.lazy.compactMap(\.noiseFloor).first?.factor ?? NoiseFloor.defaultFactor
            out.append(("\(name).floor_ratio.json", try encode([name: nodeData(
                "max |swift - truth| / max |torch - truth| (vfw verify, noise floor k = \(formatFactor(k)))", { $0.truth?.ratio },
                thresholds: [Threshold(value: 1.5, bgColor: green), Threshold(value: k, bgColor: lightGreen),
                             Threshold(value: k * 10, bgColor: amber), Threshold(value: nonFiniteValue, bgColor: red)])])))
        }
        return out
    }

    // MARK: - The graph

    /// Leaves, containers and namespaces of a module graph.
    struct Layout {
        let graph: ModuleGraph
        let leaves: [ModuleNode]
        let containers: Set<String>

        init(_ graph: ModuleGraph) {
            self.graph = graph
            let names = graph.nodes.map(\.name)
            var containers: Set<String> = []
            for n in names {
                // Every dotted prefix of a name that is itself a module is a container.
                var parts = n.split(separator: ".", omittingEmptySubsequences: false)
                while parts.count > 1 {
                    parts.removeLast()
                    let p = parts.joined(separator: ".")
                    if graph.contains(p) { containers.insert(p) }
                }
            }
            self.containers = containers
            leaves = graph.nodes.filter { !containers.contains($0.name) }
        }

        /// "layer1.0.conv1" → "layer1/layer1.0": every dotted prefix, cumulative, as Model Explorer's path.
        static func namespace(_ name: String) -> String {
            let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard parts.count > 1 else { return "" }
            return (1..<parts.count).map { parts[0..<$0].joined(separator: ".") }.joined(separator: "/")
        }

        /// The leaf whose output is module `name`'s output (itself for a leaf; `input` for the model input).
        func outputLeaf(_ name: String) -> String? {
            if name == ModuleGraph.modelInput || !containers.contains(name) { return graph.contains(name) || name == ModuleGraph.modelInput ? name : nil }
            var n = name
            var seen: Set<String> = []
            while containers.contains(n), seen.insert(n).inserted {
                if let s = graph.node(n)?.sameOutputAs { n = s; continue }
                // A container returning no child's tensor as is: the last of its children to run.
                guard let last = leaves.last(where: { $0.name.hasPrefix(n + ".") && (graph.position($0.name) ?? .max) < (graph.position(n) ?? .max) }) else { return nil }
                n = last.name
            }
            return containers.contains(n) ? nil : n
        }

        /// Each tap on the node holding its tensor; a leaf's own tap wins over a container's on the same leaf.
        func tapsByNode(_ results: [TapResult]) -> [String: TapResult] {
            var out: [String: TapResult] = [:]
            for r in results where !containers.contains(r.name) && graph.contains(r.name) { out[r.name] = r }
            for r in results where containers.contains(r.name) {
                if let leaf = outputLeaf(r.name), out[leaf] == nil { out[leaf] = r }
            }
            return out
        }
    }

    static func graphCollection(report: VerifyReport, layout: Layout, name: String) -> GraphCollection {
        let byName = Dictionary(report.results.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let byNode = layout.tapsByNode(report.results)
        let sources = Set(report.failureSources.map(\.name))
        func facts(_ r: TapResult) -> [KeyValue] {
            var kv = [KeyValue("tap", r.name), KeyValue("result", r.passed ? "PASS" : sources.contains(r.name) ? "FAIL (failure source)" : "FAIL")]
            if r.status == .compared {
                kv += [KeyValue("max abs", formatNumber(r.maxAbs, "%.3e")), KeyValue("max rel", formatNumber(r.maxRel, "%.3e")),
                       KeyValue("mean abs", formatNumber(r.meanAbs, "%.3e")), KeyValue("cosine", formatNumber(r.cosine, "%.9f")),
                       KeyValue("mismatched", "\(r.mismatched) of \(r.elementCount)")]
            } else {
                kv.append(KeyValue("problem", r.problem ?? r.status.rawValue))
            }
            kv.append(KeyValue("tolerance", "\(r.tolerance)"))
            return kv
        }

        var nodes = [Node(id: ModuleGraph.modelInput, label: ModuleGraph.modelInput, namespace: "",
                          attrs: [KeyValue("module", "the model input (preprocessed images)")])]
        for leaf in layout.leaves {
            var node = Node(id: leaf.name, label: leaf.name, namespace: Layout.namespace(leaf.name),
                            attrs: [KeyValue("module", leaf.name)])
            for (k, input) in leaf.inputs.enumerated() {
                guard let source = layout.outputLeaf(input) else { continue }
                node.incomingEdges.append(Edge(sourceNodeId: source, sourceNodeOutputId: "0", targetNodeInputId: "\(k)"))
            }
            if !leaf.inputs.isEmpty { node.attrs.append(KeyValue("inputs", leaf.inputs.joined(separator: ", "))) }
            if let r = byNode[leaf.name] {
                node.attrs += facts(r)
                node.outputsMetadata = [Metadata(id: "0", attrs: [KeyValue("tensor_name", r.name), KeyValue("shape", describeShape(r.shape))])]
            }
            nodes.append(node)
        }
        // A tapped container's numbers on its group, keyed by the group's own namespace path.
        var groups: [String: [String: String]] = [:]
        for c in layout.containers {
            guard let r = byName[c] else { continue }
            let ns = Layout.namespace(c)
            groups[(ns.isEmpty ? "" : ns + "/") + c] = Dictionary(facts(r).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        }
        // The graph's own attributes (shown when nothing is selected): the verdict and what was compared.
        var top = ["verdict": report.summary, "mode": report.mode.rawValue, "tolerance": "\(report.tolerance.metric.rawValue) \(report.tolerance)"]
        for f in report.header { top[f.label] = f.value }
        groups[""] = top
        return GraphCollection(label: name, graphs: [Graph(id: name, nodes: nodes, groupNodeAttributes: groups)])
    }

    // MARK: - The schema (field names and defaults as model_explorer's dataclasses have them)

    struct KeyValue: Encodable { var key: String; var value: String; init(_ k: String, _ v: String) { key = k; value = v } }
    struct Edge: Encodable { var sourceNodeId: String; var sourceNodeOutputId: String; var targetNodeInputId: String }
    struct Metadata: Encodable { var id: String; var attrs: [KeyValue] }
    struct Node: Encodable {
        var id: String
        var label: String
        var namespace: String
        var subgraphIds: [String] = []
        var attrs: [KeyValue]
        var incomingEdges: [Edge] = []
        var outputsMetadata: [Metadata] = []
        var inputsMetadata: [Metadata] = []
    }
    struct Graph: Encodable { var id: String; var nodes: [Node]; var groupNodeAttributes: [String: [String: String]] }
    struct GraphCollection: Encodable { var label: String; var graphs: [Graph]; var graphSorting = "node_count_desc" }

    struct Result: Encodable {
        var value: Double
        var bgColor: String?
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(value, forKey: .value)
            try c.encodeIfPresent(bgColor, forKey: .bgColor)
        }
        enum CodingKeys: String, CodingKey { case value, bgColor }
    }
    struct Threshold: Encodable { var value: Double; var bgColor: String }
    struct GraphNodeData: Encodable {
        var results: [String: Result]
        var name: String
        var thresholds: [Threshold]
        var gradient: [Threshold] = []
        var hideInAggregatedStatsTable = false
        var hideInChildrenStatsTable = false
        var showExpandedSummaryOnGroupNode = false
        var showLabelCountColumnsInChildrenStatsTable = false
    }

    static func encode<T: Encodable>(_ value: T) throws -> Data { try verifyJSON(value) }
}
