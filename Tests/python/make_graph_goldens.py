"""Writes Keras golden values for the merging layers of graph models (Add, Concatenate).

usage: .build/venv-python/bin/python Tests/python/make_graph_goldens.py [OUT_DIR]   (default: Tests/Goldens)

Set-up as for make_keras_goldens.py (Keras 3 on TensorFlow, numpy, safetensors). It writes
graphs.safetensors: per case C, the inputs C.x0, C.x1, ... (batch first, NHWC or flat), the output C.y,
a fixed upstream gradient C.dy, and the gradients C.dx0, C.dx1, ... of sum(y * dy) with respect to each
input, computed by a tf.GradientTape. Metadata: `cases` (JSON list), C (the layer's TOML table body in
convnet-dist's syntax), C.input_shapes (JSON list of per-sample shapes). Each case draws from
np.random.default_rng(crc32(case name)); before writing, the values are checked against NumPy.
"""
import json
import os
import sys
import zlib

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from make_keras_goldens import sort_metadata  # noqa: E402  (byte-identical reruns)

CASES = [
    ("add_two_images", "add", [[4, 3, 2], [4, 3, 2]]),
    ("add_three_flat", "add", [[5], [5], [5]]),
    ("concatenate_two_images", "concatenate", [[3, 4, 2], [3, 4, 3]]),
    ("concatenate_three_images", "concatenate", [[2, 2, 1], [2, 2, 4], [2, 2, 2]]),
    ("concatenate_two_flat", "concatenate", [[3], [4]]),
]
BATCH = 3


def case_values(name, kind, shapes):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    xs = [rng.normal(size=[BATCH] + shape).astype(np.float32) for shape in shapes]
    layer = keras.layers.Add() if kind == "add" else keras.layers.Concatenate()
    variables = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        y = layer(variables)
        dy = rng.normal(size=y.shape).astype(np.float32)
        objective = tf.reduce_sum(y * dy)
    dxs = [g.numpy() for g in tape.gradient(objective, variables)]
    y = y.numpy()
    expected = np.sum(xs, axis=0) if kind == "add" else np.concatenate(xs, axis=-1)
    if not np.allclose(y, expected, atol=1e-6):
        sys.exit(f"{name}: Keras's output differs from NumPy's")
    split = [dy] * len(xs) if kind == "add" else np.split(dy, np.cumsum([s[-1] for s in shapes])[:-1], axis=-1)
    for dx, reference in zip(dxs, split):
        if not np.array_equal(dx, reference):
            sys.exit(f"{name}: Keras's input gradient differs from NumPy's")
    tensors = {f"{name}.y": y, f"{name}.dy": dy}
    for k, (x, dx) in enumerate(zip(xs, dxs)):
        tensors[f"{name}.x{k}"] = x
        tensors[f"{name}.dx{k}"] = np.ascontiguousarray(dx, dtype=np.float32)
    return tensors


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Goldens")
    tensors, metadata = {}, {"cases": json.dumps([name for name, _, _ in CASES]),
                             "keras_version": keras.__version__, "tensorflow_version": tf.__version__}
    for name, kind, shapes in CASES:
        tensors.update(case_values(name, kind, shapes))
        metadata[name] = f'type = "{kind}"'
        metadata[f"{name}.input_shapes"] = json.dumps(shapes)
    path = os.path.join(out, "graphs.safetensors")
    save_file({k: tensors[k] for k in sorted(tensors)}, path, metadata=metadata)
    sort_metadata(path)


if __name__ == "__main__":
    main()
