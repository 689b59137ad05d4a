"""The Keras model a convnet-dist config describes: build it, load our weights into it, train or evaluate it.

usage:
    python3 Tests/python/keras_model.py evaluate CONFIG WEIGHTS DATA_DIR
    python3 Tests/python/keras_model.py train CONFIG DATA_DIR [--epochs N] [--seed S]

Needs Keras 3 on TensorFlow, numpy and safetensors (see Tests/Goldens/README.md for the venv); Python 3.11+
for tomllib. Not part of CI, which has no TensorFlow; Tests/python/test_keras_interchange.py uses it when
TensorFlow is there. Set TF_ENABLE_ONEDNN_OPTS=0 for results that do not depend on oneDNN's kernels (this
module sets it when unset).

evaluate  builds the model of CONFIG (a convnet-dist TOML recipe), sets every weight by name from WEIGHTS
          (a safetensors file written by convnet-dist: RUN/model.safetensors or
          RUN/checkpoints/step-*.safetensors; `optimizer.*` tensors of a checkpoint are ignored, a missing
          or misshapen weight is an error), evaluates it on the 10,000 test images of DATA_DIR and prints
          one JSON object {"test_loss", "test_accuracy", "correct", "samples"}.
train     trains the model of CONFIG with Keras alone: keras.utils.set_random_seed(S) (default: the
          config's training.seed), Keras's own initialisers and shuffling, the config's batch size, loss,
          optimizer, clipnorm and schedule; prints one line per epoch with the test accuracy, then one JSON
          line with the final numbers.

DATA_DIR holds the four MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; Fashion-MNIST's too), or for a config with
`[data] dataset = "cifar10"` (or `format`) CIFAR-10's binary batches; pixels become x / 255 in float32, NHWC,
and labels one-hot, as convnet-dist reads them. A `normalization` layer with `adapt = true` is adapted to the
training images before training (Keras's adapt: float32 batch statistics, not convnet-dist's exact sums).

As a library: `build_model(config)` (config: the dict `load_config(path)` returns) gives a compiled
keras.Sequential (a functional keras.Model for a graph config) whose layer names are convnet-dist's weight
prefixes (the config's `name`s, else Keras's default names numbered per kind from 1: conv2d_1, dense_1, ...), so `load_weights(model, path)` can set
`<layer>.<weight>` tensors by name; `load_mnist(directory)` returns (x_train, y_train, x_test, y_test)
(`load_data(directory, config)`: MNIST or CIFAR-10, as the config says).
"""
import argparse
import gzip
import json
import os
import sys
import time
import tomllib

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

# convnet-dist layer type -> {"keras_class", "keras_name"}: the one table of layer kinds (layers.json). A layer's
# config keys are its Keras class's constructor arguments, so building it needs nothing more.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "layers.json")) as _table:
    LAYERS = {kind: entry for kind, entry in json.load(_table).items() if not kind.startswith("//")}

OPTIMIZER_KEYS = {
    "rmsprop": {"learning_rate", "rho", "epsilon", "weight_decay"},
    "sgd": {"learning_rate", "momentum", "nesterov", "weight_decay"},
    "adam": {"learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay"},
    "adamw": {"learning_rate", "weight_decay", "beta_1", "beta_2", "epsilon"},
}

SCHEDULE_KEYS = {
    "exponential_decay": {"decay_steps", "decay_rate", "staircase"},
    "cosine_decay": {"decay_steps", "alpha", "warmup_target", "warmup_steps"},
    "piecewise_constant": {"boundaries", "values"},
}

LOSS_KEYS = {
    "categorical_crossentropy": {"label_smoothing", "from_logits"},
    "mean_squared_error": set(),
    "mean_absolute_error": set(),
    "categorical_hinge": set(),
    "kl_divergence": set(),
}


class ConfigError(Exception):
    """A config the model cannot be built from."""


class WeightsError(Exception):
    """A weight file that does not fit the model: a missing, misshapen or unused tensor."""


