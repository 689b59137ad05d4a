"""Trains real Keras for one epoch on exactly what `convnet-dist train --seed SEED --epochs 1` uses.

usage: python3 keras_same_order.py MNIST_DIR SEED [--keras-shuffle]
Needs tensorflow (Keras 3), numpy. Not part of the test suite (no TensorFlow in CI); it answers one
question: does our engine train like Keras? It rebuilds, in Python, convnet-dist's initial weights
(glorot_uniform from SplitMix64, stream 1) and its epoch-1 batch order (Fisher-Yates from SplitMix64,
streams 2 and 1), feeds Keras that order with shuffle off, and prints Keras's train loss/accuracy and
test accuracy after the epoch, to set beside the `Epoch 1/1` line of convnet-dist with the same seed.
With --keras-shuffle, Keras draws its own order (tf.random.shuffle) from the same initial weights.
"""
import gzip
import os
import sys

import numpy as np

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class SplitMix64:
    """convnet-dist's SeededGenerator (Sources/ConvNetCore/Initializers/SeededGenerator.swift)."""

    def __init__(self, seed, *stream):
        self.state = seed & MASK
        if stream:
            mixed = SplitMix64(seed).next()
            for s in stream:
                mixed = SplitMix64(mixed ^ ((s * GOLDEN) & MASK)).next()
            self.state = mixed

    def next(self):
        self.state = (self.state + GOLDEN) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)


SHAPES = [("conv2d_1", (3, 3, 1, 32)), ("conv2d_2", (3, 3, 32, 64)), ("conv2d_3", (3, 3, 64, 64)),
          ("dense_1", (576, 64)), ("dense_2", (64, 10))]


def initial_weights(seed):
    generator = SplitMix64(seed, 1)
    weights = []
    for _, shape in SHAPES:
        field = int(np.prod(shape[:-2]))
        limit = np.sqrt(np.float32(6) / np.float32((shape[-2] + shape[-1]) * field), dtype=np.float32)
        bits = np.array([generator.next() >> 40 for _ in range(int(np.prod(shape)))], dtype=np.float32)
        unit = bits * np.float32(1 / 16777216)
        weights += [((np.float32(2) * unit - np.float32(1)) * limit).reshape(shape), np.zeros(shape[-1], np.float32)]
    return weights


def epoch_order(seed, epoch, count):
    generator = SplitMix64(seed, 2, epoch)
    order = list(range(count))
    for i in range(count - 1, 0, -1):
        j = generator.next() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return np.array(order)


def idx(directory, name, offset):
    path = os.path.join(directory, name)
    raw = gzip.open(path + ".gz").read() if os.path.exists(path + ".gz") else open(path, "rb").read()
    return np.frombuffer(raw, np.uint8, offset=offset)


def main():
    directory, seed = sys.argv[1], int(sys.argv[2])
    keras_shuffle = "--keras-shuffle" in sys.argv
    import keras
    from keras import layers

    x = (idx(directory, "train-images-idx3-ubyte", 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255)
    y = keras.utils.to_categorical(idx(directory, "train-labels-idx1-ubyte", 8), 10)
    xt = (idx(directory, "t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28, 1).astype(np.float32) / 255)
    yt = keras.utils.to_categorical(idx(directory, "t10k-labels-idx1-ubyte", 8), 10)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax"),
    ])
    model.set_weights(initial_weights(seed))
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="categorical_crossentropy", metrics=["accuracy"])
    if not keras_shuffle:
        order = epoch_order(seed, 1, len(x))
        x, y = x[order], y[order]
    history = model.fit(x, y, batch_size=64, epochs=1, shuffle=keras_shuffle, verbose=0)
    test_loss, test_accuracy = model.evaluate(xt, yt, batch_size=1000, verbose=0)
    print("keras seed %d (%s order): loss: %.4f - accuracy: %.4f - test_loss: %.4f - test_accuracy: %.4f" % (
        seed, "Keras's own" if keras_shuffle else "convnet-dist's", history.history["loss"][-1],
        history.history["accuracy"][-1], test_loss, test_accuracy))


if __name__ == "__main__":
    main()
