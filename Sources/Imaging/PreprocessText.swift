// The two written forms of a PreprocessSpec, and the named presets.
//
// Text (the command line's `--preprocess`): a preset name, optionally followed by overrides, or a full
// list of key=value items, comma-separated:
//
//   hf-vit                                   transformers 5's ViTImageProcessor (torchvision backend)
//   hf-vit,backend=hf-pil                    the same with ViTImageProcessorPil
//   torchvision,resize=232                   ResNet50_Weights.IMAGENET1K_V2.transforms()
//   backend=pil,crop_pct=0.9,crop=224,interp=bicubic,mean=0.5,std=0.5
//   backend=hf-pil                           (with a model's own spec as the base) that spec, PIL backend
//
//   backend   pil | hf-pil | hf-torchvision
//   resize    N (shorter side) | HxW (height x width, exact) | none;   crop_pct=P (timm: floor(crop / P))
//   interp    nearest | box | bilinear | hamming | bicubic | lanczos
//   crop      N | HxW | none
//   rescale   1/255 | a number | none
//   mean, std imagenet | clip | V (all three channels) | R:G:B | none
//   rescale_offset, std_again   true | false (transformers' EfficientNet options)
//   transparency  drop (Pillow's convert("RGB"), the default) | white (transformers' do_convert_rgb)
//
// A spec's `description` is the full list in that order, so parse(description) gives the spec back.
//
// JSON (the .vfw header, Codable): {"backend": "pil", "resize": {"shortest_edge": 256} | {"height": H,
// "width": W} | {"crop_pct": P} | null, "interpolation": "bilinear", "crop": {"height": H, "width": W}
// (optional), "rescale": 0.00392156862745098 (optional), "mean": [3], "std": [3] (optional),
// "rescale_offset": true, "std_again": true, "transparency": "white" (optional)}. Unknown keys are refused.

import Foundation

extension PreprocessSpec {
    /// ImageNet mean and std (torchvision, timm IMAGENET_DEFAULT_*, transformers IMAGENET_DEFAULT_*).
    public static let imagenetMean = [0.485, 0.456, 0.406]
    public static let imagenetStd = [0.229, 0.224, 0.225]
    /// OpenAI CLIP's (transformers OPENAI_CLIP_*, timm OPENAI_CLIP_*).
    public static let clipMean = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd = [0.26862954, 0.26130258, 0.27577711]