def _allow_only(table, allowed, where):
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ConfigError("%s: unknown key %s (allowed: %s)" % (where, unknown[0], ", ".join(sorted(allowed))))


def load_config(path):
    """The config file as a dict (tomllib), with the defaults convnet-dist fills in for [training]."""
    with open(path, "rb") as f:
        config = tomllib.load(f)
    _allow_only(config, {"data", "model", "training", "optimizer", "loss"}, path)
    training = config.setdefault("training", {})
    _allow_only(training, {"epochs", "batch_size", "seed", "shuffle"}, "training")
    training.setdefault("epochs", 5)
    training.setdefault("batch_size", 64)
    training.setdefault("seed", 1)
    training.setdefault("shuffle", True)
    if "model" not in config:
        raise ConfigError("%s: missing [model] section" % path)
    return config


def _regularizer(spec, where):
    import keras
    if spec is None:
        return None
    _allow_only(spec, {"l1", "l2"}, where)
    if "l1" in spec and "l2" in spec:
        return keras.regularizers.L1L2(l1=spec["l1"], l2=spec["l2"])
    if "l1" in spec:
        return keras.regularizers.L1(spec["l1"])
    return keras.regularizers.L2(spec.get("l2", 0.0))


# Keras class name -> convnet-dist layer type.
LAYER_CLASSES = {entry["keras_class"]: kind for kind, entry in LAYERS.items()}

# Where convnet-dist's default differs from the Keras class's: random_translation shifts by whole pixels only.
CONVNET_DEFAULTS = {"random_translation": {"interpolation": "nearest"}}


