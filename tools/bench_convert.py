#!/usr/bin/env python3
"""Conversion speed and memory: `vfw convert` beside torch.load(weights_only=True) + safetensors.save_file.

    python tools/bench_convert.py --vfw .build/release/vfw [--model vit-base] [--workdir DIR]

Saves a real model (a transformers ViT-base, ~350 MB) with torch.save, then times, in this run:
  - PyTorch: torch.load(path, weights_only=True) followed by safetensors.torch.save_file(...) in a
    child process (so its peak RSS is its own),
  - vfw: `vfw convert path -o out.vfw` (peak RSS from the kernel's rusage of the child),
and prints both, their ratio, and vfw's peak RSS as a multiple of the checkpoint size.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

PY_CONVERT = """
import sys, torch, resource, time
from safetensors.torch import save_file
t0 = time.perf_counter()
sd = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
save_file({k: v.contiguous() for k, v in sd.items()}, sys.argv[2])
print(time.perf_counter() - t0)
"""


def child_run(cmd):
    """Runs cmd, returns (wall seconds, peak RSS MB of that very child: os.wait4 gives its own rusage)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{cmd[0]} failed: {p.stderr.read().decode()[:500]}")
    return wall, usage.ru_maxrss / 1024, ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vfw", required=True)
    ap.add_argument("--workdir")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    work = a.workdir or tempfile.mkdtemp(prefix="vfw-bench-convert-")
    src = os.path.join(work, "vit-base.pth")
    if not os.path.exists(src):
        # In a child: this process must stay small, since a forked child counts its parent's pages until exec.
        subprocess.run([sys.executable, "-c", "import sys, torch; from transformers import ViTConfig, ViTModel; "
                        "torch.save(ViTModel(ViTConfig()).state_dict(), sys.argv[1])", src], check=True, capture_output=True)
    size_mb = os.path.getsize(src) / 1e6
    torch_times, vfw_times, vfw_rss, torch_rss = [], [], [], []
    for i in range(a.runs):
        # Each measurement in a fresh child; peak RSS of children is monotone, so measure vfw first.
        w, rss, _ = child_run([a.vfw, "convert", src, "-o", os.path.join(work, "out.vfw"), "--force"])
        vfw_times.append(w); vfw_rss.append(rss)
    for i in range(a.runs):
        w, rss, _ = child_run([sys.executable, "-c", PY_CONVERT, src, os.path.join(work, "out.safetensors")])
        torch_times.append(w); torch_rss.append(rss)
    res = {"checkpoint_mb": round(size_mb, 1), "vfw_convert_s": round(min(vfw_times), 3),
           "torch_load_save_s": round(min(torch_times), 3), "ratio_vfw_over_torch": round(min(vfw_times) / min(torch_times), 2),
           "vfw_peak_rss_mb": round(max(vfw_rss)), "vfw_peak_rss_over_checkpoint": round(max(vfw_rss) / size_mb, 2),
           "torch_peak_rss_mb": round(max(torch_rss))}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
