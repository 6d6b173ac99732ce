# ViT end to end (issue: ViT). Real transformers / timm / torchvision models saved by torch, references
# recorded by tools/make_reference.py in each library, vfw converts and verifies at 1e-4.

IMG=Reference/images/chelsea.png
vit_case() {  # vit_case LABEL WEIGHTS
  step "$1: make_reference.py, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $2 --image $IMG -o $WORK/ref-$1 &&
    $VFW convert $2 -o $WORK/$1.vfw --force &&
    $VFW verify --reference $WORK/ref-$1 --weights $WORK/$1.vfw --tolerance 1e-4 | tail -2"
}
vit_case hf-vit-base-safetensors $WORK/models/vit-base
vit_case hf-vit-base-bin $WORK/models/vit-base-bin
vit_case hf-vit-classifier $WORK/models/vit-cls
vit_case timm-vit-s16 $WORK/models/timm-vit-s16.pth
vit_case torchvision-vit-b32 $WORK/models/tv-vit-b32.pth
step "transformers-5 key names (torch.save of ViTModel.state_dict()) -> vfw verify" bash -o pipefail -c "
  $VFW verify --reference $WORK/ref-hf-vit-base-safetensors --weights $WORK/models/vit-base.pth --tolerance 1e-4 | tail -2"
step "Reference/vit-base (committed): vfw verify --model vit-base --tolerance 1e-4" bash -o pipefail -c "
  $VFW verify --model vit-base --tolerance 1e-4 | tail -2"
