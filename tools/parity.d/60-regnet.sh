# RegNet X and Y end to end (issue 17). Real torchvision and timm models with trained-like weights
# (tools/make_cnn_parity_models.py), references recorded by tools/make_reference.py in each library, vfw converts
# and verifies at 1e-4; every module (--all, batch 3) run --isolated; `vfw embed` against the
# library's pooled pre-classifier vector on real photos; the committed synthetic Reference/regnet_y_400mf.

IMG=Reference/images/chelsea.png
REGNETS="tv-regnet_y_400mf tv-regnet_x_400mf timm-regnety_002 timm-regnetx_002"
step "torch saves torchvision regnet_y/x_400mf and timm regnety/x_002 (trained-like BN statistics)" \
  $PYTHON tools/make_cnn_parity_models.py $WORK/cnn --models "$(echo $REGNETS | tr ' ' ,)"
for m in $REGNETS; do
  step "$m: make_reference.py, vfw convert, vfw verify --tolerance 1e-4" bash -o pipefail -c "
    $PYTHON tools/make_reference.py --weights $WORK/cnn/$m.pth --image $IMG -o $WORK/ref-$m &&
    $VFW convert $WORK/cnn/$m.pth -o $WORK/$m.vfw --force &&
    $VFW verify --reference $WORK/ref-$m --weights $WORK/$m.vfw --tolerance 1e-4 | tail -2"
done
step "tv-regnet_y_400mf: every module (--all, batch 3) --isolated from .safetensors at 1e-4, all fed torch's input, JSON validates" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/cnn/tv-regnet_y_400mf.safetensors --image $IMG -o $WORK/ref-tvy-all --all --batch 3 &&
  $VFW verify --reference $WORK/ref-tvy-all --weights $WORK/cnn/tv-regnet_y_400mf.safetensors --isolated --tolerance 1e-4 --json $WORK/v-tvy.json | tail -2 &&
  $PYTHON tools/validate_json.py Schemas/verify-report.schema.json $WORK/v-tvy.json &&
  $PYTHON -c 'import json, sys; d = json.load(open(sys.argv[1])); f = [t[\"name\"] for t in d[\"taps\"] if t[\"feed\"] != \"isolated\"]; assert not f, f' $WORK/v-tvy.json"
# timm fuses BN with its ReLU (BatchNormAct2d) and pools SE inputs with x.mean: the ReLU after a BN, SE's fc1 and the
# classifier have no recorded torch input there, so only those run fed by the forward pass.
step "timm-regnety_002: every module (--all, batch 3) --isolated at 1e-4; only timm-fused boundaries fed by the forward" bash -o pipefail -c "
  $PYTHON tools/make_reference.py --weights $WORK/cnn/timm-regnety_002.pth --image $IMG -o $WORK/ref-timm-y002-all --all --batch 3 &&
  $VFW verify --reference $WORK/ref-timm-y002-all --weights $WORK/timm-regnety_002.vfw --isolated --tolerance 1e-4 --json $WORK/v-y002.json | tail -2 &&
  $PYTHON -c 'import json, re, sys; d = json.load(open(sys.argv[1])); f = [t[\"name\"] for t in d[\"taps\"] if t[\"feed\"] != \"isolated\" and not re.search(r\"(stem\\.2|\\.f\\.[ab]\\.2|\\.f\\.se\\.fc1|^fc)$\", t[\"name\"])]; assert not f, f; print(sum(t[\"feed\"] == \"isolated\" for t in d[\"taps\"]), \"of\", len(d[\"taps\"]), \"isolated\")' $WORK/v-y002.json"
SK=$($PYTHON -c "import skimage, os; print(os.path.join(os.path.dirname(skimage.__file__), 'data'))")
PHOTOS="Reference/images/chelsea.png $SK/coffee.png $SK/rocket.jpg $SK/astronaut.png Tests/Fixtures/images/decode/jpeg_progressive_420_37x23.jpg"
for m in tv-regnet_y_400mf timm-regnetx_002; do
  step "$m: vfw embed == the library's pooled pre-classifier vector, 5 images" \
    $PYTHON tools/check_features.py --vfw $VFW --weights $WORK/cnn/$m.safetensors $PHOTOS
done
step "Reference/regnet_y_400mf (committed): vfw verify --model regnet_y_400mf" bash -o pipefail -c "$VFW verify --model regnet_y_400mf | tail -2"
