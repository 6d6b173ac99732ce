# Hugging Face transformers ResNet (issue 15 item 3). Folders written by transformers' save_pretrained
# (tools/make_parity_hf.py): vfw convert maps transformers' names onto the canonical ResNet, make_reference.py
# records from transformers' own model (its modules tapped under the canonical names), vfw verify passes at
# 1e-4 at every module, and vfw embed of real photos equals transformers' pooler_output. A config torchvision's
# ResNet does not compute (downsample_in_bottleneck: ResNet v1 strides) is refused by both sides.

IMG=Reference/images/chelsea.png
SK=$($PYTHON -c "import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
step "transformers saves ResNet folders (save_pretrained)" $PYTHON tools/make_parity_hf.py $WORK/hf
for m in hf-resnet50 hf-resnet18-model; do
  step "$m: vfw convert, make_reference.py --all --batch 2, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $VFW convert $WORK/hf/$m -o $WORK/hf/$m.vfw --force 2> $WORK/hf/$m.notes &&
    grep -q 'Hugging Face transformers layout' $WORK/hf/$m.notes &&
    $PYTHON tools/make_reference.py --weights $WORK/hf/$m --image $IMG -o $WORK/hf/ref-$m --all --batch 2 &&
    $VFW verify --reference $WORK/hf/ref-$m --weights $WORK/hf/$m.vfw --tolerance 1e-4 | tail -2"
  step "$m: vfw embed == transformers' pooler_output (torchvision preset), 4 photos" bash -o pipefail -c "
    $PYTHON tools/check_embed.py --vfw $VFW --weights $WORK/hf/$m --family hf-resnet $IMG $SK/coffee.png $SK/rocket.jpg $SK/astronaut.png"
done
step "hf-resnet50: vfw classify names config.json's labels" bash -o pipefail -c "
  $VFW classify $IMG --weights $WORK/hf/hf-resnet50.vfw --top 1 | grep -q 'label-'"
step "hf-resnet-v1 (downsample_in_bottleneck): vfw says why it is not a ResNet it computes (convert's note, embed exit 2), make_reference.py refuses it" bash -o pipefail -c "
  $VFW convert $WORK/hf/hf-resnet-v1 -o $WORK/hf/v1.vfw --force 2> $WORK/hf/v1.notes && grep -q downsample_in_bottleneck $WORK/hf/v1.notes &&
  { $VFW embed $IMG --weights $WORK/hf/hf-resnet-v1 2> $WORK/hf/v1.err; test \$? -eq 2; } && grep -q downsample_in_bottleneck $WORK/hf/v1.err &&
  { $PYTHON tools/make_reference.py --weights $WORK/hf/hf-resnet-v1 --image $IMG -o $WORK/hf/v1-ref 2> $WORK/hf/v1-py.err; test \$? -eq 2; } &&
  grep -q downsample_in_bottleneck $WORK/hf/v1-py.err"
