#!/usr/bin/env python3
"""How far correct float32 runs are from the float64 truth, and how far planted faults are: the figures behind
`vfw verify`'s noise floor (README "The noise floor").

    ~/.cache/vfw-venv/bin/python tools/measure_noise_floor.py --vfw .build/release/vfw --faultlab .build/release/FaultLab --work DIR
        [--models resnet18,resnet34,resnet50,resnext50_32x4d] [--variants scaled,plain,perturbed]
        [--vit synth,hf] [--photos Reference/images] [--json OUT]

For every model and trained-like variant (tools/make_parity_models.py):
    scaled     perturbed weights, the last BN of each block scaled to U(0.2, 0.5), BN statistics from train-mode
               passes over real photos, statistics perturbed again (`trained_like_resnet(..., residual_scale=True)`)
    plain      torchvision's own initialisation, BN statistics from train-mode passes over real photos
    perturbed  perturbed weights, BN statistics from real photos, statistics perturbed again (the parity job's)
it records a reference over the photos with make_reference.py (float32 and the float64 truth), verifies the
model with `vfw verify --json` and reads, per tap, max |swift - truth| / max |torch - truth|. Then it plants the
weight faults of issue 13 (one conv's weights x (1 + 1e-3), a downsample conv x (1 + 3e-4)) in the checkpoint,
verifies again, and reads the exit code, the failure source and the ratio there; the faults a checkpoint cannot
hold (a Winograd coefficient off by 1e-3, tanh-GELU for erf-GELU, a dropped residual, an off-by-one crop) are
planted by Tests/FaultLab. ViTs: `vfw synth vit-base` weights (synth) and a perturbed Hugging Face ViT-base (hf).
Per ResNet it also measures a second correct PyTorch float32 run (mkldnn off) against the truth: its per-tap
ratio to the first, and the share of elements a per-element rule |b - t| <= 4 |a - t| would fail.
Prints the tables; --json writes every figure.
"""
import argparse
import json
import os
import subprocess
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_models import perturb, trained_like_resnet  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
# Where the weight faults go: a deep and a shallow 3x3 conv; the first downsample of a deep and a shallow stage.
CONV_FAULTS = {"basic": ["layer1.0.conv2", "layer3.1.conv2", "layer4.1.conv2"],
               "bottleneck": ["layer1.0.conv2", "layer3.1.conv2", "layer4.1.conv2"]}
DOWNSAMPLE_FAULTS = ["layer2.0.downsample.0", "layer4.0.downsample.0"]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def verify(vfw, ref, weights, out_json, extra=()):
    r = run([vfw, "verify", "--reference", ref, "--weights", weights, "--json", out_json, *extra])
    if r.returncode not in (0, 1):
        raise SystemExit(f"vfw verify failed ({r.returncode}): {r.stderr}")
    with open(out_json) as f:
        return r.returncode, json.load(f)


def tap_figures(report):
    out = []
    for t in report["taps"]:
        tr = t.get("truth") or {}
        out.append({"tap": t["name"], "max_abs": t["max_abs"], "swift": tr.get("swift"), "torch": tr.get("torch"),
                    "ratio": tr.get("ratio"), "within_tolerance": t["within_tolerance"], "passed": t["passed"],
                    "decided_by": t["decided_by"], "introduced": (t.get("attribution") or {}).get("introduced")})
    return out


def fault_figures(report, code, block):
    taps = {t["name"]: t for t in report["taps"]}
    src = report.get("failure_source")
    at = taps.get(block, {})
    tr = at.get("truth") or {}
    return {"exit": code, "failure_source": src, "at_block": src == block, "ratio_at_block": tr.get("ratio"),
            "within_tolerance_at_block": at.get("within_tolerance"), "tolerance_used_at_block": at.get("tolerance_used")}


def faultlab(a, ref, weights, spec, block, work):
    out = os.path.join(work, "faultlab.json")
    r = run([a.faultlab, "--reference", ref, "--weights", weights, "--fault", spec, "--single-run", "--json", out])
    if r.returncode not in (0, 1):
        raise SystemExit(f"FaultLab {spec} failed ({r.returncode}): {r.stderr}")
    with open(out) as f:
        rep = json.load(f)
    return {"fault": spec, "block": block, **fault_figures(rep, r.returncode, block)}


