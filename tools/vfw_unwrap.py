"""Finding the weights in a checkpoint the way `vfw convert` does: the shared unwrapping rule, in Python.

    from vfw_unwrap import load_weights
    tensors, notes = load_weights("checkpoint.pth", key=None)   # OrderedDict name -> torch.Tensor, [str]

README "Finding the weights in a checkpoint" states the rule; Sources/TorchArchive/StateDictSelector.swift is
vfw's implementation, this file make_reference.py's. The two are kept equal by the fixtures: tools/make_fixtures.py
records this module's answer (names and notes) for every checkpoint layout in Tests/Fixtures/torch/expected.json,
and the Swift tests require vfw's to be the same.

Reading never runs what a pickle asks for: torch.load runs with a pickle module whose find_class hands out only
the callables torch's own weights_only loader trusts (tensor rebuild functions, OrderedDict ...), refuses the
globals vfw refuses as code execution (the list in Sources/TorchArchive/RefusedGlobals.swift, read from that file
so there is one list), and turns every other class or function into an inert placeholder that remembers what it
was given and is never imported or called.
"""
import collections
import os
import pickle
import re
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REFUSED_SOURCE = os.path.join(HERE, "..", "Sources", "TorchArchive", "RefusedGlobals.swift")

WRAPPERS = ("module", "model", "_orig_mod", "net", "backbone")
TRAINING_STATE = frozenset({
    "optimizer", "optimizers", "optimizer_state_dict", "optimizer_states", "optim", "scheduler", "schedulers",
    "lr_scheduler", "lr_schedulers", "scheduler_state_dict", "scaler", "grad_scaler", "amp", "ema_optimizer",
    "callbacks", "loops",
})
MAX_DEPTH = 4
MAX_NESTING = 16
MAX_NOTES = 100
MAX_VISITS = 1_000_000


class RuleError(Exception):
    """The checkpoint cannot be read under the rule; str() is the problem (without the path)."""


# MARK: - The refused list (one place: RefusedGlobals.swift)

def _refused_blocks():
    with open(REFUSED_SOURCE, encoding="utf-8") as f:
        text = f.read()

    def block(title):
        m = re.search(r"// BEGIN " + re.escape(title) + r"\n(.*?)// END " + re.escape(title), text, re.S)
        if not m:
            raise RuntimeError(f"{REFUSED_SOURCE}: no '{title}' block")
        body = "\n".join(line.split("//", 1)[0] if not line.strip().startswith("///") else "" for line in m.group(1).splitlines())
        items = re.findall(r'"([^"]+)"', body)
        if not items:
            raise RuntimeError(f"{REFUSED_SOURCE}: the '{title}' block names nothing")
        return frozenset(items)

    return block("refused modules"), block("refused names"), block("data in refused modules")


REFUSED_MODULES, REFUSED_NAMES, REFUSED_MODULE_DATA = _refused_blocks()
MAIN_MODULES = frozenset({"__main__", "__mp_main__"})


def _dunder(s):
    return len(s) > 4 and s.startswith("__") and s.endswith("__")


def refuses(module: str, name: str) -> bool:
    """RefusedGlobals.refuses, word for word."""
    if not module or not name:
        return True
    if f"{module}.{name}" in REFUSED_MODULE_DATA:
        return False
    m = module
    while True:
        if m in REFUSED_MODULES:
            return True
        if "." not in m:
            break
        m = m.rsplit(".", 1)[0]
    parts = name.split(".")
    for i, part in enumerate(parts):
        if f"{module}.{'.'.join(parts[:i + 1])}" in REFUSED_NAMES or _dunder(part) or not part:
            return True
    for part in module.split("."):
        if not part or (_dunder(part) and module not in MAIN_MODULES):
            return True
    return False


# MARK: - Placeholders and the safe unpickler

