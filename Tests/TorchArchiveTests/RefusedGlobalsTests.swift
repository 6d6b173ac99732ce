// The code-execution list (RefusedGlobals), name by name, and the placeholders every other class becomes.

import Foundation
import Testing
import TensorCore
@testable import TorchArchive

/// A pickle naming `module.name` with GLOBAL (at byte 2) and calling it with no arguments.
private func calling(_ module: String, _ name: String) -> [UInt8] {
    P.proto() + P.global(module, name) + P.emptyTuple + P.reduce + P.stop
}

private func refusal(_ global: String) -> TorchArchiveError {
    .refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: 2, global: global)
}

@Suite("globals refused as code execution")
struct RefusedGlobalsTests {
    @Test("every name of every refused module, and of its submodules", arguments: RefusedGlobals.modules.sorted())
    func module(_ m: String) {
        expectError(refusal(m + ".anything")) { _ = try runPickle(calling(m, "anything")) }
        expectError(refusal(m + ".sub.anything")) { _ = try runPickle(calling(m + ".sub", "anything")) }
    }

    @Test("every refused name", arguments: RefusedGlobals.names.sorted())
    func name(_ full: String) {
        let dot = full.firstIndex(of: ".")!
        expectError(refusal(full)) { _ = try runPickle(calling(String(full[..<dot]), String(full[full.index(after: dot)...]))) }
    }

    @Test("the callables that run code, as a pickle names them (Python 2 names under their Python 3 ones)", arguments: [
        ("os", "system", "os.system"), ("posix", "system", "posix.system"), ("nt", "system", "nt.system"),
        ("subprocess", "Popen", "subprocess.Popen"), ("commands", "getoutput", "subprocess.getoutput"),
        ("builtins", "eval", "builtins.eval"), ("__builtin__", "exec", "builtins.exec"),
        ("builtins", "compile", "builtins.compile"), ("builtins", "getattr", "builtins.getattr"),
        ("builtins", "__import__", "builtins.__import__"), ("builtins", "open", "builtins.open"),
        ("builtins", "setattr", "builtins.setattr"), ("builtins", "breakpoint", "builtins.breakpoint"),
        ("builtins", "type", "builtins.type"), ("runpy", "_run_code", "runpy._run_code"),
        ("importlib", "import_module", "importlib.import_module"), ("pickle", "loads", "pickle.loads"),
        ("cPickle", "loads", "pickle.loads"), ("_pickle", "loads", "_pickle.loads"), ("marshal", "loads", "marshal.loads"),
        ("torch", "load", "torch.load"), ("torch.serialization", "load", "torch.serialization.load"),
        ("torch.storage", "_load_from_bytes", "torch.storage._load_from_bytes"), ("torch.hub", "load", "torch.hub.load"),
        ("torch.jit", "load", "torch.jit.load"), ("torch._C", "_jit_script_compile", "torch._C._jit_script_compile"),
        ("shutil", "rmtree", "shutil.rmtree"), ("socket", "socket", "socket.socket"), ("sys", "exit", "sys.exit"),
        ("ctypes", "CDLL", "ctypes.CDLL"), ("types", "FunctionType", "types.FunctionType"),
        ("types", "CodeType", "types.CodeType"), ("functools", "partial", "functools.partial"),
        ("operator", "attrgetter", "operator.attrgetter"), ("numpy", "load", "numpy.load"),
        ("numpy.lib.npyio", "load", "numpy.lib.npyio.load"), ("copyreg", "_reconstructor_evil", "copyreg._reconstructor_evil"),
    ])
    func callables(_ c: (String, String, String)) {
        expectError(refusal(c.2)) { _ = try runPickle(calling(c.0, c.1)) }
    }

    @Test("attribute walks through dunders, empty components and dunder modules", arguments: [
        ("mymodule", "Foo.__init__.__globals__", "mymodule.Foo.__init__.__globals__"),
        ("torch", "Tensor.__reduce_ex__", "torch.Tensor.__reduce_ex__"),
        ("__builtins__", "eval", "__builtins__.eval"), ("a..b", "c", "a..b.c"), ("mymodule", "Foo.", "mymodule.Foo."),
        ("torch", "load.__call__", "torch.load.__call__"),
    ])
    func walks(_ c: (String, String, String)) {
        expectError(refusal(c.2)) { _ = try runPickle(calling(c.0, c.1)) }
    }

