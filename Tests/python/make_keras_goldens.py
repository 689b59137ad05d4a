"""Writes Keras golden values for single layers, activations, losses, regularizers and learning-rate schedules.

usage: .build/venv-python/bin/python Tests/python/make_keras_goldens.py [OUT_DIR]   (default: Tests/Goldens)

Set-up (outside the repo; not part of CI, which has no TensorFlow):
    python3 -m venv .build/venv-python   # or reuse the one launch/test makes
    .build/venv-python/bin/pip install tensorflow-cpu==2.21.0 safetensors numpy
Written with Keras 3.15.1 on TensorFlow 2.21.0 (CPU, oneDNN off), NumPy 2.4, safetensors 0.8.

It writes three safetensors files (all tensors float32, NHWC, conv kernels HWIO, dense kernels [in, out],
batch first); Tests/Goldens/README.md lists every tensor name and metadata key:
  layers.safetensors     one Keras layer per case: input x, output y, a fixed upstream gradient dy, and
                         the gradients of sum(y * dy) with respect to x and to each trainable weight;
                         weight values before the call; batchnorm moving statistics after a training call;
                         kernel-regularizer penalties and their gradients.
  losses.safetensors     per-sample losses of Keras's functional losses and their gradients with respect
                         to y_pred (and, for probability inputs, with respect to the logits under a softmax).
  schedules.safetensors  learning rates of Keras's schedules at a fixed list of steps.
Each case's configuration is stored in the file's metadata as the body of a TOML table in convnet-dist's
config syntax. Every case draws its numbers from np.random.default_rng(crc32(case name)), so adding a
case changes no other case, and two runs write byte-identical files. Before writing, forward values are
checked against independent float64 NumPy implementations (padding, pooling counts, batchnorm, losses,
schedules), so a misreading of Keras's semantics stops the script.
"""
import json
import math
import os
import sys
import zlib

os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"  # exact float32 kernels, as for the other goldens
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

from keras_model import keras_layer  # noqa: E402  (builds a layer from our table through layers.json)

F32 = np.float32
KINK_GAP = 1e-3  # no value this close to a kink of relu-like activations, hinge or abs
KINKED_ACTIVATIONS = {"relu", "leaky_relu", "elu", "selu"}


# ---------------------------------------------------------------------------------------------- helpers

def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text:  # 1e-05 -> 1e-5
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
        return text
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_body(table):
    return "\n".join(f"{key} = {toml_value(value)}" for key, value in table.items())


def f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=F32))


def check_close(what, got, want, tol=2e-5):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    error = float(np.abs(got - want).max(initial=0.0))
    assert error <= tol * scale, f"{what}: Keras and the NumPy reference differ by {error}"


def save(out_dir, file_name, tensors, metadata):
    path = os.path.join(out_dir, file_name)
    save_file({k: f32(v) for k, v in tensors.items()}, path, metadata=metadata)
    sort_metadata(path)
    return path


def sort_metadata(path):
    """safetensors (0.8) writes __metadata__ in hash-map order, which changes from run to run; rewrite the
    header in place with the metadata keys sorted (same length, same tensors, same data) so reruns are
    byte-identical."""
    with open(path, "r+b") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(length))
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
        text = json.dumps(header, separators=(",", ":")).encode()
        assert len(text) <= length, "rewritten header is longer than the original"
        f.seek(8)
        f.write(text.ljust(length, b" "))


# ---------------------------------------------------------------------------------------------- layers

def conv(name, input_shape, **layer):
    return dict(name=name, layer=dict(type="conv2d", **layer), input_shape=input_shape, batch=3)


def dense(name, **layer):
    return dict(name=name, layer=dict(type="dense", **layer), input_shape=[5], batch=4)


def image_layer(name, kind, input_shape, **layer):
    return dict(name=name, layer=dict(type=kind, **layer), input_shape=input_shape, batch=3, distinct="max" in kind)


