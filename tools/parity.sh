#!/usr/bin/env bash
# The parity job: real PyTorch libraries make the files, vfw reads them, and the libraries judge the result.
# Run by `make parity` (and .ci/run) with PYTHON (the venv's python) and VFW (the release binary) set.
set -euo pipefail
PYTHON=${PYTHON:-$HOME/.cache/vfw-venv/bin/python}
VFW=${VFW:-.build/release/vfw}
WORK=$(mktemp -d /tmp/vfw-parity.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
passed=0; failed=0
step() {  # step NAME COMMAND...: run one check, count it, keep going
  local name=$1; shift
  if "$@" > "$WORK/log" 2>&1; then passed=$((passed+1)); echo "ok    $name"
  else failed=$((failed+1)); echo "FAIL  $name"; sed 's/^/      /' "$WORK/log" | tail -20; fi
}

echo "parity job: $($PYTHON -c 'import torch, torchvision, transformers, safetensors; print("torch", torch.__version__, "torchvision", torchvision.__version__, "transformers", transformers.__version__, "safetensors", safetensors.__version__)')"

# 1. The committed golden .vfw passes the independent Python reader.
step "golden.vfw read by tools/check_vfw.py" $PYTHON tools/check_vfw.py Tests/Fixtures/vfw/golden.vfw

for f in tools/parity.d/*.sh; do
  [ -e "$f" ] && source "$f"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
