"""What every family module shares: the Family record, bad-input errors, strict state_dict loading."""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple


class InputError(Exception):
    """A problem with what the user gave us: reported as `path: problem` and exit status 2."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class Family:
    """One kind of model: how to recognise its checkpoints, describe them, build the real library model, feed it
    and tap it. The config vocabulary is the Swift family's (its Codable config), so a manifest's `architecture`
    is what a .vfw header holds."""
    name: str
    # model names --model accepts
    models: Tuple[str, ...]
    # do these state_dict keys belong to this family?
    detect: Callable[[dict], bool]
    # (state_dict, --model or None, path, config.json dict or None) -> (model name, config)
    infer: Callable[[dict, Optional[str], str, Optional[dict]], Tuple[str, dict]]
    # (path, state_dict, name, config) -> the real library's torch.nn.Module, every tensor loaded strictly
    load: Callable[[str, dict, str, dict], object]
    # (state_dict, config) -> preprocessing preset name (make_reference.PRESETS)
    preset: Callable[[dict, dict], str]
    # (model, --all) -> [(module name to hook, tap name)] in execution order; tap names do not depend on the
    # source layout or the library version
    taps: Callable[[object, bool], List[Tuple[str, str]]]
    # JSON Schema of `architecture.config` (checked on every manifest written)
    config_schema: Dict = field(default_factory=dict)
    # what --all does for this family: True when it taps more than the block level
    has_all_level: bool = True
    # preprocessing presets the family brings (name -> factory of a callable with a `transforms` list), added to
    # make_reference.PRESETS
    presets: Dict[str, Callable] = field(default_factory=dict)


def strict_load(model, state_dict, path: str, name: str):
    """load_state_dict(strict=True), its multi-line complaint folded into one line."""
    missing = [k for k in model.state_dict() if k not in state_dict]
    unexpected = [k for k in state_dict if k not in model.state_dict()]
    wrong = [f"{k} is {list(state_dict[k].shape)} not {list(v.shape)}" for k, v in model.state_dict().items()
             if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape:", wrong)):
        if items:
            more = f" (+{len(items) - 3} more)" if len(items) > 3 else ""
            problems.append(f"{label} {', '.join(items[:3])}{more}")
    if problems:
        raise InputError(path, f"keys do not match {name}: " + "; ".join(problems))
    try:
        model.load_state_dict(state_dict, strict=True)
    except Exception as e:
        raise InputError(path, f"keys do not match {name}: {one_line(e)}")
