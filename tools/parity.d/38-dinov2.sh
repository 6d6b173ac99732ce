# DINOv2 end to end (issue 16 item 4). Real transformers (Dinov2Model, Dinov2WithRegistersModel,
# Dinov2ForImageClassification; Hub names and transformers-5 in-memory names) and timm (vit_*_patch14_dinov2,
# *_reg4_dinov2 with a head, one built at 224) models with perturbed weights; references recorded in each library
# by tools/make_reference.py on a real photo (BitImageProcessor, 224 px: the 518-px position table is resampled,
# bicubic in Dinov2Model, antialiased in the register models and timm); vfw converts and verifies at 1e-4.

step "DINOv2: transformers and timm save 7 checkpoints (tools/make_dinov2_models.py)" \
  $PYTHON tools/make_dinov2_models.py $WORK/dinov2
for c in hf-dinov2 hf-dinov2-reg hf-dinov2-cls hf5-dinov2.pth timm-dinov2.pth timm-dinov2-reg4-head.pth timm-dinov2-224.pth; do
  step "DINOv2 $c: make_reference.py, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/dinov2/$c --image Reference/images/chelsea.png -o $WORK/ref-$c &&
    $VFW convert $WORK/dinov2/$c -o $WORK/$c.vfw --force &&
    $VFW verify --reference $WORK/ref-$c --weights $WORK/$c.vfw --tolerance 1e-4 | tail -2"
done
step "DINOv2 hf-dinov2-reg (batch 3): --isolated feeds every layer its torch input, JSON validates" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/dinov2/hf-dinov2-reg --image Reference/images/chelsea.png --batch 3 -o $WORK/ref-dinov2-reg-b3 &&
  $VFW verify --reference $WORK/ref-dinov2-reg-b3 --weights $WORK/hf-dinov2-reg.vfw --isolated --tolerance 1e-4 --json $WORK/v-dinov2.json | tail -1 &&
  $PYTHON tools/validate_json.py Schemas/verify-report.schema.json $WORK/v-dinov2.json"
for m in dinov2-small dinov2-with-registers-small; do
  step "Reference/$m (committed): vfw verify --model $m --tolerance 1e-4" bash -o pipefail -c "
    $VFW verify --model $m --tolerance 1e-4 | tail -2"
done
for c in hf-dinov2-reg timm-dinov2.pth; do
  step "DINOv2 $c: vfw embed --layer layernorm (its own decoding and preprocessing) vs the library's on real photos" \
    $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/dinov2/$c --logits layernorm --output \
      Reference/images/chelsea.png Tests/Fixtures/images/preset/rocket.jpg Tests/Fixtures/images/preset/portrait.png
done
step "DINOv2 timm-dinov2.pth at 168 px: vfw embed --image-size 168 --layer layernorm vs the library" \
  $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/dinov2/timm-dinov2.pth --logits layernorm --output --image-size 168 \
    Reference/images/chelsea.png Tests/Fixtures/images/preset/rocket.jpg