def second_run(pth, ref):
    """A second correct float32 PyTorch run (mkldnn off) against the truth, per tap: max |b - t| / max |a - t| (a:
    the reference's run), and the share of elements with |b - t| > 4 |a - t| (what a per-element rule would fail)."""
    import torchvision
    from safetensors.torch import load_file
    with open(os.path.join(ref, "manifest.json")) as f:
        m = json.load(f)
    acts = load_file(os.path.join(ref, "activations.safetensors"))
    model = getattr(torchvision.models, m["architecture"]["name"])()
    model.load_state_dict(torch.load(pth, weights_only=True))
    model.eval()
    names = [t["name"] for t in m["taps"] if "#" not in t["name"]]
    modules = dict(model.named_modules())
    got = {}
    hooks = [modules[n].register_forward_hook(lambda mod, i, o, n=n: got.__setitem__(n, o.detach().clone())) for n in names]
    torch.set_num_threads(1)
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False):
        model(acts["input"])
    for h in hooks:
        h.remove()
    out = []
    for n in names:
        a = acts[n].double()
        t = a + acts["truth/" + n].double()
        b = got[n].double()
        ea, eb = (a - t).abs(), (b - t).abs()
        out.append({"tap": n, "ratio": (eb.max() / ea.max()).item(), "elements_over_4x": (eb > 4 * ea).double().mean().item()})
    torch.set_num_threads(2)
    return out


def make_reference(python, weights, photos, out):
    r = run([python, os.path.join(ROOT, "tools", "make_reference.py"), "--weights", weights, "--image", photos, "-o", out])
    if r.returncode != 0:
        raise SystemExit(f"make_reference.py failed: {r.stderr}")


def resnet_case(a, name, variant, seed):
    work = os.path.join(a.work, f"{name}-{variant}")
    os.makedirs(work, exist_ok=True)
    pth = os.path.join(work, f"{name}.pth")
    if not os.path.exists(pth):
        if variant == "scaled":
            model = trained_like_resnet(name, seed, residual_scale=True)
        elif variant == "plain":
            import torchvision
            from make_parity_models import calibrate_batch_norm
            model = calibrate_batch_norm(getattr(torchvision.models, name)(), seed).eval()
        else:
            model = trained_like_resnet(name, seed)
        torch.save(model.state_dict(), pth)
    ref = os.path.join(work, "ref")
    if not os.path.exists(os.path.join(ref, "manifest.json")):
        make_reference(sys.executable, pth, a.photos, ref)
    code, rep = verify(a.vfw, ref, pth, os.path.join(work, "verify.json"))
    strict_code, _ = verify(a.vfw, ref, pth, os.path.join(work, "verify-strict.json"), ["--strict", "--tolerance", "1e-4"])
    case = {"model": name, "variant": variant, "exit": code, "strict_1e-4_exit": strict_code, "taps": tap_figures(rep),
            "faults": []}
    sd = torch.load(pth, weights_only=True)
    block_kind = "bottleneck" if "layer1.0.conv3.weight" in sd else "basic"
    faults = [(c, 1e-3) for c in CONV_FAULTS[block_kind]] + [(d, 3e-4) for d in DOWNSAMPLE_FAULTS if d + ".weight" in sd]
    for module, rel in faults:
        bad = {k: (v * (1 + rel) if k == module + ".weight" else v) for k, v in sd.items()}
        path = os.path.join(work, f"fault-{module}.pth")
        torch.save(bad, path)
        block = ".".join(module.split(".")[:2])
        code, rep = verify(a.vfw, ref, path, os.path.join(work, f"fault-{module}.json"))
        f = {"fault": f"{module} x (1 + {rel:g})", "block": block, **fault_figures(rep, code, block)}
        code1, rep1 = verify(a.vfw, ref, path, os.path.join(work, f"fault-{module}-1e-4.json"), ["--tolerance", "1e-4"])
        f["tolerance_1e-4"] = fault_figures(rep1, code1, block)
        case["faults"].append(f)
        os.remove(path)
    hooked = [("drop-residual:layer3.1", "layer3.1"), ("shift-input:1", "conv1")]
    if block_kind == "basic" or "resnext" not in name:
        hooked += [(f"winograd:{c}:1,1:1e-3", ".".join(c.split(".")[:2])) for c in ("layer1.0.conv2", "layer3.1.conv2")]
        hooked += [(f"winograd:layer3.1.conv2:2,1:1e-3", "layer3.1")]
    for spec, block in hooked:
        case["faults"].append(faultlab(a, ref, pth, spec, block, work))
    case["second_run"] = second_run(pth, ref)
    return case