class Placeholder:
    """An object of a class vfw does not build. Keeps what the pickle handed it, in order (constructor arguments,
    BUILD state, appended items, set keys and values), like vfw's ForeignObject; runs nothing."""
    _vfw_name = "?"

    def __new__(cls, *args, **kwargs):
        self = object.__new__(cls)
        object.__setattr__(self, "_vfw_contents", [args] + ([kwargs] if kwargs else []))
        return self

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self._vfw_contents.append(state)

    def append(self, item):
        self._vfw_contents.append(item)

    def extend(self, items):
        self._vfw_contents.extend(items)

    def __setitem__(self, k, v):
        self._vfw_contents.extend([k, v])

    def __call__(self, *args, **kwargs):
        raise pickle.UnpicklingError(f"REDUCE on an object of {self._vfw_name}, which is not a callable")

    def __repr__(self):
        return f"<placeholder {self._vfw_name}>"


_PLACEHOLDERS = {}


def _placeholder_class(full):
    if full not in _PLACEHOLDERS:
        _PLACEHOLDERS[full] = type("Placeholder_" + re.sub(r"\W", "_", full), (Placeholder,), {"_vfw_name": full})
    return _PLACEHOLDERS[full]


def foreign_name(v):
    """The class name behind a placeholder object or a placeholder class held as a value; None otherwise."""
    if isinstance(v, Placeholder):
        return v._vfw_name
    if isinstance(v, type) and issubclass(v, Placeholder):
        return v._vfw_name
    return None


class Problem:
    """A tensor vfw keeps but refuses if the weights use it (quantized, sparse, of a foreign subclass ...)."""

    def __init__(self, shape, reason):
        self.shape = tuple(shape)
        self.reason = reason


_UNSUPPORTED = {
    "_rebuild_qtensor": "is a quantized tensor", "_rebuild_sparse_tensor": "is a sparse tensor",
    "_rebuild_sparse_csr_tensor": "is a sparse tensor", "_rebuild_meta_tensor_no_storage": "is a meta tensor (it has no data)",
    "_rebuild_nested_tensor": "is a nested tensor", "_rebuild_wrapper_subclass": "is a tensor subclass without plain storage",
    "_rebuild_device_tensor_from_numpy": "is a device tensor saved through _rebuild_device_tensor_from_numpy",
    "_rebuild_xla_tensor": "is a device tensor saved through _rebuild_xla_tensor",
    "_rebuild_mps_tensor": "is a device tensor saved through _rebuild_mps_tensor",
}


def _known():
    """The globals vfw interprets (PickleMachine.known), as the real objects that do the same."""
    import codecs
    import torch
    import torch._utils as tu

    def passthrough(data, *rest):
        return data

    def reconstructor(cls, base, state):
        if isinstance(cls, type) and issubclass(cls, Placeholder):
            obj = object.__new__(cls)
            object.__setattr__(obj, "_vfw_contents", [state])
            return obj
        if cls in (collections.OrderedDict, dict, collections.Counter, list, set):
            return cls()
        raise pickle.UnpicklingError(f"copyreg._reconstructor cannot build {cls!r}")

    rebuilds = {tu._rebuild_tensor, tu._rebuild_tensor_v2, tu._rebuild_tensor_v3}

    def from_type_v2(func, new_type, args, state):
        if isinstance(func, type) and issubclass(func, Placeholder):
            obj = object.__new__(func)
            object.__setattr__(obj, "_vfw_contents", [args, state])
            return obj
        if func not in rebuilds and func is not passthrough and not callable(getattr(func, "_vfw_unsupported", None)):
            raise pickle.UnpicklingError(f"torch._tensor._rebuild_from_type_v2: argument 1 is {func!r}, not a rebuild function")
        t = func(*args)
        if isinstance(new_type, type) and issubclass(new_type, Placeholder) and isinstance(t, torch.Tensor):
            return Problem(t.shape, f"is a tensor of class {new_type._vfw_name}, which vfw does not build")
        return t

    def unsupported(name):
        def f(*args):
            return Problem((), _UNSUPPORTED[name])
        f._vfw_unsupported = f
        return f

    table = {
        "collections.OrderedDict": collections.OrderedDict, "collections.Counter": collections.Counter,
        "builtins.dict": dict, "builtins.list": list, "builtins.tuple": tuple, "builtins.set": set,
        "builtins.frozenset": frozenset, "builtins.bytearray": bytearray, "builtins.object": object,
        "_codecs.encode": codecs.encode, "copyreg._reconstructor": reconstructor,
        "torch._utils._rebuild_tensor": tu._rebuild_tensor, "torch._utils._rebuild_tensor_v2": tu._rebuild_tensor_v2,
        "torch._utils._rebuild_tensor_v3": tu._rebuild_tensor_v3,
        "torch._utils._rebuild_parameter": passthrough, "torch._utils._rebuild_parameter_with_state": passthrough,
        "torch._tensor._rebuild_from_type_v2": from_type_v2,
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": passthrough,
        "torch.nn.parameter.Parameter": torch.nn.Parameter, "torch.nn.parameter.Buffer": torch.Tensor,
        "torch.Tensor": torch.Tensor, "torch._tensor.Tensor": torch.Tensor, "torch.Size": torch.Size,
        "torch.device": torch.device, "torch.serialization._get_layout": torch.serialization._get_layout,
        # torch.load hands legacy storage class names to StorageType itself; UntypedStorage reaches find_class.
        "torch.storage.UntypedStorage": torch.UntypedStorage, "torch.UntypedStorage": torch.UntypedStorage,
    }
    for name in _UNSUPPORTED:
        table["torch._utils." + name] = unsupported(name)
    for name in dir(torch):
        v = getattr(torch, name, None)
        if isinstance(v, (torch.dtype, torch.qscheme)):
            table["torch." + name] = v
    return table


