#!/usr/bin/env python3
"""A real torchvision ResNet saved in the checkpoint layouts of the wild, for the parity job (tools/parity.d/25-layouts.sh).

    python tools/make_parity_layouts.py OUT_DIR

The network is torchvision's own ResNet class with one BasicBlock per stage (ResNet(BasicBlock, [1, 1, 1, 1]), 10
classes: 4.9 M parameters, quick to record), its parameters perturbed and its batch-norm statistics set as training
leaves them (tools/make_parity_models.py). It is written by the real libraries the layouts come from:

    imagenet_example.pth       pytorch/examples imagenet/main.py: {epoch, arch, state_dict ('module.'), best_acc1, optimizer, scheduler}
    imagenet_legacy.pth        the same in the legacy format
    torchvision_train.pth      references/classification/train.py: {model, optimizer, lr_scheduler, epoch, args: Namespace}
    torchvision_train_ema.pth  the same with model_ema (an AveragedModel): KEY model_ema
    lightning.ckpt             a Lightning Trainer.fit / save_checkpoint of a LightningModule holding it as `self.model`
    lightning_ema.ckpt         the same module with an AveragedModel `self.model_ema`: KEY state_dict.model_ema
    timm_train.pth             timm train.py's CheckpointSaver layout (state_dict, state_dict_ema, args, ...): KEY state_dict_ema
    prefixes.pth               state_dict of Wrapper(model=torch.compile(DataParallel(net))): 'model._orig_mod.module.'
    tutorial_net.pth           the PyTorch tutorial's general checkpoint, the network under `net`
    objects.pth                a state_dict beside a dataclass, a path, an enum, numpy values, a defaultdict

layouts.txt lists `file key` per line (key `-` for none) for the parity step.
"""
import argparse
import collections
import dataclasses
import enum
import logging
import os
import pathlib
import sys
import tempfile
import warnings

import numpy
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_models import calibrate_batch_norm, perturb, trained_residual_scale  # noqa: E402


class Mode(enum.Enum):
    TRAIN = "train"


@dataclasses.dataclass
class Config:
    lr: float = 0.1
    data: pathlib.Path = pathlib.Path("/data/imagenet")


class Wrapper(nn.Module):
    def __init__(self, attr, inner):
        super().__init__()
        setattr(self, attr, inner)

    def forward(self, x):
        return next(self.children())(x)


_BASE = []


def resnet(seed):
    """The calibrated network (made once), perturbed again by `seed`: a different network per layout."""
    import copy
    from torchvision.models.resnet import BasicBlock, ResNet
    if not _BASE:
        torch.manual_seed(0)
        model = perturb(ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10), 0)
        _BASE.append(calibrate_batch_norm(trained_residual_scale(model, 0), 0).eval())
    return perturb(copy.deepcopy(_BASE[0]), seed + 100).eval()


def one_step(model):
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, 30)
    model.train()
    for m in model.modules():  # keep the calibrated statistics: a step of gradients only
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    model(torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))).sum().backward()
    opt.step()
    sched.step()
    model.eval()
    return opt, sched


def namespace():
    return argparse.Namespace(data_path="/data/imagenet", model="resnet18", epochs=90, lr=0.1, momentum=0.9,
                              output_dir=".", model_ema=False, amp=False, auto_augment=None)


