# ResNet end to end (issue: ResNet). Fresh references from real torchvision on torch-saved .pth files
# (tools/make_parity_models.py, every parameter perturbed), converted by vfw and verified at 1e-4.

IMG=Reference/images/chelsea.png
for m in resnet18 resnet50 resnext50_32x4d; do
  step "$m: make_reference.py from .pth, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/models/$m.pth --image $IMG -o $WORK/ref-$m &&
    $VFW convert $WORK/models/$m.pth -o $WORK/$m.vfw --force &&
    $VFW verify --reference $WORK/ref-$m --weights $WORK/$m.vfw --tolerance 1e-4 | tail -2"
done
step "resnet18: every module (--all), batch 3, weights straight from the .pth" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/models/resnet18.pth --image $IMG -o $WORK/ref-r18-all --all --batch 3 &&
  $VFW verify --reference $WORK/ref-r18-all --weights $WORK/models/resnet18.pth --tolerance 1e-4 | tail -2"
step "resnet50: weights from .safetensors" bash -o pipefail -c "
  $VFW verify --reference $WORK/ref-resnet50 --weights $WORK/models/resnet50.safetensors --tolerance 1e-4 | tail -2"
step "Reference/resnet18 (committed): vfw verify --model resnet18" bash -o pipefail -c "$VFW verify --model resnet18 | tail -2"
