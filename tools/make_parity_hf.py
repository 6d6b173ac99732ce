#!/usr/bin/env python3
"""Hugging Face model folders as transformers' save_pretrained writes them, for the parity job (issue 15).

    python tools/make_parity_hf.py OUT_DIR

Writes, every parameter and buffer perturbed away from its init (tools/make_parity_models.py's `perturb`) and the
batch-norm statistics set as training would leave them:

    hf-resnet50/         ResNetForImageClassification, bottleneck [3, 4, 6, 3], 10 labels named in config.json
    hf-resnet18-model/   ResNetModel (no head, no `resnet.` prefix), basic [2, 2, 2, 2]
    hf-resnet-v1/        ResNetForImageClassification with downsample_in_bottleneck (stride on the first 1x1
                         conv): a network torchvision's ResNet does not compute, which both sides must refuse
    hf-resnet50-pp/      hf-resnet50 with microsoft/resnet-50's preprocessor_config.json (ConvNextFeatureExtractor:
                         shortest edge 224 / crop_pct 0.875, bicubic, ImageNet mean/std), the file as the Hub has it
    hf-vit-pp/           ViTModel (ViT-Ti/16 shape) with a preprocessor_config.json written by transformers'
                         ViTImageProcessor(resample=BICUBIC, ImageNet mean/std).save_pretrained
    hf-vit-384/          ViTModel (ViT-Ti/16 shape) with image_size 384 in config.json, no preprocessor_config.json
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_models import calibrate_batch_norm, perturb  # noqa: E402


def trained_residual_scale(model, seed):
    """The last BN weight of every residual layer set to U(0.2, 0.5), as trained ResNets have it (see
    make_parity_models.trained_residual_scale; here transformers' ResNetBasicLayer / ResNetBottleNeckLayer)."""
    from transformers.models.resnet.modeling_resnet import ResNetBasicLayer, ResNetBottleNeckLayer
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (ResNetBasicLayer, ResNetBottleNeckLayer)):
                w = m.layer[-1].normalization.weight
                w.copy_(torch.rand(w.shape, generator=g) * 0.3 + 0.2)
    return model


def resnet(cls, seed, **config):
    from transformers import ResNetConfig
    model = cls(ResNetConfig(**config))
    model = perturb(model, seed)
    return perturb(calibrate_batch_norm(trained_residual_scale(model, seed), seed), seed + 100).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from transformers import ResNetForImageClassification, ResNetModel, ViTModel
    labels = {i: f"label-{i}" for i in range(10)}
    resnet(ResNetForImageClassification, 1, layer_type="bottleneck", depths=[3, 4, 6, 3],
           hidden_sizes=[256, 512, 1024, 2048], num_labels=10, id2label=labels,
           label2id={v: k for k, v in labels.items()}).save_pretrained(os.path.join(a.out, "hf-resnet50"))
    resnet(ResNetModel, 2, layer_type="basic", depths=[2, 2, 2, 2],
           hidden_sizes=[64, 128, 256, 512]).save_pretrained(os.path.join(a.out, "hf-resnet18-model"))
    resnet(ResNetForImageClassification, 3, layer_type="bottleneck", depths=[1, 1, 1, 1],
           hidden_sizes=[256, 512, 1024, 2048], num_labels=4,
           downsample_in_bottleneck=True).save_pretrained(os.path.join(a.out, "hf-resnet-v1"))
    import json
    import shutil
    shutil.copytree(os.path.join(a.out, "hf-resnet50"), os.path.join(a.out, "hf-resnet50-pp"), dirs_exist_ok=True)
    # https://huggingface.co/microsoft/resnet-50/blob/main/preprocessor_config.json
    with open(os.path.join(a.out, "hf-resnet50-pp", "preprocessor_config.json"), "w") as f:
        json.dump({"crop_pct": 0.875, "do_normalize": True, "do_resize": True,
                   "feature_extractor_type": "ConvNextFeatureExtractor", "image_mean": [0.485, 0.456, 0.406],
                   "image_std": [0.229, 0.224, 0.225], "resample": 3, "size": 224}, f, indent=2)
    from PIL import Image
    from transformers import ViTConfig, ViTImageProcessor
    tiny = dict(hidden_size=192, num_hidden_layers=12, num_attention_heads=3, intermediate_size=768)
    vit = perturb(ViTModel(ViTConfig(**tiny), add_pooling_layer=False), 4).eval()
    vit.save_pretrained(os.path.join(a.out, "hf-vit-pp"))
    ViTImageProcessor(resample=Image.Resampling.BICUBIC, image_mean=[0.485, 0.456, 0.406],
                      image_std=[0.229, 0.224, 0.225]).save_pretrained(os.path.join(a.out, "hf-vit-pp"))
    vit = perturb(ViTModel(ViTConfig(image_size=384, **tiny), add_pooling_layer=False), 5).eval()
    vit.save_pretrained(os.path.join(a.out, "hf-vit-384"))
    print("saved", a.out)


if __name__ == "__main__":
    main()
