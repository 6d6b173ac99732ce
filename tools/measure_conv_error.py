#!/usr/bin/env python3
"""What each convolution algorithm of vfw costs in error, against a float64 run of the same PyTorch model.

    python tools/measure_conv_error.py --vfw .build/release/vfw [--model resnet50] [--work DIR] [--json]

Builds the parity job's trained-like model (tools/make_parity_models.py: perturbed weights, batch-norm statistics
from train-mode passes, small last-BN weights per block), saves it with torch.save, and runs one real photo
(scikit-image's astronaut, torchvision preprocessing) through:
  - the truth: model.double() on the preprocessed input cast to float64;
  - PyTorch float32 (its default CPU convolutions), the error any correct float32 run has;
  - vfw with each algorithm for 3x3 stride-1 convolutions, chosen for the whole run by VFW_WINOGRAD
    (off = packed im2col GEMM, 2 = Winograd F(2x2,3x3), 4 = Winograd F(4x4,3x3)), on each instruction set
    (VFW_ISA), through `vfw embed --layer TAP --format npy` (vfw's own decode and preprocessing, which match
    Pillow + torchvision to 3.6e-7 on the features).
Prints, per tap, the largest activation and each run's max abs error vs the truth.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_models import calibrate_batch_norm, perturb, trained_residual_scale  # noqa: E402

TAPS = ["layer1", "layer2", "layer3", "layer4", "fc"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--work", default=None)
    ap.add_argument("--isas", default="avx512,avx2")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    work = a.work or tempfile.mkdtemp(prefix="vfw-conv-error-")
    os.makedirs(work, exist_ok=True)
    import torchvision
    from PIL import Image
    import skimage
    torch.manual_seed(0)
    model = perturb(getattr(torchvision.models, a.model)(), 1)
    model = perturb(calibrate_batch_norm(trained_residual_scale(model, 1), 1), 101).eval()
    weights = os.path.join(work, f"{a.model}.pth")
    torch.save(model.state_dict(), weights)
    photo = os.path.join(work, "astronaut.png")
    Image.open(os.path.join(os.path.dirname(skimage.__file__), "data", "astronaut.png")).convert("RGB").save(photo)
    tf = torchvision.transforms.Compose([
        torchvision.transforms.Resize(256), torchvision.transforms.CenterCrop(224), torchvision.transforms.ToTensor(),
        torchvision.transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])])
    x = tf(Image.open(photo).convert("RGB")).unsqueeze(0)

    def run(m, inp):
        out = {}
        hooks = [getattr(m, t).register_forward_hook(lambda mod, i, o, t=t: out.__setitem__(t, o.detach().double().flatten().numpy()))
                 for t in TAPS]
        with torch.no_grad():
            m(inp)
        for h in hooks:
            h.remove()
        return out

    torch.set_num_threads(2)
    truth = run(model.double(), x.double())
    f32 = run(model.float(), x)
    rows = {t: {"max_abs_activation": float(np.abs(truth[t]).max()), "torch_fp32": float(np.abs(f32[t] - truth[t]).max())} for t in TAPS}
    for isa in a.isas.split(","):
        for algo in ["off", "2", "4"]:
            env = dict(os.environ, VFW_WINOGRAD=algo, VFW_ISA=isa)
            for t in TAPS:
                out = os.path.join(work, f"{t}-{algo}-{isa}.npy")
                subprocess.run([a.vfw, "embed", photo, "--weights", weights, "--layer", t, "--format", "npy", "-o", out,
                                "--force", "--threads", "2"], check=True, env=env, capture_output=True)
                rows[t][f"vfw_{isa}_{algo}"] = float(np.abs(np.load(out).astype(np.float64).flatten() - truth[t]).max())
    if a.json:
        print(json.dumps({"model": a.model, "taps": rows}))
        return
    cols = list(rows[TAPS[0]].keys())
    print("| tap | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for t in TAPS:
        print(f"| {t} | " + " | ".join(f"{rows[t][c]:.3g}" for c in cols) + " |")


if __name__ == "__main__":
    main()
