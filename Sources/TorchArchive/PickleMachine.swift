// A pickle machine for protocols 0–5 that executes nothing.
//
// GLOBAL / STACK_GLOBAL resolve against a fixed allowlist (KnownGlobal), interpreted symbolically. A global in
// RefusedGlobals (code execution) refuses the whole file with its name and the byte where it appeared. Any other
// global is a class or function vfw does not build: calling, instantiating or BUILDing it makes an inert
// placeholder (ForeignObject) holding what it was given; the state_dict selector decides whether that matters.
// Every read is bounds-checked and every size is bounded by `PickleLimits`.

/// Where errors are reported: the file path and the pickle stream's name, and how stream bytes map to file bytes.
struct PickleContext {
    let path: String
    let stream: String          // "data.pkl", "the legacy object pickle" ...
    let baseOffset: Int         // added to stream offsets in messages (0 for data.pkl; file offset for legacy pickles)
}

/// Called for BINPERSID / PERSID with the persistent id and the opcode offset; returns the storage value.
typealias PersistentLoad = (_ pid: PV, _ heap: PickleHeap, _ offset: Int) throws -> PV

final class PickleMachine {
    private let data: UnsafeRawBufferPointer
    private let ctx: PickleContext
    private let limits: PickleLimits
    private let heap: PickleHeap
    private let persistentLoad: PersistentLoad

    private var pos = 0
    private var opStart = 0
    private var stack: [PV] = []
    private var marks: [Int] = []
    private var memo: [Int: PV] = [:]
    private var items = 0
    private var tensors = 0
    private var opcodes = 0
    private var identity = 0
    /// Foreign classes already named by this load, by Python name (one placeholder class per name).
    private var foreignIndex: [String: Int] = [:]

    init(data: UnsafeRawBufferPointer, context: PickleContext, limits: PickleLimits, heap: PickleHeap,
         persistentLoad: @escaping PersistentLoad) {
        self.data = data
        self.ctx = context
        self.limits = limits
        self.heap = heap
        self.persistentLoad = persistentLoad
    }

