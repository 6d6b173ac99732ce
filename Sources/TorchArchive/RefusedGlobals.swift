// The globals that make a whole file refused as malicious, wherever in the pickle they appear: callables that run
// code, load code or data that runs code, or reach processes, files, the network or the interpreter.
//
// This is the one list. vfw never imports or calls any global (everything it does not interpret becomes an inert
// placeholder), so the list is not what keeps vfw safe: it is what tells a payload from an object vfw merely does not
// build. tools/vfw_unwrap.py reads the three blocks below from this file (between the BEGIN / END lines, every quoted
// string), so make_reference.py refuses the same files; README "Safety and limits" documents the list.

enum RefusedGlobals {
    // BEGIN refused modules
    /// Every name in these modules and their submodules (`os.system`, `os.path.join`, `importlib.util.spec_from_loader`).
    static let modules: Set<String> = [
        // the interpreter's own functions: eval, exec, compile, getattr, setattr, __import__, open, input, breakpoint,
        // globals, vars, type ... (its data types are below)
        "builtins",
        // processes, the OS, the interpreter
        "os", "posix", "nt", "posixpath", "ntpath", "sys", "subprocess", "_posixsubprocess", "pty", "signal",
        "platform", "sysconfig", "site", "gc", "resource", "fcntl", "select", "selectors", "mmap",
        "threading", "_thread", "multiprocessing", "concurrent", "asyncio",
        // files
        "shutil", "tempfile", "glob", "io", "_io", "fileinput", "shelve", "dbm", "sqlite3",
        // network
        "socket", "_socket", "ssl", "urllib", "http", "ftplib", "smtplib", "telnetlib", "poplib", "imaplib",
        "xmlrpc", "webbrowser",
        // native code
        "ctypes", "_ctypes", "cffi",
        // running and importing code
        "runpy", "importlib", "imp", "zipimport", "pkgutil", "code", "codeop", "compileall", "py_compile",
        "inspect", "pdb", "bdb", "trace", "timeit", "profile", "cProfile", "distutils", "setuptools", "pip",
        // deserialisers (a pickle inside the pickle)
        "pickle", "_pickle", "marshal", "dill", "cloudpickle", "joblib", "yaml",
        // gadgets that reach attributes or call what they are given
        "types", "operator", "_operator", "functools", "_functools", "copy", "copyreg", "codecs", "_codecs",
        // torch: loaders, compilers, the C extension, TorchScript, packaged code
        "torch._C", "torch.jit", "torch.hub", "torch.ops", "torch._ops", "torch.package", "torch.serialization",
        "torch.storage", "torch._utils", "torch._tensor", "torch.utils.cpp_extension", "torch._dynamo",
        "torch._inductor", "torch.compiler", "torch.library", "torch.classes", "torch.fx", "torch.export",
        "torch.onnx", "torch.distributed.rpc",
        // numpy and pandas loaders (np.load runs pickles)
        "numpy.testing", "numpy.distutils", "numpy.f2py", "numpy.ctypeslib", "numpy.lib.npyio",
        "numpy.lib._npyio_impl", "numpy.lib.format", "pandas.io",
    ]
    // END refused modules

    // BEGIN refused names
    /// Single callables in modules whose other names are data.
    static let names: Set<String> = [
        "torch.load", "torch.save", "torch.compile", "torch.from_file",
        "numpy.load", "numpy.save", "numpy.savez", "numpy.fromfile", "numpy.loadtxt", "numpy.genfromtxt",
        "pandas.read_pickle", "pandas.read_csv",
    ]
    // END refused names

    // BEGIN data in refused modules
    /// Data types that live in refused modules: placeholders like any class vfw does not build. (builtins.dict,
    /// list, tuple, set, frozenset, bytearray and object are interpreted: KnownGlobal.)
    static let data: Set<String> = [
        "builtins.int", "builtins.float", "builtins.complex", "builtins.str", "builtins.bytes", "builtins.bool",
        "builtins.slice", "builtins.range", "builtins.NoneType", "builtins.Ellipsis", "builtins.NotImplemented",
        "types.SimpleNamespace",
    ]
    // END data in refused modules

    /// Modules whose names look like dunders but hold the user's own classes (the script run as a program).
    static let mainModules: Set<String> = ["__main__", "__mp_main__"]

    /// True when `module.name` (after Python 2 names are mapped) must refuse the whole file.
    static func refuses(module: String, name: String) -> Bool {
        if module.isEmpty || name.isEmpty { return true }
        if data.contains(module + "." + name) { return false }
        var m = Substring(module)
        while true {
            if modules.contains(String(m)) { return true }
            guard let dot = m.lastIndex(of: ".") else { break }
            m = m[..<dot]
        }
        // A dotted name (protocol 4 STACK_GLOBAL of a nested class) is an attribute walk: refused when it names a
        // refused callable or passes through a dunder (`Foo.__init__.__globals__`), the classic way out of a sandbox.
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<parts.count {
            let prefix = parts[0...i].joined(separator: ".")
            if names.contains(module + "." + prefix) { return true }
            if isDunder(parts[i]) || parts[i].isEmpty { return true }
        }
        for part in module.split(separator: ".", omittingEmptySubsequences: false)
        where part.isEmpty || (isDunder(part) && !mainModules.contains(module)) {
            return true
        }
        return false
    }

    private static func isDunder(_ s: Substring) -> Bool { s.count > 4 && s.hasPrefix("__") && s.hasSuffix("__") }
}
