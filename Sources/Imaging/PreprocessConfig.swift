// A model's own preprocessing configuration, read into a PreprocessSpec:
//
// transformers' preprocessor_config.json, as `AutoImageProcessor.from_pretrained(folder)` runs it in
// transformers 5: `image_processor_type` (or the legacy `feature_extractor_type`) names the class; its
// "Fast" / "Pil" suffix does not choose the backend (AutoImageProcessor loads the torchvision backend
// whenever torchvision is installed; `backend="pil"` picks the PIL one); the class defaults below fill
// what the file leaves out or sets to null (BaseImageProcessor._set_attributes); `size` and `crop_size`
// are normalised as get_size_dict does (an int is {"height", "width"} when the class defaults to square,
// else {"shortest_edge"}); do_convert_rgb composites transparency onto white (convert_to_rgb); then the
// class's _preprocess order: resize, center crop, rescale, normalize.
// Class defaults (transformers 5.24 models/*/image_processing_*.py):
//
//   class                      size              resample  crop       crop  mean/std           other
//   ViTImageProcessor          224x224           bilinear  -          no    0.5                square
//   CLIPImageProcessor         shortest 224      bicubic   224        yes   OpenAI CLIP
//   BitImageProcessor          shortest 224      bicubic   224        yes   OpenAI CLIP
//   SiglipImageProcessor       224x224           bicubic   -          no    0.5
//   DeiTImageProcessor         256x256           bicubic   224        yes   0.5                square
//   ConvNextImageProcessor     shortest 384      bicubic   -          no    0.5                crop_pct 224/256
//   EfficientNetImageProcessor 346x346           bicubic   289        no    0.5                include_top
//
//   ConvNext: a shortest_edge S < 384 resizes the shorter side to int(S / crop_pct) and center-crops SxS;
//   S >= 384 warps to SxS. EfficientNet: rescale_offset subtracts 1 after rescaling; include_top divides
//   by std again.
//
// timm's pretrained_cfg (a Hub timm folder's config.json holds it under "pretrained_cfg"), as
// `create_transform(**resolve_data_config(pretrained_cfg=cfg))` runs it (timm 1.0
// transforms_imagenet_eval): input_size (3, H, W), interpolation (default bicubic), crop_pct (default
// 0.875), crop_mode center (shorter side floor(H / crop_pct), CenterCrop) or squash (exactly
// floor(H / crop_pct) x floor(W / crop_pct), CenterCrop), mean/std (default ImageNet); then ToTensor and
// Normalize: the `pil` backend. test_input_size / test_crop_pct are not used (resolve_data_config's
// default).
//
// A field vfw does not know, or a value it cannot reproduce, is refused with one line naming the field
// and saying to state the pipeline with --preprocess instead.

import Foundation
import TensorCore

extension JSONValue {
    /// Short text of the value for messages (strings quoted, unlike `description`).
    fileprivate var shown: String {
        switch self {
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "[" + a.map(\.shown).joined(separator: ", ") + "]"
        case let .object(o): return "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!.shown)" }.joined(separator: ", ") + "}"
        default: return description
        }
    }
}

extension PreprocessSpec {
    /// The classes of transformers' image processors vfw reproduces.
    public static let huggingFaceProcessors = ["ViTImageProcessor", "CLIPImageProcessor", "BitImageProcessor",
                                               "SiglipImageProcessor", "DeiTImageProcessor", "ConvNextImageProcessor",
                                               "EfficientNetImageProcessor"]

    /// The spec transformers' `AutoImageProcessor.from_pretrained(folder, backend=...)` runs for the
    /// folder's preprocessor_config.json (`data`, read from `file`). `backend` is `.hfTorchvision`
    /// (transformers 5's default) or `.hfPil`.
    public static func huggingFace(config data: Data, file: String, backend: Backend = .hfTorchvision) throws -> PreprocessSpec {
        precondition(backend != .pil, "a transformers config runs on an hf backend")
        let obj = try jsonObject(data, file: file)
        var p = try HFProcessor(obj, file: file)
        return try p.spec(backend: backend)
    }

