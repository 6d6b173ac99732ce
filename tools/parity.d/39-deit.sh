# Distilled DeiT end to end (issue 16 item 5). Real transformers (DeiTModel with pooler, DeiTForImageClassification,
# DeiTForImageClassificationWithTeacher; Hub names and transformers-5 names) and timm (VisionTransformerDistilled)
# models with perturbed weights; references recorded in each library on a real photo (each layout's own
# preprocessing: transformers' DeiTImageProcessor as on the Hub, 256x256 -> crop 224; timm's deit eval transform,
# crop_pct 0.9); vfw converts and verifies every tap, both heads included, at 1e-4; `vfw embed --layer layernorm`
# (vfw's own decoding and preprocessing) equals the library's final norm on three photos in both layouts.

step "DeiT: transformers and timm save 5 checkpoints (tools/make_deit_models.py)" \
  $PYTHON tools/make_deit_models.py $WORK/deit
for c in hf-deit hf-deit-teacher hf-deit-cls hf5-deit-teacher.pth timm-deit-distilled.pth; do
  step "DeiT $c: make_reference.py, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/deit/$c --image Reference/images/chelsea.png -o $WORK/ref-$c &&
    $VFW convert $WORK/deit/$c -o $WORK/$c.vfw --force &&
    $VFW verify --reference $WORK/ref-$c --weights $WORK/$c.vfw --tolerance 1e-4 | tail -2"
done
step "DeiT timm distilled (batch 3): --isolated runs every module on its torch input, both heads agree top-1" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/deit/timm-deit-distilled.pth --image Reference/images/chelsea.png --batch 3 -o $WORK/ref-deit-b3 &&
  $VFW verify --reference $WORK/ref-deit-b3 --weights $WORK/timm-deit-distilled.pth.vfw --isolated --tolerance 1e-4 --json $WORK/v-deit.json | tail -1 &&
  $PYTHON tools/validate_json.py Schemas/verify-report.schema.json $WORK/v-deit.json"
step "Reference/deit-tiny-distilled-patch16-224 (committed): vfw verify --model --tolerance 1e-4" bash -o pipefail -c "
  $VFW verify --model deit-tiny-distilled-patch16-224 --tolerance 1e-4 | tail -2"
for c in hf-deit-teacher timm-deit-distilled.pth; do
  step "DeiT $c: vfw embed --layer layernorm (its own preprocessing) vs the library's on real photos" \
    $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/deit/$c --logits layernorm --output \
      Reference/images/chelsea.png Tests/Fixtures/images/preset/rocket.jpg Tests/Fixtures/images/preset/portrait.png
done
