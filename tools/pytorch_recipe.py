#!/usr/bin/env python3
# The residual Fashion-MNIST recipe (configs/resnet-fashion-mnist.toml) in PyTorch on the CPU, for
# tools/compare-recipe's optional third side: the same layers, augmentation, optimizer, schedule, batch
# and epochs as convnet-dist and Keras, timed the same way (an epoch = its training steps, augmentation
# included; the test-set evaluation after it is left out and printed on its own line).
#   tools/pytorch_recipe.py [--config FILE] [--data-dir DIR] [--epochs N] [--seed S] [--threads 2]
# Needs torch and numpy (e.g. python3 -m venv .build/venv-torch && .build/venv-torch/bin/pip install torch
# numpy); data: --data-dir, else $CONVNET_DATA_DIR, else Debian's dataset-fashion-mnist
# (/usr/share/datasets/fashion-mnist; the IDX .gz files, read as tools/pytorch_reference.py does).
# The model is written out below, not built from the config: only [training] (epochs, batch_size, seed)
# and [optimizer] (Adam's learning_rate and the cosine_decay schedule) are read from it.
# Mapped from Keras: batch norm momentum 0.01 (= 1 - Keras's 0.99) and eps 1e-3; Adam eps 1e-7; weights
# Glorot-uniform, dense bias zero; the learning rate decays per step as keras CosineDecay does.
# Translation: each picture shifted by round(u * 28) rows and columns, u uniform in [-factor, factor],
# border filled with 0 (convnet-dist's random_translation); flips left-right with probability 0.5.
# Layout: channels_last (NHWC, as the other two sides); --nchw for torch's default.
# Last line: the median epoch seconds, skipping epoch 1 (warm-up) when there are two or more.
import argparse
import math
import os
import statistics
import sys
import tomllib

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_reference import load_mnist, test_accuracy, train_epoch   # noqa: E402  (same IDX reader, / 255, loops)


def batchnorm(channels):
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def conv(cin, cout, kernel, stride=1):
    # Keras "same" with stride 2 on an even size pads 0 before and 1 after; torch's padding=1 pads 1 and 1,
    # so the stride-2 layers pad by hand to keep Keras's sampling grid.
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=(kernel // 2 if stride == 1 else 0), bias=False)


def same_pad_stride2(x, kernel):
    total = max(kernel - 2, 0) if x.shape[-1] % 2 == 0 else max(kernel - 1, 0)
    return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2)) if total else x


class ResidualNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.stem_bn = conv(1, 16, 3), batchnorm(16)
        self.b1_conv1, self.b1_bn1 = conv(16, 16, 3), batchnorm(16)
        self.b1_conv2, self.b1_bn2 = conv(16, 16, 3), batchnorm(16)
        self.b2_conv1, self.b2_bn1 = conv(16, 32, 3, stride=2), batchnorm(32)
        self.b2_conv2, self.b2_bn2 = conv(32, 32, 3), batchnorm(32)
        self.b2_proj, self.b2_proj_bn = conv(16, 32, 1, stride=2), batchnorm(32)
        self.b3_conv1, self.b3_bn1 = conv(32, 32, 3), batchnorm(32)
        self.b3_conv2, self.b3_bn2 = conv(32, 32, 3), batchnorm(32)
        self.dropout = nn.Dropout(0.2)
        self.dense = nn.Linear(32, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
            if isinstance(m, nn.Linear):
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.stem_bn(self.stem(x))), 2)              # 28x28x16 -> 14x14x16
        y = F.relu(self.b1_bn1(self.b1_conv1(x)))
        x = F.relu(self.b1_bn2(self.b1_conv2(y)) + x)
        y = F.relu(self.b2_bn1(self.b2_conv1(same_pad_stride2(x, 3))))      # -> 7x7x32
        y = self.b2_bn2(self.b2_conv2(y))
        x = F.relu(y + self.b2_proj_bn(self.b2_proj(x)))
        y = F.relu(self.b3_bn1(self.b3_conv1(x)))
        x = F.relu(self.b3_bn2(self.b3_conv2(y)) + x)
        return self.dense(self.dropout(x.mean(dim=(2, 3))))                 # logits; softmax is in the loss


def augment(x, factor, generator):
    """Flips each picture left-right with probability 0.5, then shifts it by whole pixels with zero fill."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    shifts = ((torch.rand(n, 2, generator=generator) * 2 - 1) * factor * torch.tensor([h, w])).round().long()
    pad = int(math.ceil(factor * max(h, w)))
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = (torch.arange(h)[None, :] + pad - shifts[:, 0:1])                 # n x h: source row of each row
    cols = (torch.arange(w)[None, :] + pad - shifts[:, 1:2])
    index = torch.arange(n)[:, None, None]
    return padded[index, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description="The residual Fashion-MNIST recipe in PyTorch (CPU).")
    p.add_argument("--config", default=os.path.join(repo, "configs", "resnet-fashion-mnist.toml"))
    p.add_argument("--data-dir", default=os.environ.get("CONVNET_DATA_DIR") or "/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--nchw", dest="channels_last", action="store_false")
    p.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)   # quick check only
    args = p.parse_args()
    with open(args.config, "rb") as f:
        config = tomllib.load(f)
    training, optimizer_spec = config["training"], config["optimizer"]
    schedule = optimizer_spec["schedule"]
    if optimizer_spec["name"] != "adam" or schedule["name"] != "cosine_decay":
        sys.exit(f"{args.config}: pytorch_recipe.py knows only adam with cosine_decay")
    epochs = args.epochs or training["epochs"]
    seed = args.seed if args.seed is not None else training["seed"]
    batch = training["batch_size"]

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    x_train, y_train = load_mnist(args.data_dir, "train")
    x_test, y_test = load_mnist(args.data_dir, "test")
    x_test = x_test.contiguous(memory_format=memory_format)

    model = ResidualNet().to(memory_format=memory_format)
    optimizer = torch.optim.Adam(model.parameters(), lr=optimizer_spec["learning_rate"], eps=1e-7)
    decay_steps, alpha = schedule["decay_steps"], schedule.get("alpha", 0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: (1 - alpha) * 0.5 * (
        1 + math.cos(math.pi * min(step, decay_steps) / decay_steps)) + alpha)
    n = len(x_train)
    print(f"pytorch {torch.__version__}, {sum(t.numel() for t in model.parameters())} parameters, "
          f"{torch.get_num_threads()} threads, {'channels_last' if args.channels_last else 'NCHW'}, "
          f"{n} training samples, batch {batch}, {epochs} epochs, seed {seed}", flush=True)

    times = []
    for epoch in range(1, epochs + 1):
        seconds, loss, steps = train_epoch(
            model, optimizer, x_train, y_train, batch, generator, args.max_steps, scheduler=scheduler,
            prepare=lambda xb: augment(xb, 0.1, generator).contiguous(memory_format=memory_format))
        times.append(seconds)
        accuracy, eval_seconds = test_accuracy(model, x_test, y_test)
        print(f"pytorch epoch {epoch}/{epochs}: {times[-1]:.2f} s, loss {loss:.4f}, "
              f"test_accuracy {accuracy:.4f}" + (f" ({steps} steps)" if args.max_steps else ""),
              flush=True)
        print(f"pytorch eval: {eval_seconds:.2f} s", flush=True)
    counted = times[1:] if len(times) >= 2 else times
    print(f"pytorch median epoch seconds (epochs {epochs - len(counted) + 1}-{epochs}): "
          f"{statistics.median(counted):.2f}", flush=True)


if __name__ == "__main__":
    main()
