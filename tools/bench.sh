#!/usr/bin/env bash
# Benchmarks: vfw and PyTorch in the same run on this machine; prints a markdown table with ratios.
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

echo "## Forward pass ($THREADS threads, fp32, median of 10, $(date -u +%Y-%m-%d))"
echo
echo "| model | batch | PyTorch ms | vfw ms | vfw / PyTorch | vfw peak RSS MB |"
echo "|---|---|---|---|---|---|"
for m in $MODELS; do
  for b in $BATCHES; do
    runs=10; [ "$b" -gt 1 ] && runs=5
    t=$($PYTHON tools/bench_torch.py --model $m --batch $b --threads $THREADS --runs $runs --json)
    v=$($VFW bench --model $m --batch $b --threads $THREADS --runs $runs --json)
    tm=$(field "$t" median_ms); vm=$(field "$v" median_ms)
    echo "| $m | $b | $tm | $vm | $($PYTHON -c "print(f'{$vm/$tm:.2f}x')") | $(field "$v" peak_rss_mb) |"
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
echo "## Indexing 200 JPEG photos (640x480) with resnet18: decode + preprocess + batched inference"
echo
i=$($PYTHON tools/bench_index.py --vfw $VFW --images 200 --threads $THREADS)
echo "| PyTorch images/s | vfw index images/s | vfw / PyTorch throughput |"
echo "|---|---|---|"
echo "| $(field "$i" torch_images_per_s) | $(field "$i" vfw_images_per_s) | $(field "$i" ratio_vfw_over_torch_throughput)x |"

echo
echo "## Decode + preprocess of a 1024x768 JPEG (Pillow + torchvision transforms vs vfw Imaging)"
echo
$PYTHON tools/bench_image_preprocess.py $WORK/bench-1024x768.jpg | sed 's/^/    PyTorch side: /'
echo
$VFW bench --image $WORK/bench-1024x768.jpg --runs 30 | sed 's/^/    vfw side: /'
