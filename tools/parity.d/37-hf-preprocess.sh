# Preprocessing from the model's own configuration (issue 15 item 4) and ViTs at their configured size (item 5).
# Model folders written by transformers (tools/make_parity_hf.py). `vfw convert` stores the folder's
# preprocessor_config.json as a PreprocessSpec (else the family default: transformers 5's ViTImageProcessor,
# torchvision backend, at the model's image_size); `vfw embed` of real photos equals transformers' own pipeline
# (AutoImageProcessor + AutoModel of the folder) at 1e-4, with either backend (PIL: --preprocess backend=hf-pil).
# make_reference.py preprocesses the same way and records it in its manifest.

IMG=Reference/images/chelsea.png
SK=$($PYTHON -c "import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
PP_PHOTOS="Tests/Fixtures/images/preset/portrait.png $IMG $SK/coffee.png $SK/rocket.jpg $SK/camera.png $SK/astronaut.png Tests/Fixtures/images/decode/jpeg_progressive_420_37x23.jpg"
[ -d $WORK/hf ] || step "transformers saves model folders (save_pretrained)" $PYTHON tools/make_parity_hf.py $WORK/hf
for m in hf-resnet50-pp hf-vit-pp; do
  step "$m: vfw convert stores the folder's preprocessor_config.json" bash -o pipefail -c "
    $VFW convert $WORK/hf/$m -o $WORK/hf/$m.vfw --force 2> $WORK/hf/$m.notes &&
    grep 'preprocessing from .*preprocessor_config.json' $WORK/hf/$m.notes"
  for backend in torchvision pil; do
    step "$m: vfw embed == AutoImageProcessor (backend $backend) + AutoModel, 7 photos" bash -o pipefail -c "
      $PYTHON tools/check_embed.py --vfw $VFW --weights $WORK/hf/$m --family hf --backend $backend $PP_PHOTOS"
  done
done
step "hf-vit-384 (no preprocessor_config.json): vfw embed == transformers 5's ViTImageProcessor (torchvision backend) + ViTModel, 7 photos" bash -o pipefail -c "
  $PYTHON tools/check_embed.py --vfw $VFW --weights $WORK/hf/hf-vit-384 --family vit $PP_PHOTOS"
step "hf-vit-384: vfw convert, make_reference.py at 384 px, vfw verify --tolerance 1e-4" bash -o pipefail -c "
  $VFW convert $WORK/hf/hf-vit-384 -o $WORK/hf/hf-vit-384.vfw --force &&
  $PYTHON tools/make_reference.py --weights $WORK/hf/hf-vit-384 --image $IMG -o $WORK/hf/ref-vit-384 &&
  grep -q '\"shape\": \[' $WORK/hf/ref-vit-384/manifest.json && grep -A5 '\"input\"' $WORK/hf/ref-vit-384/manifest.json | grep -q 384 &&
  $VFW verify --reference $WORK/hf/ref-vit-384 --weights $WORK/hf/hf-vit-384.vfw --tolerance 1e-4 | tail -2"
step "hf-vit-pp: make_reference.py records the folder's preprocessing, vfw verify --tolerance 1e-4" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/hf/hf-vit-pp --image $IMG -o $WORK/hf/ref-vit-pp &&
  grep -q '\"preset\": \"preprocessor_config.json\"' $WORK/hf/ref-vit-pp/manifest.json &&
  $VFW verify --reference $WORK/hf/ref-vit-pp --weights $WORK/hf/hf-vit-pp.vfw --tolerance 1e-4 | tail -2"
step "timm folder (config.json pretrained_cfg): make_reference.py runs timm's create_transform, vfw convert stores the same spec, vfw verify --tolerance 1e-4" bash -o pipefail -c "
  $VFW convert Tests/Fixtures/vit/timm -o $WORK/hf/timm-cfg.vfw --force 2> $WORK/hf/timm-cfg.notes &&
  grep -q 'preprocessing from .*config.json: backend=pil,crop_pct=0.9,interp=bicubic,crop=32' $WORK/hf/timm-cfg.notes &&
  $PYTHON tools/make_reference.py --weights Tests/Fixtures/vit/timm --image $IMG -o $WORK/hf/ref-timm-cfg &&
  grep -q '\"preset\": \"pretrained_cfg\"' $WORK/hf/ref-timm-cfg/manifest.json &&
  $VFW verify --reference $WORK/hf/ref-timm-cfg --weights $WORK/hf/timm-cfg.vfw --tolerance 1e-4 | tail -2"
