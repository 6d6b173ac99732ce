# ViT inputs of any size (issue 15 item 5). The real transformers ViTForImageClassification (Hugging Face folder) and
# timm ViT-S/16 (.pth) of 20-torch.sh, built for 224, recorded by tools/make_reference.py --image-size at 160 (the
# position table shrunk 14 -> 10), 288 (grown to 18) and 384x224 (24x14): transformers with
# interpolate_pos_encoding=True (bicubic), timm with dynamic_img_size=True (bicubic, antialias); vfw converts once
# and verifies each size at 1e-4 (or by the noise floor). `vfw embed --image-size` against the library's classifier
# input on real photos preprocessed at that size; a timm folder's pretrained_cfg made to another size; torchvision
# (no resampling rule) refused in one line.

IMG=Reference/images/chelsea.png
for c in "hf-vit-classifier $WORK/models/vit-cls" "timm-vit-s16 $WORK/models/timm-vit-s16.pth"; do
  read -r label weights <<< "$c"
  for size in 160 288 384x224; do
    step "ViT $label at $size: make_reference.py --image-size $size, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
      $PYTHON tools/make_reference.py --weights $weights --image $IMG --image-size $size -o $WORK/ref-$label-$size &&
      { [ -e $WORK/$label-sizes.vfw ] || $VFW convert $weights -o $WORK/$label-sizes.vfw; } &&
      $VFW verify --reference $WORK/ref-$label-$size --weights $WORK/$label-sizes.vfw --tolerance 1e-4 | tail -1"
  done
done
for c in "vit-cls.pth 288" "timm-vit-s16.pth 160" "timm-vit-s16.pth 384x224"; do
  read -r file size <<< "$c"
  step "ViT $file: vfw embed --image-size $size vs the library's classifier input on real photos" \
    $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/models/$file --logits classifier --image-size $size \
      $IMG Tests/Fixtures/images/preset/rocket.jpg Tests/Fixtures/images/preset/portrait.png
done
step "ViT timm folder (pretrained_cfg) at 36 px (built for 28): make_reference.py --image-size 36, vfw verify --tolerance 1e-4" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights Tests/Fixtures/vit/sizes/timm --image $IMG --image-size 36 -o $WORK/ref-timm-cfg-36 &&
  $VFW verify --reference $WORK/ref-timm-cfg-36 --weights Tests/Fixtures/vit/sizes/timm --tolerance 1e-4 | tail -1"
step "ViT torchvision vit_b_32 (no resampling rule): vfw embed --image-size 288 is refused in one line, exit 2" bash -o pipefail -c "
  $VFW convert $WORK/models/tv-vit-b32.pth -o $WORK/tv-vit-b32-sizes.vfw --force > /dev/null
  set +e; $VFW embed $IMG --weights $WORK/tv-vit-b32-sizes.vfw --image-size 288 2> $WORK/tv-sizes.err; rc=\$?; set -e
  cat $WORK/tv-sizes.err; [ \$rc -eq 2 ] && [ \$(wc -l < $WORK/tv-sizes.err) -eq 1 ] && grep -q 'takes 224x224 images only' $WORK/tv-sizes.err"
