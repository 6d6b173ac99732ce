#!/usr/bin/env bash
# Regenerates docs/verify-html.png, the README's picture of `vfw verify --html`: the committed Reference/resnet18
# verified with a planted fault (layer2.1.conv1's weight transposed), rendered in headless Chromium by
# tools/check_html_report.py (which also checks the page) and cut to the header and the chart.
#   PYTHON=~/.cache/vfw-venv/bin/python VFW=.build/release/vfw bash tools/make_report_screenshot.sh
set -euo pipefail
PYTHON=${PYTHON:-$HOME/.cache/vfw-venv/bin/python}
VFW=${VFW:-.build/release/vfw}
# Inside the checkout (ignored by git) so the page names the weights by a path a reader recognises, not a
# random temporary folder.
WORK=.build/screenshot
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
$VFW synth --model resnet18 --seed 0 -o "$WORK/r18.safetensors" > /dev/null
$PYTHON tools/plant_fault.py "$WORK/r18.safetensors" "$WORK/resnet18-layer2.1.conv1-transposed.safetensors" --transpose layer2.1.conv1.weight
# The page's paths are the reader's: run from the checkout so the reference reads Reference/resnet18.
set +e
$VFW verify --reference Reference/resnet18 --weights "$WORK/resnet18-layer2.1.conv1-transposed.safetensors" --html "$WORK/drift.html" > /dev/null
status=$?
set -e
[ "$status" -eq 1 ] || { echo "vfw verify exited $status, expected 1 (the planted fault)"; exit 1; }
$PYTHON tools/check_html_report.py "$WORK/drift.html" --expect-source layer2.1 --screenshot docs/verify-html.png
ls -l docs/verify-html.png