    /// The spec timm's eval transform runs for a pretrained_cfg: `data` is a timm config.json (with a
    /// "pretrained_cfg" object) or the pretrained_cfg itself.
    public static func timm(config data: Data, file: String) throws -> PreprocessSpec {
        let obj = try jsonObject(data, file: file)
        let cfg: [String: JSONValue]
        if let inner = obj["pretrained_cfg"] {
            guard let o = inner.objectValue else { throw ImagingError.badPreprocess(source: file, reason: "pretrained_cfg is not an object") }
            cfg = o
        } else {
            cfg = obj
        }
        return try timmSpec(cfg, file: file)
    }

    /// The spec a model folder's configuration states: `preprocessor_config.json` when the folder has one,
    /// else a timm `config.json` with a "pretrained_cfg"; nil when it has neither. `path` may also be one
    /// of those files. `backend` applies to transformers configs.
    public static func fromModelConfiguration(at path: String, backend: Backend = .hfTorchvision) throws -> PreprocessSpec? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw ImagingError.badPreprocess(source: path, reason: "no such file or folder")
        }
        let folder = isDir.boolValue ? path : (path as NSString).deletingLastPathComponent
        let files = isDir.boolValue
            ? ["preprocessor_config.json", "config.json"].map { (folder as NSString).appendingPathComponent($0) }
            : [path]
        for f in files where FileManager.default.fileExists(atPath: f) {
            let data = try readConfig(f)
            let obj = try jsonObject(data, file: f)
            if obj["image_processor_type"] != nil || obj["feature_extractor_type"] != nil || (f as NSString).lastPathComponent == "preprocessor_config.json" {
                return try huggingFace(config: data, file: f, backend: backend)
            }
            if obj["pretrained_cfg"] != nil || obj["input_size"] != nil {
                return try timm(config: data, file: f)
            }
            if !isDir.boolValue {
                throw ImagingError.badPreprocess(source: f, reason: "neither a transformers preprocessor_config.json (image_processor_type) nor a timm config (pretrained_cfg)")
            }
        }
        return nil
    }
}

/// A config file's bytes; at most 16 MB, like every config.json vfw reads.
private func readConfig(_ path: String) throws -> Data {
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    guard size <= 16 << 20 else { throw ImagingError.badPreprocess(source: path, reason: "larger than 16 MB, not a preprocessing config") }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw ImagingError.badPreprocess(source: path, reason: "cannot read the file")
    }
    return data
}

private func jsonObject(_ data: Data, file: String) throws -> [String: JSONValue] {
    let v: JSONValue
    do { v = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
        throw ImagingError.badPreprocess(source: file, reason: "not valid JSON; fix it, or state the pipeline with --preprocess SPEC")
    }
    guard let o = v.objectValue else { throw ImagingError.badPreprocess(source: file, reason: "not a JSON object; state the pipeline with --preprocess SPEC") }
    return o
}

// MARK: - transformers

/// The fields of one transformers image processor: class defaults, then the file's values.
private struct HFProcessor {
    let file: String
    let base: String
    var fields: [String: JSONValue]

