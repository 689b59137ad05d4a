"""Writes Keras golden file names for model_checkpoint's filepath and save_freq: for fixed sequences of
monitored values, the files Keras's own ModelCheckpoint saves to, in order.

usage: .build/venv-python/bin/python Tests/python/make_checkpoint_name_goldens.py [OUT]
       (default: Tests/Goldens/checkpoint_names.json)

Each case fits a tiny Keras model (Dense on 8 random samples, batch 2: 4 steps an epoch, SGD) with
ModelCheckpoint(save_weights_only=True). A callback placed before it overwrites the figures in the logs
(after each step with an integer save_freq, after each epoch otherwise) with the case's values, so Keras
formats and compares exactly those; model.save_weights is replaced by a recorder of the paths. Keras
needs names ending in .weights.h5; ours end in .safetensors, which CoreTests.CheckpointNameGoldenTests
puts in their place. Tests/Goldens/README.md describes the file.
"""

import json
import os
import sys

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402

STEPS, EPOCHS = 4, 3
STEP_LOSSES = [0.9, 0.8, 0.85, 0.7, 0.75, 0.6, 0.65, 0.62, 0.5, 0.55, 0.123456789, 0.4]
STEP_ACCURACIES = [0.5, 0.5, 0.6, 0.55, 0.7, 0.65, 0.7, 0.75, 0.7, 0.8, 0.85, 0.8]
EPOCH_FIGURES = dict(loss=[0.5, 0.6, 0.4], accuracy=[0.7, 0.65, 0.8], val_loss=[0.45678, 0.41, 0.42], val_accuracy=[0.6, 0.7, 0.7])

CASES = [
    ("every_5_steps", dict(filepath="w-{epoch:02d}-{batch:03d}-{loss:.4f}", save_freq=5, save_best_only=False)),
    ("best_loss_every_2", dict(filepath="b{epoch}_{batch}_{loss}", save_freq=2, save_best_only=True, monitor="loss")),
    ("best_accuracy_every_3", dict(filepath="a-{accuracy:.3e}-{batch:02d}", save_freq=3, save_best_only=True, monitor="accuracy", mode="max")),
    ("every_epoch", dict(filepath="e/{epoch:03d}-{val_loss:.4f}-{val_accuracy:g}", save_best_only=False)),
    ("best_epoch", dict(filepath="best-{epoch}-{val_loss:08.3f}", save_best_only=True, monitor="val_loss")),
    ("fixed_name", dict(filepath="fixed", save_best_only=True, monitor="loss")),
]


class Inject(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        step = self.epoch * STEPS + batch
        logs["loss"], logs["accuracy"] = STEP_LOSSES[step], STEP_ACCURACIES[step]

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        for name, values in EPOCH_FIGURES.items():
            logs[name] = values[epoch]


class Checkpoint(keras.callbacks.ModelCheckpoint):
    """Keras 3.15 sets the comparison up at the first epoch's end only, so a step save with
    save_best_only fails before it (monitor_op is None); set up at the start, as the epoch does."""

    def on_train_begin(self, logs=None):
        self._set_monitor_op()


def run(name, keys):
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(1).normal(size=(2 * STEPS, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(2 * STEPS) % 2, 2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="categorical_crossentropy", metrics=["accuracy"])
    saved = []
    model.save_weights = lambda filepath, overwrite=True: saved.append(filepath)
    arguments = dict(keys, filepath=keys["filepath"] + ".weights.h5")
    tested = Checkpoint(save_weights_only=True, **arguments)
    model.fit(x, y, validation_data=(x, y), epochs=EPOCHS, batch_size=2, verbose=0, callbacks=[Inject(), tested])
    keys = dict(keys, filepath=keys["filepath"] + ".safetensors")
    config = "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items())
    return dict(name=name, config=config, saved=[path[: -len(".weights.h5")] + ".safetensors" for path in saved])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Goldens", "checkpoint_names.json")
    cases = [run(*case) for case in CASES]
    document = dict(keras_version=keras.__version__, steps_per_epoch=STEPS, epochs=EPOCHS,
                    step_losses=[repr(v) for v in STEP_LOSSES], step_accuracies=[repr(v) for v in STEP_ACCURACIES],
                    epoch_figures={k: [repr(v) for v in values] for k, values in EPOCH_FIGURES.items()}, cases=cases)
    with open(out, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
