# Checkpoint reading (issue: torch.save reader). Real torch saves real models; vfw converts them;
# tools/check_vfw.py loads the originals with torch / safetensors and requires every tensor bit-identical.

step "torch saves resnet18, resnet50, resnext50_32x4d, ViT-base (.pth, .safetensors, legacy, nested)" \
  $PYTHON tools/make_parity_models.py $WORK/models

for m in resnet18 resnet50 vit-base; do
  for ext in pth safetensors; do
    step "$m.$ext -> .vfw, every tensor bit-identical to torch" bash -o pipefail -c "
      $VFW convert $WORK/models/$m.$ext -o $WORK/$m-$ext.vfw --force &&
      $PYTHON tools/check_vfw.py $WORK/$m-$ext.vfw --against $WORK/models/$m.$ext"
  done
done
step "resnet18 legacy format (torch <= 1.5) -> .vfw bit-identical" bash -o pipefail -c "
  $VFW convert $WORK/models/resnet18-legacy.pth -o $WORK/r18-legacy.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/r18-legacy.vfw --against $WORK/models/resnet18-legacy.pth"
step "resnet18 nested checkpoint with module. prefixes -> .vfw bit-identical" bash -o pipefail -c "
  $VFW convert $WORK/models/resnet18-nested.pth -o $WORK/r18-nested.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/r18-nested.vfw --against $WORK/models/resnet18-nested-plain.pth"
step "Hugging Face ViT folder (safetensors) and .bin folder -> .vfw bit-identical" bash -o pipefail -c "
  $VFW convert $WORK/models/vit-base -o $WORK/vit-folder.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/vit-folder.vfw --against $WORK/models/vit-base/model.safetensors &&
  $VFW convert $WORK/models/vit-base-bin -o $WORK/vit-bin.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/vit-bin.vfw --against $WORK/models/vit-base-bin/pytorch_model.bin"
step "same input, same bytes (SOURCE_DATE_EPOCH)" bash -o pipefail -c "
  SOURCE_DATE_EPOCH=1700000000 $VFW convert $WORK/models/resnet18.pth -o $WORK/d1.vfw --force &&
  SOURCE_DATE_EPOCH=1700000000 $VFW convert $WORK/models/resnet18.pth -o $WORK/d2.vfw --force &&
  cmp $WORK/d1.vfw $WORK/d2.vfw"