_KNOWN = None
_PY2 = {"__builtin__": "builtins", "exceptions": "builtins", "copy_reg": "copyreg", "commands": "subprocess",
        "cPickle": "pickle", "torch.tensor": "torch._tensor"}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        global _KNOWN
        if _KNOWN is None:
            _KNOWN = _known()
        module = _PY2.get(module, module)
        full = f"{module}.{name}"
        if full in _KNOWN:
            return _KNOWN[full]
        if refuses(module, name):
            raise pickle.UnpicklingError(f"refused global {full} (vfw never runs code from a pickle)")
        return _placeholder_class(full)


class _SafePickleModule:
    """What torch.load asks of `pickle_module`: Unpickler and load."""
    __name__ = "vfw_unwrap"
    Unpickler = SafeUnpickler

    @staticmethod
    def load(f, **kwargs):
        return SafeUnpickler(f, **kwargs).load()


def read_checkpoint(path: str):
    """What the file holds, unpickled safely (a torch.save zip or legacy file), or the dict of a safetensors file."""
    import torch
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file
        return load_file(path, device="cpu")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            if any(n.endswith("constants.pkl") for n in z.namelist()):
                raise RuleError("is a TorchScript archive (torch.jit.save); save `model.state_dict()` with torch.save")
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_SafePickleModule)


# MARK: - The rule (StateDictSelector)

def _one_line(s, limit):
    out, n = [], 0
    for ch in s:
        if n >= limit:
            out.append("…")
            break
        c = ord(ch)
        if ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or c == 0x7F or 0x80 <= c < 0xA0 or c in (0x2028, 0x2029):
            out.append("\\u{%x}" % c)
        else:
            out.append(ch)
        n += 1
    return "".join(out)


def _is_tensor(v):
    import torch
    return isinstance(v, (torch.Tensor, Problem))


def _ndim(v):
    return len(v.shape)


def _is_dict(v):
    return isinstance(v, dict)


def _is_seq(v):
    return isinstance(v, (list, tuple))


def _is_container(v):
    return isinstance(v, (dict, list, tuple, set, frozenset))


def is_state_dict(d) -> bool:
    tensors, shaped = 0, False
    for k, v in d.items():
        if not isinstance(k, str):
            return False
        if _is_tensor(v):
            tensors += 1
            shaped = shaped or _ndim(v) > 0
        elif _is_container(v):
            return False
    return shaped and 2 * tensors >= len(d)