    /// Class defaults (transformers 5.24), as JSON values like the file's.
    static let defaults: [String: [String: JSONValue]] = {
        let half: JSONValue = .array([.double(0.5), .double(0.5), .double(0.5)])
        let clipMean: JSONValue = .array(PreprocessSpec.clipMean.map(JSONValue.double))
        let clipStd: JSONValue = .array(PreprocessSpec.clipStd.map(JSONValue.double))
        func hw(_ h: Double, _ w: Double) -> JSONValue { .object(["height": .double(h), "width": .double(w)]) }
        let shortest224: JSONValue = .object(["shortest_edge": .double(224)])
        let common: [String: JSONValue] = ["do_resize": .bool(true), "do_rescale": .bool(true),
                                           "rescale_factor": .double(1.0 / 255.0), "do_normalize": .bool(true),
                                           "do_center_crop": .null, "crop_size": .null, "default_to_square": .bool(true),
                                           "do_convert_rgb": .null]
        func with(_ d: [String: JSONValue]) -> [String: JSONValue] { common.merging(d) { $1 } }
        return [
            "ViTImageProcessor": with(["size": hw(224, 224), "resample": .int(2), "image_mean": half, "image_std": half]),
            "CLIPImageProcessor": with(["size": shortest224, "resample": .int(3), "crop_size": hw(224, 224),
                                        "do_center_crop": .bool(true), "image_mean": clipMean, "image_std": clipStd,
                                        "default_to_square": .bool(false), "do_convert_rgb": .bool(true)]),
            "BitImageProcessor": with(["size": shortest224, "resample": .int(3), "crop_size": hw(224, 224),
                                       "do_center_crop": .bool(true), "image_mean": clipMean, "image_std": clipStd,
                                       "default_to_square": .bool(false), "do_convert_rgb": .bool(true)]),
            "SiglipImageProcessor": with(["size": hw(224, 224), "resample": .int(3), "image_mean": half,
                                          "image_std": half, "default_to_square": .bool(false), "do_convert_rgb": .bool(true)]),
            "DeiTImageProcessor": with(["size": hw(256, 256), "resample": .int(3), "crop_size": hw(224, 224),
                                        "do_center_crop": .bool(true), "image_mean": half, "image_std": half]),
            "ConvNextImageProcessor": with(["size": .object(["shortest_edge": .double(384)]), "resample": .int(3),
                                            "image_mean": half, "image_std": half, "default_to_square": .bool(false),
                                            "crop_pct": .double(224.0 / 256.0)]),
            "EfficientNetImageProcessor": with(["size": hw(346, 346), "resample": .int(3), "crop_size": hw(289, 289),
                                                "do_center_crop": .bool(false), "image_mean": half, "image_std": half,
                                                "rescale_offset": .bool(false), "include_top": .bool(true)]),
        ]
    }()

    /// Keys that name the file's class or other processors' inputs; they do not change the pixels.
    static let metadata: Set<String> = ["image_processor_type", "feature_extractor_type", "processor_class",
                                        "_processor_class", "do_reduce_labels", "reduce_labels",
                                        "return_tensors", "data_format", "input_data_format", "device",
                                        "disable_grouping", "model_input_names"]

