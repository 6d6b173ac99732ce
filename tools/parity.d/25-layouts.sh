# Checkpoint layouts from the wild (issue 15 items 1-2). A real torchvision ResNet saved by real torch, torchvision's
# AveragedModel, timm and Lightning in each layout (tools/make_parity_layouts.py); for each: vfw convert finds the
# weights, tools/make_reference.py finds the same ones by the same rule (tools/vfw_unwrap.py) on the same file, and
# vfw verify passes at 1e-4. Ambiguous files are given the --key the layout needs, on both sides.

IMG=Reference/images/chelsea.png
step "torch, torchvision, timm and Lightning save a ResNet in 10 checkpoint layouts" \
  $PYTHON tools/make_parity_layouts.py $WORK/layouts
if [ -f $WORK/layouts/layouts.txt ]; then
  while read -r file key; do
    kv=(); [ "$key" != "-" ] && kv=(--key "$key")
    step "layout $file${kv:+ (${kv[*]})}: vfw convert, make_reference.py, vfw verify --tolerance 1e-4" bash -o pipefail -c "
      $VFW convert $WORK/layouts/$file ${kv[*]} -o $WORK/layouts/$file.vfw --force 2> $WORK/layouts/$file.notes &&
      grep -q 'note: recognised resnet' $WORK/layouts/$file.notes &&
      $PYTHON tools/make_reference.py --weights $WORK/layouts/$file ${kv[*]} --image $IMG -o $WORK/layouts/ref-$file 2> /dev/null &&
      $VFW verify --reference $WORK/layouts/ref-$file --weights $WORK/layouts/$file.vfw --tolerance 1e-4 | tail -1"
  done < $WORK/layouts/layouts.txt
fi
step "an ambiguous layout: vfw convert and make_reference.py both refuse it, naming the candidates" bash -o pipefail -c "
  { $VFW convert $WORK/layouts/torchvision_train_ema.pth -o $WORK/layouts/amb.vfw 2> $WORK/layouts/amb.err; test \$? -eq 2; } &&
  grep -q 'several entries hold tensors: model, model_ema; pass --key' $WORK/layouts/amb.err &&
  { $PYTHON tools/make_reference.py --weights $WORK/layouts/torchvision_train_ema.pth --image $IMG -o $WORK/layouts/amb-ref 2> $WORK/layouts/amb-py.err; test \$? -eq 2; } &&
  grep -q 'several entries hold tensors: model, model_ema; pass --key' $WORK/layouts/amb-py.err"
step "make_reference.py refuses the malicious checkpoints vfw refuses (the shared code-execution list)" bash -o pipefail -c "
  for f in Tests/Fixtures/malicious/popen.pt Tests/Fixtures/malicious/eval.pt Tests/Fixtures/malicious/exec.pt \
           Tests/Fixtures/malicious/getattr_chain.pt Tests/Fixtures/malicious/nested_pickle.pt \
           Tests/Fixtures/malicious/build_state.pt Tests/Fixtures/torch/malicious_system.pt; do
    { $PYTHON tools/make_reference.py --weights \$f --image $IMG -o $WORK/layouts/mal-ref 2> $WORK/layouts/mal.err; test \$? -eq 2; } &&
    grep -q 'refused global' $WORK/layouts/mal.err || { echo \"\$f: \$(cat $WORK/layouts/mal.err)\"; exit 1; }
  done; ! ls /tmp/vfw-pwned-mal-* 2> /dev/null"
step "tools/vfw_unwrap.py refuses every name of the code-execution list, makes placeholders of the rest" \
  $PYTHON tools/vfw_unwrap.py --self-test
