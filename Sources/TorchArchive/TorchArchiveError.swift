// Everything that can be wrong with a torch.save file, as one-line sentences that start with the file path.

import Foundation
import TensorCore

/// Why a torch.save file could not be read. Every `description` is ONE line starting with the file path.
public enum TorchArchiveError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// Neither a zip archive nor the legacy pickle stream.
    case notTorchFile(path: String, reason: String)
    /// A torch container vfw deliberately does not read (legacy tar of torch < 0.1.10, the "PYTORCH1" preview format).
    case unsupportedContainer(path: String, what: String)
    /// A zip archive that is damaged: bad offsets, sizes, signatures, entries outside the archive.
    case malformedZip(path: String, reason: String)
    /// A record torch always writes is not in the archive (e.g. `archive/data.pkl`, `archive/data/3`).
    case missingRecord(path: String, record: String)
    /// A record whose bytes cannot be used (inflate failed, wrong length, unknown compression).
    case badRecord(path: String, record: String, reason: String)
    /// A TorchScript archive (torch.jit.save), not a torch.save file.
    case torchScript(path: String)
    /// The legacy (torch <= 1.5) stream is damaged outside its pickles.
    case malformedLegacy(path: String, reason: String)
    /// A pickle that is truncated or structurally invalid. `offset` is the opcode's byte offset in `stream`.
    case malformedPickle(path: String, stream: String, offset: Int, reason: String)
    /// A pickle that names a global vfw does not allow (vfw never imports or calls anything).
    case refusedGlobal(path: String, stream: String, offset: Int, global: String)
    /// The weights would come out of a pickled nn.Module: a whole model saved with `torch.save(model)`.
    case wholeModel(path: String, stream: String, offset: Int, className: String)
    /// The weights would come out of an object of a class vfw does not build (it never runs the code that would).
    /// `entry` is its dotted path ("" for the top level); `stream` / `offset` where the pickle names its class.
    case foreignObject(path: String, entry: String, className: String, stream: String, offset: Int)
    /// A pickle that exceeds one of the `PickleLimits`.
    case limitExceeded(path: String, stream: String, offset: Int, limit: String, maximum: Int)
    /// A tensor whose dtype vfw has no type for (complex128, quantized, bits*, ...).
    case unsupportedDType(path: String, tensor: String, dtype: String)
    /// A tensor vfw cannot represent (conj/neg bit, quantized, sparse, meta, nested ...).
    case unsupportedTensor(path: String, tensor: String, reason: String)
    /// A tensor whose storage, offset, size or stride do not fit together.
    case badTensor(path: String, tensor: String, reason: String)
    /// The top-level object is not a dict (a bare tensor, a list, ...).
    case notAStateDict(path: String, holds: String)
    /// Nothing in the file is a dict of tensors.
    case noTensors(path: String, candidates: [String])
    /// Several entries hold tensors and none is the obvious choice.
    case ambiguous(path: String, candidates: [String])
    /// `--key` names something the file does not have.
    case keyNotFound(path: String, key: String, available: [String])
    /// `--key` names an entry that is not a dict of tensors.
    case keyHoldsNoTensors(path: String, key: String, holds: String)
    /// Two tensors end up with the same name.
    case duplicateTensorName(path: String, name: String)

    public var description: String {
        switch self {
        case .cannotOpen(let p, let r):
            return "\(p): cannot open: \(oneLine(r))"
        case .notTorchFile(let p, let r):
            return "\(p): not a torch.save file: \(oneLine(r))"
        case .unsupportedContainer(let p, let w):
            return "\(p): \(oneLine(w)) is not supported; load it with torch and save it again with a current torch.save"
        case .malformedZip(let p, let r):
            return "\(p): damaged zip archive: \(oneLine(r))"
        case .missingRecord(let p, let r):
            return "\(p): the archive has no record '\(oneLine(r))' (truncated or not written by torch.save?)"
        case .badRecord(let p, let rec, let r):
            return "\(p): record '\(oneLine(rec))' is unusable: \(oneLine(r))"
        case .torchScript(let p):
            return "\(p): is a TorchScript archive (torch.jit.save); vfw reads torch.save state_dicts: save `model.state_dict()` with torch.save"
        case .malformedLegacy(let p, let r):
            return "\(p): damaged legacy torch.save stream: \(oneLine(r))"
        case .malformedPickle(let p, let s, let o, let r):
            return "\(p): damaged pickle in \(s) at byte \(o): \(oneLine(r))"
        case .refusedGlobal(let p, let s, let o, let g):
            return "\(p): refused global \(oneLine(g)) in \(s) at byte \(o) (vfw never runs code from a pickle)"
        case .wholeModel(let p, let s, let o, let c):
            return "\(p): \(s) at byte \(o) builds an object of class \(oneLine(c)): this is a whole pickled model "
                + "(torch.save(model)), not a state_dict, and vfw never runs code from a pickle: "
                + "save `model.state_dict()` with torch.save instead"
        case .foreignObject(let p, let e, let c, let s, let o):
            let what = e.isEmpty ? "holds" : "entry '\(oneLine(e, limit: 120))' is"
            return "\(p): \(what) an object of \(oneLine(c)) (named in \(s) at byte \(o)), which vfw does not build: "
                + "tensors would come from it, and only running its Python code could make them, which vfw never does; "
                + "save a dict of tensors (model.state_dict()) instead, or pass --key to choose another entry"
        case .limitExceeded(let p, let s, let o, let l, let m):
            let raise = PickleLimits.variableKey[l].map { "; VFW_LIMITS=\($0)=N raises it" } ?? ""
            return "\(p): \(s) at byte \(o) exceeds the pickle limit \(l) = \(m) (damaged or hostile file?\(raise))"
        case .unsupportedDType(let p, let t, let d):
            return "\(p): tensor '\(oneLine(t))' has dtype \(oneLine(d)), which vfw does not support"
        case .unsupportedTensor(let p, let t, let r):
            return "\(p): tensor '\(oneLine(t))' \(oneLine(r)), which vfw does not support"
        case .badTensor(let p, let t, let r):
            return "\(p): tensor '\(oneLine(t))' is damaged: \(oneLine(r))"
        case .notAStateDict(let p, let h):
            return "\(p): holds \(oneLine(h)), not a state_dict (a dict of tensor name -> tensor)"
        case .noTensors(let p, let c):
            return "\(p): holds no tensors; candidate keys: \(listText(c)); pass --key"
        case .ambiguous(let p, let c):
            return "\(p): several entries hold tensors: \(listText(c)); pass --key to choose one"
        case .keyNotFound(let p, let k, let a):
            return "\(p): has no entry '\(oneLine(k))'; available keys: \(listText(a))"
        case .keyHoldsNoTensors(let p, let k, let h):
            return "\(p): entry '\(oneLine(k))' holds \(oneLine(h)), not a dict of tensors"
        case .duplicateTensorName(let p, let n):
            return "\(p): tensor name '\(oneLine(n))' appears more than once"
        }
    }
}

