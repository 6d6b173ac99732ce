#!/usr/bin/env bash
# Regenerates the committed references in Reference/ (run only when their content must change).
#   bash tools/make_references.sh [resnet18 ...]
# Weights are `vfw synth` weights (seed 0): the manifest records model, seed and the tensors' digest, and
# `vfw verify --model NAME` regenerates them in memory, so no weights file is committed. Every reference holds the
# float64 truth of each tap (bf16 differences, +50% of the float32 activations). Photos: Reference/images
# (tools/make_reference_images.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$HOME/.cache/vfw-venv/bin/python}
VFW=${VFW:-.build/release/vfw}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
want=${*:-"resnet18 resnet18-photos vit-base regnet_y_400mf convnext_atto efficientnet_b0"}
for name in $want; do
  case $name in
    resnet18)
      $VFW synth --model resnet18 --seed 0 -o "$TMP/resnet18-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/resnet18-synth.safetensors" --synth-seed 0 \
        --image Reference/images/chelsea.png -o Reference/resnet18 ;;
    resnet18-photos)
      # Four photos of different kinds in one batch (a photo, grayscale, an odd-size JPEG, RGBA). To stay small
      # (Reference/ about 40 MB) only the last block of stages 2-4 and the head: 6.7 MB; every block would be
      # 20 MB, with the stem 34 MB. The synthetic resnet18 reference has every block.
      $VFW synth --model resnet18 --seed 0 -o "$TMP/resnet18-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/resnet18-synth.safetensors" --synth-seed 0 \
        --image Reference/images/coffee.png --image Reference/images/camera.png --image Reference/images/rocket.jpg \
        --image Reference/images/astronaut-alpha.png --taps 'layer[234].1' --taps avgpool --taps fc -o Reference/resnet18-photos ;;
    vit-base)
      # google/vit-base-patch16-224-in21k configuration (ViTModel with pooler), preprocessed by the real
      # ViTImageProcessor (PIL backend). Embeddings, layers 0, 5 and 11 and the head (every layer was 13.3 MB;
      # the parity job verifies every layer of real ViTs).
      $VFW synth --model vit-base --seed 0 -o "$TMP/vit-base-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/vit-base-synth.safetensors" \
        --image Reference/images/chelsea.png --taps embeddings --taps 'encoder.layer.[05]' --taps encoder.layer.11 \
        --taps layernorm --taps pooler -o Reference/vit-base ;;
    regnet_y_400mf)
      # torchvision regnet_y_400mf (RegNetY: grouped 3x3 convolutions, squeeze-excitation), 1000 classes. Stage
      # outputs and the head only (3 MB; every block with the stem was 9.4 MB; the parity job verifies every module).
      $VFW synth --model regnet_y_400mf --seed 0 -o "$TMP/regnet_y_400mf-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/regnet_y_400mf-synth.safetensors" --synth-seed 0 \
        --image Reference/images/chelsea.png --taps 'trunk_output.block?' --taps avgpool --taps fc \
        -o Reference/regnet_y_400mf ;;
    convnext_atto)
      # timm convnext_atto (ConvNeXt V1: depthwise 7x7, LayerNorm over channels, layer scale), 1000 classes. To stay
      # small (a new reference <= 1.5 MB) only the outputs of stages 1-3 and the head: 1.3 MB with the truth; every
      # block would be 6.3 MB, stage 0 adds 0.75 MB.
      $VFW synth --model convnext_atto --seed 0 -o "$TMP/convnext_atto-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/convnext_atto-synth.safetensors" --synth-seed 0 \
        --image Reference/images/chelsea.png --taps 'stages.[123]' --taps 'head.*' -o Reference/convnext_atto ;;
    efficientnet_b0)
      # torchvision efficientnet_b0 (MBConv: depthwise 3x3/5x5, SiLU, squeeze-excitation), 1000 classes. To stay small
      # (a new reference <= 1.5 MB) only stages 4-7, the head conv, the pooled features and the logits.
      $VFW synth --model efficientnet_b0 --seed 0 -o "$TMP/efficientnet_b0-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/efficientnet_b0-synth.safetensors" --synth-seed 0 \
        --image Reference/images/chelsea.png --taps 'features.[4-8]' --taps avgpool --taps classifier.1 -o Reference/efficientnet_b0 ;;
    dinov2-small|dinov2-with-registers-small)
      # facebook/dinov2-small and facebook/dinov2-with-registers-small configurations (518-pixel position table),
      # preprocessed by the real BitImageProcessor made to 84 px (--image-size: the table resampled 37 -> 6). To stay
      # small (0.34 / 0.37 MB with the truth) only the embeddings, the last layer and the final norm.
      $VFW synth --model $name --seed 0 -o "$TMP/$name-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/$name-synth.safetensors" --image Reference/images/chelsea.png \
        --image-size 84 --taps embeddings --taps encoder.layer.11 --taps layernorm -o Reference/$name ;;
    deit-tiny-distilled-patch16-224)
      # facebook/deit-tiny-distilled-patch16-224 configuration (DeiTForImageClassificationWithTeacher), preprocessed
      # as its preprocessor_config.json says (DeiTImageProcessor: 256x256, crop 224). To stay small (0.83 MB with
      # the truth, 0.6 MB of it the input) only the final norm and both heads.
      $VFW synth --model $name --seed 0 -o "$TMP/$name-synth.safetensors" --force
      $PYTHON tools/make_reference.py --weights "$TMP/$name-synth.safetensors" --image Reference/images/chelsea.png \
        --taps layernorm --taps '*classifier' -o Reference/$name ;;
    *) echo "unknown reference $name" >&2; exit 2 ;;
  esac
done
du -sh Reference/*
