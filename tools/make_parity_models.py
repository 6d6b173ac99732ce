#!/usr/bin/env python3
"""Real models saved by real torch, for the parity job: every parameter perturbed away from its init.

    python tools/make_parity_models.py OUT_DIR [--models resnet18,resnet50,resnext50_32x4d,vit-base]

Writes, per model, NAME.pth (torch.save zip), NAME.safetensors (safetensors.torch.save_file) and for
resnet18 also NAME-legacy.pth (the torch <= 1.5 format) and NAME-nested.pth (a training checkpoint
nesting the state_dict under 'state_dict' with DataParallel's 'module.' prefix, plus optimizer state).
The Hugging Face ViT-base is also saved as a folder (config.json + model.safetensors, and + pytorch_model.bin).
"""
import argparse
import os

import torch


def perturb(model, seed):
    """Every parameter and buffer moved away from its default, so no default can hide a mistake."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if p.dtype.is_floating_point:
                noise = torch.randn(p.shape, generator=g) * 0.05
                if name.endswith("running_var"):
                    p.mul_(torch.rand(p.shape, generator=g) + 0.5)
                else:
                    p.add_(noise)
            elif name.endswith("num_batches_tracked"):
                p.fill_(12345)
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", default="resnet18,resnet50,resnext50_32x4d,vit-base")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from safetensors.torch import save_file
    for i, name in enumerate(a.models.split(",")):
        if name.startswith("vit"):
            from transformers import ViTConfig, ViTModel
            cfg = ViTConfig()  # google/vit-base-patch16-224-in21k shape: 768 hidden, 12 layers, 12 heads, patch 16
            model = perturb(ViTModel(cfg, add_pooling_layer=True), i).eval()
            folder = os.path.join(a.out, name)
            model.save_pretrained(folder)  # transformers-4 key names, as every checkpoint on the Hub has them
            # The older pytorch_model.bin layout of the same folder: torch.save of those tensors + config.json.
            from safetensors.torch import load_file
            import shutil
            os.makedirs(folder + "-bin", exist_ok=True)
            torch.save(load_file(os.path.join(folder, "model.safetensors")), os.path.join(folder + "-bin", "pytorch_model.bin"))
            shutil.copy(os.path.join(folder, "config.json"), folder + "-bin")
        else:
            import torchvision
            model = perturb(getattr(torchvision.models, name)(), i).eval()
        sd = model.state_dict()
        torch.save(sd, os.path.join(a.out, f"{name}.pth"))
        save_file({k: v.contiguous() for k, v in sd.items()}, os.path.join(a.out, f"{name}.safetensors"))
        if name == "resnet18":
            torch.save(sd, os.path.join(a.out, f"{name}-legacy.pth"), _use_new_zipfile_serialization=False)
            opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
            model.train()
            model(torch.randn(2, 3, 64, 64)).sum().backward()
            opt.step()
            model.eval()
            sd2 = model.state_dict()
            torch.save({"state_dict": {"module." + k: v for k, v in sd2.items()}, "optimizer": opt.state_dict(), "epoch": 3},
                       os.path.join(a.out, f"{name}-nested.pth"))
            torch.save(sd2, os.path.join(a.out, f"{name}-nested-plain.pth"))
        print("saved", name)


if __name__ == "__main__":
    main()