    /// The named presets: name, spec, the pipeline it reproduces.
    public static let presets: [(name: String, spec: PreprocessSpec, summary: String)] = [
        ("torchvision",
         PreprocessSpec(backend: .pil, resize: .shortestEdge(256), interpolation: .bilinear, crop: Size(224),
                        mean: imagenetMean, std: imagenetStd),
         "torchvision ImageNet weights (ResNet50_Weights.IMAGENET1K_V1.transforms()): Resize(256) bilinear, CenterCrop(224), ToTensor, Normalize(ImageNet) on a PIL image"),
        ("hf-vit",
         PreprocessSpec(backend: .hfTorchvision, resize: .size(height: 224, width: 224), interpolation: .bilinear,
                        mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
         "transformers 5 ViTImageProcessor, the default torchvision backend: 224x224 bilinear on a uint8 tensor, rescale 1/255 and normalize 0.5 fused"),
        ("hf-vit-pil",
         PreprocessSpec(backend: .hfPil, resize: .size(height: 224, width: 224), interpolation: .bilinear,
                        mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5]),
         "transformers ViTImageProcessorPil (what hf-vit meant before transformers 5): 224x224 PIL bilinear, rescale 1/255, normalize 0.5"),
        ("clip",
         PreprocessSpec(backend: .hfTorchvision, resize: .shortestEdge(224), interpolation: .bicubic, crop: Size(224),
                        mean: clipMean, std: clipStd, transparency: .white),
         "transformers CLIPImageProcessor: shorter side 224 bicubic, center crop 224, CLIP mean/std, transparency onto white"),
        ("siglip",
         PreprocessSpec(backend: .hfTorchvision, resize: .size(height: 224, width: 224), interpolation: .bicubic,
                        mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], transparency: .white),
         "transformers SiglipImageProcessor: 224x224 bicubic, normalize 0.5, transparency onto white"),
        ("dinov2",
         PreprocessSpec(backend: .hfTorchvision, resize: .shortestEdge(256), interpolation: .bicubic, crop: Size(224),
                        mean: imagenetMean, std: imagenetStd, transparency: .white),
         "facebook/dinov2-* preprocessor_config.json (BitImageProcessor): shorter side 256 bicubic, center crop 224, ImageNet mean/std, transparency onto white"),
        ("timm",
         PreprocessSpec(backend: .pil, resize: .cropPct(0.875), interpolation: .bicubic, crop: Size(224),
                        mean: imagenetMean, std: imagenetStd),
         "timm's default eval transform: shorter side floor(224 / 0.875) = 256 bicubic, CenterCrop(224), ImageNet mean/std"),
    ]

    /// The preset called `name` (case-insensitive), or nil.
    public static func preset(_ name: String) -> PreprocessSpec? {
        presets.first { $0.name == name.lowercased() }?.spec
    }

    /// The name of the preset equal to this spec, or nil.
    public var presetName: String? {
        PreprocessSpec.presets.first { $0.spec == self }?.name
    }

    // MARK: Text

    /// Parses the text form (a preset name, overrides, or a full key=value list); `source` names where
    /// it came from in errors (e.g. "--preprocess"). Without a preset name, the items override `base`
    /// (the model's own spec) when one is given; else they must name at least the backend and resize.
    public static func parse(_ text: String, source: String = "--preprocess", base given: PreprocessSpec? = nil) throws -> PreprocessSpec {
        func bad(_ reason: String) -> ImagingError { .badPreprocess(source: source, reason: reason) }
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let head = items.first, !head.isEmpty else {
            throw bad("empty preprocessing spec; give a preset (\(presets.map(\.name).joined(separator: ", "))) or key=value items")
        }
        var backend: Backend?, resize: Resize?, interpolation: ResampleFilter?, crop: Size??
        var rescale: Double??, mean: [Double]??, std: [Double]??, offset: Bool?, again: Bool?
        var transparency: Transparency?
        var rest = items[...]
        var base = given
        if !head.contains("=") {
            guard let p = preset(head) else {
                throw bad("unknown preprocessing preset '\(head)'; presets: \(presets.map(\.name).joined(separator: ", ")), or key=value items (backend=, resize=, crop=, ...)")
            }
            base = p
            rest = rest.dropFirst()
        }
        for item in rest {
            let kv = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, !kv[0].isEmpty else { throw bad("'\(item)' is not key=value (or a preset name first)") }
            let (key, value) = (kv[0].lowercased(), kv[1])
            switch key {
            case "backend":
                guard let b = Backend(rawValue: value.lowercased()) else {
                    throw bad("unknown backend '\(value)'; backends: \(Backend.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                backend = b
            case "resize":
                if value.lowercased() == "none" { resize = Resize.none }
                else if let s = try parseSize(value, key: key, bad: bad) {
                    resize = value.contains("x") ? .size(height: s.height, width: s.width) : .shortestEdge(s.height)
                }
            case "crop_pct":
                guard let p = Double(value) else { throw bad("crop_pct '\(value)' is not a number") }
                resize = .cropPct(p)
            case "interp", "interpolation":
                guard let f = ResampleFilter(rawValue: value.lowercased()) else {
                    throw bad("unknown interpolation '\(value)'; one of \(ResampleFilter.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                interpolation = f
            case "crop":
                crop = .some(try parseSize(value, key: key, bad: bad))
            case "rescale":
                rescale = .some(try parseRescale(value, bad: bad))
            case "mean":
                mean = .some(try parseChannels(value, key: key, named: imagenetMean, clipMean, bad: bad))
            case "std":
                std = .some(try parseChannels(value, key: key, named: imagenetStd, clipStd, bad: bad))
            case "transparency":
                guard let t = Transparency(rawValue: value.lowercased()) else { throw bad("transparency '\(value)' is not drop or white") }
                transparency = t
            case "rescale_offset", "std_again":
                guard let b = Bool(value.lowercased()) else { throw bad("\(key) '\(value)' is not true or false") }
                if key == "rescale_offset" { offset = b } else { again = b }
            default:
                throw bad("unknown key '\(key)'; keys: backend, resize, crop_pct, interp, crop, rescale, mean, std, rescale_offset, std_again, transparency")
            }
        }
        let spec: PreprocessSpec
        if let base {
            var s = base
            if let backend { s.backend = backend }
            if let resize { s.resize = resize }
            if let interpolation { s.interpolation = interpolation }
            if let crop { s.crop = crop }
            if let rescale { s.rescale = rescale }
            if let mean { s.mean = mean }
            if let std { s.std = std }
            if let offset { s.rescaleOffset = offset }
            if let again { s.stdAgain = again }
            if let transparency { s.transparency = transparency }
            spec = s
        } else {
            guard let backend else { throw bad("no backend=; a spec without a preset names its backend (\(Backend.allCases.map(\.rawValue).joined(separator: ", ")))") }
            guard let resize else { throw bad("no resize= (N, HxW or none) or crop_pct=") }
            spec = PreprocessSpec(backend: backend, resize: resize, interpolation: interpolation ?? .bilinear,
                                  crop: crop ?? nil, rescale: rescale ?? 1.0 / 255.0, rescaleOffset: offset ?? false,
                                  mean: mean ?? nil, std: std ?? nil, stdAgain: again ?? false,
                                  transparency: transparency ?? .drop)
        }
        try spec.validate(source: source)
        return spec
    }

    /// The full text form (every key, canonical order); `parse(description)` returns this spec.
    public var text: String {
        var items = ["backend=\(backend.rawValue)"]
        switch resize {
        case .none: items.append("resize=none")
        case let .shortestEdge(n): items.append("resize=\(n)")
        case let .size(h, w): items.append("resize=\(h)x\(w)")
        case let .cropPct(p): items.append("crop_pct=\(p)")
        }
        items.append("interp=\(interpolation.rawValue)")
        items.append("crop=" + (crop.map { $0.height == $0.width ? "\($0.height)" : "\($0.height)x\($0.width)" } ?? "none"))
        items.append("rescale=" + (rescale.map(PreprocessSpec.rescaleText) ?? "none"))
        items.append("mean=" + PreprocessSpec.channelsText(mean, named: PreprocessSpec.imagenetMean, PreprocessSpec.clipMean))
        items.append("std=" + PreprocessSpec.channelsText(std, named: PreprocessSpec.imagenetStd, PreprocessSpec.clipStd))
        if rescaleOffset { items.append("rescale_offset=true") }
        if stdAgain { items.append("std_again=true") }
        if transparency != .drop { items.append("transparency=\(transparency.rawValue)") }
        return items.joined(separator: ",")
    }

    private static func parseSize(_ v: String, key: String, bad: (String) -> ImagingError) throws -> Size? {
        if v.lowercased() == "none" { return nil }
        let parts = v.lowercased().split(separator: "x", omittingEmptySubsequences: false)
        let ns = parts.map { Int($0) }
        guard (parts.count == 1 || parts.count == 2), let h = ns[0], let w = ns.last!, h >= 1, w >= 1 else {
            throw bad("\(key) '\(v)' is not N, HxW or none")
        }
        return Size(height: h, width: w)
    }

    private static func parseRescale(_ v: String, bad: (String) -> ImagingError) throws -> Double? {
        if v.lowercased() == "none" { return nil }
        let parts = v.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 2, let a = Double(parts[0]), let b = Double(parts[1]), b != 0 { return a / b }
        if parts.count == 1, let r = Double(v) { return r }
        throw bad("rescale '\(v)' is not a number, a fraction like 1/255, or none")
    }

    private static func parseChannels(_ v: String, key: String, named imagenet: [Double], _ clip: [Double],
                                      bad: (String) -> ImagingError) throws -> [Double]? {
        switch v.lowercased() {
        case "none": return nil
        case "imagenet": return imagenet
        case "clip": return clip
        default:
            let xs = v.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
            guard xs.count == 1 || xs.count == 3, xs.allSatisfy({ $0 != nil }) else {
                throw bad("\(key) '\(v)' is not imagenet, clip, one number, three numbers R:G:B, or none")
            }
            let values = xs.map { $0! }
            return values.count == 1 ? Array(repeating: values[0], count: 3) : values
        }
    }

    static func rescaleText(_ r: Double) -> String {
        let k = (1.0 / r).rounded()
        if k >= 1, k < 1e9, 1.0 / k == r { return "1/\(Int(k))" }
        return "\(r)"
    }

    private static func channelsText(_ v: [Double]?, named imagenet: [Double], _ clip: [Double]) -> String {
        guard let v else { return "none" }
        if v == imagenet { return "imagenet" }
        if v == clip { return "clip" }
        if v.allSatisfy({ $0 == v[0] }) { return "\(v[0])" }
        return v.map { "\($0)" }.joined(separator: ":")
    }
}

// MARK: - JSON

extension PreprocessSpec: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue s: String) { stringValue = s }
        init?(intValue: Int) { nil }
    }
    private static let keys: Set<String> = ["backend", "resize", "interpolation", "crop", "rescale", "mean", "std",
                                            "rescale_offset", "std_again", "transparency"]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        if let unknown = c.allKeys.first(where: { !PreprocessSpec.keys.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(forKey: unknown, in: c,
                debugDescription: "unknown preprocessing key '\(unknown.stringValue)'; keys: \(PreprocessSpec.keys.sorted().joined(separator: ", "))")
        }
        backend = try c.decode(Backend.self, forKey: Key("backend"))
        interpolation = try c.decode(ResampleFilter.self, forKey: Key("interpolation"))
        guard c.contains(Key("resize")) else {
            throw DecodingError.keyNotFound(Key("resize"), .init(codingPath: c.codingPath, debugDescription: "preprocessing needs \"resize\" (null for none)"))
        }
        if try c.decodeNil(forKey: Key("resize")) {
            resize = .none
        } else {
            let r = try c.decode([String: Double].self, forKey: Key("resize"))
            func side(_ k: String) throws -> Int {
                guard let v = r[k], v == v.rounded(), v >= 1, v <= Double(PreprocessSpec.maxSide) else {
                    throw DecodingError.dataCorruptedError(forKey: Key("resize"), in: c, debugDescription: "resize \(k) must be an integer in 1...\(PreprocessSpec.maxSide)")
                }
                return Int(v)
            }
            switch Set(r.keys) {
            case ["shortest_edge"]: resize = .shortestEdge(try side("shortest_edge"))
            case ["height", "width"]: resize = .size(height: try side("height"), width: try side("width"))
            case ["crop_pct"]: resize = .cropPct(r["crop_pct"]!)
            default:
                throw DecodingError.dataCorruptedError(forKey: Key("resize"), in: c,
                    debugDescription: "resize must be {\"shortest_edge\": N}, {\"height\": H, \"width\": W}, {\"crop_pct\": P} or null")
            }
        }
        if let size = try c.decodeIfPresent([String: Int].self, forKey: Key("crop")) {
            guard Set(size.keys) == ["height", "width"] else {
                throw DecodingError.dataCorruptedError(forKey: Key("crop"), in: c, debugDescription: "crop must be {\"height\": H, \"width\": W}")
            }
            crop = Size(height: size["height"]!, width: size["width"]!)
        } else {
            crop = nil
        }
        rescale = try c.decodeIfPresent(Double.self, forKey: Key("rescale"))
        mean = try c.decodeIfPresent([Double].self, forKey: Key("mean"))
        std = try c.decodeIfPresent([Double].self, forKey: Key("std"))
        rescaleOffset = try c.decodeIfPresent(Bool.self, forKey: Key("rescale_offset")) ?? false
        stdAgain = try c.decodeIfPresent(Bool.self, forKey: Key("std_again")) ?? false
        transparency = try c.decodeIfPresent(Transparency.self, forKey: Key("transparency")) ?? .drop
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(backend, forKey: Key("backend"))
        switch resize {
        case .none: try c.encodeNil(forKey: Key("resize"))
        case let .shortestEdge(n): try c.encode(["shortest_edge": n], forKey: Key("resize"))
        case let .size(h, w): try c.encode(["height": h, "width": w], forKey: Key("resize"))
        case let .cropPct(p): try c.encode(["crop_pct": p], forKey: Key("resize"))
        }
        try c.encode(interpolation, forKey: Key("interpolation"))
        if let crop { try c.encode(["height": crop.height, "width": crop.width], forKey: Key("crop")) }
        if let rescale { try c.encode(rescale, forKey: Key("rescale")) }
        if let mean { try c.encode(mean, forKey: Key("mean")) }
        if let std { try c.encode(std, forKey: Key("std")) }
        if rescaleOffset { try c.encode(true, forKey: Key("rescale_offset")) }
        if stdAgain { try c.encode(true, forKey: Key("std_again")) }
        if transparency != .drop { try c.encode(transparency, forKey: Key("transparency")) }
    }

    /// The spec in a JSON object (`Data` of it), validated; errors name `source`.
    public static func decode(json data: Data, source: String) throws -> PreprocessSpec {
        let spec: PreprocessSpec
        do {
            spec = try JSONDecoder().decode(PreprocessSpec.self, from: data)
        } catch let e as DecodingError {
            throw ImagingError.badPreprocess(source: source, reason: "preprocessing spec: \(describe(e))")
        } catch {
            throw ImagingError.badPreprocess(source: source, reason: "preprocessing spec: \(error)")
        }
        try spec.validate(source: source)
        return spec
    }
}

/// One line for a JSONDecoder error: the key path and what was wrong.
func describe(_ e: DecodingError) -> String {
    func path(_ p: [CodingKey]) -> String { p.map(\.stringValue).joined(separator: ".") }
    switch e {
    case let .dataCorrupted(c): return (c.codingPath.isEmpty ? "" : path(c.codingPath) + ": ") + c.debugDescription
    case let .keyNotFound(k, c): return "missing \(path(c.codingPath + [k]))" + (c.debugDescription.isEmpty ? "" : " (\(c.debugDescription))")
    case let .typeMismatch(t, c): return "\(path(c.codingPath)) is not a \(t)"
    case let .valueNotFound(t, c): return "\(path(c.codingPath)) is null, expected a \(t)"
    @unknown default: return "\(e)"
    }
}