def batchnorm(name, input_shape, training, batch=3, **layer):
    return dict(name=name, layer=dict(type="batchnorm", **layer), input_shape=input_shape, batch=batch,
                training=training)


def activation(name):
    return dict(name=f"activation_{name}", layer=dict(type="activation", activation=name), input_shape=[7], batch=4)


LAYER_CASES = [
    conv("conv2d_valid_relu", [7, 6, 2], filters=3, kernel_size=3, activation="relu"),
    conv("conv2d_same_k3", [7, 6, 2], filters=3, kernel_size=3, padding="same"),
    conv("conv2d_same_k2", [5, 6, 2], filters=2, kernel_size=2, padding="same"),
    conv("conv2d_same_k2_stride2", [7, 5, 2], filters=2, kernel_size=2, strides=2, padding="same"),
    conv("conv2d_same_k4", [6, 5, 2], filters=2, kernel_size=4, padding="same"),
    conv("conv2d_same_k4_stride2", [7, 8, 2], filters=2, kernel_size=4, strides=2, padding="same"),
    conv("conv2d_k3x2_stride2x1", [7, 6, 2], filters=3, kernel_size=[3, 2], strides=[2, 1], activation="relu"),
    conv("conv2d_k3x2_stride2x1_same", [7, 6, 2], filters=3, kernel_size=[3, 2], strides=[2, 1], padding="same"),
    conv("conv2d_no_bias", [6, 6, 2], filters=3, kernel_size=3, use_bias=False),
    conv("conv2d_gelu", [6, 6, 2], filters=3, kernel_size=3, activation="gelu"),
    conv("conv2d_l2", [6, 6, 2], filters=3, kernel_size=3, activation="relu", kernel_regularizer={"l2": 0.01}),
    dense("dense_linear", units=3),
    dense("dense_relu", units=3, activation="relu"),
    dense("dense_no_bias", units=3, use_bias=False),
    dense("dense_tanh", units=3, activation="tanh"),
    dense("dense_l1", units=3, activation="relu", kernel_regularizer={"l1": 0.01}),
    dense("dense_l1_l2", units=3, kernel_regularizer={"l1": 0.01, "l2": 0.02}),
    image_layer("maxpool2d_2", "maxpool2d", [6, 6, 2], pool_size=2),
    image_layer("maxpool2d_3_stride2", "maxpool2d", [7, 7, 2], pool_size=3, strides=2),
    image_layer("maxpool2d_2_same_odd", "maxpool2d", [5, 7, 2], pool_size=2, padding="same"),
    image_layer("maxpool2d_2x3", "maxpool2d", [6, 6, 2], pool_size=[2, 3]),
    image_layer("avgpool2d_2", "avgpool2d", [6, 6, 2], pool_size=2),
    image_layer("avgpool2d_3_stride2_same", "avgpool2d", [6, 7, 2], pool_size=3, strides=2, padding="same"),
    image_layer("avgpool2d_2_valid_odd", "avgpool2d", [5, 7, 2], pool_size=2),
    image_layer("global_avgpool2d", "global_avgpool2d", [4, 5, 3]),
    image_layer("global_maxpool2d", "global_maxpool2d", [4, 5, 3]),
    image_layer("flatten", "flatten", [3, 4, 2]),
    image_layer("upsampling2d_2", "upsampling2d", [3, 4, 2], size=2),
    image_layer("upsampling2d_3x2", "upsampling2d", [2, 3, 3], size=[3, 2]),
    batchnorm("batchnorm_images_train", [4, 5, 3], True),
    batchnorm("batchnorm_images_infer", [4, 5, 3], False),
    batchnorm("batchnorm_flat_train", [6], True, batch=4),
    batchnorm("batchnorm_flat_infer", [6], False, batch=4),
    batchnorm("batchnorm_no_center_scale_train", [4, 5, 3], True, center=False, scale=False),
    batchnorm("batchnorm_m09_eps1e5_train", [4, 5, 3], True, momentum=0.9, epsilon=1e-5),
] + [activation(name) for name in ["linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "gelu",
                                   "silu", "swish", "softplus", "leaky_relu"]]