def _centre_cropping_random_crop():
    """keras.layers.RandomCrop that keeps the centred height x width window at inference, as convnet-dist
    does (Keras 3.15's resizes the largest centred window of the crop's aspect ratio to height x width,
    which for a padded picture is the whole padded picture)."""
    import keras

    class RandomCrop(keras.layers.RandomCrop):
        def get_random_transformation(self, data, training=True, seed=None):
            if training:
                return super().get_random_transformation(data, training=training, seed=seed)
            shape = self.backend.shape(data["images"] if isinstance(data, dict) else data)
            return ((shape[self.height_axis] - self.height) // 2, (shape[self.width_axis] - self.width) // 2)

        def transform_images(self, images, transformation, training=True):
            return super().transform_images(images, transformation, training=True)

    return RandomCrop


def keras_layer(spec, name=None):
    """One Keras layer for one [[model.layers]] table: keras.layers.<keras_class>(<the table's keys>), Keras's
    defaults for unset keys (convnet-dist's where they differ: CONVNET_DEFAULTS), and a `*_regularizer` table
    as a Keras regularizer. `normalization`'s `adapt = true` builds an unadapted layer: adapt_layers sets it."""
    import keras
    kind = spec.get("type")
    if kind not in LAYERS:
        raise ConfigError("%s: unknown layer type %r (expected one of %s)" % (name, kind, ", ".join(LAYERS)))
    arguments = dict(CONVNET_DEFAULTS.get(kind, {}))
    arguments.update({key: _regularizer(value, "%s.%s" % (name, key)) if key.endswith("_regularizer") else value
                      for key, value in spec.items() if key not in ("type", "name", "inputs", "adapt")})
    cls = _centre_cropping_random_crop() if kind == "random_crop" else getattr(keras.layers, LAYERS[kind]["keras_class"])
    try:
        return cls(**arguments, name=name)
    except (TypeError, ValueError) as error:
        raise ConfigError("%s: %s" % (name or kind, error))


def layer_names(config):
    """Our weight-file prefixes, one per layer: the config's `name`, else Keras's default name numbered per kind
    from 1 among the unnamed layers."""
    counts, names = {}, []
    for index, spec in enumerate(config["model"]["layers"]):
        if spec.get("type") not in LAYERS:
            raise ConfigError("model.layers[%d]: unknown layer type %r" % (index, spec.get("type")))
        if "name" in spec:
            names.append(spec["name"])
            continue
        base = LAYERS[spec["type"]]["keras_name"]
        counts[base] = counts.get(base, 0) + 1
        names.append("%s_%d" % (base, counts[base]))
    return names


def keras_loss(config):
    import keras
    spec = dict(config.get("loss", {}))
    name = spec.pop("name", "categorical_crossentropy")
    if name not in LOSS_KEYS:
        raise ConfigError("loss.name: unknown loss %r" % name)
    _allow_only(spec, LOSS_KEYS[name], "loss")
    if name == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy(label_smoothing=spec.get("label_smoothing", 0.0),
                                                    from_logits=spec.get("from_logits", False))
    return {"mean_squared_error": keras.losses.MeanSquaredError, "mean_absolute_error": keras.losses.MeanAbsoluteError,
            "categorical_hinge": keras.losses.CategoricalHinge, "kl_divergence": keras.losses.KLDivergence}[name]()


def keras_schedule(spec, initial_learning_rate):
    import keras
    spec = dict(spec)
    name = spec.pop("name", None)
    if name not in SCHEDULE_KEYS:
        raise ConfigError("optimizer.schedule.name: unknown schedule %r (expected one of %s)"
                          % (name, ", ".join(SCHEDULE_KEYS)))
    _allow_only(spec, SCHEDULE_KEYS[name], "optimizer.schedule")
    schedules = keras.optimizers.schedules
    if name == "exponential_decay":
        return schedules.ExponentialDecay(initial_learning_rate, spec["decay_steps"], spec["decay_rate"],
                                          staircase=spec.get("staircase", False))
    if name == "cosine_decay":
        return schedules.CosineDecay(initial_learning_rate, spec["decay_steps"], alpha=spec.get("alpha", 0.0),
                                     warmup_target=spec.get("warmup_target"), warmup_steps=spec.get("warmup_steps", 0))
    return schedules.PiecewiseConstantDecay([int(b) for b in spec["boundaries"]], [float(v) for v in spec["values"]])


def keras_optimizer(config):
    """The config's optimizer with Keras's defaults for unset keys, its clipnorm and schedule."""
    import keras
    spec = dict(config.get("optimizer", {}))
    name = spec.pop("name", "rmsprop")
    if name not in OPTIMIZER_KEYS:
        raise ConfigError("optimizer.name: unknown optimizer %r (expected rmsprop, sgd, adam or adamw)" % name)
    clipnorm = spec.pop("clipnorm", None)
    schedule = spec.pop("schedule", None)
    _allow_only(spec, OPTIMIZER_KEYS[name], "optimizer")
    cls = {"rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam,
           "adamw": keras.optimizers.AdamW}[name]
    if "learning_rate" not in spec:
        spec["learning_rate"] = 0.01 if name == "sgd" else 0.001
    if schedule is not None:
        spec["learning_rate"] = keras_schedule(schedule, spec["learning_rate"])
    if clipnorm is not None:
        spec["clipnorm"] = clipnorm
    return cls(**spec)


def build_model(config):
    """The compiled keras.Sequential of the config (loss, optimizer, metrics=["accuracy"]); a keras.Model of the
    functional API when a layer names its `inputs` (a graph: "input" is the model input, the last layer the output)."""
    import keras
    model_spec = config["model"]
    _allow_only(model_spec, {"input_shape", "classes", "layers"}, "model")
    names = layer_names(config)
    layers = [keras_layer(spec, name) for spec, name in zip(model_spec["layers"], names)]
    if any("inputs" in spec for spec in model_spec["layers"]):
        outputs = {"input": keras.Input(tuple(model_spec["input_shape"]), name="input")}
        for index, (spec, name, layer) in enumerate(zip(model_spec["layers"], names, layers)):
            sources = [outputs[s] for s in spec.get("inputs", ["input" if index == 0 else names[index - 1]])]
            outputs[name] = layer(sources if len(sources) > 1 else sources[0])
        model = keras.Model(outputs["input"], outputs[names[-1]])
    else:
        model = keras.Sequential([keras.Input(tuple(model_spec["input_shape"]))] + layers)
    classes = model_spec.get("classes")
    if classes is not None and model.output_shape[-1] != classes:
        raise ConfigError("model: the last layer gives %s outputs, model.classes is %d" % (model.output_shape[-1], classes))
    model.compile(optimizer=keras_optimizer(config), loss=keras_loss(config), metrics=["accuracy"])
    return model


def adapt_layers(model, config, x_train):
    """Adapts every `normalization` layer with `adapt = true` (the first layer, so on the raw images) to the
    training images, as convnet-dist does once before training. Returns the names adapted."""
    adapted = []
    for spec, name in zip(config["model"]["layers"], layer_names(config)):
        if spec.get("type") == "normalization" and spec.get("adapt"):
            model.get_layer(name).adapt(x_train)
            adapted.append(name)
    return adapted


def _weight_name(variable):
    return getattr(variable, "path", variable.name).split("/")[-1]


def load_weights(model, path):
    """Sets every weight of every layer (trainable and moving statistics) from `<layer>.<weight>` tensors.

    Returns the names set. Raises WeightsError if a weight is missing, a shape differs or a tensor of the
    file (anything but a checkpoint's `optimizer.*` state) is left unused."""
    from safetensors.numpy import load_file
    tensors = load_file(path)
    used = set()
    for layer in model.layers:
        values = []
        for variable in layer.weights:
            name = "%s.%s" % (layer.name, _weight_name(variable))
            if name not in tensors:
                raise WeightsError("%s: no tensor %s" % (path, name))
            value = tensors[name]
            if tuple(value.shape) != tuple(variable.shape):
                raise WeightsError("%s: %s has shape %s, the Keras model expects %s"
                                 % (path, name, tuple(value.shape), tuple(variable.shape)))
            values.append(value.astype(np.float32))
            used.add(name)
        if values:
            layer.set_weights(values)
            if LAYER_CLASSES.get(layer.__class__.__name__) == "normalization":
                layer.finalize_state()   # Normalization normalises with copies of its state taken by adapt or load
    unused = sorted(n for n in tensors if n not in used and not n.startswith("optimizer."))
    if unused:
        raise WeightsError("%s: tensors the Keras model has no weight for: %s" % (path, ", ".join(unused)))
    return sorted(used)


def _idx(directory, name, offset):
    path = os.path.join(directory, name)
    if os.path.exists(path + ".gz"):
        with gzip.open(path + ".gz") as f:
            raw = f.read()
    else:
        with open(path, "rb") as f:
            raw = f.read()
    return np.frombuffer(raw, np.uint8, offset=offset)


def load_mnist(directory, classes=10):
    """(x_train, y_train, x_test, y_test): pixels x / 255 float32 NHWC [n, 28, 28, 1], labels one-hot float32."""
    def images(name):
        raw = _idx(directory, name, 0)
        count, rows, cols = (int.from_bytes(raw[i:i + 4].tobytes(), "big") for i in (4, 8, 12))
        return (raw[16:].reshape(count, rows, cols, 1).astype(np.float32) / np.float32(255)).astype(np.float32)

    def labels(name):
        y = _idx(directory, name, 8)
        return np.eye(classes, dtype=np.float32)[y]

    return (images("train-images-idx3-ubyte"), labels("train-labels-idx1-ubyte"),
            images("t10k-images-idx3-ubyte"), labels("t10k-labels-idx1-ubyte"))


def load_cifar10(directory, classes=10):
    """(x_train, y_train, x_test, y_test) from CIFAR-10's binary version (data_batch_1.bin .. data_batch_5.bin,
    test_batch.bin in DIRECTORY or its cifar-10-batches-bin/): 3,073-byte records, a label then the red, green
    and blue 32x32 planes; pixels x / 255 float32 NHWC [n, 32, 32, 3], labels one-hot float32."""
    if os.path.isdir(os.path.join(directory, "cifar-10-batches-bin")):
        directory = os.path.join(directory, "cifar-10-batches-bin")

    def batches(names):
        records = np.concatenate([np.fromfile(os.path.join(directory, n), np.uint8).reshape(-1, 3073) for n in names])
        x = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / np.float32(255)
        return x.astype(np.float32), np.eye(classes, dtype=np.float32)[records[:, 0]]

    return batches(["data_batch_%d.bin" % i for i in range(1, 6)]) + batches(["test_batch.bin"])


def load_data(directory, config):
    """The config's data set from DIRECTORY: load_cifar10 for `[data] format` (or `dataset`) cifar10, else load_mnist."""
    data = config.get("data", {})
    classes = config["model"].get("classes", 10)
    if data.get("format", "cifar10" if data.get("dataset") == "cifar10" else "idx") == "cifar10":
        return load_cifar10(directory, classes)
    return load_mnist(directory, classes)


def evaluate(model, x, y, batch_size=1000):
    """{"test_loss", "test_accuracy", "correct", "samples"}: Keras's evaluate, and argmax agreement counted."""
    loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    predictions = model.predict(x, batch_size=batch_size, verbose=0)
    correct = int(np.sum(np.argmax(predictions, axis=1) == np.argmax(y, axis=1)))
    return {"test_loss": float(loss), "test_accuracy": float(accuracy), "correct": correct, "samples": int(len(x))}


def evaluate_command(args):
    config = load_config(args.config)
    model = build_model(config)
    load_weights(model, args.weights)
    _, _, x_test, y_test = load_data(args.data_dir, config)
    print(json.dumps(evaluate(model, x_test, y_test), sort_keys=True))


def train_command(args):
    import keras
    config = load_config(args.config)
    training = config["training"]
    epochs = args.epochs if args.epochs is not None else training["epochs"]
    seed = args.seed if args.seed is not None else training["seed"]
    batch_size = training["batch_size"]
    keras.utils.set_random_seed(seed)
    model = build_model(config)
    x, y, x_test, y_test = load_data(args.data_dir, config)
    adapt_layers(model, config, x)

    class EpochLines(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.monotonic()
            self.validation_start = None

        def on_test_begin(self, logs=None):
            if self.validation_start is None:
                self.validation_start = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            end = time.monotonic()
            train_seconds = (self.validation_start or end) - self.start
            self.seconds.append(train_seconds)
            print("Epoch %d/%d - loss: %.4f - accuracy: %.4f - test_loss: %.4f - test_accuracy: %.4f - %.1fs (+%.1fs test)"
                  % (epoch + 1, epochs, logs["loss"], logs["accuracy"], logs["val_loss"], logs["val_accuracy"],
                     train_seconds, end - (self.validation_start or end)), flush=True)

    lines = EpochLines()
    history = model.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=training["shuffle"], verbose=0,
                        validation_data=(x_test, y_test), validation_batch_size=1000, callbacks=[lines])
    result = evaluate(model, x_test, y_test)
    result.update({"config": args.config, "seed": seed, "epochs": epochs, "batch_size": batch_size,
                   "train_loss": float(history.history["loss"][-1]),
                   "train_accuracy": float(history.history["accuracy"][-1]),
                   "seconds_per_epoch": [round(s, 2) for s in lines.seconds],
                   "keras_version": keras.__version__})
    print(json.dumps(result, sort_keys=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    ev = commands.add_parser("evaluate", help="evaluate convnet-dist weights with Keras on the test set")
    ev.add_argument("config")
    ev.add_argument("weights")
    ev.add_argument("data_dir")
    ev.set_defaults(run=evaluate_command)
    tr = commands.add_parser("train", help="train the config's model with Keras alone")
    tr.add_argument("config")
    tr.add_argument("data_dir")
    tr.add_argument("--epochs", type=int)
    tr.add_argument("--seed", type=int)
    tr.set_defaults(run=train_command)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ConfigError, WeightsError) as error:
        print("error: %s" % error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