    @Test("refused wherever it appears: inside a placeholder's state, in an unused entry, never called")
    func anywhere() {
        // {'w': argparse.Namespace() with BUILD state {'cb': os.system}}: refused at the os.system GLOBAL.
        let head = P.proto() + P.emptyDict + P.str("w") + P.global("argparse", "Namespace") + P.emptyTuple + P.newobj
            + P.emptyDict + P.str("cb")
        let b = head + P.global("os", "system") + P.setitem + P.build + P.setitem + P.stop
        expectError(.refusedGlobal(path: "/p.pt", stream: "data.pkl", offset: head.count, global: "os.system")) { _ = try runPickle(b) }
    }
}

@Suite("classes vfw does not build become placeholders")
struct PlaceholderTests {
    static let classes: [String] = RefusedGlobals.data.sorted() + [
        "argparse.Namespace", "pathlib.PosixPath", "pathlib.WindowsPath", "__main__.Mode", "__main__.TrainConfig",
        "numpy.core.multiarray._reconstruct", "numpy._core.multiarray.scalar", "numpy.dtype", "collections.defaultdict",
        "collections.deque", "datetime.datetime", "enum.Enum", "torch.nn.modules.linear.Linear", "torch.optim.sgd.SGD",
        "timm.utils.model_ema.ModelEmaV3", "lightning.fabric.utilities.data.AttributeDict", "mymodule.Outer.Inner",
    ]

    @Test("REDUCE, NEWOBJ, copyreg._reconstructor and BUILD make an inert object of the class", arguments: classes)
    func placeholder(_ full: String) throws {
        let dot = full.lastIndex(of: ".")!
        let (m, n) = full.hasPrefix("mymodule.") ? ("mymodule", "Outer.Inner") : (String(full[..<dot]), String(full[full.index(after: dot)...]))
        let b = P.proto() + P.emptyDict + P.mark
            + P.str("reduced") + P.global(m, n) + P.mark + P.str("arg") + P.tuple + P.reduce
            + P.str("built") + P.global(m, n) + P.emptyTuple + P.newobj + P.emptyDict + P.str("k") + P.int(1) + P.setitem + P.build
            + P.str("reconstructed") + P.global("copy_reg", "_reconstructor") + P.mark + P.global(m, n)
            + P.global("__builtin__", "object") + P.none + P.tuple + P.reduce
            + P.str("class") + P.global(m, n)
            + [0x75] + P.stop  // SETITEMS
        let (v, heap) = try runPickle(b)
        let d = try #require(heap.dict(v))
        #expect(d.keys.count == 4)
        for value in d.values {
            #expect(heap.foreign(value)?.name == full, "\(heap.describe(value))")
        }
        #expect(heap.describe(d.values[0]) == "an object of \(full)")
        guard case .object(let built)? = heap.node(d.values[1]) else { Issue.record("not an object"); return }
        #expect(built.contents.count == 2, "NEWOBJ's arguments and BUILD's state kept")
    }

    @Test("SETITEMS and APPENDS on a dict or list subclass vfw does not build keep the items")
    func subclassItems() throws {
        let b = P.proto() + P.global("collections", "defaultdict") + P.mark + P.global("builtins", "list") + P.tuple + P.reduce
            + P.mark + P.str("a") + P.int(1) + P.str("b") + P.int(2) + [0x75]
            + P.global("mymodule", "MyList") + P.emptyTuple + P.newobj + P.mark + P.int(3) + P.int(4) + [0x65]
            + [0x86] + P.stop
        let (v, heap) = try runPickle(b)
        let pair = try #require(heap.sequence(v))
        guard case .object(let dd)? = heap.node(pair[0]), case .object(let list)? = heap.node(pair[1]) else {
            Issue.record("not placeholders"); return
        }
        #expect(dd.contents.count == 5, "the constructor arguments and two key/value pairs")
        #expect(list.contents.count == 3, "the arguments and two items")
    }

    @Test("calling a placeholder object is damage, not a call")
    func callingAnObject() {
        let head = P.proto() + P.global("argparse", "Namespace") + P.emptyTuple + P.reduce + P.emptyTuple
        let b = head + P.reduce + P.stop
        expectError(.malformedPickle(path: "/p.pt", stream: "data.pkl", offset: head.count,
                                     reason: "REDUCE on an object of argparse.Namespace, which is not a callable")) { _ = try runPickle(b) }
    }
}
