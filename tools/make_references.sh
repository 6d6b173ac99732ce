#!/usr/bin/env bash
# Regenerates the committed references in Reference/ (run only when their content must change).
#   bash tools/make_references.sh [resnet18 ...]
# Weights are `vfw synth` weights (seed 0): the manifest records model, seed and the file's SHA-256, and
# `vfw verify --model NAME` regenerates them in memory, so no weights file is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$HOME/.cache/vfw-venv/bin/python}
VFW=${VFW:-.build/release/vfw}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
want=${*:-"resnet18"}
for name in $want; do
  case $name in
    resnet18)
      $VFW synth --model resnet18 --seed 0 -o "$TMP/resnet18-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/resnet18-synth.safetensors" --synth-seed 0 \
        --image Reference/images/chelsea.png -o Reference/resnet18 ;;
    *) echo "unknown reference $name" >&2; exit 2 ;;
  esac
done
du -sh Reference/*
