# The noise floor (issue 13): references hold the float64 truth, `vfw verify` passes a tap whose error against it is
# no more than 4x PyTorch float32's own, and real faults still fail at their block. The models are the trained-like
# ResNet-50 and ResNeXt-50 of 20-torch.sh (tools/make_parity_models.py: BN statistics from train-mode passes over
# real photos, activations ~20-70 deep down, where PyTorch float32 itself is 1e-4 to 1e-3 from the truth); the
# references are recorded on four held-out photos (Reference/images: a photo, grayscale, an odd-size JPEG, RGBA).
# Weight faults are planted in a copy of the checkpoint; the faults a checkpoint cannot hold (a dropped residual, a
# Winograd coefficient, tanh-GELU, an off-by-one crop) by Tests/FaultLab, the same verify pipeline with a test-only hook.

FAULTLAB=${FAULTLAB:-$(dirname "$VFW")/FaultLab}
NF_PHOTOS="--image Reference/images/coffee.png --image Reference/images/camera.png --image Reference/images/rocket.jpg --image Reference/images/astronaut-alpha.png"

# nf_fails JSON BLOCK COMMAND...: the command (a verify writing --json JSON) exits 1 and names BLOCK as the failure source.
nf_fails() {
  local json=$1 block=$2; shift 2
  local code=0
  "$@" --json "$json" > "$json.txt" 2>&1 || code=$?
  tail -1 "$json.txt"
  [ "$code" -eq 1 ] || { echo "exit $code, expected 1"; cat "$json.txt"; return 1; }
  $PYTHON -c '
import json, sys
d = json.load(open(sys.argv[1]))
src = d.get("failure_source")
assert src == sys.argv[2], f"failure source {src}, expected {sys.argv[2]}"
t = {x["name"]: x for x in d["taps"]}[src]
assert t["decided_by"] == "tolerance+noise-floor", t["decided_by"]
print("  %s: swift/torch %.0fx against the truth" % (src, t["truth"]["ratio"]))' "$json" "$block"
}

for m in resnet50 resnext50_32x4d; do
  step "$m trained-like, 4 held-out photos with the float64 truth: vfw verify passes by default and at --tolerance 1e-4, JSON validates" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/models/$m.pth $NF_PHOTOS -o $WORK/nf-$m &&
    $VFW verify --reference $WORK/nf-$m --weights $WORK/models/$m.pth --json $WORK/nf-$m.json | tail -1 &&
    $PYTHON tools/validate_json.py Schemas/verify-report.schema.json $WORK/nf-$m.json &&
    $VFW verify --reference $WORK/nf-$m --weights $WORK/models/$m.pth --tolerance 1e-4 --single-run | tail -1 &&
    { $VFW verify --reference $WORK/nf-$m --weights $WORK/models/$m.pth --strict --tolerance 1e-4 --single-run | tail -1 || true; }"
done

step "weight faults planted in the checkpoints (conv x (1+1e-3), downsample x (1+3e-4), transposed weight, swapped BN statistics)" \
  $PYTHON - "$WORK" <<'EOF'
import sys, torch
work = sys.argv[1]
def plant(model, name, change):
    sd = torch.load(f"{work}/models/{model}.pth", weights_only=True)
    change(sd)
    torch.save(sd, f"{work}/nf-{model}-{name}.pth")
def scale(key, rel):
    def f(sd): sd[key] = sd[key] * (1 + rel)
    return f
def transpose(key):  # out and in channels swapped: a square 3x3 conv read in the wrong order
    def f(sd): sd[key] = sd[key].transpose(0, 1).contiguous()
    return f
def swap_bn(prefix):
    def f(sd): sd[prefix + ".running_mean"], sd[prefix + ".running_var"] = sd[prefix + ".running_var"].clone(), sd[prefix + ".running_mean"].abs()
    return f
for m in ("resnet50", "resnext50_32x4d"):
    plant(m, "conv", scale("layer3.1.conv3.weight", 1e-3))
    plant(m, "downsample", scale("layer4.0.downsample.0.weight", 3e-4))
plant("resnet50", "transposed", transpose("layer2.1.conv2.weight"))
plant("resnext50_32x4d", "swapped-bn", swap_bn("layer3.0.bn2"))
EOF

for c in "resnet50 conv layer3.1" "resnet50 downsample layer4.0" "resnext50_32x4d conv layer3.1" "resnext50_32x4d downsample layer4.0" \
         "resnet50 transposed layer2.1" "resnext50_32x4d swapped-bn layer3.0"; do
  set -- $c
  step "$1 with $2 fault: exit 1, failure source $3, outside both rules" \
    nf_fails $WORK/nf-$1-$2.json $3 $VFW verify --reference $WORK/nf-$1 --weights $WORK/nf-$1-$2.pth --single-run
done
for c in "drop-residual:layer3.2 layer3.2" "winograd:layer3.1.conv2:1,1:1e-3 layer3.1" "shift-input:1 conv1"; do
  set -- $c
  step "resnet50 with $1 (Tests/FaultLab): exit 1, failure source $2, outside both rules" \
    nf_fails $WORK/nf-resnet50-fl.json $2 $FAULTLAB --reference $WORK/nf-resnet50 --weights $WORK/models/resnet50.pth --fault $1 --single-run
done

# ViT: the Hugging Face ViT-base of 20-torch.sh on two of the photos (grayscale, RGBA); tanh-GELU in one block
# (FaultLab); and a wrong LayerNorm eps: the ViT made with nn.LayerNorm's default eps 1e-5 and run with its config's
# eps replaced by Hugging Face's default 1e-12 (a timm-to-HF conversion that forgets the eps).
step "vit-base (HF, eps 1e-5) on 2 held-out photos with the float64 truth: passes by default" bash -o pipefail -c "
  $PYTHON -c '
import sys, json, shutil
src, dst = sys.argv[1], sys.argv[2]
for d, eps in ((dst, 1e-5), (dst + \"-eps12\", 1e-12)):
    shutil.copytree(src, d, dirs_exist_ok=True)
    c = json.load(open(d + \"/config.json\")); c[\"layer_norm_eps\"] = eps; json.dump(c, open(d + \"/config.json\", \"w\"))
' $WORK/models/vit-base $WORK/nf-vit-weights &&
  $PYTHON tools/make_reference.py --weights $WORK/nf-vit-weights --image Reference/images/camera.png --image Reference/images/astronaut-alpha.png -o $WORK/nf-vit &&
  $VFW verify --reference $WORK/nf-vit --weights $WORK/nf-vit-weights --single-run | tail -1"
step "vit-base with tanh-GELU in encoder.layer.6 (Tests/FaultLab): exit 1, failure source encoder.layer.6" \
  nf_fails $WORK/nf-vit-gelu.json encoder.layer.6 $FAULTLAB --reference $WORK/nf-vit --weights $WORK/nf-vit-weights --fault tanh-gelu:encoder.layer.6 --single-run
step "vit-base with LayerNorm eps 1e-12 for 1e-5: exit 1, failure source encoder.layer.0" \
  nf_fails $WORK/nf-vit-eps.json encoder.layer.0 $VFW verify --reference $WORK/nf-vit --weights $WORK/nf-vit-weights-eps12 --single-run