def lightning_checkpoint(path, model, with_ema):
    import lightning as L

    class Classifier(L.LightningModule):
        def __init__(self, lr=1e-4, data_dir=pathlib.Path("/data"), mode=Mode.TRAIN):
            super().__init__()
            self.save_hyperparameters()
            self.model = model
            if with_ema:
                self.model_ema = torch.optim.swa_utils.AveragedModel(
                    model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.5), use_buffers=True)

        def training_step(self, batch, _):
            x, y = batch
            for m in self.model.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eval()
            return nn.functional.cross_entropy(self.model(x), y)

        def on_train_batch_end(self, *_):
            if with_ema:
                self.model_ema.update_parameters(self.model)

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.model.parameters(), lr=self.hparams.lr, momentum=0.9)
            return {"optimizer": opt, "lr_scheduler": torch.optim.lr_scheduler.StepLR(opt, 1)}

    g = torch.Generator().manual_seed(2)
    data = torch.utils.data.TensorDataset(torch.randn(4, 3, 64, 64, generator=g), torch.tensor([0, 1, 2, 3]))
    with tempfile.TemporaryDirectory() as d:
        trainer = L.Trainer(max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                            accelerator="cpu", default_root_dir=d, enable_checkpointing=False)
        trainer.fit(Classifier(), torch.utils.data.DataLoader(data, batch_size=2))
        trainer.save_checkpoint(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    out = lambda name: os.path.join(a.out, name)  # noqa: E731
    listed = []

    net = resnet(1)
    dp = nn.DataParallel(net)
    opt, sched = one_step(dp)
    ck = {"epoch": 4, "arch": "resnet18", "state_dict": dp.state_dict(), "best_acc1": torch.tensor([71.5]),
          "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}
    torch.save(ck, out("imagenet_example.pth"))
    torch.save(ck, out("imagenet_legacy.pth"), _use_new_zipfile_serialization=False)
    listed += [("imagenet_example.pth", "-"), ("imagenet_legacy.pth", "-")]

    net = resnet(2)
    opt, sched = one_step(net)
    ck = {"model": net.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(), "epoch": 7,
          "args": namespace()}
    torch.save(ck, out("torchvision_train.pth"))
    ema = torch.optim.swa_utils.AveragedModel(net, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.5),
                                              use_buffers=True)
    perturb(net, 3)
    ema.update_parameters(net)  # the EMA copy differs from the model: verifying it checks --key took the right one
    ck.update(model=net.state_dict(), model_ema=ema.state_dict())
    torch.save(ck, out("torchvision_train_ema.pth"))
    listed += [("torchvision_train.pth", "-"), ("torchvision_train_ema.pth", "model_ema")]

    lightning_checkpoint(out("lightning.ckpt"), resnet(4), with_ema=False)
    lightning_checkpoint(out("lightning_ema.ckpt"), resnet(5), with_ema=True)
    listed += [("lightning.ckpt", "-"), ("lightning_ema.ckpt", "state_dict.model_ema")]

    import timm.utils
    net = resnet(6)
    opt, _ = one_step(net)
    model_ema = timm.utils.ModelEmaV3(net, decay=0.5)
    perturb(net, 7)
    model_ema.update(net)
    torch.save({"epoch": 11, "arch": "resnet18", "state_dict": timm.utils.get_state_dict(net, timm.utils.unwrap_model),
                "optimizer": opt.state_dict(), "version": 2, "args": namespace(),
                "state_dict_ema": timm.utils.get_state_dict(model_ema, timm.utils.unwrap_model),
                "metric": numpy.float64(61.25)}, out("timm_train.pth"))
    listed.append(("timm_train.pth", "state_dict_ema"))

    net = resnet(8)
    torch.save(Wrapper("model", torch.compile(nn.DataParallel(net))).state_dict(), out("prefixes.pth"))
    net = resnet(9)
    holder = Wrapper("net", net)
    opt, _ = one_step(holder)
    torch.save({"epoch": 5, "model_state_dict": holder.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "loss": torch.tensor(0.25)}, out("tutorial_net.pth"))
    net = resnet(10)
    torch.save({"state_dict": net.state_dict(), "config": Config(), "mode": Mode.TRAIN, "best": numpy.float32(0.5),
                "confusion": numpy.eye(3), "history": collections.defaultdict(list, loss=[1.0])}, out("objects.pth"))
    listed += [("prefixes.pth", "-"), ("tutorial_net.pth", "-"), ("objects.pth", "-")]

    with open(out("layouts.txt"), "w") as f:
        for name, key in listed:
            f.write(f"{name} {key}\n")
    print(f"saved {len(listed)} layouts (torch {torch.__version__}, lightning {__import__('lightning').__version__}, "
          f"timm {timm.__version__})")


if __name__ == "__main__":
    main()
