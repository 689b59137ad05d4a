"""Writes Keras golden values for the preprocessing and augmentation layers to preprocessing.safetensors.

usage: .build/venv-python/bin/python Tests/python/make_preprocessing_goldens.py [OUT_DIR]   (default: Tests/Goldens)

Same set-up, conventions and helpers as make_keras_goldens.py (Keras 3.15.1 on TensorFlow 2.21.0, CPU,
oneDNN off; each case's config in the metadata as a TOML body; numbers from default_rng(crc32(case))).
Cases (Tests/Goldens/README.md lists the tensors):
  rescaling, normalization, zero_padding2d  the layer called in inference: x, y, dy and dx = d sum(y * dy) / dx.
  random_flip, random_translation,          Keras's transform for a given draw, called through the layer's
  random_crop                               transform_images(x, transformation, training=True): the per-sample
                                            draw (`flips`, `shifts` [rows, columns], `corners` [top, left]), x and
                                            y_train; and y for the layer called in inference (random_crop: Keras's
                                            CenterCrop, the rule its docs give, since 3.15's RandomCrop returns its
                                            input uncropped at inference).
  normalization_adapt                       23 images of random bytes (uint8 values stored as float32), Keras's
                                            Normalization.adapt mean and variance of byte / 255, and the float64 ones.
"""
import json
import os
import sys

from make_keras_goldens import f32, rng_for, save, toml_body, tf, keras  # noqa: E402  (sets TF's environment first)

import numpy as np  # noqa: E402

CASES = []


def case(name, kind, input_shape, **table):
    CASES.append({"name": name, "kind": kind, "input_shape": input_shape, "table": {"type": kind, **table}})


case("rescaling", "rescaling", [2, 4, 5, 3], scale=0.00392156862745098, offset=-0.5)
case("rescaling_default_offset", "rescaling", [3, 7], scale=-2.5)
case("normalization", "normalization", [2, 3, 4, 3], mean=[0.5, -1.25, 3.0], variance=[0.25, 4.0, 1e-16])
case("normalization_scalar", "normalization", [3, 5], mean=2.0, variance=9.0)
case("zero_padding2d", "zero_padding2d", [2, 3, 4, 2], padding=2)
case("zero_padding2d_pair", "zero_padding2d", [2, 3, 4, 2], padding=[1, 3])
case("zero_padding2d_sides", "zero_padding2d", [2, 3, 4, 2], padding=[[1, 0], [2, 3]])
for mode in ["horizontal", "vertical", "horizontal_and_vertical"]:
    case(f"random_flip_{mode}", "random_flip", [3, 4, 5, 2], mode=mode)
SHIFTS = [[2, -3], [-5, 6], [5, -6], [0, 0], [-1, 4], [3, 1], [-4, -2], [1, -6]]
for fill in ["reflect", "wrap", "constant", "nearest"]:
    extra = {"fill_value": 0.75} if fill == "constant" else {}
    case(f"random_translation_{fill}", "random_translation", [len(SHIFTS), 5, 6, 2],
         height_factor=1.0, width_factor=1.0, fill_mode=fill, interpolation="nearest", **extra)
case("random_crop", "random_crop", [4, 5, 6, 2], height=3, width=2)
case("random_crop_odd", "random_crop", [3, 7, 4, 1], height=4, width=4)


def keras_layer(c):
    t = {k: v for k, v in c["table"].items() if k != "type"}
    if "padding" in t and isinstance(t["padding"], list):
        t["padding"] = tuple(tuple(p) if isinstance(p, list) else p for p in t["padding"])
    cls = {"rescaling": "Rescaling", "normalization": "Normalization", "zero_padding2d": "ZeroPadding2D",
           "random_flip": "RandomFlip", "random_translation": "RandomTranslation", "random_crop": "RandomCrop"}[c["kind"]]
    return getattr(keras.layers, cls)(**t)


