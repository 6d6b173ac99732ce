#!/usr/bin/env python3
"""Real models saved by real torch, for the parity job: every parameter perturbed away from its init.

    python tools/make_parity_models.py OUT_DIR [--models resnet18,resnet50,resnext50_32x4d,vit-base,vit-cls,timm-vit-s16,tv-vit-b32]

ResNets are trained-like (`trained_like_resnet`): perturbed weights, small last-BN weights per block, batch-norm
statistics from train-mode passes over real photos (`calibrate_batch_norm`), so their activations reach the
magnitudes (~20 in layer4) at which float32 noise exceeds 1e-4.

Writes, per model, NAME.pth (torch.save zip), NAME.safetensors (safetensors.torch.save_file) and for
resnet18 also NAME-legacy.pth (the torch <= 1.5 format) and NAME-nested.pth (a training checkpoint
nesting the state_dict under 'state_dict' with DataParallel's 'module.' prefix, plus optimizer state).
The Hugging Face ViT-base is also saved as a folder (config.json + model.safetensors, and + pytorch_model.bin).
"""
import argparse
import os

import torch


def perturb(model, seed):
    """Every parameter and buffer moved away from its init, so no default value can hide a mistake.
    Noise is relative (10% of a tensor's own spread; 0.05 absolute for constant tensors such as BN's
    weight 1 / bias 0), so the network keeps its scale."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            if p.dtype.is_floating_point:
                spread = p.std().item() if p.numel() > 1 else 0.0
                scale = 0.1 * spread if spread > 0 else 0.05
                if name.endswith("running_var"):
                    p.mul_(torch.rand(p.shape, generator=g) * 0.5 + 0.75)
                else:
                    p.add_(torch.randn(p.shape, generator=g) * scale)
            elif name.endswith("num_batches_tracked"):
                p.fill_(12345)
    return model


def trained_residual_scale(model, seed):
    """Trained ResNets end each residual branch with a small batch-norm weight (torchvision even offers
    zero_init_residual); default init uses 1, which makes activations grow block after block to values
    no trained model has. Set the last BN weight of every block to U(0.2, 0.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            last = getattr(m, "bn3", None) if hasattr(m, "conv3") else getattr(m, "bn2", None) if hasattr(m, "conv2") and hasattr(m, "bn2") else None
            if last is not None:
                last.weight.copy_(torch.rand(last.weight.shape, generator=g) * 0.3 + 0.2)
    return model


# Real photos the batch-norm statistics are calibrated on (scikit-image's public-domain / CC0 data, shipped in its
# wheel). None of them is a photo the committed references or the parity job's references are recorded on
# (Reference/images: chelsea, coffee, camera, rocket, astronaut), so verification runs on held-out photos.
CALIBRATION_PHOTOS = ("hubble_deep_field.jpg", "motorcycle_left.png", "motorcycle_right.png", "retina.jpg", "ihc.png",
                      "coins.png", "moon.png", "brick.png", "grass.png", "gravel.png", "page.png", "clock_motion.png")


def calibration_batches(seed, batches=4, size=8):
    """`batches` batches of `size` training-style views of the calibration photos: a random resized crop to 224
    (scale 0.25-1), a random horizontal flip, ImageNet normalisation, as torchvision's training recipe feeds them."""
    import skimage
    from PIL import Image
    from torchvision import transforms
    folder = os.path.join(os.path.dirname(skimage.__file__), "data")
    photos = [Image.open(os.path.join(folder, f)).convert("RGB") for f in CALIBRATION_PHOTOS]
    torch.manual_seed(seed)  # the random transforms draw from torch's global generator
    view = transforms.Compose([
        transforms.RandomResizedCrop(224, scale=(0.25, 1.0)),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])
    g = torch.Generator().manual_seed(seed)
    for _ in range(batches):
        picks = torch.randint(len(photos), (size,), generator=g).tolist()
        yield torch.stack([view(photos[i]) for i in picks])


def calibrate_batch_norm(model, seed):
    """Running statistics as training would leave them: cumulative batch statistics of forward passes in train
    mode (momentum None = plain average) over real photos (`calibration_batches`: 32 training-style views of 12
    photos), so every channel is normalised as it is for the images a model sees (default-initialised
    statistics 0 / 1 let activations grow layer after layer; random-noise inputs give statistics no photo has)."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        for batch in calibration_batches(seed):
            model(batch)
    model.eval()
    for bn in bns:
        bn.momentum = 0.1
    return model


def trained_like_resnet(name, seed, residual_scale=False):
    """A torchvision ResNet whose weights and statistics look trained: every parameter perturbed, batch-norm
    statistics from train-mode passes over real photos, perturbed again (so running statistics are not exact batch
    statistics). Activations reach ~20-70 in layer3/layer4 of a ResNet-50, where PyTorch float32 is 4e-4 to 8e-4
    from the float64 truth: the regime in which a fixed 1e-4 tolerance fails correct conversions (issue 13).
    `residual_scale`: also scale the last BN weight of every block down (`trained_residual_scale`), which keeps
    activations (and float32 noise, ~6e-5) ten times smaller."""
    import torchvision
    model = perturb(getattr(torchvision.models, name)(), seed)
    if residual_scale:
        model = trained_residual_scale(model, seed)
    return perturb(calibrate_batch_norm(model, seed), seed + 100).eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", default="resnet18,resnet50,resnext50_32x4d,vit-base,vit-cls,timm-vit-s16,tv-vit-b32")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    from safetensors.torch import save_file
    for i, name in enumerate(a.models.split(",")):
        if name == "vit-cls":
            # ViTForImageClassification with labels in its config, saved as a Hugging Face folder.
            from transformers import ViTConfig, ViTForImageClassification
            cfg = ViTConfig(num_labels=5, id2label={i: f"label-{i}" for i in range(5)}, label2id={f"label-{i}": i for i in range(5)})
            model = perturb(ViTForImageClassification(cfg), i).eval()
            model.save_pretrained(os.path.join(a.out, name))
        elif name == "timm-vit-s16":
            import timm
            model = perturb(timm.create_model("vit_small_patch16_224", pretrained=False, num_classes=10), i).eval()
        elif name == "tv-vit-b32":
            import torchvision
            model = perturb(torchvision.models.vit_b_32(num_classes=10), i).eval()
        elif name.startswith("vit"):
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
            model = trained_like_resnet(name, i)
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
