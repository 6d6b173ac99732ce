// `vfw verify --html`: the page for a planted fault (layer2.1.conv1's weight transposed, against the committed
// Reference/resnet18 recorded by torchvision) is self-contained, names the failure source, is written as every
// output is (kept unless --force), and renders in a real browser: Debian's chromium (installed by `make deps`),
// headless, offline, runs the page's script, which draws the chart and places the failure-source mark, with
// nothing on the console. tools/check_html_report.py (the parity job) goes further in the same browser: the
// screenshot's pixels at the mark, the column it stands in, and every network request.

import Foundation
import Testing

/// The embedded page data (`<script type="application/json" id="vfw-report">`) of an HTML report.
func pageData(_ html: String) throws -> [String: Any] {
    let open = "<script type=\"application/json\" id=\"vfw-report\">\n"
    let start = try #require(html.range(of: open))
    let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
    return try JSONSerialization.jsonObject(with: Data(html[start.upperBound..<end.lowerBound].utf8)) as! [String: Any]
}

/// Debian's chromium, as `make deps` installs it.
let chromiumBinary = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// The DOM after the page's scripts ran, and Chromium's log, from headless Chromium with no network.
func renderInChromium(_ page: String) throws -> (dom: String, log: String) {
    let binary = try #require(chromiumBinary, "chromium is not installed: `make deps` installs Debian's chromium")
    let profile = verifyDir("chromium-profile")
    var args = ["--headless", "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--user-data-dir=\(profile)",
                "--enable-logging=stderr", "--v=0", "--window-size=1200,900", "--virtual-time-budget=5000",
                "--dump-dom", URL(fileURLWithPath: page).absoluteString]
    if getuid() == 0 { args.insert("--no-sandbox", at: 0) }  // Chromium's sandbox refuses root (CI containers)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    final class Box: @unchecked Sendable { var data = Data() }
    let box = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { box.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let log = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return (String(decoding: box.data, as: UTF8.self), String(decoding: log, as: UTF8.self))
}

extension VerifyCLITests {
    @Suite("vfw verify --html")
    struct HTMLPage {
        @Test("a planted fault (transposed layer2.1.conv1): one self-contained page naming layer2.1, a histogram per failing tap")
        func plantedFault() throws {
            let dir = verifyDir("html-fault")
            let page = dir + "/drift.html"
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--html", page], cwd: verifyRepoRoot)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            // Offline: a policy refusing every fetch, and nothing to fetch: no src, no link, no url(), no import;
            // the one http:// is the SVG namespace name the script passes to createElementNS.
            #expect(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"))
            for banned in ["src=", "<link", "url(", "@import", "https://", "fetch(", "XMLHttpRequest"] {
                #expect(!html.contains(banned), "the page holds \(banned)")
            }
            #expect(html.components(separatedBy: "http://").count == 2 && html.contains("'http://www.w3.org/2000/svg'"))
            // Readable without script: the verdict and the failure source.
            #expect(html.contains("<title>vfw verify: resnet18: FAIL</title>"))
            #expect(html.contains("failure source: layer2.1 (fails while layer2.0 passes): max |swift - truth| ") && html.contains("(noise floor: at most 4x); worst at [0, "))

            let data = try pageData(html)
            #expect(data["single"] as? Bool == true)
            let suite = data["suite"] as! [String: Any]
            let entry = (suite["references"] as! [[String: Any]])[0]
            #expect(entry["model"] as? String == "resnet18" && entry["status"] as? String == "fail")
            let report = entry["report"] as! [String: Any]
            #expect(report["failure_source"] as? String == "layer2.1")
            let taps = report["taps"] as! [[String: Any]]
            #expect(taps.map { $0["name"] as! String } == resnet18Taps)
            let failing = taps.filter { !($0["passed"] as! Bool) }
            #expect(failing.map { $0["name"] as! String } == Array(resnet18Taps.dropFirst(7)))
            #expect(failing.allSatisfy { $0["histogram"] != nil }, "every failing tap carries its histogram")
            let info = (data["entries"] as! [[String: Any]])[0]
            #expect((info["failure_source_line"] as? String)?.hasPrefix("failure source: layer2.1 (fails while layer2.0 passes)") == true)
            #expect(info["anchor"] as? String == "ref-0-resnet18")
            let provenance = (data["provenance"] as! [[String: String]]).map { $0["label"]! }
            #expect(provenance == ["made by", "command", "made at"])
        }

        @Test("Chromium, headless and offline, runs the page: chart drawn, layer2.1 marked, nothing on the console")
        func rendersInChromium() throws {
            let dir = verifyDir("html-chromium")
            let page = dir + "/drift.html"
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--html", page], cwd: verifyRepoRoot)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            let (dom, log) = try renderInChromium(page)
            #expect(dom.contains("data-rendered=\"ok\""), "the page's script did not finish: \(log.suffix(2000))")
            // Console messages (errors, uncaught exceptions, refused requests) come out as CONSOLE lines.
            let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }
            #expect(console.isEmpty, "\(console)")
            // The mark the script placed: on layer2.1, the first failure source, at a position on the page.
            let marks = try #require(dom.range(of: #"data-failure-marks="([^"]*)""#, options: .regularExpression))
            let json = String(dom[marks]).dropFirst("data-failure-marks=\"".count).dropLast()
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
            let placed = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [[String: Any]]
            #expect(placed.count == 1)
            #expect(placed.first?["tap"] as? String == "layer2.1" && placed.first?["first"] as? Bool == true)
            #expect((placed.first?["x"] as? Int ?? 0) > 0 && (placed.first?["y"] as? Int ?? 0) > 0)
            // Drawn: the chart has one point per tap, red from layer2.1 on, and the ring and its label.
            #expect(dom.contains("<svg width="))
            let points = dom.components(separatedBy: "class=\"pt ").dropFirst().map { $0.prefix(4) }
            #expect(points.count == 14 && points.prefix(7).allSatisfy { $0 == "pass" } && points.dropFirst(7).allSatisfy { $0 == "fail" }, "\(points)")
            #expect(dom.contains("id=\"failure-mark-0\" data-tap=\"layer2.1\"") || dom.contains("data-tap=\"layer2.1\" id=\"failure-mark-0\""))
            #expect(dom.contains(">failure source: layer2.1</text>"))
            #expect(dom.contains("|swift − reference| at layer2.1, 100352 elements, by decade"))
        }

        @Test("an existing page is kept unless --force (refused before the model runs), and --force replaces it atomically")
        func keepsExisting() throws {
            let dir = verifyDir("html-force")
            let page = dir + "/drift.html"
            try Data("an older page\n".utf8).write(to: URL(fileURLWithPath: page))
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--html", page], cwd: verifyRepoRoot)
            #expect(r.status == 2)
            #expect(r.stderr == "error: \(page): already exists; pass --force to replace it\n")
            #expect(r.stdout.isEmpty, "the model ran although the page could not be written")
            #expect(try String(contentsOfFile: page, encoding: .utf8) == "an older page\n")
            let forced = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--html", page, "--force"], cwd: verifyRepoRoot)
            #expect(forced.status == 1)
            #expect(try String(contentsOfFile: page, encoding: .utf8).hasPrefix("<!DOCTYPE html>"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["drift.html"], "a temporary file was left behind")
        }

        @Test("--all: one page, a section per reference, each linked from the summary")
        func allReferences() throws {
            let root = verifyDir("html-all")
            // The same reference twice: with the weights it was recorded from (passes) and with the fault (fails).
            for (name, weights) in [("good", resnet18Weights), ("faulty", transposedWeights)] {
                let d = root + "/" + name
                try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
                for f in ["manifest.json", "activations.safetensors"] {
                    try FileManager.default.copyItem(atPath: resnet18Reference + "/" + f, toPath: d + "/" + f)
                }
                try FileManager.default.copyItem(atPath: weights, toPath: d + "/resnet18-synth.safetensors")
            }
            let page = verifyDir("html-all-out") + "/all.html"
            let r = try runVFW(["verify", "--all", root, "--html", page])
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(html.contains("<title>vfw verify: 2 references: FAIL</title>"))
            let data = try pageData(html)
            #expect(data["single"] as? Bool == false)
            let refs = (data["suite"] as! [String: Any])["references"] as! [[String: Any]]
            #expect(refs.map { $0["directory"] as! String } == [root + "/faulty", root + "/good"])
            #expect(refs.map { $0["status"] as! String } == ["fail", "pass"])
            #expect((data["entries"] as! [[String: Any]]).map { $0["anchor"] as! String } == ["ref-0-resnet18", "ref-1-resnet18"])
            let (dom, log) = try renderInChromium(page)
            #expect(dom.contains("data-rendered=\"ok\""), "\(log.suffix(2000))")
            #expect(dom.contains("<a href=\"#ref-0-resnet18\">resnet18</a>") && dom.contains("<a href=\"#ref-1-resnet18\">resnet18</a>"))
            #expect(dom.contains("<section id=\"ref-0-resnet18\"") && dom.contains("<section id=\"ref-1-resnet18\""))
        }
    }
}