def scan(v, budget=None):
    """(any tensor inside, classes vfw does not build in the order met), breadth-first. `budget` ([n]) bounds the
    containers all scans of one selection visit together, as vfw's scanBudget does."""
    tensors, classes, seen, visited = False, [], set(), set()
    queue, head = [v], 0
    budget = budget if budget is not None else [4 * MAX_VISITS]
    while head < len(queue) and len(visited) < MAX_VISITS and budget[0] > 0:
        x = queue[head]
        head += 1
        budget[0] -= 1
        f = foreign_name(x)
        if f is not None and f not in seen:
            seen.add(f)
            classes.append(f)
        if not (_is_tensor(x) or _is_container(x) or isinstance(x, Placeholder)) or id(x) in visited:
            continue
        visited.add(id(x))
        if _is_tensor(x):
            tensors = True
        elif isinstance(x, dict):
            queue.extend(x.values())
        elif isinstance(x, (list, tuple, set, frozenset)):
            queue.extend(x)
        elif isinstance(x, Placeholder):
            queue.extend(x._vfw_contents)
        if len(queue) > 4 * MAX_VISITS:
            break
    return tensors, classes


def _class_list(c):
    shown = ", ".join(_one_line(x, 80) for x in c[:3])
    return shown + (f" and {len(c) - 3} more" if len(c) > 3 else "")


def wrapper_prefix(names) -> str:
    names = list(names)
    if not names:
        return ""
    prefix, grew = "", True
    while grew:
        grew = False
        for w in WRAPPERS:
            p = prefix + w + "."
            if all(n.startswith(p) and len(n) > len(p) for n in names):
                prefix, grew = p, True
                break
    return prefix


def _looks_like_module(v, name):
    if name.startswith("torch.nn.modules."):
        return True
    if isinstance(v, Placeholder):
        return any(isinstance(c, dict) and ("_parameters" in c or "_modules" in c) for c in v._vfw_contents)
    return False


def _foreign_error(p, v):
    name = foreign_name(v) or "?"
    if _looks_like_module(v, name):
        return RuleError(f"builds an object of class {name}: this is a whole pickled model (torch.save(model)), not a "
                         "state_dict, and vfw never runs code from a pickle: save `model.state_dict()` with torch.save instead")
    what = f"entry '{_one_line('.'.join(p), 120)}' is" if p else "holds"
    return RuleError(f"{what} an object of {name}, which vfw does not build: tensors would come from it; save a dict "
                     "of tensors (model.state_dict()) instead, or pass --key to choose another entry")


