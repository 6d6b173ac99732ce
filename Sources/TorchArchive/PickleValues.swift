// The values a pickle builds, held flat: composite objects live in a heap and are referred to by index, so that no
// pickle (however deeply nested or cyclic) can make vfw recurse while building, walking or freeing them.

/// Names the pickle machine lets a GLOBAL resolve to. Nothing here is ever imported or called: each is interpreted.
enum KnownGlobal: Equatable {
    case orderedDict, dict, counter, list, tuple, set, frozenset, bytearray, object
    case codecsEncode
    case reconstructor                   // copyreg._reconstructor(cls, base, state)
    case rebuildTensor, rebuildTensorV2, rebuildTensorV3
    case rebuildParameter, rebuildParameterWithState
    case rebuildFromTypeV2
    case rebuildDeviceFromCPU            // _rebuild_device_tensor_from_cpu_tensor(data, dtype, device, requires_grad)
    case rebuildUnsupported(String)      // quantized, sparse, meta, nested ... : known, refused when used as weights
    case parameter                       // torch.nn.parameter.Parameter
    case tensorClass(String)             // torch.Tensor and friends (a type argument of _rebuild_from_type_v2)
    case torchSize, torchDevice, getLayout
    case storageClass(String, TorchDType)
    case dtype(TorchDType)
    case qscheme(String)

    var pythonName: String {
        switch self {
        case .orderedDict: return "collections.OrderedDict"
        case .dict: return "builtins.dict"
        case .counter: return "collections.Counter"
        case .list: return "builtins.list"
        case .tuple: return "builtins.tuple"
        case .set: return "builtins.set"
        case .frozenset: return "builtins.frozenset"
        case .bytearray: return "builtins.bytearray"
        case .object: return "builtins.object"
        case .codecsEncode: return "_codecs.encode"
        case .reconstructor: return "copyreg._reconstructor"
        case .rebuildTensor: return "torch._utils._rebuild_tensor"
        case .rebuildTensorV2: return "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: return "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: return "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: return "torch._utils._rebuild_parameter_with_state"
        case .rebuildFromTypeV2: return "torch._tensor._rebuild_from_type_v2"
        case .rebuildDeviceFromCPU: return "torch._utils._rebuild_device_tensor_from_cpu_tensor"
        case .rebuildUnsupported(let n): return "torch._utils." + n
        case .parameter: return "torch.nn.parameter.Parameter"
        case .tensorClass(let n): return n
        case .torchSize: return "torch.Size"
        case .torchDevice: return "torch.device"
        case .getLayout: return "torch.serialization._get_layout"
        case .storageClass(let n, _): return "torch." + n
        case .dtype(let d): return d.displayName
        case .qscheme(let n): return "torch." + n
        }
    }
}

/// A value on the pickle stack or in the memo. Composite values are `.ref` into the `PickleHeap`.
enum PV {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer that does not fit 64 bits (kept only as a fact: no tensor field can use one).
    case bigInt
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Boxed: KnownGlobal's payloads would otherwise make every PV 64 bytes instead of 24, and a hostile pickle
    /// may fill containers with maxContainerItems of them.
    indirect case global(KnownGlobal)
    /// A global outside the allowlist and outside RefusedGlobals: a class or function vfw does not build, index into
    /// `PickleHeap.foreignClasses`. Never imported or called: using it makes an inert `ForeignObject`.
    case foreignClass(Int)
    case ref(Int)
}

/// A tensor as the rebuild call described it. Problems that only matter if the tensor is used are kept, not thrown.
struct TensorNode {
    var storage: Int            // heap index of a `.storage` node
    var dtype: TorchDType
    var offset: Int             // in elements of `dtype`
    var size: [Int]
    var stride: [Int]
    var problem: String?        // "has the conjugate bit set", "is a quantized tensor" ...
}

/// A storage as a persistent id named it.
struct StorageNode {
    var key: String
    var dtype: TorchDType       // element type of the storage (uint8 for UntypedStorage)
    var numel: Int              // in elements of `dtype`
    /// Legacy storage views: (element offset, element count) inside the root storage `key`.
    var view: (offset: Int, count: Int)?
}

struct DictNode {
    var keys: [PV] = []
    var values: [PV] = []
    var index: [DictKey: Int] = [:]

    mutating func set(_ key: PV, _ value: PV, identity: Int) {
        let k = DictKey(key, identity: identity)
        if let i = index[k] { values[i] = value; return }
        index[k] = keys.count
        keys.append(key)
        values.append(value)
    }
}

