// Everything that can be wrong with a reference folder, as one line that starts with the file and says how to fix it.

import Foundation
import TensorCore

public enum VerifyError: Error, CustomStringConvertible, Equatable {
    /// The reference folder does not exist.
    case missingFolder(path: String)
    /// The path exists but is a file.
    case notAFolder(path: String)
    /// manifest.json or activations.safetensors is absent.
    case missingFile(path: String)
    /// manifest.json is not valid JSON or does not fit the schema; `field` is a path like `taps[3].shape` (nil: the whole document).
    case invalidManifest(path: String, field: String?, reason: String)
    /// manifest.json was written for a schema this reader does not know (`supported`: the newest it reads).
    case unsupportedSchemaVersion(path: String, found: Int, supported: Int)
    /// activations.safetensors is not a valid safetensors file.
    case unreadableActivations(path: String, reason: String)
    /// A tap (or `input`) named in manifest.json has no tensor in activations.safetensors.
    case missingTap(path: String, tap: String)
    /// manifest.json names a tap twice.
    case duplicateTap(path: String, tap: String)
    /// The tensor's shape in activations.safetensors differs from the shape manifest.json gives.
    case shapeMismatch(path: String, tap: String, manifest: [Int], activations: [Int])
    /// A reference tensor is not float32.
    case wrongDType(path: String, tap: String, dtype: String)
    /// A reference tensor holds NaN or an infinity (`value` is "NaN", "+Inf" or "-Inf"), first at `index`.
    case nonFinite(path: String, tap: String, value: String, index: [Int])
    /// The truth tensor `tensor` a tap names is absent or unusable (`reason`: "is missing", "is F32, not BF16", ...).
    case badTruth(path: String, tap: String, tensor: String, reason: String)
    /// A `--tolerance-for` rule that does not parse.
    case invalidToleranceRule(rule: String, reason: String)
    /// A tap pattern (`option` is the flag that gave it) matching no tap of the reference whose manifest is `path`.
    case patternMatchesNoTap(path: String, option: String, pattern: String, taps: [String])

    static let regenerate = "regenerate it with tools/make_reference.py"

    public var description: String {
        switch self {
        case .missingFolder(let p):
            return "\(p): no such folder; make a reference folder with tools/make_reference.py --weights FILE --image IMAGE -o \(p)"
        case .notAFolder(let p):
            return "\(p): not a folder; pass the folder tools/make_reference.py wrote (it holds manifest.json and activations.safetensors)"
        case .missingFile(let p):
            let dir = (p as NSString).deletingLastPathComponent
            return "\(p): no such file; a reference folder holds manifest.json and activations.safetensors, "
                + "written together by tools/make_reference.py --weights FILE --image IMAGE -o \(dir.isEmpty ? "." : dir)"
        case .invalidManifest(let p, let field, let reason):
            let at = field.map { "field '\($0)': " } ?? ""
            return "\(p): invalid reference manifest: \(at)\(reason); \(Self.regenerate)"
        case .unsupportedSchemaVersion(let p, let found, let supported):
            return "\(p): schema_version \(found) is not supported (this vfw reads versions 1 to \(supported)); "
                + "regenerate the reference with this checkout's tools/make_reference.py"
        case .unreadableActivations(let p, let reason):
            return "\(p): \(reason); \(Self.regenerate)"
        case .missingTap(let p, let t):
            return "\(p): tap '\(t)' listed in manifest.json is missing; the two files must come from the same run, \(Self.regenerate)"
        case .duplicateTap(let p, let t):
            return "\(p): tap '\(t)' is listed more than once; \(Self.regenerate)"
        case .shapeMismatch(let p, let t, let m, let a):
            return "\(p): tap '\(t)' is \(describeShape(a)) but manifest.json says \(describeShape(m)); "
                + "the two files must come from the same run, \(Self.regenerate)"
        case .wrongDType(let p, let t, let d):
            return "\(p): reference tap '\(t)' is \(d), not F32; \(Self.regenerate)"
        case .nonFinite(let p, let t, let v, let i):
            return "\(p): reference tap '\(t)' holds \(v) (first at \(describeShape(i))); regenerate it"
        case .badTruth(let p, let t, let tensor, let reason):
            return "\(p): the truth of tap '\(t)', tensor '\(tensor)', \(reason); \(Self.regenerate)"
        case .invalidToleranceRule(let r, let reason):
            return "--tolerance-for '\(r)': \(reason); write GLOB=T (atol = rtol = T) or GLOB=ATOL,RTOL, e.g. 'layer4.*=1e-3'"
        case .patternMatchesNoTap(let p, let option, let pattern, let taps):
            let shown = taps.prefix(6).joined(separator: ", ") + (taps.count > 6 ? ", ..." : "")
            return "\(p): \(option) '\(pattern)' matches no tap of this reference (its taps: \(shown))"
        }
    }
}
