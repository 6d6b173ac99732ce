#!/usr/bin/env bash
# Benchmarks: vfw, PyTorch, ONNX Runtime and OpenVINO in the same run on this machine; prints markdown tables with ratios.
# `make bench` runs it (PYTHON = the venv's python, VFW = the release binary). Takes several minutes.
set -euo pipefail
PYTHON=${PYTHON:-$HOME/.cache/vfw-venv/bin/python}
VFW=${VFW:-.build/release/vfw}
THREADS=${THREADS:-2}
MODELS=${MODELS:-"resnet18 resnet50 vit-base"}
BATCHES=${BATCHES:-"1 8"}
WORK=$(mktemp -d /tmp/vfw-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
field() { $PYTHON -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
fam=$(lscpu | sed -n 's/^CPU family: *//p' | head -1); mod=$(lscpu | sed -n 's/^Model: *//p' | head -1)
isa=$(grep -q ' avx512f' /proc/cpuinfo && echo "AVX-512 (avx512f/bw/vl) + AVX2 + FMA" || { grep -q ' avx2' /proc/cpuinfo && echo "AVX2 + FMA, no AVX-512" || echo "no AVX2"; })
sg=$($PYTHON tools/bench_peers.py sgemm --threads $THREADS --json)
peak=$(field "$sg" peak_gflops)

echo "## Forward pass ($THREADS threads, fp32, median of 10 (5 at batch 8), $(date -u +%Y-%m-%d))"
echo
echo "CPU: $cpu (family $fam model $mod), $isa; $(nproc) cores. Load before the run:$(uptime | sed 's/.*load average://')."
echo "sgemm peak on $THREADS threads (numpy $(field "$sg" numpy)'s OpenBLAS, best of 6 shapes): $peak GFLOP/s."
echo "ONNX Runtime and OpenVINO run the models torch.onnx exported (tools/bench_peers.py); each runtime in its own process."
echo
echo "vfw runs the best instruction set of this CPU; \"vfw AVX2\" is the same binary with VFW_ISA=avx2, the path an AVX2-only CPU runs."
echo
echo "| model | batch | GFLOP | PyTorch ms | ONNX Runtime ms | OpenVINO ms | vfw ms | vfw / ORT | vfw / best peer | vfw AVX2 ms (/ ORT) | vfw GFLOP/s (% of sgemm peak) | ORT GFLOP/s | peak RSS MB: PyTorch / ORT / OpenVINO / vfw |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in $MODELS; do
  for b in $BATCHES; do
    runs=10; [ "$b" -gt 1 ] && runs=5
    e=$($PYTHON tools/bench_peers.py export --model $m --batch $b --dir $WORK 2>/dev/null)
    onnx=$(field "$e" onnx); gf=$(field "$e" gflop)
    t=$($PYTHON tools/bench_torch.py --model $m --batch $b --threads $THREADS --runs $runs --json)
    o=$($PYTHON tools/bench_peers.py run --runtime ort --onnx $onnx --batch $b --threads $THREADS --runs $runs --json)
    ov=$($PYTHON tools/bench_peers.py run --runtime openvino --onnx $onnx --batch $b --threads $THREADS --runs $runs --json)
    v=$($VFW bench --model $m --batch $b --threads $THREADS --runs $runs --json)
    v2=$(VFW_ISA=avx2 $VFW bench --model $m --batch $b --threads $THREADS --runs $runs --json)
    rm -f $onnx
    $PYTHON - "$m" "$b" "$gf" "$peak" "$t" "$o" "$ov" "$v" "$v2" <<'PY'
import json, sys
m, b, gf, peak = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
t, o, ov, v, v2 = (json.loads(x) for x in sys.argv[5:10])
tm, om, ovm, vm = (r["median_ms"] for r in (t, o, ov, v))
best = min(tm, om, ovm)
rate = lambda ms: gf / (ms / 1000)
v2m = v2["median_ms"]
print(f"| {m} | {b} | {gf:.1f} | {tm:.1f} | {om:.1f} | {ovm:.1f} | {vm:.1f} | {vm / om:.2f}x | {vm / best:.2f}x "
      f"| {v2m:.1f} ({v2m / om:.2f}x) | {rate(vm):.0f} ({100 * rate(vm) / peak:.0f}%) | {rate(om):.0f} "
      f"| {t['peak_rss_mb']} / {o['peak_rss_mb']} / {ov['peak_rss_mb']} / {v['peak_rss_mb']} |")
PY
  done
done

echo
echo "## .vfw open and --check"
echo
$VFW synth --model resnext101_64x4d -o $WORK/big.vfw --force > /dev/null
r=$($VFW bench --file $WORK/big.vfw --json)
echo "| file | open (median) | --check | throughput |"
echo "|---|---|---|---|"
echo "| resnext101_64x4d synth, $(( $(stat -c %s $WORK/big.vfw) / 1000000 )) MB | $(field "$r" open_ms) ms | $(field "$r" check_s) s | $(field "$r" check_gb_per_s) GB/s |"

echo
echo "## Conversion of a ViT-base .pth (torch.load + safetensors.save_file vs vfw convert)"
echo
c=$($PYTHON tools/bench_convert.py --vfw $VFW --workdir $WORK)
echo "| checkpoint | PyTorch s | vfw s | vfw / PyTorch | vfw peak RSS / checkpoint |"
echo "|---|---|---|---|---|"
echo "| $(field "$c" checkpoint_mb) MB | $(field "$c" torch_load_save_s) | $(field "$c" vfw_convert_s) | $(field "$c" ratio_vfw_over_torch)x | $(field "$c" vfw_peak_rss_over_checkpoint)x ($(field "$c" vfw_peak_rss_mb) MB) |"

echo
echo "## Indexing 200 JPEG photos (640x480): decode + preprocess + batched inference, whole job"
echo
echo "| model | PyTorch images/s | ONNX Runtime images/s | vfw index images/s | vfw / PyTorch | vfw / ORT throughput |"
echo "|---|---|---|---|---|---|"
for m in resnet18 vit-base; do
  i=$($PYTHON tools/bench_index.py --vfw $VFW --images 200 --threads $THREADS --model $m 2>/dev/null)
  echo "| $m | $(field "$i" torch_images_per_s) | $(field "$i" ort_images_per_s) | $(field "$i" vfw_images_per_s) | $(field "$i" ratio_vfw_over_torch_throughput)x | $(field "$i" ratio_vfw_over_ort_throughput)x |"
done
echo
echo "## Decode + preprocess of a 1024x768 JPEG (Pillow + torchvision transforms vs vfw Imaging)"
echo
$PYTHON tools/bench_image_preprocess.py $WORK/bench-1024x768.jpg | sed 's/^/    PyTorch side: /'
echo
$VFW bench --image $WORK/bench-1024x768.jpg --runs 30 | sed 's/^/    vfw side: /'
