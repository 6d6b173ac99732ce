#!/usr/bin/env bash
# Builds Examples/embed-photo (a package that depends on this checkout by path, as README "Use from Swift" shows)
# and checks that the vector it prints equals `vfw embed`'s for the same weights and photo, for a ResNet and a
# ViT. `make example` runs it; CI runs it from a clean clone.
set -euo pipefail
cd "$(dirname "$0")/.."
VFW=${VFW:-.build/release/vfw}
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d /tmp/vfw-example.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
(cd Examples/embed-photo && swift build -c release --scratch-path "$OLDPWD/.build-example" 2>&1 | tail -1)
EXAMPLE=.build-example/release/embed-photo
IMG=Reference/images/chelsea.png
$VFW synth --model resnet18 --seed 3 -o "$WORK/resnet18.vfw" > /dev/null
$VFW synth --model vit-tiny-patch16-224 --seed 3 -o "$WORK/vit-tiny.vfw" > /dev/null
for w in resnet18 vit-tiny; do
  $EXAMPLE "$WORK/$w.vfw" $IMG > "$WORK/$w.example"
  $VFW embed $IMG --weights "$WORK/$w.vfw" > "$WORK/$w.cli.json"
  $PYTHON - "$WORK/$w.example" "$WORK/$w.cli.json" "$w" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
example = json.loads(lines[1])
cli = json.load(open(sys.argv[2]))[0]["vector"]
assert len(example) == len(cli) > 0, (len(example), len(cli))
diff = max(abs(a - b) for a, b in zip(example, cli))
print(f"example {sys.argv[3]}: {lines[0]}; max |example - vfw embed| = {diff}")
sys.exit(0 if diff == 0 else 1)
PY
done
