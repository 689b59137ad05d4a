"""Writes Keras golden decisions for the callbacks: for fixed sequences of monitored values, the epochs at
which Keras's own EarlyStopping, ReduceLROnPlateau and ModelCheckpoint act.

usage: .build/venv-python/bin/python Tests/python/make_callback_goldens.py [OUT]   (default: Tests/Goldens/callbacks.json)

Each case fits a tiny Keras model (Dense on 8 random samples, SGD) for len(values) epochs with the callback
under test. A callback placed before it overwrites logs[monitor] with the case's value for that epoch, so
Keras's callback sees exactly those numbers (Python floats); a callback placed after it records what it did.
Tests/Goldens/README.md describes the file; CoreTests.CallbackGoldenTests feeds the same values to ours.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

FLAT = [0.5] * 9

CASES = [
    # early_stopping
    ("es_improving", "early_stopping", dict(patience=2), "val_loss", [1.0, 0.9, 0.8, 0.7, 0.6]),
    ("es_plateau", "early_stopping", dict(patience=2), "val_loss", [1.0, 0.9, 0.95, 0.92, 0.91, 0.85, 0.9]),
    ("es_noise_patience0", "early_stopping", dict(), "val_loss", [0.5, 0.6, 0.4, 0.45, 0.3]),
    ("es_first_epoch_never_stops", "early_stopping", dict(), "val_loss", [0.5, 0.4, 0.4]),
    ("es_min_delta_edges", "early_stopping", dict(min_delta=0.1, patience=1), "val_loss", [1.0, 0.9, 0.8, 0.75, 0.65, 0.66, 0.5]),
    ("es_min_delta_float32", "early_stopping", dict(min_delta=1e-9, patience=1), "val_loss", [1.0, 1.0 - 5e-9, 0.99, 0.99 - 1e-8, 0.98]),
    ("es_negative_min_delta", "early_stopping", dict(min_delta=-0.05, patience=1), "loss", [1.0, 0.99, 0.97, 1.02, 0.9]),
    ("es_baseline", "early_stopping", dict(patience=2, baseline=0.5), "val_loss", [0.8, 0.7, 0.6, 0.55, 0.5, 0.4]),
    ("es_baseline_beaten", "early_stopping", dict(patience=1, baseline=0.75), "val_loss", [0.8, 0.7, 0.72, 0.6, 0.65, 0.66]),
    ("es_start_from_epoch", "early_stopping", dict(patience=1, start_from_epoch=2), "val_loss", [0.5, 0.9, 1.0, 0.8, 0.85, 0.9]),
    ("es_restore_best", "early_stopping", dict(patience=2, restore_best_weights=True), "val_loss", [0.5, 0.4, 0.45, 0.41, 0.3, 0.35, 0.36]),
    ("es_restore_no_stop", "early_stopping", dict(patience=3, restore_best_weights=True), "val_loss", [0.5, 0.3, 0.4, 0.35]),
    ("es_restore_start_from_epoch", "early_stopping", dict(patience=1, restore_best_weights=True, start_from_epoch=3),
     "val_loss", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
    ("es_restore_start_beyond_end", "early_stopping", dict(restore_best_weights=True, start_from_epoch=9), "val_loss", [0.3, 0.2, 0.1]),
    ("es_restore_baseline", "early_stopping", dict(patience=1, restore_best_weights=True, baseline=0.1), "val_loss", [0.5, 0.4, 0.45, 0.3]),
    ("es_max_mode", "early_stopping", dict(patience=1, mode="max"), "val_accuracy", [0.5, 0.6, 0.6, 0.55, 0.7]),
    ("es_auto_accuracy", "early_stopping", dict(patience=1), "accuracy", [0.5, 0.7, 0.69, 0.71, 0.70, 0.70]),
    ("es_min_mode_on_accuracy", "early_stopping", dict(patience=1, mode="min"), "val_accuracy", [0.5, 0.7, 0.8, 0.4]),
    # reduce_lr_on_plateau (SGD, learning_rate 0.1)
    ("rlr_plateau", "reduce_lr_on_plateau", dict(patience=2, factor=0.5), "val_loss", [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8]),
    ("rlr_defaults", "reduce_lr_on_plateau", dict(), "val_loss", [1.0] + [0.99995] * 13),
    ("rlr_cooldown", "reduce_lr_on_plateau", dict(patience=1, cooldown=2, factor=0.5), "val_loss", FLAT),
    ("rlr_cooldown_improving", "reduce_lr_on_plateau", dict(patience=1, cooldown=1, factor=0.5), "val_loss",
     [1.0, 1.0, 0.9, 0.8, 0.8, 0.8, 0.7, 0.7]),
    ("rlr_min_lr", "reduce_lr_on_plateau", dict(patience=1, factor=0.5, min_lr=0.02), "val_loss", FLAT),
    ("rlr_min_lr_float32", "reduce_lr_on_plateau", dict(patience=1, factor=0.3, min_lr=0.0009), "val_loss", FLAT),
    ("rlr_min_delta", "reduce_lr_on_plateau", dict(patience=1, factor=0.2, min_delta=0.05), "val_loss", [1.0, 0.95, 0.9, 0.84, 0.8, 0.76]),
    ("rlr_max_mode", "reduce_lr_on_plateau", dict(patience=1, factor=0.5, mode="max"), "val_accuracy", [0.5, 0.6, 0.6, 0.7, 0.69, 0.68]),
    ("rlr_auto_accuracy", "reduce_lr_on_plateau", dict(patience=2, factor=0.25), "accuracy", [0.5, 0.6, 0.6, 0.59, 0.61, 0.61, 0.6]),
    # model_checkpoint
    ("mc_best_only", "model_checkpoint", dict(save_best_only=True), "val_loss", [1.0, 0.9, 0.95, 0.8, 0.8, 0.7]),
    ("mc_accuracy_auto", "model_checkpoint", dict(save_best_only=True), "val_accuracy", [0.5, 0.6, 0.55, 0.6, 0.65]),
    ("mc_threshold", "model_checkpoint", dict(save_best_only=True, initial_value_threshold=0.85), "val_loss", [1.0, 0.9, 0.8, 0.82, 0.7]),
    ("mc_every_epoch", "model_checkpoint", dict(save_best_only=False), "val_loss", [1.0, 1.1, 1.2]),
    ("mc_min_mode", "model_checkpoint", dict(save_best_only=True, mode="min"), "accuracy", [0.5, 0.4, 0.45, 0.3]),
]
LEARNING_RATE = 0.1


class Inject(keras.callbacks.Callback):
    def __init__(self, monitor, values):
        super().__init__()
        self.monitor, self.values = monitor, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.monitor] = self.values[epoch]


class Record(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.weights, self.rates = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


class RecordingCheckpoint(keras.callbacks.ModelCheckpoint):
    saves = []

    def _should_save_model(self, epoch, batch, logs, filepath):
        result = super()._should_save_model(epoch, batch, logs, filepath)
        if result:
            self.saves.append(epoch)
        return result


def toml(keys):
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        return repr(v)
    return "\n".join(f"{k} = {value(v)}" for k, v in keys.items())


def run(name, kind, keys, monitor, values, folder):
    keras.utils.set_random_seed(1)
    x = np.random.default_rng(1).normal(size=(8, 3)).astype("float32")
    y = keras.utils.to_categorical(np.arange(8) % 2, 2)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="categorical_crossentropy", metrics=["accuracy"])
    arguments = dict(keys, monitor=monitor)
    record = Record()
    if kind == "early_stopping":
        tested = keras.callbacks.EarlyStopping(**arguments)
    elif kind == "reduce_lr_on_plateau":
        tested = keras.callbacks.ReduceLROnPlateau(**arguments)
    else:
        RecordingCheckpoint.saves = []
        tested = RecordingCheckpoint(os.path.join(folder, name + ".weights.h5"), save_weights_only=True, **arguments)
    history = model.fit(x, y, validation_data=(x, y), epochs=len(values), batch_size=8, verbose=0,
                        callbacks=[Inject(monitor, values), tested, record])
    epochs_run = len(history.history["loss"])
    # Numbers as repr strings: exact in any JSON reader (Foundation's parser misses the last bit of some).
    result = dict(name=name, type=kind, config=toml(arguments), values=[repr(v) for v in values], epochs_run=epochs_run)
    if kind == "early_stopping":
        result["stopped_epoch"] = tested.stopped_epoch if epochs_run < len(values) else None
        final = model.get_weights()
        restored = [e for e, w in enumerate(record.weights) if all(np.array_equal(a, b) for a, b in zip(w, final))]
        last_is_final = restored and restored[-1] == epochs_run - 1
        result["restored_epoch"] = None if tested.best_weights is None else restored[0]
        if tested.best_weights is None:
            assert last_is_final
    elif kind == "reduce_lr_on_plateau":
        result["learning_rate"] = repr(LEARNING_RATE)
        result["rates"] = [repr(r) for r in record.rates]  # the rate after each epoch's end (what the next epoch uses)
    else:
        result["saves"] = list(RecordingCheckpoint.saves)
    return result


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Goldens", "callbacks.json")
    # The comparison the callbacks make is float32 (keras.ops on Python floats): say so, or stop.
    assert not bool(keras.ops.less(1.0 - 1e-9, 1.0)), "keras.ops.less no longer compares Python floats in float32"
    with tempfile.TemporaryDirectory() as folder:
        cases = [run(*case, folder) for case in CASES]
    document = dict(keras_version=keras.__version__, tensorflow_version=tf.__version__, cases=cases)
    with open(out, "w") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
