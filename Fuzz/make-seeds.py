#!/usr/bin/env python3
"""Writes the hand-made seed inputs of Fuzz/corpus/<target>/seed-* (small valid files, plus a few
near-misses). Standard library only. Run from anywhere: python3 Fuzz/make-seeds.py"""
import gzip, io, json, os, shutil, struct, zipfile, zlib

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

def put(target, name, data):
    folder = os.path.join(here, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())

def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)

# IDX: big-endian magic, one 32-bit size per dimension, then unsigned bytes.
labels = struct.pack(">II", 2049, 5) + bytes([0, 1, 2, 9, 7])
images = struct.pack(">IIII", 2051, 2, 3, 4) + bytes(range(24))
put("idx", "labels.idx1", labels)
put("idx", "images.idx3", images)
put("idx", "labels.idx1.gz", gz(labels))
put("idx", "images.idx3.gz", gz(images))
put("idx", "images-empty.idx3", struct.pack(">IIII", 2051, 0, 28, 28))
put("idx", "images-28x28.idx3.gz", gz(struct.pack(">IIII", 2051, 1, 28, 28) + bytes((i * 7) % 256 for i in range(784))))
put("idx", "labels-trailing.idx1", labels + b"\x00")

# safetensors: 8-byte little-endian header length, JSON header, little-endian data.
def safetensors(tensors, metadata=None, pad=True):
    header, blob = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, values in tensors:
        raw = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    while pad and (8 + len(text)) % 8:
        text += b" "
    return struct.pack("<Q", len(text)) + text + blob

put("safetensors", "two.safetensors", safetensors(
    [("conv2d_1.kernel", [1, 1, 1, 2], [0.5, -1.0]), ("conv2d_1.bias", [2], [0.0, 1.0])], {"format": "pt"}))
put("safetensors", "scalar-and-empty.safetensors", safetensors([("s", [], [3.0]), ("e", [0, 4], [])]))
put("safetensors", "empty.safetensors", safetensors([]))
put("safetensors", "f16.safetensors", b"\x40\x00\x00\x00\x00\x00\x00\x00" +
    b'{"x":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}'.ljust(64) + b"\x00\x3c")

# PNG: chunks of length, type, body, CRC-32 of type and body.
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)

