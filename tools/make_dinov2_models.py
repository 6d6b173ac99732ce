#!/usr/bin/env python3
"""Real DINOv2 models in every layout vfw reads, with perturbed weights, saved by their own libraries.

    ~/.cache/vfw-venv/bin/python tools/make_dinov2_models.py OUT_DIR

transformers (Dinov2Model, Dinov2WithRegistersModel, Dinov2ForImageClassification: save_pretrained folders, and a
torch.save of the transformers-5 in-memory state_dict) and timm (VisionTransformer as timm's vit_*_patch14_dinov2 /
*_reg4_dinov2 define it, torch.save). Small widths (E = 128, 3 layers) at the released 518-pixel table, so a
224-pixel input resamples the position table; one timm model is built at 224 (no resampling). Every weight is
perturbed away from its init (make_dinov2_fixtures.perturb: layer scale 0.1-0.8 instead of 1e-5), so every layer changes its input.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_dinov2_fixtures import perturb  # noqa: E402  (layer scale 0.1-0.8, LayerNorm γ 0.5-1.5, tokens N(0, 0.5))


def main(out):
    import transformers as tf
    from timm.models.vision_transformer import VisionTransformer
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    small = dict(hidden_size=128, num_hidden_layers=3, num_attention_heads=2, mlp_ratio=4, patch_size=14, image_size=518)

    perturb(tf.Dinov2Model(tf.Dinov2Config(**small)), 1).save_pretrained(f"{out}/hf-dinov2")
    perturb(tf.Dinov2WithRegistersModel(tf.Dinov2WithRegistersConfig(**small, num_register_tokens=4)), 2).save_pretrained(f"{out}/hf-dinov2-reg")
    labels = {i: f"class {i}" for i in range(10)}
    perturb(tf.Dinov2ForImageClassification(tf.Dinov2Config(**small, num_labels=10, id2label=labels)), 3).save_pretrained(f"{out}/hf-dinov2-cls")
    # transformers 5's in-memory names (attention.q_proj ...), as torch.save(model.state_dict()) writes them.
    torch.save(perturb(tf.Dinov2Model(tf.Dinov2Config(**small)), 4).state_dict(), f"{out}/hf5-dinov2.pth")

    def timm_model(seed, img, regs, classes):
        m = VisionTransformer(img_size=img, patch_size=14, embed_dim=128, depth=3, num_heads=2, init_values=1e-5,
                              reg_tokens=regs, no_embed_class=regs > 0, num_classes=classes, dynamic_img_size=True)
        return perturb(m, seed)
    torch.save(timm_model(5, 518, 0, 0).state_dict(), f"{out}/timm-dinov2.pth")
    torch.save(timm_model(6, 518, 4, 10).state_dict(), f"{out}/timm-dinov2-reg4-head.pth")
    torch.save(timm_model(7, 224, 0, 0).state_dict(), f"{out}/timm-dinov2-224.pth")
    print(f"{out}: 7 DINOv2 checkpoints (transformers {tf.__version__})")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: make_dinov2_models.py OUT_DIR", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1])
