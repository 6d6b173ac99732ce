# Images in, features out (issue: images). `vfw embed` (its own PNG/JPEG decoding, Pillow-exact resize,
# presets) against the real pipeline: PIL + torchvision transforms + torchvision ResNet, and PIL +
# ViTImageProcessor + transformers ViTModel (last_hidden_state[:, 0]). Real photos: PNG and JPEG, odd sizes,
# grayscale, palette.

SK=$($PYTHON -c "import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
PHOTOS="Tests/Fixtures/images/preset/portrait.png Reference/images/chelsea.png $SK/coffee.png $SK/rocket.jpg $SK/retina.jpg $SK/camera.png $SK/astronaut.png Tests/Fixtures/images/decode/jpeg_progressive_420_37x23.jpg Tests/Fixtures/images/decode/png_palette8_trns_37x23.png"
step "vfw embed == torchvision resnet50(preprocess(image)), 9 images" bash -o pipefail -c "
  $PYTHON tools/check_embed.py --vfw $VFW --weights $WORK/models/resnet50.safetensors --family resnet --model resnet50 $PHOTOS"
step "vfw embed == transformers ViTModel CLS token (ViTImageProcessor), 9 images" bash -o pipefail -c "
  $PYTHON tools/check_embed.py --vfw $VFW --weights $WORK/models/vit-base --family vit $PHOTOS"