def vit_case(a, kind):
    work = os.path.join(a.work, f"vit-{kind}")
    os.makedirs(work, exist_ok=True)
    if kind == "synth":
        weights = os.path.join(work, "vit-base.safetensors")
        if not os.path.exists(weights):
            r = run([a.vfw, "synth", "--model", "vit-base", "--seed", "0", "-o", weights, "--force"])
            if r.returncode:
                raise SystemExit(r.stderr)
    else:
        from transformers import ViTConfig, ViTModel
        weights = os.path.join(work, "vit-hf")
        if not os.path.exists(weights):
            perturb(ViTModel(ViTConfig(), add_pooling_layer=True), 3).eval().save_pretrained(weights)
    ref = os.path.join(work, "ref")
    if not os.path.exists(os.path.join(ref, "manifest.json")):
        make_reference(sys.executable, weights, a.photos, ref)
    code, rep = verify(a.vfw, ref, weights, os.path.join(work, "verify.json"))
    faults = [faultlab(a, ref, weights, f"tanh-gelu:encoder.layer.{i}", f"encoder.layer.{i}", work) for i in (0, 5, 11)]
    return {"model": "vit-base", "variant": kind, "exit": code, "taps": tap_figures(rep), "faults": faults}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--faultlab", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--models", default="resnet18,resnet34,resnet50,resnext50_32x4d")
    ap.add_argument("--variants", default="scaled,plain,perturbed")
    ap.add_argument("--vit", default="synth,hf")
    ap.add_argument("--photos", default=os.path.join(ROOT, "Reference", "images"))
    ap.add_argument("--json")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch.set_num_threads(2)
    cases = []
    for i, name in enumerate(m for m in a.models.split(",") if m):
        for variant in (v for v in a.variants.split(",") if v):
            cases.append(resnet_case(a, name, variant, 1 + i))
            print(summary_line(cases[-1]), flush=True)
    for kind in (k for k in a.vit.split(",") if k):
        cases.append(vit_case(a, kind))
        print(summary_line(cases[-1]), flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(cases, f, indent=1)
    print()
    print("| model | variant | exit (default) | exit (--strict --tolerance 1e-4) | worst max abs vs torch | worst swift/torch ratio (tap) | taps passed by the noise floor |")
    print("|---|---|---|---|---|---|---|")
    for c in cases:
        taps = c["taps"]
        worst = max(taps, key=lambda t: t["ratio"] or 0)
        wabs = max(taps, key=lambda t: t["max_abs"])
        floor = sum(1 for t in taps if t["decided_by"] == "noise-floor")
        print(f"| {c['model']} | {c['variant']} | {c['exit']} | {c.get('strict_1e-4_exit', '-')} | {wabs['max_abs']:.1e} ({wabs['tap']}) | "
              f"{worst['ratio']:.2f} ({worst['tap']}) | {floor} of {len(taps)} |")
    print()
    print("| model | variant | fault | exit | failure source | swift/torch there | share of 1e-4 used there | exit at --tolerance 1e-4 |")
    print("|---|---|---|---|---|---|---|---|")
    for c in cases:
        for f in c["faults"]:
            t14 = f.get("tolerance_1e-4", f)["exit"]
            print(f"| {c['model']} | {c['variant']} | {f['fault']} | {f['exit']} | {f['failure_source']} | "
                  f"{(f['ratio_at_block'] or 0):.1f} | {(f['tolerance_used_at_block'] or 0):.1f} | {t14} |")
    print()
    print("| model | variant | second correct run (mkldnn off): worst max-abs ratio to the first (tap) | elements a per-element 4x rule fails (worst tap) |")
    print("|---|---|---|---|")
    for c in cases:
        if "second_run" in c:
            sr = c["second_run"]
            w = max(sr, key=lambda t: t["ratio"])
            e = max(sr, key=lambda t: t["elements_over_4x"])
            print(f"| {c['model']} | {c['variant']} | {w['ratio']:.2f} ({w['tap']}) | {100 * e['elements_over_4x']:.1f}% ({e['tap']}) |")


def summary_line(c):
    taps = c["taps"]
    worst = max(taps, key=lambda t: t["ratio"] or 0)
    faults = ", ".join(f"{f['fault']}: exit {f['exit']} at {f['failure_source']} ratio {(f['ratio_at_block'] or 0):.1f}" for f in c["faults"])
    return f"{c['model']} {c['variant']}: exit {c['exit']}, worst ratio {worst['ratio']:.2f} at {worst['tap']}; {faults}"


if __name__ == "__main__":
    main()
