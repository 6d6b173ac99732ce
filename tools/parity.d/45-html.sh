# `vfw verify --html` (issue: a drift report people look at). The page of a planted fault, and the --all page,
# rendered in headless Chromium with no network: no console error or request, the chart drawn, the failure
# source marked in its own column and red in the screenshot, and named (tools/check_html_report.py).

step "--html of a transposed layer2.1.conv1 renders offline in Chromium, layer2.1 marked where named" bash -o pipefail -c "
  $VFW synth --model resnet18 --seed 0 -o $WORK/html-r18.safetensors --force > /dev/null &&
  $PYTHON tools/plant_fault.py $WORK/html-r18.safetensors $WORK/html-r18-transposed.safetensors --transpose layer2.1.conv1.weight &&
  { $VFW verify --model resnet18 --weights $WORK/html-r18-transposed.safetensors --html $WORK/drift.html --force > $WORK/drift.txt; test \$? -eq 1; } &&
  $PYTHON tools/check_html_report.py $WORK/drift.html --expect-source layer2.1"
step "--html of swapped BN statistics (NaN downstream) renders offline, layer3.0 marked where named" bash -o pipefail -c "
  $PYTHON tools/plant_fault.py $WORK/html-r18.safetensors $WORK/html-r18-bn.safetensors --swap layer3.0.bn2.running_mean layer3.0.bn2.running_var &&
  { $VFW verify --model resnet18 --weights $WORK/html-r18-bn.safetensors --html $WORK/drift-bn.html --force > /dev/null; test \$? -eq 1; } &&
  $PYTHON tools/check_html_report.py $WORK/drift-bn.html --expect-source layer3.0"
step "--all --html: one page, the failing reference's source marked, the passing one drawn" bash -o pipefail -c "
  mkdir -p $WORK/html-all/good $WORK/html-all/faulty &&
  for d in good faulty; do cp Reference/resnet18/manifest.json Reference/resnet18/activations.safetensors $WORK/html-all/\$d/; done &&
  cp $WORK/html-r18.safetensors $WORK/html-all/good/resnet18-synth.safetensors &&
  cp $WORK/html-r18-transposed.safetensors $WORK/html-all/faulty/resnet18-synth.safetensors &&
  { $VFW verify --all $WORK/html-all --html $WORK/drift-all.html --force > /dev/null; test \$? -eq 1; } &&
  $PYTHON tools/check_html_report.py $WORK/drift-all.html --expect-source layer2.1"

# `vfw verify --model-explorer DIR`: the module graph and node data load in Google's Model Explorer library
# (ai-edge-model-explorer: its graph and node-data builders take every field and write the files back unchanged,
# its config takes them by path), the failure source's node carries the failure-source value.
step "--model-explorer of the transposed layer2.1.conv1: graph (61 nodes) and node data load in model_explorer" bash -o pipefail -c "
  rm -rf $WORK/me-r18 &&
  { $VFW verify --model resnet18 --weights $WORK/html-r18-transposed.safetensors --model-explorer $WORK/me-r18 > /dev/null; test \$? -eq 1; } &&
  $PYTHON tools/check_model_explorer.py $WORK/me-r18 --expect-source layer2.1 --expect-nodes 61"
step "--model-explorer of resnet18 every module (--all taps, batch 3, --isolated) and of the transformers ViT load in model_explorer" bash -o pipefail -c "
  rm -rf $WORK/me-r18-all $WORK/me-vit &&
  $VFW verify --reference $WORK/ref-r18-all --weights $WORK/models/resnet18.pth --isolated --model-explorer $WORK/me-r18-all > /dev/null &&
  $PYTHON tools/check_model_explorer.py $WORK/me-r18-all --expect-nodes 61 &&
  $VFW verify --reference $WORK/ref-hf-vit-classifier --weights $WORK/hf-vit-classifier.vfw --model-explorer $WORK/me-vit > /dev/null &&
  $PYTHON tools/check_model_explorer.py $WORK/me-vit"
step "--all --model-explorer: one graph and node data set per reference, each loads in model_explorer" bash -o pipefail -c "
  rm -rf $WORK/me-all &&
  { $VFW verify --all $WORK/html-all --model-explorer $WORK/me-all > /dev/null; test \$? -eq 1; } &&
  test -f $WORK/me-all/0-resnet18.graph.json && test -f $WORK/me-all/1-resnet18.graph.json &&
  $PYTHON tools/check_model_explorer.py $WORK/me-all"
