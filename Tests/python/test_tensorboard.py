"""`convnet-dist train --tensorboard` writes events files that TensorBoard's own reader reads.

A 2-epoch run of a small model on MNIST (batch 500, validation_split 0.1: 108 steps an epoch,
`--log-every 10`) is read back with TensorBoard's EventAccumulator, the reader behind its web page:

- train/: batch_loss, batch_accuracy, batch_learning_rate at every steps.csv row's global step with
  that row's values; epoch_loss, epoch_accuracy, epoch_learning_rate at steps 0 and 1 with
  metrics.csv's train figures; a histogram of every weight tensor at steps 0 and 1;
- validation/ and test/: epoch_loss and epoch_accuracy with metrics.csv's val_ and test_ figures.

Then the same run stopped by --max-steps inside epoch 2 and resumed from an earlier checkpoint
(global step 120, so the first run's files hold 40 steps and a partial epoch that the resumed run
writes again) must give every scalar at the same steps with the same values, each once, also when
the files are read raw (no events left for TensorBoard's out-of-order purge to hide).

    python -m unittest -v Tests/python/test_tensorboard.py

Skipped, saying so, without the tensorboard package, the binary (CONVNET_BINARY, default
.build/release/convnet-dist) or MNIST (CONVNET_DATA_DIR); with CONVNET_REQUIRE_TENSORBOARD=1
(launch/test sets it) a missing prerequisite fails instead. About 20 s on 2 cores.
"""
import collections
import csv
import glob
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARY = os.environ.get("CONVNET_BINARY", os.path.join(REPO, ".build", "release", "convnet-dist"))
DATA_DIR = os.environ.get("CONVNET_DATA_DIR", os.path.join(os.path.dirname(REPO), "shared", "data", "mnist"))
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

try:
    from tensorboard.backend.event_processing import event_accumulator, event_file_loader
    HAVE_TENSORBOARD = True
except ImportError:
    HAVE_TENSORBOARD = False

CONFIG = """
[data]
validation_split = 0.1
[model]
input_shape = [28, 28, 1]
classes = 10
layers = [
  { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
  { type = "maxpool2d", pool_size = 4 },
  { type = "flatten" },
  { type = "dense", units = 10, activation = "softmax" },
]
[training]
epochs = 2
batch_size = 500
[optimizer]
name = "adam"
learning_rate = 0.002
[optimizer.schedule]
name = "exponential_decay"
decay_steps = 50
decay_rate = 0.5
[logging]
tensorboard = true
"""
STEP_TAGS = ["batch_loss", "batch_accuracy", "batch_learning_rate"]
EPOCH_TAGS = ["epoch_loss", "epoch_accuracy", "epoch_learning_rate"]
WEIGHTS = ["conv2d_1/kernel/histogram", "conv2d_1/bias/histogram", "dense_1/kernel/histogram", "dense_1/bias/histogram"]


def have_mnist(directory):
    return all(os.path.exists(os.path.join(directory, f)) or os.path.exists(os.path.join(directory, f + ".gz"))
               for f in MNIST_FILES)