extension VerifyCLITests {
    @Suite("vfw verify --model-explorer")
    struct ModelExplorer {
        @Test("the transposed layer2.1.conv1: a graph of resnet18's leaf modules with namespaces and edges, node data per metric, layer2.1's node the failure source")
        func plantedFault() throws {
            let dir = verifyDir("me-fault") + "/me"
            let r = try runVFW(["verify", "--model", "resnet18", "--weights", transposedWeights, "--model-explorer", dir], cwd: verifyRepoRoot)
            #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
                    == ["resnet18.cosine.json", "resnet18.floor_ratio.json", "resnet18.graph.json", "resnet18.max_abs.json", "resnet18.verdict.json"])
            let collection = try jsonObject(dir + "/resnet18.graph.json")
            #expect(collection["label"] as? String == "resnet18")
            let graph = (collection["graphs"] as! [[String: Any]])[0]
            #expect(graph["id"] as? String == "resnet18")
            let nodes = Dictionary(uniqueKeysWithValues: (graph["nodes"] as! [[String: Any]]).map { ($0["id"] as! String, $0) })
            // input + 60 leaves: stem 4, 8 blocks of 7 (conv/bn/relu, conv/bn, relu#2) + 3 downsample pairs, avgpool, fc.
            #expect(nodes.count == 61)
            #expect(nodes["layer1.0"] == nil && nodes["layer2.0.downsample"] == nil, "containers are namespaces, not nodes")
            func sources(_ id: String) -> [String] { (nodes[id]!["incomingEdges"] as! [[String: String]]).map { $0["sourceNodeId"]! } }
            #expect(nodes["layer2.0.downsample.0"]?["namespace"] as? String == "layer2/layer2.0/layer2.0.downsample")
            #expect(sources("conv1") == ["input"])
            #expect(sources("layer2.0.conv1") == ["layer1.1.relu#2"], "a block's input is its predecessor's last relu")
            #expect(sources("layer2.0.relu#2") == ["layer2.0.bn2", "layer2.0.downsample.1"])
            let groups = graph["groupNodeAttributes"] as! [String: [String: String]]
            #expect(groups["layer2/layer2.1"]?["result"] == "FAIL (failure source)")
            #expect(groups[""]?["verdict"]?.hasSuffix("; failure source: layer2.1") == true)