/// Text from a file made safe for a one-line message (TensorCore's `oneLine`), by default cut at 300 characters, so
/// that a message quoting several values of a file stays readable.
func oneLine(_ s: String, limit: Int = 300) -> String { TensorCore.oneLine(s, limit: limit) }

func listText(_ items: [String]) -> String {
    if items.isEmpty { return "(none)" }
    let shown = items.prefix(20).map { oneLine($0, limit: 80) }
    return shown.joined(separator: ", ") + (items.count > 20 ? ", … (\(items.count) in all)" : "")
}

/// Bounds on what one pickle may make vfw do, so that a hostile or damaged file fails fast instead of exhausting memory.
public struct PickleLimits: Sendable, Equatable {
    /// Distinct memo slots (PUT / BINPUT / MEMOIZE).
    public var maxMemo: Int
    /// Values on the pickle stack, and open MARKs.
    public var maxStackDepth: Int
    /// Bytes of one string, bytes object or long integer.
    public var maxStringLength: Int
    /// Items held by all containers (tuples, lists, dicts, sets) of one pickle together.
    public var maxContainerItems: Int
    /// Opcodes executed by one pickle.
    public var maxOpcodes: Int
    /// Bytes of one pickle stream (data.pkl, or one pickle of the legacy stream).
    public var maxTotalBytes: Int
    /// Tensors one load may build (all pickles of the file together).
    public var maxTensors: Int
    /// Bytes vfw may allocate for copies while loading one file (DEFLATE records inflated, strided, expanded or
    /// byte-swapped views gathered), checked before each allocation. The budget is the larger of this and 4x the
    /// file's size, so a legitimately re-zipped or strided checkpoint loads while a few kilobytes that claim
    /// gigabytes (a zip bomb, a view expanded with stride 0) do not.
    public var maxCopyBytes: Int

    public init(maxMemo: Int = 1_000_000, maxStackDepth: Int = 10_000, maxStringLength: Int = 100_000_000,
                maxContainerItems: Int = 10_000_000, maxOpcodes: Int = 200_000_000, maxTotalBytes: Int = 1 << 30,
                maxTensors: Int = 1_000_000, maxCopyBytes: Int = 1 << 30) {
        self.maxMemo = maxMemo
        self.maxStackDepth = maxStackDepth
        self.maxStringLength = maxStringLength
        self.maxContainerItems = maxContainerItems
        self.maxOpcodes = maxOpcodes
        self.maxTotalBytes = maxTotalBytes
        self.maxTensors = maxTensors
        self.maxCopyBytes = maxCopyBytes
    }

    public static let `default` = PickleLimits()

    /// The copy budget for a file of `fileSize` bytes.
    func copyBudget(fileSize: Int) -> Int {
        let (four, o) = fileSize.multipliedReportingOverflow(by: 4)
        return o ? Int.max : max(maxCopyBytes, four)
    }

    /// The name of each limit in `VFW_LIMITS`, by the name messages use.
    static let variableKey: [String: String] = [
        "maxMemo": "memo", "maxStackDepth": "depth", "maxStringLength": "string", "maxContainerItems": "items",
        "maxOpcodes": "opcodes", "maxTotalBytes": "pickle", "maxTensors": "tensors", "maxCopyBytes": "copy",
    ]

    /// The defaults with what `VFW_LIMITS` sets; `problem` when the variable is malformed.
    public static func fromEnvironment() -> (limits: PickleLimits, problem: String?) {
        LimitsVariable.fromEnvironment(PickleLimits.default, fields: [
            "memo": \.maxMemo, "depth": \.maxStackDepth, "string": \.maxStringLength, "items": \.maxContainerItems,
            "opcodes": \.maxOpcodes, "pickle": \.maxTotalBytes, "tensors": \.maxTensors, "copy": \.maxCopyBytes,
        ])
    }}
