"""`convnet-dist export` gives models that compute what `convnet-dist evaluate --outputs` prints.

For the reference model (configs/keras-mnist-convnet.toml, 100 training steps on MNIST), the graph model
configs/residual-mnist.toml, and six small models written here (one of them a graph) that between them
use every layer kind and activation, with "same" padding on odd-sized inputs, strides, batch normalisation on images and on vectors, softmax on image channels and a
linear (logits) output, the test trains a short run with the convnet-dist binary, takes
`evaluate --checkpoint C --outputs 256 --json`, and then:

- ONNX: exports with `--format onnx`, checks the model with onnx.checker when onnx is installed, runs it
  in onnxruntime on the first 256 MNIST test images and requires every output within 1e-5 of ours
  (relative, for logits above 1) and the same argmax for all 256;
- Keras: exports with `--format keras-script`, imports the script, builds the model, loads the weights
  and requires Keras's predictions within the same bounds; running the script prints the summary.

The largest differences are printed to stderr.

    python -m unittest -v Tests/python/test_model_export.py

Each part is skipped, saying so, when its library is missing (onnxruntime; keras with TensorFlow), when
the binary is missing (CONVNET_BINARY, default .build/release/convnet-dist of this repository) or
MNIST is missing (CONVNET_DATA_DIR, default ../shared/data/mnist beside the repository). With
CONVNET_REQUIRE_ONNXRUNTIME=1 or CONVNET_REQUIRE_KERAS=1 (launch/test sets both) a missing prerequisite
of that part fails instead. About 20 s for the ONNX part and 30 s for the Keras part on 2 cores.
"""
import glob
import gzip
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Each model predicts through a tf.function of its own; TensorFlow's warning about the retracing says nothing here.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("CONVNET_BINARY", os.path.join(REPO, ".build", "release", "convnet-dist"))
DATA_DIR = os.environ.get("CONVNET_DATA_DIR", os.path.join(os.path.dirname(REPO), "shared", "data", "mnist"))
REFERENCE = os.path.join(REPO, "configs", "keras-mnist-convnet.toml")
SAMPLES = 256
TOLERANCE = 1e-5

# Every layer kind and activation, asymmetric "same" padding (the odd row or column goes after),
# strides, a non-square kernel, softmax along image channels, batch norm on images and vectors, no bias.
ALL_KINDS = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "conv2d", filters = 8, kernel_size = 3, strides = 2, padding = "same", activation = "gelu" },
  { type = "batchnorm" },
  { type = "activation", activation = "silu" },
  { type = "maxpool2d", pool_size = 3, strides = 2, padding = "same" },
  { type = "conv2d", filters = 8, kernel_size = [3, 2], padding = "same", activation = "elu", use_bias = false },
  { type = "avgpool2d", pool_size = 2, strides = 1, padding = "same" },
  { type = "activation", activation = "softmax" },
  { type = "conv2d", filters = 16, kernel_size = 3, activation = "selu" },
  { type = "flatten" },
  { type = "dense", units = 32, activation = "leaky_relu" },
  { type = "batchnorm", momentum = 0.5 },
  { type = "dense", units = 16, activation = "tanh" },
  { type = "dropout", rate = 0.25 },
  { type = "dense", units = 10, activation = "softplus" },
  { type = "activation", activation = "softmax" },
]
[optimizer]
name = "adam"
"""

# Unequal strides, upsampling, valid average pooling, global max pooling, a regularised dense layer.
GLOBAL_MAX = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "conv2d", filters = 8, kernel_size = 5, strides = [2, 3], activation = "sigmoid" },
  { type = "upsampling2d", size = [1, 2] },
  { type = "avgpool2d", pool_size = 3, strides = 2 },
  { type = "global_maxpool2d" },
  { type = "dense", units = 10, activation = "softmax", kernel_regularizer = { l2 = 0.001 } },
]
"""

# Batch norm without gamma and beta, global average pooling, and logits out (from_logits).
LOGITS = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "conv2d", filters = 4, kernel_size = 3, padding = "same", activation = "relu" },
  { type = "batchnorm", center = false, scale = false, epsilon = 0.01 },
  { type = "global_avgpool2d" },
  { type = "dense", units = 10 },
]
[loss]
name = "categorical_crossentropy"
from_logits = true
[optimizer]
name = "sgd"
learning_rate = 0.1
momentum = 0.9
"""

# A graph: a shortcut from the model input (NHWC) added to a convolution's output, and two flattened
# views joined by concatenate (with configs/residual-mnist.toml: batch norm, a layer read twice).
GRAPH = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "conv2d", name = "c", filters = 1, kernel_size = 3, padding = "same", activation = "tanh" },
  { type = "add", inputs = ["c", "input"] },
  { type = "flatten", name = "f1" },
  { type = "flatten", name = "f0", inputs = ["input"] },
  { type = "concatenate", inputs = ["f1", "f0"] },
  { type = "dense", units = 10, activation = "softmax" },
]
"""
RESIDUAL = os.path.join(REPO, "configs", "residual-mnist.toml")