class _Selector:
    def __init__(self):
        self.notes = []
        self.budget = [4 * MAX_VISITS]

    def scan(self, v):
        return scan(v, self.budget)

    def note(self, s):
        if len(self.notes) < MAX_NOTES:
            self.notes.append(s)
        elif len(self.notes) == MAX_NOTES:
            self.notes.append("… more notes left out")

    def skip_note(self, p, key, v):
        name = f"skipped entry '{_one_line('.'.join(p), 120)}'"
        if key is not None and key in TRAINING_STATE:
            return name + " (training state)"
        f = foreign_name(v)
        if f is not None:
            return name + f" (an object of {_one_line(f, 80)}, which vfw does not build)"
        tensors, classes = self.scan(v)
        if classes:
            return name + f" (holds objects of {_class_list(classes)}, which vfw does not build)"
        return name + (" (tensors beside the weights)" if tensors else " (not tensors)")

    def search(self, root):
        if _is_tensor(root):
            raise RuleError("holds a tensor, not a state_dict (a dict of tensor name -> tensor)")
        if foreign_name(root) is not None:
            if self.scan(root)[0]:
                raise _foreign_error([], root)
            raise RuleError(f"holds an object of {foreign_name(root)}, not a state_dict (a dict of tensor name -> tensor)")
        if not (_is_dict(root) or _is_seq(root)):
            raise RuleError(f"holds {type(root).__name__}, not a state_dict (a dict of tensor name -> tensor)")
        queue = [(root, -1, "", 0)]  # (value, parent, component, depth)
        head, visited, candidates, holders = 0, set(), [], []

        def path_of(i):
            p = []
            while i > 0:
                p.append(queue[i][2])
                i = queue[i][1]
            return p[::-1]

        while head < len(queue) and head < MAX_VISITS:
            v, _, _, depth = queue[head]
            me = head
            head += 1
            if id(v) in visited:
                continue
            visited.add(id(v))

            def enqueue(inner, component):
                if len(queue) >= MAX_VISITS:
                    return
                if ((_is_dict(inner) or _is_seq(inner)) and len(inner) > 0) or isinstance(inner, Placeholder):
                    queue.append((inner, me, component, depth + 1))

            if _is_dict(v):
                if is_state_dict(v):
                    candidates.append(me)
                    continue
                if depth >= MAX_DEPTH:
                    continue
                for k, inner in v.items():
                    if isinstance(k, str) and k not in TRAINING_STATE:
                        enqueue(inner, k)
            elif _is_seq(v):
                if depth >= MAX_DEPTH:
                    continue
                for i, inner in enumerate(v):
                    enqueue(inner, str(i))
            elif isinstance(v, Placeholder) and self.scan(v)[0]:
                holders.append(me)
        if len(candidates) > 1:
            raise _ambiguous([".".join(path_of(c)) for c in candidates])
        if not candidates:
            if holders:
                raise _foreign_error(path_of(holders[0]), queue[holders[0]][0])
            raise _no_tensors(list(k for k in root if isinstance(k, str)) if _is_dict(root) else [])
        p = path_of(candidates[0])
        d = queue[candidates[0]][0]
        copies = copy_groups(d)
        if len(copies) > 1:
            raise _ambiguous([".".join(p + [g]) for g in copies])
        return d, p

    def sibling_notes(self, root, p):
        cur = root
        for level, component in enumerate(p):
            if len(self.notes) > MAX_NOTES:
                break
            here = p[:level]
            nxt, found = None, False
            if _is_dict(cur):
                for k, v in cur.items():
                    if not isinstance(k, str):
                        self.note(f"skipped an entry of '{_one_line('.'.join(here), 120)}' whose key is not a string")
                        continue
                    if k == component and not found:
                        nxt, found = v, True
                        continue
                    if len(self.notes) <= MAX_NOTES:
                        self.note(self.skip_note(here + [k], k, v))
            elif _is_seq(cur):
                for i, v in enumerate(cur):
                    if str(i) == component:
                        nxt, found = v, True
                        continue
                    if len(self.notes) <= MAX_NOTES:
                        self.note(self.skip_note(here + [str(i)], None, v))
            if not found:
                return
            cur = nxt

    def lookup(self, root, key):
        parts = key.split(".")
        cur, at, i = root, [], 0
        while i < len(parts):
            if foreign_name(cur) is not None:
                raise _foreign_error(at, cur)
            if _is_dict(cur):
                for j in range(len(parts), i, -1):
                    candidate = ".".join(parts[i:j])
                    if candidate in cur:
                        cur = cur[candidate]
                        at.append(candidate)
                        i = j
                        break
                else:
                    rest = ".".join(parts[i:]) + "."
                    if any(isinstance(k, str) and k.startswith(rest) and len(k) > len(rest) for k in cur):
                        return cur, at, rest
                    raise RuleError(f"has no entry '{_one_line(key, 300)}'; available keys: "
                                    + _list_text([k for k in cur if isinstance(k, str)]))
            elif _is_seq(cur) and re.fullmatch(r"-?\d+", parts[i]) and 0 <= int(parts[i]) < len(cur):
                cur = cur[int(parts[i])]
                at.append(parts[i])
                i += 1
            else:
                raise RuleError(f"has no entry '{_one_line(key, 300)}'; available keys: (none)")
        if foreign_name(cur) is not None:
            raise _foreign_error(at, cur)
        return cur, at, None

    def flatten(self, v, base, prefix, flt, depth, visited, out):
        if not _is_dict(v) or id(v) in visited:
            return
        visited.add(id(v))
        for k, inner in v.items():
            if not isinstance(k, str):
                self.note(f"skipped an entry of '{_one_line('.'.join(base), 120)}' whose key is not a string")
                continue
            name = k
            if flt is not None:
                if not (name.startswith(flt) and len(name) > len(flt)):
                    continue
                name = name[len(flt):]
            full = prefix + name
            shown = ".".join(base + [(flt or "") + full])
            if _is_tensor(inner):
                out.append((full, inner))
            elif _is_dict(inner):
                if depth >= MAX_NESTING:
                    self.note(f"skipped entry '{_one_line(shown, 120)}' (nested deeper than {MAX_NESTING} levels)")
                    continue
                self.flatten(inner, base, full + ".", None, depth + 1, visited, out)
            elif foreign_name(inner) is not None:
                if self.scan(inner)[0]:
                    raise _foreign_error(base + [(flt or "") + full], inner)
                self.note(f"skipped entry '{_one_line(shown, 120)}' (an object of {_one_line(foreign_name(inner), 80)}, "
                          "which vfw does not build)")
            else:
                self.note(f"skipped entry '{_one_line(shown, 120)}' (not a tensor)")

    def strip_wrapper(self, entries):
        def scalar(e):
            return _ndim(e[1]) == 0 and "." not in e[0]
        prefix = wrapper_prefix(n for n, t in entries if not scalar((n, t)))
        if not prefix:
            return entries, ""
        kept = []
        for e in entries:
            if scalar(e):
                self.note(f"dropped '{_one_line(e[0], 120)}' (a scalar beside the wrapped model)")
                continue
            kept.append((e[0][len(prefix):], e[1]))
        return kept, prefix

    def select(self, root, key):
        flt = None
        if key is not None:
            chosen, path, flt = self.lookup(root, key)
            if _is_tensor(chosen) or not _is_dict(chosen):
                raise RuleError(f"entry '{_one_line(key, 300)}' holds {_describe(chosen)}, not a dict of tensors")
        else:
            chosen, path = self.search(root)
            self.sibling_notes(root, path)
        start = len(self.notes)
        entries = []
        self.flatten(chosen, path, "", flt, 0, set(), entries)
        if not entries:
            if key is not None:
                raise RuleError(f"entry '{_one_line(key, 300)}' holds {_describe(chosen)}, not a dict of tensors")
            raise _no_tensors([k for k in chosen if isinstance(k, str)])
        entries, prefix = self.strip_wrapper(entries)
        seen = set()
        for n, _ in entries:
            if n in seen:
                raise RuleError(f"tensor name '{_one_line(n, 300)}' appears more than once")
            seen.add(n)
        entry = ".".join(path)
        if flt is not None:
            entry = flt[:-1] if not path else entry + "." + flt[:-1]
        if entry or prefix:
            src = "the top level" if not entry else f"entry '{_one_line(entry, 120)}'"
            weights = f"weights from {src}" + (f", prefix '{prefix}' stripped" if prefix else "")
            if len(self.notes) < MAX_NOTES:
                self.notes.insert(0 if key is None else start, weights)
        return entries