def png(width, height, depth, colour, rows, palette=None, interlace=0, filters=(0,), split=False, extra=False):
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    bpp = max(1, channels * depth // 8)
    raw, previous = b"", bytes(len(rows[0]))
    for y, row in enumerate(rows):
        kind = filters[y % len(filters)]
        out = bytearray()
        for x, value in enumerate(row):   # filtered = value - predictor (PNG filter types 0-4)
            left = row[x - bpp] if x >= bpp else 0
            up = previous[x]
            upleft = previous[x - bpp] if x >= bpp else 0
            if kind == 0: pred = 0
            elif kind == 1: pred = left
            elif kind == 2: pred = up
            elif kind == 3: pred = (left + up) // 2
            else:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else upleft
            out.append((value - pred) % 256)
        raw += bytes([kind]) + bytes(out)
        previous = row
    data = zlib.compress(raw, 9)
    parts = [chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, interlace))]
    if extra:
        parts.append(chunk(b"tEXt", b"Comment\x00fuzz seed"))
    if palette:
        parts.append(chunk(b"PLTE", bytes(palette)))
    if split:
        parts += [chunk(b"IDAT", data[:len(data) // 2]), chunk(b"IDAT", data[len(data) // 2:])]
    else:
        parts.append(chunk(b"IDAT", data))
    parts.append(chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(parts)

def rows(width, height, bytes_per_pixel, seed):
    return [bytes((seed + 37 * x + 91 * y) % 256 for x in range(width * bytes_per_pixel)) for y in range(height)]

put("png", "grey8.png", png(4, 3, 8, 0, rows(4, 3, 1, 1), filters=(0, 1, 2)))
put("png", "grey8-paeth-avg.png", png(5, 4, 8, 0, rows(5, 4, 1, 2), filters=(3, 4), split=True, extra=True))
put("png", "grey-alpha8.png", png(3, 3, 8, 4, rows(3, 3, 2, 3), filters=(4,)))
put("png", "rgb8.png", png(3, 2, 8, 2, rows(3, 2, 3, 4), filters=(1, 3)))
put("png", "rgba8.png", png(2, 2, 8, 6, rows(2, 2, 4, 5), filters=(2, 4)))
put("png", "palette8.png", png(4, 2, 8, 3, [bytes([0, 1, 2, 1]), bytes([2, 2, 0, 1])],
                                palette=[0, 0, 0, 255, 255, 255, 200, 30, 40]))
put("png", "grey16.png", png(2, 2, 16, 0, rows(2, 2, 2, 6), filters=(1,)))
put("png", "rgba16.png", png(2, 2, 16, 6, rows(2, 2, 8, 7), filters=(4,)))
put("png", "interlaced.png", png(2, 2, 8, 0, rows(2, 2, 1, 8), interlace=1))
put("png", "grey1bit.png", png(8, 1, 1, 0, [bytes([0xa5])]))
# Recipes (see Fuzz/png/Harness.swift): width-1, height-1, depth, colour type, interlace, palette
# entries, palette, then filtered scanlines that the harness compresses into a PNG.
def recipe(width, height, depth, colour, bytes_per_row, palette=b"", filters=(0, 1, 2, 3, 4)):
    lines = b"".join(bytes([filters[y % len(filters)]]) + bytes((13 * x + 29 * y) % 256 for x in range(bytes_per_row))
                     for y in range(height))
    return bytes([width - 1, height - 1, depth, colour, 0, len(palette) // 3]) + palette + lines
put("png", "recipe-grey8", recipe(6, 5, 8, 0, 6))
put("png", "recipe-rgba8", recipe(3, 5, 8, 6, 12))
put("png", "recipe-rgb16", recipe(2, 5, 16, 2, 12))
put("png", "recipe-grey-alpha16", recipe(3, 3, 16, 4, 12, filters=(4, 3, 1)))
put("png", "recipe-palette", recipe(4, 3, 8, 3, 4, palette=bytes(range(0, 240, 10))))

# PGM: P5 (binary, 1 or 2 bytes a sample) and P2 (plain text), comments allowed in the header.
put("pgm", "p5-8bit.pgm", b"P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
put("pgm", "p5-16bit.pgm", b"P5\n# a comment\n2 2\n65535\n" + struct.pack(">4H", 0, 256, 40000, 65535))
put("pgm", "p2.pgm", "P2\n# plain\n3 2\n15\n0 5 15\n 7 3 1\n")
put("pgm", "p2-maxval1.pgm", "P2 2 2 1 0 1 1 0")
put("pgm", "p5-maxval3.pgm", b"P5 3 1 3\n\x00\x02\x03")

# Configs: the project's recipes, plus one of each layer, loss and schedule kind.
for name in sorted(os.listdir(os.path.join(root, "configs"))):
    if name.endswith(".toml"):
        shutil.copyfile(os.path.join(root, "configs", name), os.path.join(here, "corpus", "config", "seed-" + name))
put("config", "every-layer.toml", """[model]
input_shape = [12, 10, 2]
classes = 3

[[model.layers]]
type = "conv2d"
filters = 4
kernel_size = [3, 2]
strides = [1, 2]
padding = "same"
activation = "elu"
use_bias = false
kernel_regularizer = { l2 = 0.0001, l1 = 0.001 }

[[model.layers]]
type = "batchnorm"
momentum = 0.9
epsilon = 0.01
center = false
scale = true

[[model.layers]]
type = "avgpool2d"
pool_size = [2, 1]
strides = 1
padding = "same"

[[model.layers]]
type = "maxpool2d"
pool_size = 2
padding = "valid"

[[model.layers]]
type = "activation"
activation = "leaky_relu"

[[model.layers]]
type = "dropout"
rate = 0.3

[[model.layers]]
type = "global_maxpool2d"

[[model.layers]]
type = "dense"
units = 3
activation = "linear"
kernel_regularizer = { l1 = 0.5 }

[loss]
name = "categorical_crossentropy"
from_logits = true
label_smoothing = 0.1

[training]
epochs = 2
batch_size = 3
seed = 7
shuffle = false

[optimizer]
name = "sgd"
learning_rate = 0.1
momentum = 0.9
nesterov = true
clipnorm = 1.0

[optimizer.schedule]
name = "piecewise_constant"
boundaries = [10, 20]
values = [0.1, 0.01, 0.001]
""")
# Near the limits (sides up to 65536, filters up to 65536, windows up to 1048576): refused, as too large.
put("config", "limits.toml", """[model]
input_shape = [4, 4, 65536]
classes = 256
[[model.layers]]
type = "conv2d"
filters = 65536
kernel_size = [3, 1024]
strides = 1048576
padding = "same"
[[model.layers]]
type = "maxpool2d"
pool_size = 1048576
strides = [1, 1048576]
padding = "same"
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "dense"
units = 256
activation = "softmax"
""")
# Floats and strings in the forms TOML allows (exponents, underscores, escapes), in keys that take them.
put("config", "number-forms.toml", """[data]
dataset = "mnist\\u00e9\\t'x'"
[model]
input_shape = [0x8, 0o10, 1]
classes = 2
[[model.layers]]
type = 'flatten'
[[model.layers]]
type = "dense"
units = 1_0
kernel_regularizer = { l1 = 1e-3, l2 = 2.5E-4 }
[[model.layers]]
type = "dense"
units = 2
activation = "softmax"
[training]
epochs = +3
[optimizer]
name = "adam"
learning_rate = 1e-3
clipnorm = 5e0
[optimizer.schedule]
name = "piecewise_constant"
boundaries = [1e1, 2.0e3, 30_000]
values = [1e-2, 5E-3, 1e-3, 1.0e-4]
""")
put("config", "global-avg-adam.toml", """[model]
input_shape = [4, 4, 3]
classes = 2
[[model.layers]]
type = "global_avgpool2d"
[[model.layers]]
type = "dense"
units = 2
activation = "softmax"
[loss]
name = "kl_divergence"
[optimizer]
name = "adam"
beta_1 = 0.8
beta_2 = 0.99
epsilon = 1e-6
[optimizer.schedule]
name = "exponential_decay"
decay_steps = 100
decay_rate = 0.5
staircase = true
""")
put("config", "cosine-warmup-hinge.toml", """[data]
dataset = "fashion-mnist"
[model]
input_shape = [8, 8, 1]
classes = 4
[[model.layers]]
type = "flatten"
[[model.layers]]
type = "dense"
units = 4
activation = "sigmoid"
[loss]
name = "categorical_hinge"
[optimizer]
name = "rmsprop"
[optimizer.schedule]
name = "cosine_decay"
decay_steps = 1000
alpha = 0.1
warmup_target = 0.01
warmup_steps = 50
""")

# csv: Kaggle digit-recognizer rows of 2x2 images (the harness reads 4 pixel columns).
header = "label,pixel0,pixel1,pixel2,pixel3\n"
put("csv", "valid", header + "3,0,255,17,128\n7,1,2,3,4\n0,9,9,9,9\n1,0,0,0,0\n")
put("csv", "quoted-and-spaces", header + '"3", 0,255 ,17,128\r\n7,1,2,3,4\r\n')
put("csv", "unlabelled", "pixel0,pixel1,pixel2,pixel3\n0,255,17,128\n")
put("csv", "bad-values", header + "3,0,300,17,128\n-1,1,2,3,4\n2,1,2,3\n")

# npz: .npy arrays (the harness stores them as x_train.npy beside a valid y_train of 3 labels) and
# whole archives.
def npy(descr, shape, data, version=1):
    shape_text = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    size = 2 if version == 1 else 4
    while (8 + size + len(text) + 1) % 64:
        text += " "
    text += "\n"
    return b"\x93NUMPY" + bytes([version, 0]) + len(text).to_bytes(size, "little") + text.encode() + data
put("npz", "x-valid", npy("|u1", [3, 2, 2], bytes(range(12))))
put("npz", "x-version2", npy("|u1", [3, 2, 2, 1], bytes(range(12)), version=2))
put("npz", "x-float", npy("<f4", [3, 2, 2], bytes(48)))
put("npz", "x-fortran", npy("|u1", [3, 2, 2], bytes(12)).replace(b"False", b"True "))
def npz(arrays, compression=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in arrays:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, data, compress_type=compression)
    return buffer.getvalue()
labels = npy("|u1", [3], bytes([0, 1, 2]))
put("npz", "archive-deflated", npz([("x_train", npy("|u1", [3, 2, 2], bytes(range(12)))), ("y_train", labels)]))
put("npz", "archive-stored", npz([("x_train", npy("|u1", [3, 2, 2], bytes(range(12)))), ("y_train", npy("<i8", [3], bytes(24)))],
                                  zipfile.ZIP_STORED))

# csv, round two: pandas' lexical column order, Fashion-MNIST's 1-based names, a quoted newline.
put("csv", "lexical-order", "label,pixel0,pixel1,pixel3,pixel2\n3,0,255,128,17\n7,1,2,4,3\n")
put("csv", "one-based", "label,pixel1,pixel2,pixel3,pixel4\n3,0,255,17,128\n")
put("csv", "quoted-newline", header + '3,"0\n1",255,17,128\n')
put("csv", "duplicate-pixel", "label,pixel0,pixel0,pixel2,pixel3\n3,0,255,17,128\n")

# npz, round two: two members of the same name; no samples of a huge shape.
put("npz", "archive-duplicate", npz([("x_train", npy("|u1", [3, 2, 2], bytes(range(12)))), ("y_train", labels),
                                     ("x_train", npy("|u1", [3, 2, 2], bytes(12)))]))
put("npz", "x-empty-huge", npy("|u1", [0, 2**31, 2**31], b""))
put("npz", "x-empty-overflow", npy("|u1", [0, 2**31, 2**31, 2**31], b""))

# plot: metrics.csv, a NUL, confusion.csv (the harness splits there).
metrics = ("epoch,steps,train_loss,train_accuracy,test_loss,test_accuracy,epoch_seconds,samples_per_second,eval_seconds\n"
           "1,10,0.5,0.8,0.4,0.85,1.0,100,0.1\n2,10,0.3,0.9,0.2,0.93,1.0,100,0.1\n")
confusion = "true\\predicted,0,1,2\n0,5,1,0\n1,0,7,2\n2,1,0,9\n"
put("plot", "run", metrics + "\0" + confusion)
put("plot", "no-test-set", metrics.replace("0.4,0.85", ",").replace("0.2,0.93", ",") + "\0")
put("plot", "huge-epoch", metrics.replace("\n2,", "\n9223372036854775807,") + "\0" + confusion.replace("9\n", "9223372036854775807\n"))
put("plot", "validation", "epoch,train_loss,train_accuracy,test_loss,test_accuracy,val_loss,val_accuracy\n1,0.5,0.8,,,0.4,0.7\n2,0.4,0.9,,,,\n")

# folder: entries separated by NUL, the first byte of each its kind (0 PNG, 1 garbage, 2 folder, 3 link).
def entries(*items):
    return b"\0".join(bytes([kind]) + (path if isinstance(path, bytes) else path.encode()) for kind, path in items)
put("folder", "split", entries((0, "train/a/0.png"), (0, "train/b/1.png"), (0, "test/a/2.png"), (0, "test/b/3.png")))
put("folder", "single", entries((0, "cat/0.png"), (0, "dog/x/1.png"), (1, "dog/bad.png"), (1, "notes.txt")))
put("folder", "newline-class", entries((0, "a\nb/0.png"), (0, "c/1.png")))
put("folder", "latin1-names", entries((0, b"caf\xe9/0.png"), (0, b"b/\xff.png"), (0, "b/1.png")))
put("folder", "symlink-class", entries((0, "real/0.png"), (0, "b/1.png"), (3, "a>real")))
