# Formats (issue: foundation). Sourced by tools/parity.sh: uses $PYTHON, $VFW, $WORK and step().

# safetensors written by the real library -> vfw -> .vfw, checked by the independent reader, bit for bit.
step "safetensors fixture -> .vfw bit-identical (check_vfw.py + safetensors)" bash -o pipefail -c "
  $VFW convert Tests/Fixtures/safetensors/all_dtypes.safetensors -o $WORK/all.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/all.vfw --against Tests/Fixtures/safetensors/all_dtypes.safetensors"

# vfw writes safetensors; the Python safetensors library loads it to the same tensors.
step "vfw-written safetensors loads in the safetensors library" bash -o pipefail -c "
  $VFW convert $WORK/all.vfw -o $WORK/back.safetensors --force &&
  $PYTHON tools/compare_tensors.py $WORK/back.safetensors Tests/Fixtures/safetensors/all_dtypes.safetensors"

# A fresh file from the current library (not only the committed fixture), with a sharded index.
step "fresh sharded safetensors from the library -> .vfw" bash -o pipefail -c "
  $PYTHON - <<PY
import torch, json
from safetensors.torch import save_file
g = torch.Generator().manual_seed(1)
a = {'x.weight': torch.randn(64, 32, generator=g), 'x.bias': torch.randn(64, generator=g).half()}
b = {'y.weight': torch.randn(8, 8, generator=g).bfloat16(), 'y.steps': torch.tensor(7)}
save_file(a, '$WORK/model-00001-of-00002.safetensors'); save_file(b, '$WORK/model-00002-of-00002.safetensors')
wm = {k: 'model-00001-of-00002.safetensors' for k in a} | {k: 'model-00002-of-00002.safetensors' for k in b}
json.dump({'metadata': {}, 'weight_map': wm}, open('$WORK/model.safetensors.index.json', 'w'))
save_file(a | b, '$WORK/merged.safetensors')
PY
  $VFW convert $WORK/model.safetensors.index.json -o $WORK/sharded.vfw --force &&
  $PYTHON tools/check_vfw.py $WORK/sharded.vfw --against $WORK/merged.safetensors"

# `vfw inspect --json` output validates against Schemas/inspect.schema.json (real jsonschema).
step "inspect --json validates against Schemas/inspect.schema.json (vfw, safetensors, torch)" bash -o pipefail -c "
  $VFW inspect Tests/Fixtures/vfw/golden.vfw --json --check | $PYTHON tools/validate_json.py Schemas/inspect.schema.json - &&
  $VFW inspect Tests/Fixtures/safetensors/all_dtypes.safetensors --json | $PYTHON tools/validate_json.py Schemas/inspect.schema.json - &&
  $VFW inspect Tests/Fixtures/torch/dtypes.pt --json | $PYTHON tools/validate_json.py Schemas/inspect.schema.json -"
