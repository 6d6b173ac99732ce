"""The model families tools/make_reference.py records: one entry per family.

The Python twin of Swift's `Families.all` (Sources/Models/Family.swift). A family lives in its own module here
(resnet.py, vit.py) and exports FAMILY, a `common.Family`; adding one means writing that module and one line
below. make_reference.py itself never asks which family it runs.
"""
from . import convnext, deit, dinov2, efficientnet, regnet, resnet, vit

FAMILIES = [
    resnet.FAMILY,
    convnext.FAMILY,  # before vit: transformers' ConvNextModel keys also start with embeddings.patch_embeddings
    dinov2.FAMILY,  # before vit: timm DINOv2 checkpoints are VisionTransformers with LayerScale
    deit.FAMILY,  # before vit: a distilled DeiT is a ViT with a distillation token
    vit.FAMILY,
    regnet.FAMILY,
    efficientnet.FAMILY,
]
