#!/usr/bin/env python3
"""Real distilled DeiT models in every layout vfw reads, with perturbed weights, saved by their own libraries.

    ~/.cache/vfw-venv/bin/python tools/make_deit_models.py OUT_DIR

transformers DeiTModel (pooler), DeiTForImageClassification and DeiTForImageClassificationWithTeacher
(save_pretrained folders: Hub names, `deit.` prefix), a torch.save of WithTeacher's transformers-5 in-memory
state_dict, and timm's VisionTransformerDistilled (deit_*_distilled_*) with both heads. E = 128, 3 layers,
patch 16 at 224 px; weights perturbed (make_dinov2_fixtures.perturb) so every tensor matters.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dinov2_fixtures import perturb  # noqa: E402


def main(out):
    import transformers as tf
    from timm.models.deit import VisionTransformerDistilled
    os.makedirs(out, exist_ok=True)
    small = dict(hidden_size=128, num_hidden_layers=3, num_attention_heads=2, intermediate_size=512, patch_size=16, image_size=224)
    perturb(tf.DeiTModel(tf.DeiTConfig(**small)), 11).save_pretrained(f"{out}/hf-deit")
    labels = {i: f"class {i}" for i in range(10)}
    perturb(tf.DeiTForImageClassificationWithTeacher(tf.DeiTConfig(**small, num_labels=10, id2label=labels)), 12).save_pretrained(f"{out}/hf-deit-teacher")
    perturb(tf.DeiTForImageClassification(tf.DeiTConfig(**small, num_labels=10)), 13).save_pretrained(f"{out}/hf-deit-cls")
    torch.save(perturb(tf.DeiTForImageClassificationWithTeacher(tf.DeiTConfig(**small, num_labels=10)), 14).state_dict(),
               f"{out}/hf5-deit-teacher.pth")
    t = VisionTransformerDistilled(img_size=224, patch_size=16, embed_dim=128, depth=3, num_heads=2, num_classes=10)
    torch.save(perturb(t, 15).state_dict(), f"{out}/timm-deit-distilled.pth")
    print(f"{out}: 5 DeiT checkpoints (transformers {tf.__version__})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: make_deit_models.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