def copy_groups(d):
    order, groups = [], {}
    for k, v in d.items():
        if not isinstance(k, str) or not _is_tensor(v) or "." not in k:
            continue
        g, rest = k.split(".", 1)
        if g not in groups:
            order.append(g)
            groups[g] = []
        groups[g].append((rest, tuple(v.shape)))
    normal = {}
    for g in order:
        entries = groups[g]

        def scalar(e):
            return len(e[1]) == 0 and "." not in e[0]
        p = wrapper_prefix(n for n, s in entries if not scalar((n, s)))
        m = {}
        for e in entries:
            if not p or not scalar(e):
                m[e[0][len(p):]] = e[1]
        if len(m) >= 2:
            normal[g] = m
    copies = [g for g in order if g in normal and any(o != g and normal.get(o) == normal[g] for o in order)]

    def averaged(g):
        lo = g.lower()
        return "ema" in lo or "swa" in lo or "averaged" in lo
    return copies if any(averaged(g) for g in copies) else []


def _list_text(items):
    if not items:
        return "(none)"
    shown = ", ".join(_one_line(x, 80) for x in items[:20])
    return shown + (f", … ({len(items)} in all)" if len(items) > 20 else "")


def _ambiguous(c):
    return RuleError(f"several entries hold tensors: {_list_text(c)}; pass --key to choose one")


