"""Writes Keras golden values for the optimizers: weights after each of a few steps, with and without
weight_decay, with a schedule, and AdamW.

usage: .build/venv-python/bin/python Tests/python/make_optimizer_goldens.py [OUT_DIR]   (default: Tests/Goldens)

Same set-up and conventions as make_keras_goldens.py (whose helpers it uses); written with Keras 3.15.1
on TensorFlow 2.21.0 (CPU, oneDNN off). It writes optimizers.safetensors (Tests/Goldens/README.md lists
its tensors and metadata). Each case is one float32 variable of N weights, updated by Keras's optimizer
(built from our [optimizer] table by keras_model.keras_optimizer) with fixed random gradients. Before
writing, the Keras weights are checked against a float64 NumPy implementation of the same optimizer, so a
misreading of Keras's semantics (the decay's place, its learning rate) stops the script.
"""

import json
import os
import sys

import numpy as np

from make_keras_goldens import build, rng_for, save, toml_body, check_close, F32, keras_schedule  # sets TF's environment first
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_model import keras_optimizer  # noqa: E402

WEIGHTS = 7
STEPS = 5

OPTIMIZER_CASES = [
    dict(name="sgd", optimizer=dict(name="sgd", learning_rate=0.1)),
    dict(name="sgd_weight_decay", optimizer=dict(name="sgd", learning_rate=0.1, weight_decay=0.05)),
    dict(name="sgd_momentum_weight_decay", optimizer=dict(name="sgd", learning_rate=0.05, momentum=0.9, weight_decay=0.02)),
    dict(name="sgd_nesterov_weight_decay",
         optimizer=dict(name="sgd", learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.02)),
    dict(name="sgd_weight_decay_schedule", optimizer=dict(name="sgd", learning_rate=0.1, momentum=0.9, weight_decay=0.05),
         schedule=dict(name="piecewise_constant", boundaries=[2], values=[0.1, 0.01])),
    dict(name="rmsprop", optimizer=dict(name="rmsprop", learning_rate=0.01)),
    dict(name="rmsprop_weight_decay", optimizer=dict(name="rmsprop", learning_rate=0.01, weight_decay=0.1)),
    dict(name="adam", optimizer=dict(name="adam", learning_rate=0.01)),
    dict(name="adam_weight_decay", optimizer=dict(name="adam", learning_rate=0.01, weight_decay=0.1)),
    dict(name="adamw_defaults", optimizer=dict(name="adamw")),
    dict(name="adamw", optimizer=dict(name="adamw", learning_rate=0.02, weight_decay=0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
    dict(name="adamw_schedule", optimizer=dict(name="adamw", learning_rate=0.02, weight_decay=0.1),
         schedule=dict(name="exponential_decay", decay_steps=2, decay_rate=0.5)),
]

KERAS_DEFAULTS = {
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None),
    "rmsprop": dict(learning_rate=0.001, rho=0.9, epsilon=1e-7, weight_decay=None),
    "adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None),
    "adamw": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=0.004),
}


def np_steps(cfg, schedule_cfg, w0, grads):
    """The optimizer in float64, as Keras 3 documents it: decay w -= w * wd * lr (lr: this step's), then the update."""
    name = cfg["name"]
    p = dict(KERAS_DEFAULTS[name], **{k: v for k, v in cfg.items() if k != "name"})
    w = w0.astype(np.float64)
    state = [np.zeros_like(w), np.zeros_like(w)]
    out = []
    for step, g in enumerate(grads.astype(np.float64)):
        lr = p["learning_rate"]
        if schedule_cfg is not None:
            lr = float(keras_schedule(schedule_cfg, lr)(step))
        if p["weight_decay"] is not None:
            w = w - w * p["weight_decay"] * lr
        if name == "sgd":
            v = state[0]
            v[:] = p["momentum"] * v - lr * g
            w = w + (p["momentum"] * v - lr * g if p["nesterov"] else v) if p["momentum"] else w - lr * g
        elif name == "rmsprop":
            state[0] = p["rho"] * state[0] + (1 - p["rho"]) * g * g
            w = w - lr * g / np.sqrt(state[0] + p["epsilon"])
        else:
            t = step + 1
            state[0] += (g - state[0]) * (1 - p["beta_1"])
            state[1] += (g * g - state[1]) * (1 - p["beta_2"])
            alpha = lr * np.sqrt(1 - p["beta_2"] ** t) / (1 - p["beta_1"] ** t)
            w = w - alpha * state[0] / (np.sqrt(state[1]) + p["epsilon"])
        out.append(w.copy())
    return np.stack(out)


def optimizer_goldens(case):
    name, cfg, schedule_cfg = case["name"], case["optimizer"], case.get("schedule")
    rng = rng_for(name)
    w0 = rng.normal(0, 1, WEIGHTS).astype(F32)
    w0[0] = 0.0  # a zero weight stays zero under decay
    grads = rng.normal(0, 0.5, (STEPS, WEIGHTS)).astype(F32)
    config = dict(cfg)
    if schedule_cfg is not None:
        config["schedule"] = schedule_cfg
    optimizer = keras_optimizer({"optimizer": config})
    variable = keras.Variable(w0, dtype="float32", name="w")
    after = []
    for step in range(STEPS):
        optimizer.apply_gradients([(tf.constant(grads[step]), variable)])
        after.append(np.array(variable.numpy()))
    after = np.stack(after)
    check_close(f"{name} weights", after, np_steps(cfg, schedule_cfg, w0, grads), tol=1e-5)
    metadata = {name: toml_body(cfg)}
    if schedule_cfg is not None:
        metadata[f"{name}.schedule"] = toml_body(schedule_cfg)
    return {f"{name}.w0": w0, f"{name}.gradients": grads, f"{name}.w": after}, metadata


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "Tests", "Goldens")
    os.makedirs(out_dir, exist_ok=True)
    tensors, metadata = build(OPTIMIZER_CASES, optimizer_goldens)
    path = save(out_dir, "optimizers.safetensors", tensors, metadata)
    print(f"{path}: {len(OPTIMIZER_CASES)} cases, {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
