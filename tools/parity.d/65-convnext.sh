# ConvNeXt V1 and V2 end to end (issue 17). Real torchvision, timm and transformers models with perturbed weights
# (tools/make_cnn_parity_models.py), references recorded in each library by tools/make_reference.py, vfw converts
# and verifies at 1e-4 (block-level taps); `vfw embed` against the library's classifier input on real photos; the
# committed synthetic Reference/convnext_atto.

IMG=Reference/images/chelsea.png
CONVNEXTS="tv-convnext_tiny timm-convnext_atto timm-convnextv2_atto hf-convnext hf-convnextv2"
step "torch saves torchvision convnext_tiny, timm convnext_atto / convnextv2_atto, transformers ConvNext / ConvNextV2" \
  $PYTHON tools/make_cnn_parity_models.py $WORK/cnnx --models "$(echo $CONVNEXTS | tr ' ' ,)"
for m in $CONVNEXTS; do
  step "$m: make_reference.py, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/cnnx/$m.pth --image $IMG -o $WORK/ref-$m &&
    $VFW convert $WORK/cnnx/$m.pth -o $WORK/$m.vfw --force &&
    $VFW verify --reference $WORK/ref-$m --weights $WORK/$m.vfw --tolerance 1e-4 | tail -2"
done
step "timm-convnextv2_atto: every block --isolated, batch 3, at 1e-4" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/cnnx/timm-convnextv2_atto.safetensors --image $IMG -o $WORK/ref-cnv2-b3 --batch 3 &&
  $VFW verify --reference $WORK/ref-cnv2-b3 --weights $WORK/cnnx/timm-convnextv2_atto.safetensors --isolated --tolerance 1e-4 | tail -1"
SK=$($PYTHON -c "import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
for m in tv-convnext_tiny timm-convnextv2_atto; do
  step "$m: vfw embed == the library's classifier input, 4 images" \
    $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/cnnx/$m.safetensors --logits head.fc \
      Reference/images/chelsea.png $SK/coffee.png $SK/rocket.jpg $SK/astronaut.png
done
step "Reference/convnext_atto (committed): vfw verify --model convnext_atto" bash -o pipefail -c "$VFW verify --model convnext_atto | tail -2"