# Preprocessing and augmentation: an adapted normalization (state), rescaling, zero padding, and random
# layers that are the identity at inference.
PREPROCESSING = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "normalization", adapt = true },
  { type = "rescaling", scale = 0.5, offset = 0.25 },
  { type = "random_flip" },
  { type = "random_translation", height_factor = 0.2, width_factor = [-0.1, 0.3], fill_mode = "wrap" },
  { type = "zero_padding2d", padding = [[1, 2], [3, 0]] },
  { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
  { type = "global_avgpool2d" },
  { type = "dense", units = 10, activation = "softmax" },
]
"""

# The centre crop a random crop takes at inference (ONNX only: Keras 3.15's RandomCrop returns its input
# uncropped at inference).
CENTRE_CROP = """
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "random_crop", height = 21, width = 18 },
  { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
  { type = "flatten" },
  { type = "dense", units = 10, activation = "softmax" },
]
"""


def have_module(name):
    return importlib.util.find_spec(name) is not None


def have_mnist(directory):
    return all(os.path.exists(os.path.join(directory, f)) or os.path.exists(os.path.join(directory, f + ".gz"))
               for f in ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                         "t10k-labels-idx1-ubyte"])


def first_test_images(count):
    """float32 NHWC [count, 28, 28, 1], pixels / 255, as convnet-dist feeds them."""
    import numpy as np
    path = os.path.join(DATA_DIR, "t10k-images-idx3-ubyte")
    raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
    return np.frombuffer(raw, np.uint8, offset=16)[: count * 784].reshape(count, 28, 28, 1).astype(np.float32) / np.float32(255)


def run_binary(test, *arguments):
    result = subprocess.run([BINARY] + list(arguments), capture_output=True, text=True)
    test.assertEqual(result.returncode, 0, "convnet-dist %s failed:\n%s%s" % (" ".join(arguments), result.stdout, result.stderr))
    return result.stdout


class Checkpoints:
    """One short training run per config, shared by the ONNX and Keras tests of this module."""
    folder = None
    made = {}

    @classmethod
    def get(cls, test, name):
        if name not in cls.made:
            if cls.folder is None:
                cls.folder = tempfile.TemporaryDirectory(prefix="model-export-")
            run = os.path.join(cls.folder.name, name)
            if name == "reference":
                config, steps = REFERENCE, "100"
            elif name == "residual":
                config, steps = RESIDUAL, "30"
            else:
                config, steps = os.path.join(cls.folder.name, name + ".toml"), "30"
                with open(config, "w") as f:
                    f.write({"all_kinds": ALL_KINDS, "global_max": GLOBAL_MAX, "logits": LOGITS, "graph": GRAPH,
                             "preprocessing": PREPROCESSING, "centre_crop": CENTRE_CROP}[name])
            run_binary(test, "train", "--config", config, "--data-dir", DATA_DIR, "--run-dir", run,
                       "--max-steps", steps, "--batch-size", "32" if name != "reference" else "128", "--quiet")
            checkpoint = sorted(glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors")))[-1]
            evaluated = json.loads(run_binary(test, "evaluate", "--checkpoint", checkpoint, "--data-dir", DATA_DIR,
                                              "--outputs", str(SAMPLES), "--json").strip().splitlines()[-1])
            cls.made[name] = (checkpoint, evaluated["outputs"])
        return cls.made[name]


def tearDownModule():
    if Checkpoints.folder is not None:
        Checkpoints.folder.cleanup()


class AgreementMixin:
    def assertAgrees(self, theirs, ours, who, name):
        import numpy as np
        ours = np.asarray(ours, np.float32)
        self.assertEqual(theirs.shape, ours.shape)
        difference = np.abs(theirs.astype(np.float64) - ours)
        bound = TOLERANCE * np.maximum(1, np.abs(ours))
        agree = int((theirs.argmax(1) == ours.argmax(1)).sum())
        print("\n%s %s: max |dp| %.3g over %d images, argmax agrees on %d/%d"
              % (who, name, difference.max(), len(ours), agree, len(ours)), file=sys.stderr)
        self.assertTrue((difference <= bound).all(), "%s %s: max difference %.3g" % (who, name, difference.max()))
        self.assertEqual(agree, len(ours))

    # Every exporter is checked on the same models; each class's check(name) compares one of them.
    def test_reference_model(self):
        self.check("reference")

    def test_every_layer_kind_and_same_padding(self):
        self.check("all_kinds")

    def test_global_max_pooling_and_strides(self):
        self.check("global_max")

    def test_logits_output(self):
        self.check("logits")

    def test_residual_graph_model(self):
        self.check("residual")

    def test_graph_with_merges_across_layouts(self):
        self.check("graph")

    def test_preprocessing_layers(self):
        self.check("preprocessing")

    def test_centre_crop(self):
        self.check("centre_crop")


class RequiredPrerequisites(unittest.TestCase):
    """Where a part must run (CI: launch/test sets CONVNET_REQUIRE_ONNXRUNTIME=1 and CONVNET_REQUIRE_KERAS=1),
    its skipping is a failure."""

    def assertCanRun(self, *modules):
        for module in modules:
            self.assertTrue(have_module(module), "%s is not installed in %s" % (module, sys.executable))
        self.assertTrue(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s" % BINARY)
        self.assertTrue(have_mnist(DATA_DIR), "no MNIST IDX files in %s" % DATA_DIR)

    @unittest.skipUnless(os.environ.get("CONVNET_REQUIRE_ONNXRUNTIME") == "1", "CONVNET_REQUIRE_ONNXRUNTIME is not 1")
    def test_the_onnx_tests_can_run(self):
        self.assertCanRun("onnxruntime")

    @unittest.skipUnless(os.environ.get("CONVNET_REQUIRE_KERAS") == "1", "CONVNET_REQUIRE_KERAS is not 1")
    def test_the_keras_tests_can_run(self):
        self.assertCanRun("tensorflow", "keras")


@unittest.skipUnless(have_module("onnxruntime"), "onnxruntime is not installed")
@unittest.skipUnless(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s (set CONVNET_BINARY)" % BINARY)
@unittest.skipUnless(have_mnist(DATA_DIR), "no MNIST IDX files in %s (set CONVNET_DATA_DIR)" % DATA_DIR)
class ONNXExportTests(unittest.TestCase, AgreementMixin):
    def check(self, name):
        import onnxruntime
        checkpoint, ours = Checkpoints.get(self, name)
        path = os.path.join(Checkpoints.folder.name, name + ".onnx")
        run_binary(self, "export", "--checkpoint", checkpoint, "--format", "onnx", "--output", path)
        if have_module("onnx"):
            import onnx
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            self.assertGreaterEqual(model.opset_import[0].version, 13)
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        (given,), (returned,) = session.get_inputs(), session.get_outputs()
        self.assertEqual((given.name, returned.name), ("input", "output"))
        self.assertEqual(given.shape[1:], [28, 28, 1])
        self.assertIsInstance(given.shape[0], str, "the batch dimension should be symbolic")
        theirs = session.run(None, {"input": first_test_images(SAMPLES)})[0]
        self.assertAgrees(theirs, ours, "onnxruntime", name)
        # Any batch size: one image alone gives the same row.
        one = session.run(None, {"input": first_test_images(1)})[0]
        self.assertLessEqual(float(abs(one[0] - theirs[0]).max()), 1e-6)


@unittest.skipUnless(have_module("tensorflow") and have_module("keras"), "keras with tensorflow is not installed")
@unittest.skipUnless(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s (set CONVNET_BINARY)" % BINARY)
@unittest.skipUnless(have_mnist(DATA_DIR), "no MNIST IDX files in %s (set CONVNET_DATA_DIR)" % DATA_DIR)
class KerasScriptTests(unittest.TestCase, AgreementMixin):
    def script(self, name):
        checkpoint, ours = Checkpoints.get(self, name)
        path = os.path.join(Checkpoints.folder.name, "load_%s.py" % name)
        run_binary(self, "export", "--checkpoint", checkpoint, "--format", "keras-script", "--output", path)
        return checkpoint, ours, path

    def check(self, name):
        checkpoint, ours, path = self.script(name)
        spec = importlib.util.spec_from_file_location("load_%s" % name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.load_weights(module.build_model(), checkpoint)
        theirs = model.predict(first_test_images(SAMPLES), batch_size=SAMPLES, verbose=0)
        self.assertAgrees(theirs, ours, "keras", name)

    def test_centre_crop(self):
        self.skipTest("Keras 3.15's RandomCrop returns its input uncropped at inference (its output shape says cropped)")

    def test_running_the_script_prints_the_summary(self):
        checkpoint, _, path = self.script("reference")
        result = subprocess.run([sys.executable, path, checkpoint], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("conv2d_1", result.stdout)
        self.assertIn("34,826", result.stdout)


if __name__ == "__main__":
    unittest.main()