def random_weight(rng, name, shape):
    if name == "kernel":
        return rng.standard_normal(shape) * 0.5
    if name == "bias":
        return rng.standard_normal(shape) * 0.1
    if name == "gamma":
        return 1.0 + 0.2 * rng.standard_normal(shape)
    if name in ("beta", "moving_mean"):
        return 0.1 * rng.standard_normal(shape)
    if name == "moving_variance":
        return rng.uniform(0.5, 1.5, shape)
    raise ValueError(name)


def distinct_input(rng, shape):
    """Per (sample, channel): a shuffled evenly spaced grid over [-2, 2] plus a small jitter, so no two
    values of one max-pooling window are within ~0.03 of each other and the argmax is never ambiguous."""
    n, c = shape[0], shape[-1]
    count = int(np.prod(shape[1:-1]))
    spacing = 4.0 / count
    x = np.empty((n, count, c))
    for i in range(n):
        for j in range(c):
            x[i, :, j] = -2.0 + spacing * rng.permutation(count) + rng.uniform(0, 0.25 * spacing, count)
    return x.reshape(shape)


def pre_activation(cfg, weights, x):
    """Value fed to the layer's activation (a twin layer with a linear activation), to keep it off kinks."""
    if cfg["type"] == "activation":
        return x
    twin = keras_layer({**cfg, "activation": "linear"})
    twin.build(x.shape)
    twin.set_weights(weights)
    return twin(x).numpy()


def draw_layer_case(case, layer):
    """x and weights, redrawn (from the same generator) until no pre-activation sits near a kink."""
    rng = rng_for(case["name"])
    shape = (case["batch"], *case["input_shape"])
    for _ in range(100):
        x = f32(distinct_input(rng, shape) if case.get("distinct") else rng.standard_normal(shape))
        weights = [f32(random_weight(rng, w.name, w.shape)) for w in layer.weights]
        if case["layer"].get("activation", "linear") not in KINKED_ACTIVATIONS:
            return rng, x, weights
        if np.abs(pre_activation(case["layer"], weights, x)).min() >= KINK_GAP:
            return rng, x, weights
    raise RuntimeError(f"{case['name']}: could not keep pre-activations off the kink")


def layer_goldens(case):
    name, cfg, training = case["name"], case["layer"], case.get("training", False)
    layer = keras_layer(cfg)
    shape = (case["batch"], *case["input_shape"])
    layer.build(shape)
    rng, x, weights = draw_layer_case(case, layer)
    layer.set_weights(weights)
    dy = f32(rng.standard_normal(layer.compute_output_shape(shape)))

    out = {f"{name}.x": x}
    for variable, value in zip(layer.weights, weights):
        out[f"{name}.param.{variable.name}"] = value
    trainable = layer.trainable_weights
    x_t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y = layer(x_t, training=training)
        target = tf.reduce_sum(y * dy)
    grads = tape.gradient(target, [x_t] + trainable)
    out[f"{name}.y"] = y.numpy()
    out[f"{name}.dy"] = dy
    out[f"{name}.dx"] = grads[0].numpy()
    for variable, grad in zip(trainable, grads[1:]):
        out[f"{name}.grad.{variable.name}"] = grad.numpy()
    if training:
        for variable in layer.non_trainable_weights:   # state after one training call (moving statistics)
            out[f"{name}.after.{variable.name}"] = variable.numpy()
    if cfg.get("kernel_regularizer"):
        with tf.GradientTape() as tape:
            penalty = tf.add_n(layer.losses)
        out[f"{name}.penalty"] = penalty.numpy().reshape(1)
        out[f"{name}.grad_penalty.kernel"] = tape.gradient(penalty, layer.kernel).numpy()
    check_layer_with_numpy(case, out)
    metadata = {name: toml_body(cfg), f"{name}.input_shape": json.dumps(case["input_shape"]),
                f"{name}.training": "true" if training else "false"}
    return out, metadata