    /// Runs the pickle from `start` to its STOP. Returns the value and the stream offset just after STOP.
    func run(from start: Int = 0) throws -> (value: PV, end: Int) {
        pos = start
        stack.removeAll()
        marks.removeAll()
        memo.removeAll()
        while true {
            opStart = pos
            opcodes += 1
            if opcodes > limits.maxOpcodes { throw limit("maxOpcodes", limits.maxOpcodes) }
            if pos - start > limits.maxTotalBytes { throw limit("maxTotalBytes", limits.maxTotalBytes) }
            let op = try u8()
            switch op {
            case 0x80: // PROTO
                let v = try u8()
                if v > 5 { throw bad("unsupported pickle protocol \(v)") }
            case 0x95: // FRAME: a length prefix; opcodes continue unchanged inside the frame
                let n = try u64()
                if n > UInt64(data.count - pos) { throw bad("frame of \(n) bytes runs past the end of the pickle (truncated?)") }
            case 0x2E: // STOP
                let v = try pop()
                return (v, pos)

            // MARK: stack manipulation
            case 0x28: // MARK
                marks.append(stack.count)
                if marks.count > limits.maxStackDepth { throw limit("maxStackDepth", limits.maxStackDepth) }
            case 0x30: // POP
                if let m = marks.last, m == stack.count { marks.removeLast() } else { _ = try pop() }
            case 0x31: // POP_MARK
                _ = try popMark()
            case 0x32: // DUP
                try push(try top())

            // MARK: constants and numbers
            case 0x4E: try push(.none)                      // NONE
            case 0x88: try push(.bool(true))                // NEWTRUE
            case 0x89: try push(.bool(false))               // NEWFALSE
            case 0x4B: try push(.int(Int(try u8())))        // BININT1
            case 0x4D: try push(.int(Int(try u16())))       // BININT2
            case 0x4A: try push(.int(Int(Int32(bitPattern: try u32()))))  // BININT
            case 0x8A: // LONG1
                let n = Int(try u8())
                try push(try longBytes(n))
            case 0x8B: // LONG4
                let n = Int(Int32(bitPattern: try u32()))
                if n < 0 { throw bad("LONG4 with negative length \(n)") }
                if n > limits.maxStringLength { throw limit("maxStringLength", limits.maxStringLength) }
                try push(try longBytes(n))
            case 0x49: // INT (text)
                let line = try textLine()
                if line == "01" { try push(.bool(true)) } else if line == "00" { try push(.bool(false)) } else {
                    try push(try parseTextInt(line))
                }
            case 0x4C: // LONG (text), e.g. "123L"
                var line = try textLine()
                if line.hasSuffix("L") { line.removeLast() }
                try push(try parseTextInt(line))
            case 0x47: // BINFLOAT: big-endian f64
                let bits = try u64BigEndian()
                try push(.float(Double(bitPattern: bits)))
            case 0x46: // FLOAT (text)
                let line = try textLine()
                guard let d = Double(line) else { throw bad("FLOAT with unreadable text '\(line)'") }
                try push(.float(d))

            // MARK: strings and bytes
            case 0x58: try push(.string(try utf8(Int(try u32()))))            // BINUNICODE
            case 0x8C: try push(.string(try utf8(Int(try u8()))))             // SHORT_BINUNICODE
            case 0x8D: try push(.string(try utf8(try length64())))            // BINUNICODE8
            case 0x55: try push(.string(try utf8(Int(try u8()))))             // SHORT_BINSTRING (py2 str, decoded as UTF-8 like torch.load)
            case 0x54: // BINSTRING
                let n = Int(Int32(bitPattern: try u32()))
                if n < 0 { throw bad("BINSTRING with negative length \(n)") }
                try push(.string(try utf8(n)))
            case 0x42: try push(.bytes(try rawBytes(Int(try u32()))))         // BINBYTES
            case 0x43: try push(.bytes(try rawBytes(Int(try u8()))))          // SHORT_BINBYTES
            case 0x8E: try push(.bytes(try rawBytes(try length64())))         // BINBYTES8
            case 0x96: try push(.bytes(try rawBytes(try length64())))         // BYTEARRAY8
            case 0x56, 0x53: // UNICODE / STRING (protocol 0 text with escapes): not produced by torch.save
                throw bad("protocol-0 text string opcode 0x\(hex(op)) is not supported (re-save the file with torch.save)")
            case 0x97, 0x98: // NEXT_BUFFER / READONLY_BUFFER
                throw bad("out-of-band buffers (pickle protocol 5 NEXT_BUFFER) are not supported")

            // MARK: containers
            case 0x29: try push(heapAdd(.tuple([])))                    // EMPTY_TUPLE
            case 0x74: try push(heapAdd(.tuple(try popMark())))         // TUPLE
            case 0x85: let a = try pop(); try push(heapAdd(.tuple([a])))                                   // TUPLE1
            case 0x86: let b = try pop(); let a = try pop(); try push(heapAdd(.tuple([a, b])))            // TUPLE2
            case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); try push(heapAdd(.tuple([a, b, c])))  // TUPLE3
            case 0x5D: try push(heapAdd(.list([])))                     // EMPTY_LIST
            case 0x6C: try push(heapAdd(.list(try popMark())))          // LIST
            case 0x7D: try push(heapAdd(.dict(DictNode())))             // EMPTY_DICT
            case 0x64: // DICT
                let kv = try popMark()
                if kv.count % 2 != 0 { throw bad("DICT with an odd number of items") }
                var d = DictNode()
                var i = 0
                while i < kv.count { d.set(kv[i], kv[i + 1], identity: nextIdentity()); i += 2 }
                try push(heapAdd(.dict(d), items: kv.count / 2))
            case 0x8F: try push(heapAdd(.set([])))                      // EMPTY_SET
            case 0x91: try push(heapAdd(.set(try popMark())))           // FROZENSET
            case 0x61: // APPEND
                let v = try pop()
                try appendItems(to: try top(), [v])
            case 0x65: // APPENDS
                let vs = try popMark()
                try appendItems(to: try top(), vs)
            case 0x73: // SETITEM
                let v = try pop()
                let k = try pop()
                try setItems(on: try top(), [k, v])
            case 0x75: // SETITEMS
                let kv = try popMark()
                try setItems(on: try top(), kv)
            case 0x90: // ADDITEMS
                let vs = try popMark()
                let target = try top()
                guard case .ref(let r) = target, case .set(var s) = heap.nodes[r] else {
                    throw bad("ADDITEMS on \(heap.describe(target)), not a set")
                }
                try count(vs.count)
                s.append(contentsOf: vs)
                heap.nodes[r] = .set(s)

            // MARK: memo
            case 0x70: try memoPut(try parseMemoIndex(try textLine()))  // PUT
            case 0x71: try memoPut(Int(try u8()))                      // BINPUT
            case 0x72: try memoPut(Int(try u32()))                     // LONG_BINPUT
            case 0x94: try memoPut(memo.count)                         // MEMOIZE
            case 0x67: try memoGet(try parseMemoIndex(try textLine()))  // GET
            case 0x68: try memoGet(Int(try u8()))                      // BINGET
            case 0x6A: try memoGet(Int(try u32()))                     // LONG_BINGET

            // MARK: globals and calls
            case 0x63: // GLOBAL "module\nname\n"
                let module = try textLine()
                let name = try textLine()
                try push(try resolve(module: module, name: name))
            case 0x93: // STACK_GLOBAL
                let nameV = try pop()
                let moduleV = try pop()
                guard case .string(let name) = nameV, case .string(let module) = moduleV else {
                    throw bad("STACK_GLOBAL needs two strings, got \(heap.describe(moduleV)) and \(heap.describe(nameV))")
                }
                try push(try resolve(module: module, name: name))
            case 0x52: // REDUCE
                let args = try pop()
                let callable = try pop()
                try push(try reduce(callable, args))
            case 0x81: // NEWOBJ
                let args = try pop()
                let cls = try pop()
                try push(try newObject(cls, args, kwargs: nil))
            case 0x92: // NEWOBJ_EX
                let kwargs = try pop()
                let args = try pop()
                let cls = try pop()
                try push(try newObject(cls, args, kwargs: kwargs))
            case 0x69: // INST "module\nname\n" with arguments since MARK
                let module = try textLine()
                let name = try textLine()
                let args = try popMark()
                let cls = try resolve(module: module, name: name)
                try push(try newObject(cls, heapAdd(.tuple(args)), kwargs: nil))
            case 0x6F: // OBJ: class and arguments since MARK
                var args = try popMark()
                guard !args.isEmpty else { throw bad("OBJ without a class") }
                let cls = args.removeFirst()
                try push(try newObject(cls, heapAdd(.tuple(args)), kwargs: nil))
            case 0x62: // BUILD
                let state = try pop()
                try build(try top(), state)
            case 0x51: // BINPERSID
                let pid = try pop()
                try push(try persistentLoad(pid, heap, opStart))
            case 0x50: // PERSID (text id)
                let line = try textLine()
                try push(try persistentLoad(.string(line), heap, opStart))
            case 0x82, 0x83, 0x84: // EXT1 / EXT2 / EXT4: copyreg extension registry
                let code: Int = op == 0x82 ? Int(try u8()) : op == 0x83 ? Int(try u16()) : Int(try u32())
                throw TorchArchiveError.refusedGlobal(path: ctx.path, stream: ctx.stream, offset: ctx.baseOffset + opStart,
                                                      global: "copyreg extension code \(code)")
            default:
                throw bad("unknown opcode 0x\(hex(op))")
            }
        }
    }

    // MARK: - Errors

    private func bad(_ reason: String) -> TorchArchiveError {
        .malformedPickle(path: ctx.path, stream: ctx.stream, offset: ctx.baseOffset + opStart, reason: reason)
    }

    private func limit(_ name: String, _ value: Int) -> TorchArchiveError {
        .limitExceeded(path: ctx.path, stream: ctx.stream, offset: ctx.baseOffset + opStart, limit: name, maximum: value)
    }

    private func hex(_ b: UInt8) -> String {
        let d = Array("0123456789abcdef")
        return String([d[Int(b >> 4)], d[Int(b & 15)]])
    }

    // MARK: - Reading operands

    private func need(_ n: Int) throws {
        if n < 0 || n > data.count - pos { throw bad("truncated: needs \(n) more bytes, the pickle has \(max(0, data.count - pos))") }
    }

    private func u8() throws -> UInt8 {
        guard pos < data.count else {
            throw bad(pos == opStart ? "truncated: the pickle ends without a STOP opcode" : "truncated inside an opcode")
        }
        let v = data[pos]
        pos += 1
        return v
    }

    private func uLE(_ n: Int) throws -> UInt64 {
        try need(n)
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(data[pos + i]) << (8 * UInt64(i)) }
        pos += n
        return v
    }

    private func u16() throws -> UInt16 { UInt16(truncatingIfNeeded: try uLE(2)) }
    private func u32() throws -> UInt32 { UInt32(truncatingIfNeeded: try uLE(4)) }
    private func u64() throws -> UInt64 { try uLE(8) }

    private func u64BigEndian() throws -> UInt64 {
        try need(8)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(data[pos + i]) }
        pos += 8
        return v
    }

    private func length64() throws -> Int {
        let n = try u64()
        if n > UInt64(limits.maxStringLength) { throw limit("maxStringLength", limits.maxStringLength) }
        return Int(n)
    }

    private func rawBytes(_ n: Int) throws -> [UInt8] {
        if n > limits.maxStringLength { throw limit("maxStringLength", limits.maxStringLength) }
        try need(n)
        let out = [UInt8](UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)]))
        pos += n
        return out
    }

    private func utf8(_ n: Int) throws -> String {
        if n > limits.maxStringLength { throw limit("maxStringLength", limits.maxStringLength) }
        try need(n)
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: data[pos..<(pos + n)]), as: UTF8.self)
        pos += n
        return s
    }

    /// A newline-terminated text operand (protocol 0 opcodes and GLOBAL), without the newline.
    private func textLine() throws -> String {
        var end = pos
        let maxEnd = min(data.count, pos + min(limits.maxStringLength, 1 << 20))
        while end < maxEnd && data[end] != 0x0A { end += 1 }
        guard end < data.count, data[end] == 0x0A else {
            if end >= data.count { throw bad("truncated inside a text operand") }
            throw limit("maxStringLength", min(limits.maxStringLength, 1 << 20))
        }
        var bytes = UnsafeRawBufferPointer(rebasing: data[pos..<end])
        if let last = bytes.last, last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes[0..<(bytes.count - 1)]) }
        let s = String(decoding: bytes, as: UTF8.self)
        pos = end + 1
        return s
    }

    private func parseTextInt(_ s: String) throws -> PV {
        if let i = Int(s) { return .int(i) }
        let digits = s.hasPrefix("-") || s.hasPrefix("+") ? s.dropFirst() : Substring(s)
        if !digits.isEmpty && digits.allSatisfy({ $0.isASCII && $0.isNumber }) { return .bigInt }
        throw bad("integer operand '\(oneLine(s, limit: 40))' is not a number")
    }

    private func parseMemoIndex(_ s: String) throws -> Int {
        guard let i = Int(s), i >= 0 else { throw bad("memo index '\(oneLine(s, limit: 40))' is not a number") }
        return i
    }

    /// LONG1 / LONG4 payload: little-endian two's complement.
    private func longBytes(_ n: Int) throws -> PV {
        try need(n)
        defer { pos += n }
        if n == 0 { return .int(0) }
        let negative = data[pos + n - 1] & 0x80 != 0
        // Bytes beyond the 8th must be pure sign extension for the value to fit in Int.
        if n > 8 {
            let fill: UInt8 = negative ? 0xFF : 0x00
            for i in 8..<n where data[pos + i] != fill { return .bigInt }
        }
        var v: UInt64 = negative ? UInt64.max : 0
        for i in 0..<min(n, 8) {
            let shift = UInt64(8 * i)
            v &= ~(UInt64(0xFF) << shift)
            v |= UInt64(data[pos + i]) << shift
        }
        let signed = Int64(bitPattern: v)
        if n > 8 && (signed < 0) != negative { return .bigInt }
        return .int(Int(signed))
    }

    // MARK: - Stack, marks, memo, heap

    private func push(_ v: PV) throws {
        stack.append(v)
        if stack.count > limits.maxStackDepth { throw limit("maxStackDepth", limits.maxStackDepth) }
    }

    private func pop() throws -> PV {
        if let m = marks.last, m >= stack.count { throw bad("stack underflow: an opcode needs a value but finds a MARK") }
        guard let v = stack.popLast() else { throw bad("stack underflow: an opcode needs a value on an empty stack") }
        return v
    }

    private func top() throws -> PV {
        if let m = marks.last, m >= stack.count { throw bad("stack underflow: an opcode needs a value but finds a MARK") }
        guard let v = stack.last else { throw bad("stack underflow: an opcode needs a value on an empty stack") }
        return v
    }

    private func popMark() throws -> [PV] {
        guard let m = marks.popLast() else { throw bad("an opcode needs a MARK but there is none") }
        guard m <= stack.count else { throw bad("MARK points past the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private func nextIdentity() -> Int {
        identity += 1
        return identity
    }

    private func count(_ n: Int) throws {
        items += n
        if items > limits.maxContainerItems { throw limit("maxContainerItems", limits.maxContainerItems) }
    }

    private func heapAdd(_ n: Node, items extra: Int? = nil) throws -> PV {
        switch n {
        case .tuple(let t), .list(let t), .set(let t): try count(1 + t.count)
        case .tensor:
            // Every tensor a pickle builds may become an output tensor: bound them (the state_dict is a subset).
            tensors += 1
            if tensors > limits.maxTensors { throw limit("maxTensors", limits.maxTensors) }
            try count(1)
        default: try count(1 + (extra ?? 0))
        }
        return heap.add(n)
    }

    private func memoPut(_ i: Int) throws {
        let v = try top()
        if memo[i] == nil && memo.count >= limits.maxMemo { throw limit("maxMemo", limits.maxMemo) }
        memo[i] = v
    }

    private func memoGet(_ i: Int) throws {
        guard let v = memo[i] else { throw bad("memo slot \(i) is read before it is written") }
        try push(v)
    }

    private func appendItems(to target: PV, _ vs: [PV]) throws {
        if case .object(let o)? = heap.node(target) {  // a list subclass vfw does not build
            try count(vs.count)
            o.contents.append(contentsOf: vs)
            return
        }
        guard case .ref(let r) = target, case .list(var l) = heap.nodes[r] else {
            throw bad("APPEND on \(heap.describe(target)), not a list")
        }
        try count(vs.count)
        heap.nodes[r] = .list([])  // release the old array so the append below does not copy it
        l.append(contentsOf: vs)
        heap.nodes[r] = .list(l)
    }

    private func setItems(on target: PV, _ kv: [PV]) throws {
        if kv.count % 2 != 0 { throw bad("SETITEMS with an odd number of items") }
        if case .object(let o)? = heap.node(target) {  // a dict subclass vfw does not build (defaultdict ...)
            try count(kv.count / 2)
            o.contents.append(contentsOf: kv)
            return
        }
        guard case .ref(let r) = target, case .dict(var d) = heap.nodes[r] else {
            throw bad("SETITEM on \(heap.describe(target)), not a dict")
        }
        try count(kv.count / 2)
        heap.nodes[r] = .opaque("")
        var i = 0
        while i < kv.count { d.set(kv[i], kv[i + 1], identity: nextIdentity()); i += 2 }
        heap.nodes[r] = .dict(d)
    }

    // MARK: - Globals

    private func resolve(module rawModule: String, name: String) throws -> PV {
        // Python 2 names, as pickle's NAME_MAPPING / IMPORT_MAPPING translate them.
        let module: String
        switch rawModule {
        case "__builtin__", "exceptions": module = "builtins"
        case "copy_reg": module = "copyreg"
        // Python 3 pickles subprocess.Popen as commands.Popen under protocol <= 2 (fix_imports): name what runs.
        case "commands": module = "subprocess"
        case "cPickle": module = "pickle"
        // torch.load's own renaming (load_module_mapping in torch/serialization.py).
        case "torch.tensor": module = "torch._tensor"
        default: module = rawModule
        }
        if let g = PickleMachine.known(module: module, name: name) { return .global(g) }
        let full = module + "." + name
        if RefusedGlobals.refuses(module: module, name: name) {
            throw TorchArchiveError.refusedGlobal(path: ctx.path, stream: ctx.stream, offset: ctx.baseOffset + opStart, global: full)
        }
        if let i = foreignIndex[full] { return .foreignClass(i) }
        try count(1)
        heap.foreignClasses.append(ForeignClass(name: full, stream: ctx.stream, offset: ctx.baseOffset + opStart))
        foreignIndex[full] = heap.foreignClasses.count - 1
        return .foreignClass(heap.foreignClasses.count - 1)
    }

    static func known(module: String, name: String) -> KnownGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("collections", "Counter"): return .counter
        case ("builtins", "dict"): return .dict
        case ("builtins", "list"): return .list
        case ("builtins", "tuple"): return .tuple
        case ("builtins", "set"): return .set
        case ("builtins", "frozenset"): return .frozenset
        case ("builtins", "bytearray"): return .bytearray
        case ("builtins", "object"): return .object
        case ("_codecs", "encode"): return .codecsEncode
        case ("copyreg", "_reconstructor"): return .reconstructor
        case ("torch._utils", "_rebuild_tensor"): return .rebuildTensor
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch._tensor", "_rebuild_from_type_v2"): return .rebuildFromTypeV2
        case ("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"): return .rebuildDeviceFromCPU
        case ("torch._utils", "_rebuild_qtensor"), ("torch._utils", "_rebuild_sparse_tensor"),
             ("torch._utils", "_rebuild_meta_tensor_no_storage"), ("torch._utils", "_rebuild_wrapper_subclass"),
             ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("torch._utils", "_rebuild_nested_tensor"),
             ("torch._utils", "_rebuild_sparse_csr_tensor"), ("torch._utils", "_rebuild_xla_tensor"),
             ("torch._utils", "_rebuild_mps_tensor"):
            return .rebuildUnsupported(name)
        case ("torch.nn.parameter", "Parameter"): return .parameter
        case ("torch.nn.parameter", "Buffer"): return .tensorClass("torch.nn.parameter.Buffer")
        case ("torch", "Tensor"), ("torch._tensor", "Tensor"): return .tensorClass("torch.Tensor")
        case ("torch", "Size"): return .torchSize
        case ("torch", "device"): return .torchDevice
        case ("torch.serialization", "_get_layout"): return .getLayout
        case ("torch.storage", "UntypedStorage"):
            return TorchDType.byStorageClass["UntypedStorage"].map { .storageClass("UntypedStorage", $0) }
        case ("torch", _), ("torch.cuda", _):
            if let d = TorchDType.byStorageClass[name] { return .storageClass(name, d) }
            if module == "torch", let d = TorchDType.byName[name] { return .dtype(d) }
            if module == "torch", torchQSchemes.contains(name) { return .qscheme(name) }
            return nil
        default: return nil
        }
    }

    /// A placeholder for what calling or instantiating a foreign class would have made; `given` is kept in it.
    private func placeholder(_ classIndex: Int, _ given: [PV]) throws -> PV {
        try count(given.count)
        return try heapAdd(.object(ForeignObject(classIndex: classIndex, contents: given)))
    }

    // MARK: - Interpreting calls

    private func tupleArgs(_ args: PV, for what: String) throws -> [PV] {
        guard case .tuple(let t)? = heap.node(args) else { throw bad("\(what) called with \(heap.describe(args)), not an argument tuple") }
        return t
    }

    private func reduce(_ callable: PV, _ argsV: PV) throws -> PV {
        guard case .global(let g) = callable else {
            if case .foreignClass(let i) = callable { return try placeholder(i, [argsV]) }
            throw bad("REDUCE on \(heap.describe(callable)), which is not a callable")
        }
        let args = try tupleArgs(argsV, for: g.pythonName)
        return try apply(g, args)
    }

    private func apply(_ g: KnownGlobal, _ args: [PV]) throws -> PV {
        let name = g.pythonName
        func argError(_ expected: String) -> TorchArchiveError {
            bad("\(name) expects \(expected), got \(args.count) argument(s)")
        }
        switch g {
        case .orderedDict, .dict, .counter:
            var d = DictNode()
            if args.count > 1 { throw argError("at most one argument") }
            if let src = args.first {
                if let other = heap.dict(src) {
                    d = other
                } else if let pairs = heap.sequence(src) {
                    for p in pairs {
                        guard let kv = heap.sequence(p), kv.count == 2 else { throw bad("\(name) expects (key, value) pairs") }
                        d.set(kv[0], kv[1], identity: nextIdentity())
                    }
                } else if case .none = src {
                } else {
                    throw bad("\(name) cannot be built from \(heap.describe(src))")
                }
            }
            return try heapAdd(.dict(d), items: d.keys.count)
        case .list, .tuple, .set, .frozenset:
            if args.count > 1 { throw argError("at most one argument") }
            var items: [PV] = []
            if let src = args.first {
                if let s = heap.sequence(src) { items = s }
                else if case .set(let s)? = heap.node(src) { items = s }
                else if let d = heap.dict(src) { items = d.keys }
                else { throw bad("\(name) cannot be built from \(heap.describe(src))") }
            }
            switch g {
            case .list: return try heapAdd(.list(items))
            case .tuple: return try heapAdd(.tuple(items))
            default: return try heapAdd(.set(items))
            }
        case .bytearray:
            if args.isEmpty { return .bytes([]) }
            if case .bytes(let b) = args[0] { return .bytes(b) }
            if case .string(let s) = args[0], args.count == 2 { return try latin1(s) }
            throw bad("\(name) cannot be built from \(heap.describe(args[0]))")
        case .codecsEncode:
            guard args.count == 2 || args.count == 1, case .string(let s) = args[0] else { throw argError("(str, encoding)") }
            var encoding = "utf-8"
            if args.count == 2 {
                guard case .string(let e) = args[1] else { throw argError("(str, encoding)") }
                encoding = e.lowercased()
            }
            switch encoding {
            case "latin1", "latin-1", "iso-8859-1", "iso8859-1": return try latin1(s)
            case "utf-8", "utf8": return .bytes(Array(s.utf8))
            default: throw bad("_codecs.encode with encoding '\(oneLine(encoding, limit: 40))'")
            }
        case .reconstructor:
            guard args.count == 3 else { throw argError("(class, base, state)") }
            switch args[0] {
            case .global(.orderedDict), .global(.dict), .global(.counter): return try heapAdd(.dict(DictNode()))
            case .global(.list): return try heapAdd(.list([]))
            case .global(.set): return try heapAdd(.set([]))
            case .foreignClass(let i): return try placeholder(i, [args[2]])
            default: throw bad("copyreg._reconstructor cannot build \(heap.describe(args[0]))")
            }
        case .object:
            throw bad("builtins.object cannot be called")
        case .rebuildTensor:
            guard args.count == 4 else { throw argError("(storage, storage_offset, size, stride)") }
            return try tensor(args[0], args[1], args[2], args[3], dtype: nil, metadata: .none, name: name)
        case .rebuildTensorV2:
            guard args.count == 6 || args.count == 7 else {
                throw argError("(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])")
            }
            return try tensor(args[0], args[1], args[2], args[3], dtype: nil, metadata: args.count == 7 ? args[6] : .none, name: name)
        case .rebuildTensorV3:
            guard args.count == 7 || args.count == 8 else {
                throw argError("(storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype[, metadata])")
            }
            guard case .global(.dtype(let d)) = args[6] else { throw bad("\(name): argument 7 is \(heap.describe(args[6])), not a torch dtype") }
            return try tensor(args[0], args[1], args[2], args[3], dtype: d, metadata: args.count == 8 ? args[7] : .none, name: name)
        case .rebuildParameter, .rebuildParameterWithState:
            guard args.count >= 1 else { throw argError("(data, requires_grad, backward_hooks[, state])") }
            return try passTensor(args[0], name: name)
        case .parameter:
            if args.isEmpty { throw argError("(data[, requires_grad])") }
            return try passTensor(args[0], name: name)
        case .rebuildFromTypeV2:
            guard args.count == 4 else { throw argError("(func, new_type, args, state)") }
            guard case .global(let inner) = args[0] else {
                // A tensor subclass rebuilt by a function vfw does not know: what it returns is a placeholder.
                if case .foreignClass(let i) = args[0] { return try placeholder(i, [args[2], args[3]]) }
                throw bad("\(name): argument 1 is \(heap.describe(args[0])), not a rebuild function")
            }
            var subclass: ForeignClass? = nil
            switch args[1] {
            case .global(.tensorClass), .global(.parameter): break
            case .foreignClass: subclass = heap.foreign(args[1])
            default: throw bad("\(name): argument 2 is \(heap.describe(args[1])), not a tensor class")
            }
            let innerArgs = try tupleArgs(args[2], for: inner.pythonName)
            let t = try apply(inner, innerArgs)
            // A tensor of a subclass vfw does not build: kept as a tensor, refused only if the weights use it.
            if let c = subclass, case .ref(let r) = t, case .tensor(var node) = heap.nodes[r], node.problem == nil {
                node.problem = "is a tensor of class \(c.name), which vfw does not build"
                heap.nodes[r] = .tensor(node)
            }
            return t
        case .rebuildDeviceFromCPU:
            guard args.count == 4 else { throw argError("(data, dtype, device, requires_grad)") }
            return try passTensor(args[0], name: name)
        case .rebuildUnsupported(let fn):
            let what: String
            switch fn {
            case "_rebuild_qtensor": what = "is a quantized tensor"
            case "_rebuild_sparse_tensor", "_rebuild_sparse_csr_tensor": what = "is a sparse tensor"
            case "_rebuild_meta_tensor_no_storage": what = "is a meta tensor (it has no data)"
            case "_rebuild_nested_tensor": what = "is a nested tensor"
            case "_rebuild_wrapper_subclass": what = "is a tensor subclass without plain storage"
            default: what = "is a device tensor saved through \(fn)"
            }
            let storage = heap.add(.storage(StorageNode(key: "", dtype: .uint8, numel: 0, view: nil)))
            guard case .ref(let s) = storage else { throw bad("internal") }
            return try heapAdd(.tensor(TensorNode(storage: s, dtype: .uint8, offset: 0, size: [], stride: [], problem: what)))
        case .tensorClass(let n):
            throw bad("\(n) cannot be called directly in a state_dict")
        case .torchSize:
            guard args.count <= 1 else { throw argError("(sizes)") }
            if args.isEmpty { return try heapAdd(.tuple([])) }
            guard let s = heap.sequence(args[0]) else { throw bad("torch.Size built from \(heap.describe(args[0]))") }
            return try heapAdd(.tuple(s))
        case .torchDevice:
            return try heapAdd(.opaque("a torch.device"))
        case .getLayout:
            return try heapAdd(.opaque("a torch layout"))
        case .storageClass, .dtype, .qscheme:
            throw bad("\(name) cannot be called")
        }
    }

    private func latin1(_ s: String) throws -> PV {
        var out: [UInt8] = []
        out.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            guard u.value < 256 else { throw bad("_codecs.encode: character U+\(String(u.value, radix: 16)) is not latin-1") }
            out.append(UInt8(u.value))
        }
        return .bytes(out)
    }

    private func passTensor(_ v: PV, name: String) throws -> PV {
        guard heap.isTensor(v) else { throw bad("\(name): argument 1 is \(heap.describe(v)), not a tensor") }
        return v
    }

    private func intArg(_ v: PV, _ what: String, _ fn: String) throws -> Int {
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        case .bigInt: throw bad("\(fn): \(what) does not fit in 64 bits")
        default: throw bad("\(fn): \(what) is \(heap.describe(v)), not an int")
        }
    }

    private func intTuple(_ v: PV, _ what: String, _ fn: String) throws -> [Int] {
        guard let seq = heap.sequence(v) else { throw bad("\(fn): \(what) is \(heap.describe(v)), not a tuple") }
        return try seq.map { try intArg($0, "an entry of \(what)", fn) }
    }

    private func tensor(_ storageV: PV, _ offsetV: PV, _ sizeV: PV, _ strideV: PV, dtype: TorchDType?, metadata: PV,
                        name fn: String) throws -> PV {
        guard case .ref(let s) = storageV, case .storage(let storage) = heap.nodes[s] else {
            throw bad("\(fn): argument 1 is \(heap.describe(storageV)), not a storage")
        }
        let offset = try intArg(offsetV, "storage_offset", fn)
        let size = try intTuple(sizeV, "size", fn)
        let stride = try intTuple(strideV, "stride", fn)
        var problem: String? = nil
        if size.count != stride.count {
            throw bad("\(fn): size has \(size.count) dimensions but stride has \(stride.count)")
        }
        if let d = heap.dict(metadata) {
            for (k, v) in zip(d.keys, d.values) {
                guard case .string(let key) = k else { continue }
                var on = false
                if case .bool(let b) = v { on = b } else if case .int(let i) = v { on = i != 0 }
                if on && (key == "conj" || key == "conj_bit") { problem = "has the conjugate bit set (saved from x.conj())" }
                else if on && (key == "neg" || key == "neg_bit") { problem = "has the negative bit set (saved from a lazily negated view)" }
                else if on { problem = "carries tensor metadata '\(oneLine(key, limit: 40))'" }
            }
        }
        return try heapAdd(.tensor(TensorNode(storage: s, dtype: dtype ?? storage.dtype, offset: offset, size: size,
                                              stride: stride, problem: problem)))
    }

    private func newObject(_ cls: PV, _ argsV: PV, kwargs: PV?) throws -> PV {
        if case .foreignClass(let i) = cls { return try placeholder(i, [argsV] + (kwargs.map { [$0] } ?? [])) }
        if let kw = kwargs, let d = heap.dict(kw), !d.keys.isEmpty {
            throw bad("NEWOBJ_EX with keyword arguments for \(heap.describe(cls))")
        }
        guard case .global(let g) = cls else { throw bad("cannot instantiate \(heap.describe(cls))") }
        let args = try tupleArgs(argsV, for: g.pythonName)
        switch g {
        case .orderedDict, .dict, .counter: return try heapAdd(.dict(DictNode()))
        case .list: return try heapAdd(.list([]))
        case .set, .frozenset: return try heapAdd(.set([]))
        case .parameter:
            if args.isEmpty { throw bad("torch.nn.parameter.Parameter without data") }
            return try passTensor(args[0], name: g.pythonName)
        case .tuple: return try apply(.tuple, args)
        default: throw bad("NEWOBJ of \(g.pythonName)")
        }
    }

    private func build(_ inst: PV, _ state: PV) throws {
        switch inst {
        case .ref(let r):
            switch heap.nodes[r] {
            case .storage: throw bad("BUILD on a storage")
            case .object(let o):
                // The placeholder keeps its state (the object's __dict__, slots ...) to tell whether tensors are in it.
                try count(1)
                o.contents.append(state)
            default:
                // Dict state (OrderedDict._metadata), tensor attributes, parameter state: nothing vfw needs. Ignored.
                break
            }
        default: throw bad("BUILD on \(heap.describe(inst))")
        }
    }
}
