#!/usr/bin/env python3
"""Writes the IDX cases of the bad-input corpus under idx/<case>/.

The files are checked in; run this again only to change them
(python3 tests/data/bad/make_idx.py). Every file is a few bytes: 1x1 or 2x2
"images". Each case folder stands for a data.root of mnist_bags.
"""
import gzip
import os
import shutil
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idx")
IMAGES, LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"


def images(count, rows=1, cols=1, magic=0x803, data=None):
    """An IDX image file; `data` defaults to count*rows*cols bytes."""
    body = bytes(range(count * rows * cols)) if data is None else data
    return struct.pack(">IIII", magic, count, rows, cols) + body


def labels(values, magic=0x801, count=None):
    """An IDX label file holding `values`; `count` overrides the header count."""
    return struct.pack(">II", magic, len(values) if count is None else count) + bytes(values)


def gzip_bytes(data):
    """`data` gzipped with a fixed mtime, so the file is the same on every run."""
    return gzip.compress(data, mtime=0)


CASES = {
    "bad_magic": {IMAGES: struct.pack(">IIII", 0x12345678, 1, 1, 1) + b"\0"},
    "labels_as_images": {IMAGES: labels([1, 2, 3])},
    "two_dims": {IMAGES: struct.pack(">III", 0x802, 1, 1) + b"\0"},
    "empty_file": {IMAGES: b""},
    "truncated_header": {IMAGES: images(1)[:10]},
    "truncated_data": {IMAGES: images(3, 2, 2)[:16 + 5]},
    "trailing_bytes": {IMAGES: images(1) + b"xyz"},
    "zero_count": {IMAGES: images(0)},
    "side_too_large": {IMAGES: struct.pack(">IIII", 0x803, 1, 5000, 1)},
    "gzip_corrupt": {IMAGES + ".gz": gzip_bytes(images(4))[:10] + b"\xff" * 20},
    "gzip_truncated": {IMAGES + ".gz": gzip_bytes(images(64, 2, 2))[:40]},
    "labels_missing": {IMAGES: images(2)},
    "labels_bad_magic": {IMAGES: images(2), LABELS: images(2)},
    "labels_truncated": {IMAGES: images(2), LABELS: labels([9, 0], count=3)},
    "count_mismatch": {IMAGES: images(2), LABELS: labels([9, 0, 9])},
    "no_target_class": {IMAGES: images(4), LABELS: labels([0, 1, 2, 3])},
    "test_split_missing": {IMAGES: images(4), LABELS: labels([9, 0, 9, 0])},
}


def main():
    for case, files in CASES.items():
        folder = os.path.join(HERE, case)
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for name, data in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    # A folder where the image file should be (git keeps it by its .gitkeep).
    os.makedirs(os.path.join(HERE, "directory_as_file", IMAGES), exist_ok=True)
    open(os.path.join(HERE, "directory_as_file", IMAGES, ".gitkeep"), "w").close()


if __name__ == "__main__":
    main()