@unittest.skipUnless(os.environ.get("CONVNET_REQUIRE_TENSORBOARD") == "1", "CONVNET_REQUIRE_TENSORBOARD is not 1")
class RequiredPrerequisites(unittest.TestCase):
    """Where the test must run (CI: launch/test sets CONVNET_REQUIRE_TENSORBOARD=1), its skipping is a failure."""

    def test_the_tensorboard_test_can_run(self):
        self.assertTrue(HAVE_TENSORBOARD, "tensorboard cannot be imported in %s" % sys.executable)
        self.assertTrue(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s" % BINARY)
        self.assertTrue(have_mnist(DATA_DIR), "no MNIST IDX files in %s" % DATA_DIR)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def scalars(folder):
    """{tag: [(step, value)]} as TensorBoard shows them."""
    accumulator = event_accumulator.EventAccumulator(folder, size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    return {tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]}, accumulator


def raw_counts(folder):
    """How many events each (tag, step) has in the folder's files, read without TensorBoard's purging."""
    counts = collections.Counter()
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in event_file_loader.LegacyEventFileLoader(path).Load():
            for value in event.summary.value:
                counts[(value.tag, event.step)] += 1
    return counts


@unittest.skipUnless(HAVE_TENSORBOARD, "tensorboard cannot be imported")
@unittest.skipUnless(os.access(BINARY, os.X_OK), "no convnet-dist binary at %s (set CONVNET_BINARY)" % BINARY)
@unittest.skipUnless(have_mnist(DATA_DIR), "no MNIST IDX files in %s (set CONVNET_DATA_DIR)" % DATA_DIR)
class TensorBoardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.temporary = tempfile.TemporaryDirectory(prefix="convnet-dist-tensorboard-")
        cls.config = os.path.join(cls.temporary.name, "small.toml")
        with open(cls.config, "w") as f:
            f.write(CONFIG)
        cls.straight = os.path.join(cls.temporary.name, "straight")
        cls.train(cls, "--run-dir", cls.straight)
        cls.resumed = os.path.join(cls.temporary.name, "resumed")
        cls.train(cls, "--run-dir", cls.resumed, "--max-steps", "160", "--checkpoint-every", "40")
        cls.train(cls, "--run-dir", cls.resumed, "--resume", os.path.join(cls.resumed, "checkpoints", "step-00000120.safetensors"))

    @classmethod
    def tearDownClass(cls):
        cls.temporary.cleanup()

    def train(self, *arguments):
        command = [BINARY, "train", "--config", self.config, "--data-dir", DATA_DIR, "--threads", "2",
                   "--log-every", "10", "--keep", "10", "--quiet"] + list(arguments)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError("%s failed:\n%s%s" % (" ".join(command), result.stdout, result.stderr))

    def check_run(self, run):
        folder = os.path.join(run, "tensorboard")
        steps = read_csv(os.path.join(run, "steps.csv"))
        metrics = read_csv(os.path.join(run, "metrics.csv"))
        self.assertEqual([int(row["global_step"]) for row in steps], list(range(10, 217, 10)))
        self.assertEqual([int(row["epoch"]) for row in metrics], [1, 2])
        train, accumulator = scalars(os.path.join(folder, "train"))
        self.assertEqual(sorted(train), sorted(STEP_TAGS + EPOCH_TAGS))
        for tag, column in zip(STEP_TAGS, ["loss", "accuracy", "learning_rate"]):
            self.assertEqual([s for s, _ in train[tag]], [int(row["global_step"]) for row in steps], tag)
            for (step, value), row in zip(train[tag], steps):
                self.assertAlmostEqual(value, float(row[column]), delta=1e-6 * max(1, abs(value)), msg="%s at %d" % (tag, step))
        for tag, column in zip(EPOCH_TAGS[:2], ["train_loss", "train_accuracy"]):
            self.assertEqual([s for s, _ in train[tag]], [0, 1], tag)
            for (step, value), row in zip(train[tag], metrics):
                self.assertAlmostEqual(value, float(row[column]), delta=1e-6, msg="%s at %d" % (tag, step))
        # The rate of the step after each epoch: 0.002 * 0.5 ** (108 / 50) and ** (216 / 50).
        self.assertEqual([s for s, _ in train["epoch_learning_rate"]], [0, 1])
        for (step, value), steps_done in zip(train["epoch_learning_rate"], [108, 216]):
            self.assertAlmostEqual(value, 0.002 * 0.5 ** (steps_done / 50), delta=1e-9, msg="epoch_learning_rate at %d" % step)
        self.assertEqual(sorted(accumulator.Tags()["histograms"]), sorted(WEIGHTS))
        for tag in WEIGHTS:
            histograms = accumulator.Histograms(tag)
            self.assertEqual([h.step for h in histograms], [0, 1], tag)
        self.assertEqual(accumulator.Histograms("dense_1/kernel/histogram")[0].histogram_value.num, 4 * 6 * 6 * 10)
        for name, prefix in [("validation", "val_"), ("test", "test_")]:
            figures, _ = scalars(os.path.join(folder, name))
            self.assertEqual(sorted(figures), ["epoch_accuracy", "epoch_loss"], name)
            for tag, column in [("epoch_loss", prefix + "loss"), ("epoch_accuracy", prefix + "accuracy")]:
                self.assertEqual([s for s, _ in figures[tag]], [0, 1], name + " " + tag)
                for (step, value), row in zip(figures[tag], metrics):
                    self.assertAlmostEqual(value, float(row[column]), delta=1e-6, msg="%s %s at %d" % (name, tag, step))
        for name in ["train", "validation", "test"]:
            duplicated = {key: n for key, n in raw_counts(os.path.join(folder, name)).items() if n != 1}
            self.assertEqual(duplicated, {}, "%s: (tag, step) written more than once" % name)
        return train

    def test_every_scalar_of_a_two_epoch_run_is_at_its_step(self):
        self.check_run(self.straight)

    def test_a_resumed_run_continues_the_same_curves(self):
        self.assertEqual(len(glob.glob(os.path.join(self.resumed, "tensorboard", "train", "events.out.tfevents.*"))), 2,
                         "the resumed run starts a second events file")
        resumed = self.check_run(self.resumed)
        straight, _ = scalars(os.path.join(self.straight, "tensorboard", "train"))
        for tag in STEP_TAGS + EPOCH_TAGS:
            self.assertEqual(resumed[tag], straight[tag], tag)
        for name in ["validation", "test"]:
            self.assertEqual(scalars(os.path.join(self.resumed, "tensorboard", name))[0],
                             scalars(os.path.join(self.straight, "tensorboard", name))[0], name)


if __name__ == "__main__":
    unittest.main()