def make(c):
    name, rng = c["name"], rng_for(c["name"])
    x = f32(rng.uniform(-2, 2, size=c["input_shape"]))
    layer = keras_layer(c)
    tensors = {f"{name}.x": x}
    metadata = {name: toml_body(c["table"]), f"{name}.input_shape": json.dumps(c["input_shape"][1:])}
    batch = c["input_shape"][0]
    if c["kind"] in ("rescaling", "normalization", "zero_padding2d"):
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=False)
            dy = f32(rng.uniform(-1, 1, size=y.shape))
            total = tf.reduce_sum(y * dy)
        tensors.update({f"{name}.y": np.asarray(y), f"{name}.dy": dy, f"{name}.dx": np.asarray(tape.gradient(total, xt))})
    elif c["kind"] == "random_flip":
        flips = rng.uniform(size=batch) < 0.5
        flips[0], flips[1] = True, False
        y = layer.transform_images(x, {"flips": flips.reshape(batch, 1, 1, 1)}, training=True)
        tensors.update({f"{name}.flips": flips.astype(np.float32), f"{name}.y_train": np.asarray(y),
                        f"{name}.y": np.asarray(layer(x, training=False))})
        want = x.copy()
        for n in np.nonzero(flips)[0]:
            if c["table"]["mode"] != "vertical":
                want[n] = want[n, :, ::-1]
            if c["table"]["mode"] != "horizontal":
                want[n] = want[n, ::-1]
        assert np.array_equal(want, np.asarray(y)), name
    elif c["kind"] == "random_translation":
        shifts = np.array(SHIFTS, dtype=np.float32)
        translations = shifts[:, ::-1].copy()  # Keras's order: [width, height]
        y = layer.transform_images(x, {"translations": translations, "input_shape": x.shape}, training=True)
        tensors.update({f"{name}.shifts": shifts, f"{name}.y_train": np.asarray(y),
                        f"{name}.y": np.asarray(layer(x, training=False))})
    elif c["kind"] == "random_crop":
        h, w = c["table"]["height"], c["table"]["width"]
        corners = np.array([[rng.integers(0, x.shape[1] - h + 1), rng.integers(0, x.shape[2] - w + 1)] for _ in range(batch)])
        corners[0] = [0, 0]
        corners[-1] = [x.shape[1] - h, x.shape[2] - w]
        y = np.concatenate([np.asarray(layer.transform_images(x[n:n + 1], (int(t), int(l)), training=True))
                            for n, (t, l) in enumerate(corners)])
        tensors.update({f"{name}.corners": corners.astype(np.float32), f"{name}.y_train": y,
                        f"{name}.y": np.asarray(keras.layers.CenterCrop(h, w)(x))})
    return tensors, metadata


def adapt_golden(metadata):
    """Keras's Normalization.adapt on images byte / 255 (float32), in batches of 7 as a data set would come."""
    rng = rng_for("normalization_adapt")
    pixels = rng.integers(0, 256, size=(23, 4, 5, 3)).astype(np.uint8)
    pixels[..., 2] = rng.integers(100, 103, size=pixels.shape[:-1])   # a low-variance channel
    layer = keras.layers.Normalization()
    layer.adapt(tf.data.Dataset.from_tensor_slices(pixels.astype(np.float32) / 255).batch(7))
    mean, variance = (np.asarray(w).reshape(-1) for w in (layer.mean, layer.variance))
    exact = pixels.astype(np.float64) / 255
    assert np.allclose(mean, exact.mean(axis=(0, 1, 2)), rtol=1e-5) and np.allclose(variance, exact.var(axis=(0, 1, 2)), rtol=1e-4)
    metadata["normalization_adapt.shape"] = json.dumps(list(pixels.shape))
    return {"normalization_adapt.pixels": pixels, "normalization_adapt.mean": mean, "normalization_adapt.variance": variance,
            "normalization_adapt.exact_mean": exact.mean(axis=(0, 1, 2)), "normalization_adapt.exact_variance": exact.var(axis=(0, 1, 2))}


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "Tests", "Goldens")
    tensors = {}
    metadata = {"cases": json.dumps([c["name"] for c in CASES]), "keras_version": keras.__version__,
                "tensorflow_version": tf.__version__}
    for c in CASES:
        t, m = make(c)
        tensors.update(t)
        metadata.update(m)
    tensors.update(adapt_golden(metadata))
    path = save(out_dir, "preprocessing.safetensors", tensors, metadata)
    print(f"{path}: {len(CASES)} cases, {len(tensors)} tensors, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