# ---------------------------------------------------------------------------------------------- NumPy references

def same_padding(size, kernel, stride):
    """TensorFlow's SAME: ceil(size / stride) outputs, padding total split with the extra one AFTER."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


def windows(size, kernel, stride, padding):
    """(start, stop) of every output window along one axis, clipped to the real input (padding excluded)."""
    if padding == "same":
        out, before = same_padding(size, kernel, stride)
    else:
        out, before = (size - kernel) // stride + 1, 0
    return [(max(i * stride - before, 0), min(i * stride - before + kernel, size), i * stride - before)
            for i in range(out)]


def pair(v):
    return list(v) if isinstance(v, (list, tuple)) else [v, v]


def np_activation(name, z):
    erf = np.vectorize(math.erf)
    selu_alpha, selu_scale = 1.6732632423543772, 1.0507009873554805
    sigmoid = 1 / (1 + np.exp(-z))
    table = {
        "linear": lambda: z, "relu": lambda: np.maximum(z, 0), "sigmoid": lambda: sigmoid, "tanh": lambda: np.tanh(z),
        "softmax": lambda: np_softmax(z),
        "elu": lambda: np.where(z > 0, z, np.expm1(z)),
        "selu": lambda: selu_scale * np.where(z > 0, z, selu_alpha * np.expm1(z)),
        "gelu": lambda: 0.5 * z * (1 + erf(z / math.sqrt(2))),
        "silu": lambda: z * sigmoid, "swish": lambda: z * sigmoid, "softplus": lambda: np.log1p(np.exp(z)),
        "leaky_relu": lambda: np.where(z > 0, z, 0.2 * z),
    }
    return table[name]()


def np_conv2d(x, kernel, bias, strides, padding):
    kh, kw = kernel.shape[:2]
    sh, sw = strides
    rows, cols = windows(x.shape[1], kh, sh, padding), windows(x.shape[2], kw, sw, padding)
    y = np.zeros((x.shape[0], len(rows), len(cols), kernel.shape[3]))
    for i, (r0, r1, rs) in enumerate(rows):
        for j, (c0, c1, cs) in enumerate(cols):
            patch = x[:, r0:r1, c0:c1, :]
            y[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, kernel[r0 - rs:r1 - rs, c0 - cs:c1 - cs])
    return y + (bias if bias is not None else 0)


def np_conv2d_backward(x, kernel, dz, strides, padding):
    """(dx, dkernel) of sum(conv(x, kernel) * dz), the same windows run backwards."""
    kh, kw = kernel.shape[:2]
    rows, cols = windows(x.shape[1], kh, strides[0], padding), windows(x.shape[2], kw, strides[1], padding)
    dx, dk = np.zeros_like(x), np.zeros_like(kernel)
    for i, (r0, r1, rs) in enumerate(rows):
        for j, (c0, c1, cs) in enumerate(cols):
            k = kernel[r0 - rs:r1 - rs, c0 - cs:c1 - cs]
            dx[:, r0:r1, c0:c1, :] += np.einsum("no,hwco->nhwc", dz[:, i, j, :], k)
            dk[r0 - rs:r1 - rs, c0 - cs:c1 - cs] += np.einsum("nhwc,no->hwco", x[:, r0:r1, c0:c1, :], dz[:, i, j, :])
    return dx, dk


def np_pool(x, dy, pool_size, strides, padding, kind):
    """(y, dx) of max or average pooling; the average counts only the real (unpadded) inputs."""
    rows = windows(x.shape[1], pool_size[0], strides[0], padding)
    cols = windows(x.shape[2], pool_size[1], strides[1], padding)
    y = np.zeros((x.shape[0], len(rows), len(cols), x.shape[3]))
    dx = np.zeros_like(x)
    for i, (r0, r1, _) in enumerate(rows):
        for j, (c0, c1, _) in enumerate(cols):
            patch = x[:, r0:r1, c0:c1, :]
            if kind == "maxpool2d":
                y[:, i, j, :] = patch.max(axis=(1, 2))
                dx[:, r0:r1, c0:c1, :] += (patch == y[:, i, j, :][:, None, None, :]) * dy[:, i, j, :][:, None, None, :]
            else:
                y[:, i, j, :] = patch.mean(axis=(1, 2))
                dx[:, r0:r1, c0:c1, :] += dy[:, i, j, :][:, None, None, :] / ((r1 - r0) * (c1 - c0))
    return y, dx


def check_layer_with_numpy(case, out):
    cfg, name = case["layer"], case["name"]
    x = out[f"{name}.x"].astype(np.float64)
    p = {k.split(".param.")[1]: v.astype(np.float64) for k, v in out.items() if ".param." in k}
    kind = cfg["type"]
    dy = out[f"{name}.dy"].astype(np.float64)
    if kind == "conv2d":
        strides, padding = pair(cfg.get("strides", 1)), cfg.get("padding", "valid")
        z = np_conv2d(x, p["kernel"], p.get("bias"), strides, padding)
        y = np_activation(cfg.get("activation", "linear"), z)
        if cfg.get("activation", "linear") in ("linear", "relu"):
            dz = dy * (z > 0) if cfg.get("activation") == "relu" else dy
            dx, dk = np_conv2d_backward(x, p["kernel"], dz, strides, padding)
            check_close(f"{name} dx", out[f"{name}.dx"], dx)
            check_close(f"{name} grad kernel", out[f"{name}.grad.kernel"], dk)
    elif kind == "dense":
        y = np_activation(cfg.get("activation", "linear"), x @ p["kernel"] + p.get("bias", 0))
    elif kind in ("maxpool2d", "avgpool2d"):
        size = pair(cfg["pool_size"])
        y, dx = np_pool(x, dy, size, pair(cfg.get("strides", size)), cfg.get("padding", "valid"), kind)
        check_close(f"{name} dx", out[f"{name}.dx"], dx)
    elif kind == "global_avgpool2d":
        y = x.mean(axis=(1, 2))
    elif kind == "global_maxpool2d":
        y = x.max(axis=(1, 2))
    elif kind == "flatten":
        y = x.reshape(x.shape[0], -1)
    elif kind == "upsampling2d":
        sh, sw = pair(cfg.get("size", 2))
        y = x.repeat(sh, axis=1).repeat(sw, axis=2)
        dx = dy.reshape(x.shape[0], x.shape[1], sh, x.shape[2], sw, x.shape[3]).sum(axis=(2, 4))
        check_close(f"{name} dx", out[f"{name}.dx"], dx)
    elif kind == "batchnorm":
        axes = tuple(range(x.ndim - 1))
        momentum, epsilon = cfg.get("momentum", 0.99), cfg.get("epsilon", 0.001)
        if case.get("training"):
            mean, var = x.mean(axis=axes), x.var(axis=axes)  # biased variance
            check_close(f"{name} moving_mean", out[f"{name}.after.moving_mean"],
                        p["moving_mean"] * momentum + mean * (1 - momentum))
            check_close(f"{name} moving_variance", out[f"{name}.after.moving_variance"],
                        p["moving_variance"] * momentum + var * (1 - momentum))
        else:
            mean, var = p["moving_mean"], p["moving_variance"]
        y = (x - mean) / np.sqrt(var + epsilon) * p.get("gamma", 1.0) + p.get("beta", 0.0)
    elif kind == "activation":
        y = np_activation(cfg["activation"], x)
    else:
        raise ValueError(kind)
    check_close(f"{name} y", out[f"{name}.y"], y)
    spec = cfg.get("kernel_regularizer")
    if spec:
        k = p["kernel"]
        penalty = spec.get("l1", 0) * np.abs(k).sum() + spec.get("l2", 0) * (k ** 2).sum()
        check_close(f"{name} penalty", out[f"{name}.penalty"], [penalty])
        check_close(f"{name} grad_penalty", out[f"{name}.grad_penalty.kernel"],
                    spec.get("l1", 0) * np.sign(k) + 2 * spec.get("l2", 0) * k)
    if kind == "dense" and cfg.get("activation", "linear") == "linear":
        check_close(f"{name} dx", out[f"{name}.dx"], dy @ p["kernel"].T)
        check_close(f"{name} grad kernel", out[f"{name}.grad.kernel"], x.T @ dy)


# ---------------------------------------------------------------------------------------------- losses

N_SAMPLES, N_CLASSES = 6, 5

LOSS_CASES = [
    dict(name="categorical_crossentropy", loss=dict(name="categorical_crossentropy"), inputs="probabilities"),
    dict(name="categorical_crossentropy_ls01", loss=dict(name="categorical_crossentropy", label_smoothing=0.1),
         inputs="probabilities"),
    dict(name="categorical_crossentropy_logits", loss=dict(name="categorical_crossentropy", from_logits=True),
         inputs="logits"),
    dict(name="categorical_crossentropy_logits_ls02",
         loss=dict(name="categorical_crossentropy", label_smoothing=0.2, from_logits=True), inputs="logits"),
    dict(name="mean_squared_error", loss=dict(name="mean_squared_error"), inputs="probabilities"),
    dict(name="mean_squared_error_raw", loss=dict(name="mean_squared_error"), inputs="raw"),
    dict(name="mean_absolute_error", loss=dict(name="mean_absolute_error"), inputs="probabilities"),
    dict(name="mean_absolute_error_raw", loss=dict(name="mean_absolute_error"), inputs="raw"),
    dict(name="categorical_hinge", loss=dict(name="categorical_hinge"), inputs="probabilities"),
    dict(name="categorical_hinge_raw", loss=dict(name="categorical_hinge"), inputs="raw"),
    dict(name="kl_divergence", loss=dict(name="kl_divergence"), inputs="probabilities"),
]


def keras_loss(cfg):
    name = cfg["name"]
    if name == "categorical_crossentropy":
        return lambda t, p: keras.losses.categorical_crossentropy(
            t, p, from_logits=cfg.get("from_logits", False), label_smoothing=cfg.get("label_smoothing", 0.0))
    return {"mean_squared_error": keras.losses.mean_squared_error,
            "mean_absolute_error": keras.losses.mean_absolute_error,
            "categorical_hinge": keras.losses.categorical_hinge,
            "kl_divergence": keras.losses.kl_divergence}[name]


def np_softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def off_kinks(loss_name, y_pred, onehot):
    """No value within KINK_GAP of a kink: abs for mean_absolute_error; for categorical_hinge
    = max(neg - pos + 1, 0), neg = max((1 - t) * p) (the target's own entry counts as 0 there), neither a
    tie for that max nor a margin neg - pos + 1 near 0."""
    if loss_name == "mean_absolute_error":
        return np.abs(y_pred - onehot).min() >= KINK_GAP
    if loss_name == "categorical_hinge":
        top2 = np.sort((1 - onehot) * y_pred, axis=-1)[:, -2:]
        margin = top2[:, 1] - (onehot * y_pred).sum(-1) + 1
        return (top2[:, 1] - top2[:, 0]).min() >= KINK_GAP and np.abs(margin).min() >= KINK_GAP
    return True


def draw_loss_inputs(case, rng, labels, onehot):
    """(y_pred, logits or None). Probability inputs are float32 NumPy softmaxes of logits ~ normal * 2;
    raw inputs are normal * 1.5. Redrawn from the same generator until off_kinks."""
    loss_name = case["loss"]["name"]
    for _ in range(100):
        if case["inputs"] == "raw":
            y_pred, logits = rng.standard_normal((N_SAMPLES, N_CLASSES)) * 1.5, None
            if loss_name == "categorical_hinge":
                y_pred[2] = np.where(onehot[2] == 1, y_pred[2], -np.abs(y_pred[2]) - 0.1)  # neg = the target's 0
                y_pred[3, labels[3]] = (y_pred[3] * (1 - onehot[3])).max() + 1.5          # margin met: loss 0
            y_pred = f32(y_pred)
        else:
            logits = rng.standard_normal((N_SAMPLES, N_CLASSES)) * 2
            if case["inputs"] == "probabilities" and loss_name in ("categorical_crossentropy", "kl_divergence"):
                # below Keras's clipping epsilon 1e-7: sample 0's target probability, a non-target one of sample 1
                logits[0, labels[0]] = logits[0].max() - 22
                logits[1, (labels[1] + 1) % N_CLASSES] = logits[1].max() - 22
            logits = f32(logits)
            if case["inputs"] == "logits":
                y_pred, logits = logits, None
            else:
                y_pred = f32(np_softmax(logits))
        if off_kinks(loss_name, y_pred, onehot):
            return y_pred, logits
    raise RuntimeError(f"{case['name']}: could not keep y_pred off the kinks")


def np_loss(cfg, onehot, y_pred):
    name, p = cfg["name"], y_pred.astype(np.float64)
    eps = 1e-7
    if name == "categorical_crossentropy":
        ls = cfg.get("label_smoothing", 0.0)
        t = onehot * (1 - ls) + ls / N_CLASSES
        if cfg.get("from_logits"):
            return -(t * np.log(np_softmax(p))).sum(-1)
        return -(t * np.log(np.clip(p / p.sum(-1, keepdims=True), eps, 1 - eps))).sum(-1)
    if name == "mean_squared_error":
        return ((onehot - p) ** 2).mean(-1)
    if name == "mean_absolute_error":
        return np.abs(onehot - p).mean(-1)
    if name == "categorical_hinge":
        return np.maximum(((1 - onehot) * p).max(-1) - (onehot * p).sum(-1) + 1, 0)
    if name == "kl_divergence":
        t, q = np.clip(onehot, eps, 1), np.clip(p, eps, 1)
        return (t * np.log(t / q)).sum(-1)
    raise ValueError(name)


def loss_goldens(case):
    name, cfg = case["name"], case["loss"]
    rng = rng_for(name)
    labels = rng.integers(0, N_CLASSES, N_SAMPLES)
    onehot = f32(np.eye(N_CLASSES)[labels])
    y_pred, logits = draw_loss_inputs(case, rng, labels, onehot)
    fn = keras_loss(cfg)
    y_true = tf.constant(onehot)

    p = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(p)
        loss = fn(y_true, p)
        total = tf.reduce_sum(loss)
    out = {f"{name}.labels": labels, f"{name}.y_pred": y_pred, f"{name}.loss": loss.numpy(),
           f"{name}.grad": tape.gradient(total, p).numpy()}
    if logits is not None:
        z = tf.constant(logits)
        with tf.GradientTape() as tape:
            tape.watch(z)
            total = tf.reduce_sum(fn(y_true, tf.nn.softmax(z)))
        out[f"{name}.logits"] = logits
        out[f"{name}.grad_logits"] = tape.gradient(total, z).numpy()
    check_close(f"{name} loss", out[f"{name}.loss"], np_loss(cfg, onehot, y_pred))
    return out, {name: toml_body(cfg)}


# ---------------------------------------------------------------------------------------------- schedules

INITIAL_LEARNING_RATE = 0.001
STEPS = [0, 1, 2, 5, 9, 10, 11, 50, 99, 100, 101, 150, 250, 999, 1000, 5000]

SCHEDULE_CASES = [
    dict(name="exponential_decay", schedule=dict(name="exponential_decay", decay_steps=100, decay_rate=0.5)),
    dict(name="exponential_decay_staircase",
         schedule=dict(name="exponential_decay", decay_steps=100, decay_rate=0.5, staircase=True)),
    dict(name="cosine_decay", schedule=dict(name="cosine_decay", decay_steps=1000, alpha=0.1)),
    dict(name="cosine_decay_warmup",
         schedule=dict(name="cosine_decay", decay_steps=1000, warmup_target=0.01, warmup_steps=100)),
    dict(name="cosine_decay_warmup_alpha",
         schedule=dict(name="cosine_decay", decay_steps=1000, alpha=0.1, warmup_target=0.01, warmup_steps=100)),
    dict(name="piecewise_constant",
         schedule=dict(name="piecewise_constant", boundaries=[100, 1000], values=[0.1, 0.01, 0.001])),
]


def keras_schedule(cfg, lr):
    args = {k: v for k, v in cfg.items() if k != "name"}
    if cfg["name"] == "exponential_decay":
        return keras.optimizers.schedules.ExponentialDecay(lr, **args)
    if cfg["name"] == "cosine_decay":
        return keras.optimizers.schedules.CosineDecay(lr, **args)
    if cfg["name"] == "piecewise_constant":
        return keras.optimizers.schedules.PiecewiseConstantDecay(**args)
    raise ValueError(cfg["name"])


def np_schedule(cfg, lr, step):
    if cfg["name"] == "exponential_decay":
        p = step / cfg["decay_steps"]
        return lr * cfg["decay_rate"] ** (math.floor(p) if cfg.get("staircase") else p)
    if cfg["name"] == "cosine_decay":
        alpha, decay = cfg.get("alpha", 0.0), cfg["decay_steps"]
        warmup, target = cfg.get("warmup_steps", 0), cfg.get("warmup_target")
        if target is None:
            start, t = lr, min(step, decay)
        elif step < warmup:
            return lr + (target - lr) * step / warmup
        else:
            start, t = target, min(step, decay + warmup) - warmup
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t / decay)) + alpha)
    if cfg["name"] == "piecewise_constant":
        b, v = cfg["boundaries"], cfg["values"]
        return v[sum(step > x for x in b)]  # values[i] for b[i-1] < step <= b[i]
    raise ValueError(cfg["name"])


def schedule_goldens(case):
    name, cfg = case["name"], case["schedule"]
    schedule = keras_schedule(cfg, INITIAL_LEARNING_RATE)
    # Keras's optimizers call their schedule with `iterations`, an int64 variable.
    lr = [float(schedule(tf.constant(step, tf.int64))) for step in STEPS]
    check_close(f"{name} lr", lr, [np_schedule(cfg, INITIAL_LEARNING_RATE, s) for s in STEPS], tol=1e-6)
    metadata = {name: toml_body(cfg), f"{name}.initial_learning_rate": repr(INITIAL_LEARNING_RATE)}
    return {f"{name}.steps": STEPS, f"{name}.lr": lr}, metadata


# ---------------------------------------------------------------------------------------------- main

def build(cases, make):
    tensors = {}
    metadata = {"cases": json.dumps([c["name"] for c in cases]), "keras_version": keras.__version__,
                "tensorflow_version": tf.__version__}
    for case in cases:
        t, m = make(case)
        tensors.update(t)
        metadata.update(m)
    return tensors, metadata


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "Tests", "Goldens")
    os.makedirs(out_dir, exist_ok=True)
    for file_name, cases, make in [("layers.safetensors", LAYER_CASES, layer_goldens),
                                   ("losses.safetensors", LOSS_CASES, loss_goldens),
                                   ("schedules.safetensors", SCHEDULE_CASES, schedule_goldens)]:
        tensors, metadata = build(cases, make)
        path = save(out_dir, file_name, tensors, metadata)
        print(f"{path}: {len(cases)} cases, {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
