#!/usr/bin/env python3
# The convnet-dist reference recipe (configs/mnist.toml: the classic Keras MNIST convnet) in PyTorch on
# the CPU, for tools/compare-pytorch: same shapes, optimizer, batch size and data, timed the same way
# (epoch = the training steps only; the 10k test-set evaluation is timed and printed on its own line).
#   tools/pytorch_reference.py [--data-dir DIR] [--epochs 2] [--threads 2] [--seed 1]
# Needs torch and numpy (e.g. a venv: python3 -m venv .build/venv-torch && .build/venv-torch/bin/pip install torch numpy); data: --data-dir, else $CONVNET_DATA_DIR,
# else ../shared/data/mnist beside the repository (the IDX .gz files, read with numpy + gzip only).
# Model: Conv2d(1,32,3)+ReLU, MaxPool 2, Conv2d(32,64,3)+ReLU, MaxPool 2, Conv2d(64,64,3)+ReLU, Flatten,
# Linear(576,64)+ReLU, Linear(64,10), softmax cross-entropy; RMSprop lr 0.001, alpha (Keras rho) 0.9,
# eps 1e-7; batch 64 (last batch 32), reshuffled each epoch; pixels / 255. Weights start Glorot-uniform
# and biases zero, as in Keras. Two differences that cost no time: torch's RMSprop adds eps outside
# the square root (Keras inside), and its cross-entropy works on logits (Keras clips probabilities).
# Layout: channels_last (NHWC, as convnet-dist and Keras), the faster of the two for this model on the
# CPU (docs/performance-history.md); --nchw switches back to torch's default layout for a recheck.
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic >> 8 != 0x08:   # 0x08 = unsigned byte
        sys.exit(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(data_dir, split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)   # N x 1 x 28 x 28
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


class ReferenceNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.conv3 = nn.Conv2d(64, 64, 3)
        self.fc1 = nn.Linear(576, 64)
        self.fc2 = nn.Linear(64, 10)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 26x26x32 -> 13x13x32
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 11x11x64 -> 5x5x64
        x = F.relu(self.conv3(x))                    # 3x3x64
        # Keras flattens HWC; the order only permutes fc1's rows, so it costs and learns the same.
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


def train_epoch(model, optimizer, x_train, y_train, batch, generator, max_steps=0, prepare=None, scheduler=None):
    """One epoch in a fresh order from `generator` (stopping after `max_steps` if given), each batch
    through `prepare` (augmentation, memory format) first: returns (seconds, mean loss, steps)."""
    model.train()
    start = time.perf_counter()
    n = len(x_train)
    order = torch.randperm(n, generator=generator)
    total_loss, seen, steps = 0.0, 0, 0
    for first in range(0, n, batch):
        index = order[first:first + batch]
        xb = x_train[index] if prepare is None else prepare(x_train[index])
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), y_train[index])
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total_loss += loss.item() * len(index)
        seen += len(index)
        steps += 1
        if max_steps and steps >= max_steps:
            break
    return time.perf_counter() - start, total_loss / seen, steps


def test_accuracy(model, x_test, y_test):
    """Accuracy on the test set, in batches of 1000, and the seconds it took."""
    model.eval()
    start = time.perf_counter()
    correct = 0
    with torch.no_grad():
        for first in range(0, len(x_test), 1000):
            logits = model(x_test[first:first + 1000])
            correct += (logits.argmax(1) == y_test[first:first + 1000]).sum().item()
    return correct / len(x_test), time.perf_counter() - start


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default_data = os.environ.get("CONVNET_DATA_DIR") or os.path.join(repo, "..", "shared", "data", "mnist")
    p = argparse.ArgumentParser(description="The convnet-dist reference convnet in PyTorch (CPU).")
    p.add_argument("--data-dir", default=default_data)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64, help=argparse.SUPPRESS)
    p.add_argument("--nchw", dest="channels_last", action="store_false", help=argparse.SUPPRESS)
    # Stops each epoch after N steps (for a quick check of the script; the times then mean little).
    p.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)

    x_train, y_train = load_mnist(args.data_dir, "train")
    x_test, y_test = load_mnist(args.data_dir, "test")
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    x_train = x_train.contiguous(memory_format=memory_format)
    x_test = x_test.contiguous(memory_format=memory_format)

    model = ReferenceNet().to(memory_format=memory_format)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.001, alpha=0.9, eps=1e-7)
    n, batch = len(x_train), args.batch_size
    params = sum(t.numel() for t in model.parameters())
    print(f"pytorch {torch.__version__}, {params} parameters, {torch.get_num_threads()} threads, "
          f"{'channels_last' if args.channels_last else 'NCHW'}, {n} training samples, batch {batch}", flush=True)

    for epoch in range(1, args.epochs + 1):
        train_seconds, loss, steps = train_epoch(model, optimizer, x_train, y_train, batch, generator, args.max_steps)
        accuracy, eval_seconds = test_accuracy(model, x_test, y_test)
        print(f"pytorch epoch {epoch}: {train_seconds:.2f} s, loss {loss:.4f}, "
              f"test_accuracy {accuracy:.4f}" + (f" ({steps} steps)" if args.max_steps else ""), flush=True)
        print(f"pytorch eval: {eval_seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