    init(_ obj: [String: JSONValue], file: String) throws {
        self.file = file
        var type = obj["image_processor_type"]?.stringValue
        if type == nil, let fe = obj["feature_extractor_type"]?.stringValue {
            type = fe.replacingOccurrences(of: "FeatureExtractor", with: "ImageProcessor")
        }
        guard var name = type else {
            throw ImagingError.badPreprocess(source: file, reason: "no image_processor_type; state the pipeline with --preprocess SPEC")
        }
        if obj["auto_map"] != nil {
            throw ImagingError.badPreprocess(source: file, reason: "field 'auto_map': the processor is custom code vfw does not run; state the pipeline with --preprocess SPEC")
        }
        for suffix in ["Fast", "Pil"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        guard let d = HFProcessor.defaults[name] else {
            throw ImagingError.badPreprocess(source: file, reason: "image_processor_type '\(name)' is not one vfw reproduces (\(PreprocessSpec.huggingFaceProcessors.joined(separator: ", "))); state the pipeline with --preprocess SPEC")
        }
        base = name
        fields = d
        for (k, v) in obj.sorted(by: { $0.key < $1.key }) {
            if HFProcessor.metadata.contains(k) { continue }
            if k == "do_pad" || k == "pad_size" {
                if v == .null || v.boolValue == false { continue }
                throw unsupported(k, v, "padding to a fixed size")
            }
            guard d[k] != nil else {
                throw ImagingError.badPreprocess(source: file, reason: "field '\(k)' (\(v.shown)) is not one vfw knows for \(name); it may change the pixels, so state the pipeline with --preprocess SPEC")
            }
            if v != .null { fields[k] = v }   // null: the class default (transformers' `kwarg is not None`)
        }
    }

    func unsupported(_ key: String, _ v: JSONValue, _ why: String) -> ImagingError {
        .badPreprocess(source: file, reason: "field '\(key)' (\(v.shown)): \(why) is not something vfw reproduces; state the pipeline with --preprocess SPEC")
    }

    func flag(_ k: String) throws -> Bool {
        guard let v = fields[k] else { return false }
        if v == .null { return false }
        guard let b = v.boolValue else { throw unsupported(k, v, "a value that is not true or false") }
        return b
    }

    func number(_ k: String) throws -> Double {
        guard let v = fields[k], let d = v.doubleValue else { throw unsupported(k, fields[k] ?? .null, "a value that is not a number") }
        return d
    }

    /// get_size_dict: an int is square or shortest_edge, a list is [height, width].
    func size(_ k: String, defaultToSquare: Bool) throws -> PreprocessSpec.Resize {
        let v = fields[k] ?? .null
        if let n = v.intValue { return defaultToSquare ? .size(height: n, width: n) : .shortestEdge(n) }
        if case let .array(a) = v, a.count == 2, let h = a[0].intValue, let w = a[1].intValue { return .size(height: h, width: w) }
        if let o = v.objectValue {
            let keys = Set(o.keys)
            if keys == ["height", "width"], let h = o["height"]?.intValue, let w = o["width"]?.intValue { return .size(height: h, width: w) }
            if keys == ["shortest_edge"], let s = o["shortest_edge"]?.intValue { return .shortestEdge(s) }
            if keys.contains("longest_edge") { throw unsupported(k, v, "a longest_edge limit") }
        }
        throw unsupported(k, v, "a size that is not {height, width}, {shortest_edge} or an int")
    }

    func channels(_ k: String) throws -> [Double] {
        let v = fields[k] ?? .null
        if let d = v.doubleValue { return [d, d, d] }
        if case let .array(a) = v, a.count == 3, a.allSatisfy({ $0.doubleValue != nil }) { return a.map { $0.doubleValue! } }
        throw unsupported(k, v, "a value that is not one number or three")
    }

    mutating func spec(backend: PreprocessSpec.Backend) throws -> PreprocessSpec {
        let square = try flag("default_to_square")
        guard let code = fields["resample"]?.intValue, let filter = ResampleFilter(pilCode: code) else {
            throw unsupported("resample", fields["resample"] ?? .null, "a resample that is not a PIL filter code 0-5")
        }
        guard backend.resampler.filters.contains(filter) else {
            throw ImagingError.badPreprocess(source: file, reason: "field 'resample' (\(code)): PIL's \(filter.rawValue) filter, which transformers' torchvision backend does not have; use the PIL backend, or state the pipeline with --preprocess SPEC")
        }
        var resize = PreprocessSpec.Resize.none
        var crop: PreprocessSpec.Size?
        let doCrop = try flag("do_center_crop")
        if doCrop {
            switch try size("crop_size", defaultToSquare: true) {
            case let .size(h, w): crop = .init(height: h, width: w)
            default: throw unsupported("crop_size", fields["crop_size"]!, "a crop that is not {height, width}")
            }
        }
        if try flag("do_resize") {
            let s = try size("size", defaultToSquare: square)
            if base == "ConvNextImageProcessor" {
                guard case let .shortestEdge(n) = s else { throw unsupported("size", fields["size"]!, "ConvNext without shortest_edge") }
                if n < 384 {
                    // resize the shorter side to int(n / crop_pct), center-crop n x n; do_center_crop would crop again.
                    if doCrop { throw unsupported("do_center_crop", .bool(true), "ConvNext's second crop after its crop_pct crop") }
                    resize = .cropPct(try number("crop_pct"))
                    crop = .init(n)
                } else {
                    resize = .size(height: n, width: n)
                }
            } else {
                resize = s
            }
        }
        let rescale = try flag("do_rescale") ? try number("rescale_factor") : nil
        let normalize = try flag("do_normalize"), includeTop = try flag("include_top")
        if includeTop && !normalize {
            throw unsupported("include_top", .bool(true), "EfficientNet's std division without do_normalize")
        }
        let mean = normalize ? try channels("image_mean") : nil
        let std = normalize ? try channels("image_std") : nil
        let spec = PreprocessSpec(backend: backend, resize: resize, interpolation: filter, crop: crop,
                                  rescale: rescale, rescaleOffset: try flag("rescale_offset"),
                                  mean: mean, std: std, stdAgain: includeTop,
                                  transparency: try flag("do_convert_rgb") ? .white : .drop)
        try spec.validate(source: file)
        return spec
    }
}

// MARK: - timm

/// timm's PretrainedCfg fields (timm 1.0 models/_pretrained.py); the ones vfw does not read describe
/// the weights, not the pixels.
private let timmFields: Set<String> = ["url", "file", "state_dict", "hf_hub_id", "hf_hub_filename", "source",
                                       "architecture", "tag", "custom_load", "input_size", "test_input_size",
                                       "min_input_size", "fixed_input_size", "interpolation", "crop_pct",
                                       "test_crop_pct", "crop_mode", "mean", "std", "num_classes", "label_offset",
                                       "label_names", "label_descriptions", "pool_size", "test_pool_size",
                                       "first_conv", "classifier", "license", "description", "origin_url",
                                       "paper_name", "paper_ids", "notes", "hf_hub_revision"]

private func timmSpec(_ cfg: [String: JSONValue], file: String) throws -> PreprocessSpec {
    func bad(_ key: String, _ why: String) -> ImagingError {
        .badPreprocess(source: file, reason: "pretrained_cfg field '\(key)' (\((cfg[key] ?? .null).shown)): \(why); state the pipeline with --preprocess SPEC")
    }
    for k in cfg.keys.sorted() where !timmFields.contains(k) {
        throw ImagingError.badPreprocess(source: file, reason: "pretrained_cfg field '\(k)' is not one of timm's; state the pipeline with --preprocess SPEC")
    }
    var h = 224, w = 224
    if let v = cfg["input_size"], v != .null {
        guard case let .array(a) = v, a.count == 3, let c = a[0].intValue, let hh = a[1].intValue, let ww = a[2].intValue, c == 3 else {
            throw bad("input_size", "not [3, height, width]")
        }
        (h, w) = (hh, ww)
    }
    var filter = ResampleFilter.bicubic
    if let v = cfg["interpolation"], v != .null, v.stringValue != "" {
        guard let s = v.stringValue, let f = ResampleFilter(rawValue: s) else { throw bad("interpolation", "not nearest, bilinear, bicubic, box, hamming or lanczos") }
        filter = f
    }
    var pct = 0.875   // DEFAULT_CROP_PCT; resolve_data_config keeps the default when the value is falsy
    if let v = cfg["crop_pct"], v != .null, v.doubleValue != 0 {
        guard let d = v.doubleValue else { throw bad("crop_pct", "not a number") }
        pct = d
    }
    var mean = PreprocessSpec.imagenetMean, std = PreprocessSpec.imagenetStd
    for (key, target) in [("mean", 0), ("std", 1)] {
        guard let v = cfg[key], v != .null else { continue }
        guard case let .array(a) = v, a.count == 3 || a.count == 1, a.allSatisfy({ $0.doubleValue != nil }) else {
            throw bad(key, "not one or three numbers")
        }
        let xs = a.map { $0.doubleValue! }
        let values = xs.count == 1 ? [xs[0], xs[0], xs[0]] : xs
        if target == 0 { mean = values } else { std = values }
    }
    let mode = cfg["crop_mode"]?.stringValue ?? "center"
    let resize: PreprocessSpec.Resize
    switch mode {
    case "center":
        guard h == w else { throw bad("input_size", "a non-square input with crop_mode center (timm's ResizeKeepRatio)") }
        resize = .cropPct(pct)
    case "squash":
        resize = .size(height: Int((Double(h) / pct).rounded(.down)), width: Int((Double(w) / pct).rounded(.down)))
    default:
        throw bad("crop_mode", "timm's \(mode) mode (ResizeKeepRatio with padding)")
    }
    let spec = PreprocessSpec(backend: .pil, resize: resize, interpolation: filter, crop: .init(height: h, width: w),
                              mean: mean, std: std)
    try spec.validate(source: file)
    return spec
}
