"""Weights trained by convnet-dist give the same test results in Keras.

Trains configs/fashion-mnist-bn.toml (conv without bias, batch normalisation, ReLU activation layers,
max pooling, dropout, dense) on MNIST for 300 steps of batch 64 with the convnet-dist binary and evaluates
its newest checkpoint with `convnet-dist evaluate --json` (evaluate needs a checkpoint's metadata; the test
checks that the checkpoint holds exactly the weights of RUN/model.safetensors). Then builds the same config
in Keras (keras_model.py), sets every weight by name from RUN/model.safetensors (moving statistics
included) and evaluates the 10,000 test images: the number of correct answers must agree to within 2
images (float32 sums in another order can flip a near-tie) and the mean test loss to within 1e-3. The
differences found are printed to stderr. Likewise configs/resnet20-cifar10.toml (a graph, an adapted
normalization, padding, a random crop and flip, L2) trained for 3 steps on a CIFAR-10 set the test makes:
the same correct answers to within 1 image and test loss to within 1e-4 (it needs no MNIST).

    .build/venv-python/bin/python -m unittest -v Tests/python/test_keras_interchange.py

(launch/test makes that environment.) Skipped when TensorFlow cannot be imported, when the binary is
missing (CONVNET_BINARY, default .build/release/convnet-dist of this repository) or MNIST is missing
(CONVNET_DATA_DIR, default ../shared/data/mnist beside the repository); with CONVNET_REQUIRE_KERAS=1
(launch/test sets it) each of these is a failure instead. Takes about 25 seconds on 2 cores.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile
import unittest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("CONVNET_BINARY", os.path.join(REPO, ".build", "release", "convnet-dist"))
DATA_DIR = os.environ.get("CONVNET_DATA_DIR", os.path.join(os.path.dirname(REPO), "shared", "data", "mnist"))
CONFIG = os.path.join(REPO, "configs", "fashion-mnist-bn.toml")
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

try:
    import tensorflow  # noqa: F401
    import keras  # noqa: F401
    HAVE_TENSORFLOW = True
except ImportError:
    HAVE_TENSORFLOW = False


def have_mnist(directory):
    return all(os.path.exists(os.path.join(directory, f)) or os.path.exists(os.path.join(directory, f + ".gz"))
               for f in MNIST_FILES)


@unittest.skipUnless(os.environ.get("CONVNET_REQUIRE_KERAS") == "1", "CONVNET_REQUIRE_KERAS is not 1")
class RequiredPrerequisites(unittest.TestCase):
    """Where the test must run (CI: launch/test sets CONVNET_REQUIRE_KERAS=1), its skipping is a failure."""

    def test_the_keras_interchange_test_can_run(self):
        self.assertTrue(HAVE_TENSORFLOW, "tensorflow (Keras 3) cannot be imported in %s" % sys.executable)
        self.assertTrue(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s" % BINARY)
        self.assertTrue(have_mnist(DATA_DIR), "no MNIST IDX files in %s" % DATA_DIR)


@unittest.skipUnless(HAVE_TENSORFLOW, "tensorflow (Keras 3) cannot be imported")
@unittest.skipUnless(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s (set CONVNET_BINARY)" % BINARY)
@unittest.skipUnless(have_mnist(DATA_DIR), "no MNIST IDX files in %s (set CONVNET_DATA_DIR)" % DATA_DIR)
class KerasInterchangeTests(unittest.TestCase):
    def run_binary(self, *arguments):
        result = subprocess.run([BINARY] + list(arguments), capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, "convnet-dist %s failed:\n%s%s"
                         % (" ".join(arguments), result.stdout, result.stderr))
        return result.stdout

    def test_batchnorm_model_trained_by_convnet_dist_evaluates_the_same_in_keras(self):
        sys.path.insert(0, HERE)
        import keras_model
        import numpy as np
        from safetensors.numpy import load_file

        with tempfile.TemporaryDirectory(prefix="keras-interchange-") as tmp:
            run = os.path.join(tmp, "run")
            self.run_binary("train", "--config", CONFIG, "--data-dir", DATA_DIR, "--run-dir", run,
                            "--max-steps", "300", "--batch-size", "64", "--quiet")
            weights = os.path.join(run, "model.safetensors")
            self.assertTrue(os.path.exists(weights), "train wrote no %s" % weights)
            # `evaluate` wants a checkpoint (its metadata holds the config), which model.safetensors is not:
            # evaluate the newest checkpoint, after checking it holds exactly the weights of model.safetensors.
            checkpoints = sorted(glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors")))
            self.assertTrue(checkpoints, "train wrote no checkpoint in %s/checkpoints" % run)
            checkpoint = checkpoints[-1]
            model_tensors, checkpoint_tensors = load_file(weights), load_file(checkpoint)
            for name, value in model_tensors.items():
                self.assertTrue(np.array_equal(value, checkpoint_tensors[name]), "%s differs in %s" % (name, checkpoint))
            ours = json.loads(self.run_binary("evaluate", "--checkpoint", checkpoint, "--data-dir", DATA_DIR,
                                              "--json").strip().splitlines()[-1])

            config = keras_model.load_config(CONFIG)
            model = keras_model.build_model(config)
            names = keras_model.load_weights(model, weights)
            self.assertIn("batch_normalization_2.moving_variance", names)
            _, _, x_test, y_test = keras_model.load_mnist(DATA_DIR)
            theirs = keras_model.evaluate(model, x_test, y_test)

        samples = int(ours["samples"])
        ours_correct = int(round(ours["test_accuracy"] * samples))
        correct_difference = theirs["correct"] - ours_correct
        loss_difference = theirs["test_loss"] - ours["test_loss"]
        print("\nconvnet-dist: %d/%d correct, test_loss %.6f; Keras: %d/%d correct, test_loss %.6f; "
              "difference (Keras - ours): %+d images, %+.2e loss"
              % (ours_correct, samples, ours["test_loss"], theirs["correct"], theirs["samples"], theirs["test_loss"],
                 correct_difference, loss_difference), file=sys.stderr)
        self.assertEqual(samples, theirs["samples"])
        self.assertGreater(ours_correct, 0.5 * samples, "300 steps should already classify most digits")
        self.assertLessEqual(abs(correct_difference), 2)
        self.assertLess(abs(loss_difference), 1e-3)



@unittest.skipUnless(HAVE_TENSORFLOW, "tensorflow (Keras 3) cannot be imported")
@unittest.skipUnless(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s (set CONVNET_BINARY)" % BINARY)
class ResNetRecipeInterchangeTests(unittest.TestCase):
    """configs/resnet20-cifar10.toml (a graph with projection shortcuts, an adapted normalization, zero padding, a
    random crop and flip, L2 on the kernels) trained for 3 steps on a made CIFAR-10 set evaluates the same in
    Keras: the adapted mean and variance load by name, the crop keeps the centred window at inference, and
    both test losses hold the same L2 term. Takes about 30 seconds on 2 cores."""

    def test_resnet20_trained_by_convnet_dist_evaluates_the_same_in_keras(self):
        sys.path.insert(0, HERE)
        import keras_model
        import numpy as np

        config_path = os.path.join(REPO, "configs", "resnet20-cifar10.toml")
        with tempfile.TemporaryDirectory(prefix="keras-resnet-") as tmp:
            data, run = os.path.join(tmp, "cifar"), os.path.join(tmp, "run")
            os.mkdir(data)
            rng = np.random.default_rng(24)
            for name, count in [("data_batch_%d.bin" % i, 80) for i in range(1, 6)] + [("test_batch.bin", 100)]:
                records = rng.integers(0, 256, (count, 3073), dtype=np.uint8)
                records[:, 0] %= 10
                records.tofile(os.path.join(data, name))
            self.run_binary("train", "--config", config_path, "--data-dir", data, "--run-dir", run,
                            "--max-steps", "3", "--quiet")
            checkpoint = sorted(glob.glob(os.path.join(run, "checkpoints", "step-*.safetensors")))[-1]
            ours = json.loads(self.run_binary("evaluate", "--checkpoint", checkpoint, "--data-dir", data,
                                              "--json").strip().splitlines()[-1])
            config = keras_model.load_config(config_path)
            model = keras_model.build_model(config)
            names = keras_model.load_weights(model, os.path.join(run, "model.safetensors"))
            self.assertIn("normalization_1.variance", names)
            _, _, x_test, y_test = keras_model.load_data(data, config)
            theirs = keras_model.evaluate(model, x_test, y_test)
        print("\nResNet-20: convnet-dist test_loss %.6f, accuracy %.4f; Keras test_loss %.6f, accuracy %.4f"
              % (ours["test_loss"], ours["test_accuracy"], theirs["test_loss"], theirs["test_accuracy"]), file=sys.stderr)
        self.assertEqual(int(ours["samples"]), theirs["samples"])
        self.assertLessEqual(abs(theirs["correct"] - int(round(ours["test_accuracy"] * ours["samples"]))), 1)
        self.assertLess(abs(theirs["test_loss"] - ours["test_loss"]), 1e-4)

    run_binary = KerasInterchangeTests.run_binary


if __name__ == "__main__":
    unittest.main()
