"""Independent NumPy forward pass of a convnet-dist checkpoint, written from the Keras definitions.

usage: python3 forward_numpy.py CHECKPOINT MNIST_DIR N
Prints a JSON list of the softmax outputs for the first N test images. Needs numpy and safetensors.
Keras semantics: NHWC activations, Conv2D kernels [kh, kw, in, out] with valid padding and stride 1,
MaxPooling2D(2) with floor, Flatten in NHWC order, Dense kernels [in, out].
"""
import gzip
import json
import os
import sys

import numpy as np
from safetensors.numpy import load_file


def test_images(directory, n):
    path = os.path.join(directory, "t10k-images-idx3-ubyte")
    raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
    return np.frombuffer(raw, np.uint8, offset=16)[: n * 784].reshape(n, 28, 28, 1).astype(np.float64) / 255


def conv2d(x, kernel, bias):
    kh, kw, _, out = kernel.shape
    n, h, w, _ = x.shape
    y = np.zeros((n, h - kh + 1, w - kw + 1, out))
    for i in range(kh):
        for j in range(kw):
            y += np.einsum("nhwc,co->nhwo", x[:, i : i + h - kh + 1, j : j + w - kw + 1, :], kernel[i, j])
    return y + bias


def max_pool(x, p=2):
    n, h, w, c = x.shape
    x = x[:, : h // p * p, : w // p * p, :]
    return x.reshape(n, h // p, p, w // p, p, c).max(axis=(2, 4))


def main():
    checkpoint, directory, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = {k: v.astype(np.float64) for k, v in load_file(checkpoint).items()}
    relu = lambda v: np.maximum(v, 0)
    x = test_images(directory, n)
    x = max_pool(relu(conv2d(x, t["conv2d_1.kernel"], t["conv2d_1.bias"])))
    x = max_pool(relu(conv2d(x, t["conv2d_2.kernel"], t["conv2d_2.bias"])))
    x = relu(conv2d(x, t["conv2d_3.kernel"], t["conv2d_3.bias"]))
    x = x.reshape(n, -1)
    x = relu(x @ t["dense_1.kernel"] + t["dense_1.bias"])
    z = x @ t["dense_2.kernel"] + t["dense_2.bias"]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    print(json.dumps((p / p.sum(axis=1, keepdims=True)).tolist()))


if __name__ == "__main__":
    main()