/// Hashable form of a dict key: strings and ints by value (True == 1 as in Python), others by identity.
enum DictKey: Hashable {
    case string(String)
    case int(Int)
    case bytes([UInt8])
    case none
    case float(UInt64)
    case other(Int)

    init(_ v: PV, identity: Int) {
        switch v {
        case .string(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .bytes(let b): self = .bytes(b)
        case .none: self = .none
        case .float(let d): self = d == d.rounded() && abs(d) < 9e18 ? .int(Int(d)) : .float(d.bitPattern)
        case .ref(let r): self = .other(-1 - r)
        default: self = .other(identity)
        }
    }
}

enum Node {
    case tuple([PV])
    case list([PV])
    case dict(DictNode)
    case set([PV])
    case tensor(TensorNode)
    case storage(StorageNode)
    /// Something interpreted but carrying no weights: torch.device('cpu'), a layout, an object's bare state ...
    case opaque(String)
    /// An inert placeholder for an object of a class vfw does not build (argparse.Namespace, a numpy scalar, a
    /// pathlib path, an nn.Module ...): what it was given is kept, nothing is run.
    case object(ForeignObject)
}

/// Where a class vfw does not build was named: its Python name and the GLOBAL's byte in its pickle stream.
struct ForeignClass {
    let name: String
    let stream: String
    let offset: Int
}

/// A placeholder object. `contents` holds everything the pickle handed it (constructor arguments, BUILD state,
/// APPENDS / SETITEMS items, keys and values alike), so the selector can tell whether tensors would come from it.
/// A class, so that Node stays small and SETITEMS on a placeholder appends in place.
final class ForeignObject {
    let classIndex: Int
    var contents: [PV]

    init(classIndex: Int, contents: [PV]) {
        self.classIndex = classIndex
        self.contents = contents
    }
}

/// All composite values of one load (shared by the pickles of a legacy stream).
final class PickleHeap {
    var nodes: [Node] = []
    /// Classes and functions vfw does not build, in the order the pickles named them.
    var foreignClasses: [ForeignClass] = []

    func add(_ n: Node) -> PV {
        nodes.append(n)
        return .ref(nodes.count - 1)
    }

    func node(_ v: PV) -> Node? {
        if case .ref(let r) = v, r >= 0, r < nodes.count { return nodes[r] }
        return nil
    }

    func dict(_ v: PV) -> DictNode? {
        if case .dict(let d)? = node(v) { return d }
        return nil
    }

    func sequence(_ v: PV) -> [PV]? {
        switch node(v) {
        case .tuple(let t)?: return t
        case .list(let l)?: return l
        default: return nil
        }
    }

    func isTensor(_ v: PV) -> Bool {
        if case .tensor? = node(v) { return true }
        return false
    }

    /// The class behind a placeholder: a placeholder object, or a class vfw does not build held as a value.
    func foreign(_ v: PV) -> ForeignClass? {
        switch v {
        case .foreignClass(let i): return i >= 0 && i < foreignClasses.count ? foreignClasses[i] : nil
        case .ref:
            if case .object(let o)? = node(v), o.classIndex >= 0, o.classIndex < foreignClasses.count {
                return foreignClasses[o.classIndex]
            }
            return nil
        default: return nil
        }
    }

    /// "a dict (3 entries)", "an int", ... for messages and notes.
    func describe(_ v: PV) -> String {
        switch v {
        case .none: return "None"
        case .bool: return "a bool"
        case .int(let i): return "the int \(i)"
        case .bigInt: return "a large int"
        case .float(let d): return "the float \(d)"
        case .string(let s): return "the string '\(oneLine(s, limit: 40))'"
        case .bytes(let b): return "a bytes object (\(b.count) bytes)"
        case .global(let g): return "the global \(g.pythonName)"
        case .foreignClass(let i): return "the class \(i < foreignClasses.count ? foreignClasses[i].name : "?")"
        case .ref:
            switch node(v) {
            case .tuple(let t)?: return "a tuple (\(t.count) items)"
            case .list(let l)?: return "a list (\(l.count) items)"
            case .dict(let d)?: return "a dict (\(d.keys.count) entries)"
            case .set(let s)?: return "a set (\(s.count) items)"
            case .tensor?: return "a tensor"
            case .storage?: return "a storage"
            case .opaque(let s)?: return s
            case .object?: return "an object of \(foreign(v)?.name ?? "?")"
            case nil: return "nothing"
            }
        }
    }
}