            let verdict = (try jsonObject(dir + "/resnet18.verdict.json")["resnet18"] as! [String: Any])["results"] as! [String: [String: Any]]
            #expect(verdict.count == 14)
            #expect(verdict.filter { ($0.value["value"] as! Double) == 2 }.map(\.key) == ["layer2.1.relu#2"])
            #expect(verdict["layer2.0.relu#2"]?["value"] as? Double == 0 && verdict["fc"]?["value"] as? Double == 1)
            let maxAbs = try jsonObject(dir + "/resnet18.max_abs.json")["resnet18"] as! [String: Any]
            let thresholds = (maxAbs["thresholds"] as! [[String: Any]]).map { $0["value"] as! Double }
            #expect(thresholds == [1e-6, 1e-4, 1e-3, 3e38])
            let values = maxAbs["results"] as! [String: [String: Double]]
            #expect(values["layer2.1.relu#2"]!["value"]! > 1 && values["conv1"]!["value"]! < 1e-4)
            // The noise floor: the transposed kernel is far beyond 4x PyTorch's own error, the stem within it.
            let ratio = try jsonObject(dir + "/resnet18.floor_ratio.json")["resnet18"] as! [String: Any]
            #expect((ratio["thresholds"] as! [[String: Any]]).map { $0["value"] as! Double } == [1.5, 4, 40, 3e38])
            let ratios = ratio["results"] as! [String: [String: Double]]
            #expect(ratios["layer2.1.relu#2"]!["value"]! > 40 && ratios["conv1"]!["value"]! <= 4)
        }

        @Test("existing files are kept unless --force (refused before the model runs)")
        func keepsExisting() throws {
            let dir = verifyDir("me-force")
            try Data("{}\n".utf8).write(to: URL(fileURLWithPath: dir + "/resnet18.cosine.json"))
            let r = try runVFW(["verify", "--model", "resnet18", "--model-explorer", dir], cwd: verifyRepoRoot)
            #expect(r.status == 2)
            #expect(r.stderr == "error: \(dir)/resnet18.cosine.json: already exists; pass --force to replace it\n")
            #expect(r.stdout.isEmpty)
            let forced = try runVFW(["verify", "--model", "resnet18", "--model-explorer", dir, "--force"], cwd: verifyRepoRoot)
            #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).count == 5, "graph, max_abs, cosine, verdict, floor_ratio")
            #expect(try jsonObject(dir + "/resnet18.cosine.json")["resnet18"] != nil)
        }
    }
}
