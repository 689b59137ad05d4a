#!/usr/bin/env python3
# ResNet-20 of configs/resnet20-cifar10.toml in PyTorch on the CPU, for tools/compare-pytorch-resnet: the
# training-step speed and the process's peak memory on synthetic 32x32x3 pictures, as `convnet-dist bench
# --config configs/resnet20-cifar10.toml` measures them.
#   tools/pytorch_resnet20.py [--steps 50] [--warmup 20] [--batch-size 128] [--threads 2] [--nchw] [--samples N]
# Needs torch (CPU build) and numpy; docs/tools.md says how the venv was made (no torchvision).
# Model, as the config has it: per-channel normalisation of the pixels, zero padding 4 + random 32x32 crop +
# random horizontal flip (each picture its own), a 3x3 stem of 16, 3 stages of 3 basic blocks (16, 32, 64
# filters), 1x1 stride-2 projection shortcuts with batch norm where a stage halves the size, global average
# pooling, dense 64 -> 10 with softmax cross-entropy. Convolutions have no bias; batch norm as Keras's
# (momentum 0.01 = 1 - 0.99, eps 1e-3); stride-2 layers pad as Keras's "same". SGD lr 0.1, momentum 0.9,
# and the config's l2 = 5e-5 on every convolution and dense kernel as weight decay 1e-4 (Keras's l2 adds
# 2 * l2 * w to the gradient; not on batch norm or the dense bias). Weights keep torch's default init.
# Data: `--samples` synthetic pictures held as uint8 (random bytes on a fifth of the pixels, the rest 0, as
# bench's synthetic set), made to float / 255 a batch at a time as convnet-dist does; default: as many as
# bench makes (64 MiB of pixels), so the two peak RSS figures hold the same data.
# Prints one line: `pytorch resnet20 LAYOUT: P pictures/s, S ms/step, peak RSS R MB (...)`; the speed is of
# the --steps training steps after --warmup steps (augmentation, forward, backward and update included).
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_recipe import batchnorm, conv, same_pad_stride2   # noqa: E402  (Keras's batch norm and "same")


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm; the input, projected by a 1x1 convolution + batch norm when
    the block halves the size, added before the last ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        self.conv1, self.bn1 = conv(cin, cout, 3, stride), batchnorm(cout)
        self.conv2, self.bn2 = conv(cout, cout, 3), batchnorm(cout)
        self.proj = nn.Sequential(conv(cin, cout, 1, stride), batchnorm(cout)) if stride != 1 else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(same_pad_stride2(x, 3) if self.stride != 1 else x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.proj(x) if self.proj is not None else x))


class ResNet20(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", mean.view(1, 3, 1, 1))
        self.register_buffer("std", std.view(1, 3, 1, 1))
        self.stem, self.stem_bn = conv(3, 16, 3), batchnorm(16)
        blocks, cin = [], 16
        for cout, first_stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(3):
                blocks.append(BasicBlock(cin, cout, first_stride if b == 0 else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.dense = nn.Linear(64, 10)

    def forward(self, x):   # x: pictures in [0, 1], already padded, cropped and flipped
        x = F.relu(self.stem_bn(self.stem(x)))
        x = self.blocks(x)
        return self.dense(x.mean(dim=(2, 3)))   # logits; softmax is in the loss


def augment(x, generator):
    """Pads by 4 with zeros (after normalisation: the mean pixel), takes a random 32x32 window of each
    picture and flips half of them left-right, as the config's zero_padding2d, random_crop, random_flip."""
    n, c, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (n, 2), generator=generator)
    rows = torch.arange(h)[None, :] + offsets[:, 0:1]                        # n x h: source row of each row
    cols = torch.arange(w)[None, :] + offsets[:, 1:2]
    flip = torch.rand(n, generator=generator) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    index = torch.arange(n)[:, None, None, None]
    channel = torch.arange(c)[None, :, None, None]
    return padded[index, channel, rows[:, None, :, None], cols[:, None, None, :]]


def synthetic_pictures(count, generator):
    """uint8 N x 32 x 32 x 3: a random byte on about a fifth of the pixels, 0 elsewhere (bench's synthetic set)."""
    values = torch.randint(0, 256, (count, 32, 32, 3), dtype=torch.uint8, generator=generator)
    keep = torch.randint(0, 5, (count, 32, 32, 3), dtype=torch.uint8, generator=generator) == 0
    labels = torch.randint(0, 10, (count,), generator=generator)
    return values * keep, labels


def main():
    p = argparse.ArgumentParser(description="ResNet-20 training steps in PyTorch (CPU): pictures/s and peak RSS.")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--samples", type=int, default=(64 << 20) // (32 * 32 * 3))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--nchw", dest="channels_last", action="store_false", help="torch's default layout")
    args = p.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.samples < args.batch_size:
        sys.exit("pytorch_resnet20.py: need --steps >= 1, --warmup >= 0 and --samples >= --batch-size")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    layout = torch.channels_last if args.channels_last else torch.contiguous_format
    pixels, labels = synthetic_pictures(args.samples, generator)
    unit = pixels[:4096].float() / 255                                       # normalisation's statistics, as adapt
    mean, std = unit.mean(dim=(0, 1, 2)), unit.std(dim=(0, 1, 2), unbiased=False)
    del unit

    model = ResNet20(mean, std).to(memory_format=layout)
    decayed = [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    others = [t for t in model.parameters() if all(t is not d for d in decayed)]
    optimizer = torch.optim.SGD([{"params": decayed, "weight_decay": 1e-4}, {"params": others, "weight_decay": 0.0}],
                                lr=0.1, momentum=0.9)
    model.train()

    def step():
        index = torch.randint(0, args.samples, (args.batch_size,), generator=generator)
        x = pixels[index].permute(0, 3, 1, 2).float().div_(255)              # NHWC uint8 -> N x C x H x W view
        x = augment((x - model.mean) / model.std, generator).contiguous(memory_format=layout)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels[index])
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024        # Linux: KiB
    name = "channels_last" if args.channels_last else "NCHW"
    print(f"pytorch resnet20 {name}: {args.steps * args.batch_size / seconds:.1f} pictures/s, "
          f"{1000 * seconds / args.steps:.1f} ms/step, peak RSS {peak:.1f} MB "
          f"(torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"{sum(t.numel() for t in model.parameters())} parameters, {args.samples} samples)", flush=True)


if __name__ == "__main__":
    main()