def _no_tensors(c):
    return RuleError(f"holds no tensors; candidate keys: {_list_text(c)}; pass --key")


def _describe(v):
    if v is None:
        return "None"
    if isinstance(v, bool):
        return "a bool"
    if isinstance(v, int):
        return f"the int {v}"
    if _is_tensor(v):
        return "a tensor"
    if _is_dict(v):
        return f"a dict ({len(v)} entries)"
    if isinstance(v, list):
        return f"a list ({len(v)} items)"
    if isinstance(v, tuple):
        return f"a tuple ({len(v)} items)"
    f = foreign_name(v)
    if f is not None:
        return f"an object of {f}"
    return type(v).__name__


def select(obj, key=None):
    """The rule on an unpickled object: ([(name, tensor)], notes). Raises RuleError."""
    s = _Selector()
    entries = s.select(obj, key)
    return entries, s.notes


def load_weights(path: str, key=None):
    """(OrderedDict name -> tensor, notes) from a checkpoint file, by the rule. Raises RuleError for what the rule
    refuses (and pickle.UnpicklingError for a refused global); other exceptions mean the file is unreadable."""
    obj = read_checkpoint(path)
    entries, notes = select(obj, key)
    out = collections.OrderedDict()
    for name, t in entries:
        if isinstance(t, Problem):
            raise RuleError(f"tensor '{_one_line(name, 300)}' {t.reason}, which vfw does not support")
        out[name] = t
    return out, notes


def self_test():
    """The code-execution list name by name on this side too: every refused module (and a submodule), every
    refused name and the brief's callables refuse a pickle naming them; the data types in refused modules and other
    classes become placeholders. Returns the number of names checked."""
    import io

    def unpickle(module, name):
        data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
        return SafeUnpickler(io.BytesIO(data)).load()

    refused = [(m, "anything") for m in sorted(REFUSED_MODULES)] + [(m + ".sub", "anything") for m in sorted(REFUSED_MODULES)]
    refused += [tuple(n.split(".", 1)) for n in sorted(REFUSED_NAMES)]
    refused += [("os", "system"), ("posix", "system"), ("nt", "system"), ("subprocess", "Popen"), ("commands", "getoutput"),
                ("__builtin__", "eval"), ("builtins", "exec"), ("builtins", "compile"), ("builtins", "getattr"),
                ("builtins", "__import__"), ("builtins", "open"), ("runpy", "_run_code"), ("importlib", "import_module"),
                ("pickle", "loads"), ("cPickle", "loads"), ("_pickle", "loads"), ("marshal", "loads"), ("torch", "load"),
                ("torch.storage", "_load_from_bytes"), ("shutil", "rmtree"), ("socket", "socket"), ("sys", "exit"),
                ("ctypes", "CDLL"), ("mymodule", "Foo.__init__.__globals__")]
    for module, name in refused:
        try:
            unpickle(module, name)
        except pickle.UnpicklingError as e:
            assert "refused global" in str(e), (module, name, e)
        else:
            raise AssertionError(f"{module}.{name} was not refused")
    placeholders = sorted(REFUSED_MODULE_DATA) + ["argparse.Namespace", "pathlib.PosixPath", "__main__.Mode",
                                                  "numpy.core.multiarray._reconstruct", "collections.defaultdict",
                                                  "torch.nn.modules.linear.Linear"]
    for full in placeholders:
        module, name = full.rsplit(".", 1)
        v = unpickle(module, name)
        assert foreign_name(v) == full, (full, v)
    return len(refused) + len(placeholders)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--self-test"]:
        print(f"vfw_unwrap: {self_test()} names refused or made placeholders as RefusedGlobals.swift says")
    else:
        print(__doc__)
