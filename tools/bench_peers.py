#!/usr/bin/env python3
"""vfw's peers in `make bench`: the same models exported with torch.onnx, timed in ONNX Runtime and OpenVINO.

    python tools/bench_peers.py export --model resnet50 --batch 8 --dir WORK      # -> WORK/resnet50-b8.onnx, prints GFLOP
    python tools/bench_peers.py run --runtime ort --onnx WORK/resnet50-b8.onnx --batch 8 --threads 2 [--runs 10] [--json]
    python tools/bench_peers.py sgemm --threads 2 [--json]                         # this machine's sgemm peak

Each `run` is its own process, so its peak RSS (ru_maxrss) is that runtime's alone. The protocol is `vfw bench`'s
and tools/bench_torch.py's: random weights (timing does not depend on values), a fixed input, median of --runs after
--warmup, fp32, --threads intra-op threads and one inter-op thread.
  - export: the model tools/bench_torch.py builds (torchvision ResNet, transformers ViTModel), eval mode, exported by
    torch.onnx.export (the dynamo exporter, opset 18) with a static batch; the FLOP count of one forward pass comes from
    torch.utils.flop_counter (2 per multiply-add of every conv, matmul and linear), for the effective GFLOP/s figure.
  - ort: onnxruntime InferenceSession, CPUExecutionProvider, all graph optimisations (ORT rewrites convs into its
    channel-blocked NCHWc kernels), intra_op_num_threads = --threads, sequential execution.
  - openvino: compile_model on CPU with INFERENCE_NUM_THREADS = --threads, PERFORMANCE_HINT = LATENCY and
    INFERENCE_PRECISION_HINT = f32 (on CPUs with avx512_bf16 or AMX OpenVINO would otherwise run in bf16).
  - sgemm: numpy's own OpenBLAS (dynamic-arch, AVX-512 kernels where the CPU has them) on square and model-shaped
    products with OPENBLAS_NUM_THREADS = --threads; the peak is the best GFLOP/s over the shapes.
"""
import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import time


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_time(call, runs, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2], times[0]


def export(a):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_torch import build
    torch.manual_seed(0)
    model, size = build(a.model)
    model.eval()
    x = torch.rand(a.batch, 3, size, size) * 2 - 1
    path = os.path.join(a.dir, f"{a.model}-b{a.batch}.onnx")
    with torch.no_grad():
        counter = FlopCounterMode(display=False)
        with counter:
            model(x)
        flops = counter.get_total_flops()
        if not os.path.exists(path):
            with contextlib.redirect_stdout(sys.stderr):  # the exporter's progress lines; stdout carries the JSON
                torch.onnx.export(model, (x,), path, input_names=["pixel_values"], opset_version=18,
                                  dynamo=True, external_data=False)
    print(json.dumps({"model": a.model, "batch": a.batch, "onnx": path, "gflop": round(flops / 1e9, 3)}))


def run(a):
    import numpy as np
    rng = np.random.default_rng(0)
    if a.runtime == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = a.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        x = (rng.random([a.batch] + list(inp.shape[1:]), dtype=np.float32) * 2 - 1)
        call = lambda: sess.run(None, {inp.name: x})
        version = ort.__version__
    else:
        import openvino as ov
        core = ov.Core()
        cfg = {"INFERENCE_NUM_THREADS": a.threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
        compiled = core.compile_model(core.read_model(a.onnx), "CPU", cfg)
        request = compiled.create_infer_request()
        shape = list(compiled.inputs[0].get_shape())
        x = (rng.random(shape, dtype=np.float32) * 2 - 1)
        call = lambda: request.infer({0: x})
        version = ov.__version__.split("-")[0]
    med, best = median_time(call, a.runs, a.warmup)
    out = {"runtime": a.runtime, "version": version, "batch": a.batch, "threads": a.threads,
           "median_ms": round(med, 2), "min_ms": round(best, 2), "peak_rss_mb": round(peak_rss_mb())}
    print(json.dumps(out) if a.json else f"{a.runtime} {a.onnx}: median {med:.1f} ms, min {best:.1f} ms, peak RSS {out['peak_rss_mb']} MB")


def sgemm(a):
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(a.threads):
        # OpenBLAS reads its thread count once, when numpy loads it: run again with the variable set.
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads))
        sys.exit(subprocess.run([sys.executable] + sys.argv, env=env).returncode)
    import numpy as np
    rng = np.random.default_rng(0)
    # Square, then the shapes of a ResNet im2col (3136x576 . 576x64, 784x1152 . 1152x128) and of ViT-B (197x768 . 768x3072).
    shapes = [(1024, 1024, 1024), (2048, 2048, 2048), (3136, 64, 576), (784, 128, 1152), (197, 3072, 768), (1576, 768, 768)]
    results = {}
    for m, n, k in shapes:
        A = rng.random((m, k), dtype=np.float32)
        B = rng.random((k, n), dtype=np.float32)
        C = np.empty((m, n), dtype=np.float32)
        runs = max(3, int(2e10 / (2 * m * n * k)))
        med, best = median_time(lambda: np.matmul(A, B, out=C), runs, 2)
        results[f"{m}x{n}x{k}"] = round(2 * m * n * k / (best / 1000) / 1e9, 1)
    peak = max(results.values())
    out = {"threads": a.threads, "numpy": np.__version__, "peak_gflops": peak, "shapes": results}
    print(json.dumps(out) if a.json else f"sgemm peak {peak} GFLOP/s on {a.threads} threads: {results}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("--model", required=True)
    e.add_argument("--batch", type=int, default=1)
    e.add_argument("--dir", required=True)
    r = sub.add_parser("run")
    r.add_argument("--runtime", choices=["ort", "openvino"], required=True)
    r.add_argument("--onnx", required=True)
    r.add_argument("--batch", type=int, default=1)
    r.add_argument("--threads", type=int, default=2)
    r.add_argument("--runs", type=int, default=10)
    r.add_argument("--warmup", type=int, default=2)
    r.add_argument("--json", action="store_true")
    s = sub.add_parser("sgemm")
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--json", action="store_true")
    a = ap.parse_args()
    {"export": export, "run": run, "sgemm": sgemm}[a.cmd](a)


if __name__ == "__main__":
    main()
