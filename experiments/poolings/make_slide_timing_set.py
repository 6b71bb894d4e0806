#!/usr/bin/python3
"""Writes a CLAM-layout feature set whose slides all hold exactly K instances,
for the epoch time and peak memory of each pooling "at K instances per bag"
(README "Choosing a pooling", the slide-feature column). Same generator as
../shared/bench/ref_clam_features.py make (post-ReLU-like N(0,1) features of
dimension D, 5-20 % planted instances shifted by 3.0 along a class direction
in slides of class > 0), but n = K for every slide instead of
uniform(K/2, 3K/2), so the largest bag is the stated size.

usage: make_slide_timing_set.py DIR [--bags 15] [--instances 10000]
       [--dim 1024] [--classes 3] [--seed 1]
Writes DIR/h5_files/<slide_id>.h5 (features float32 [K, D], coords int32
[K, 2]), DIR/instance_labels/<slide_id>.csv, DIR/labels.csv
(case_id,slide_id,label) and DIR/splits.csv (CLAM's train,val,test columns: the
last two slides test, the one before validation, the rest train). Needs Debian's python3-h5py and python3-numpy."""
import argparse
import csv
import os

import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("dir")
p.add_argument("--bags", type=int, default=15)
p.add_argument("--instances", type=int, default=10000)
p.add_argument("--dim", type=int, default=1024)
p.add_argument("--classes", type=int, default=3)
p.add_argument("--seed", type=int, default=1)
a = p.parse_args()

rng = np.random.default_rng(a.seed)
os.makedirs(os.path.join(a.dir, "h5_files"), exist_ok=True)
os.makedirs(os.path.join(a.dir, "instance_labels"), exist_ok=True)
dirs = rng.standard_normal((a.classes, a.dim)).astype(np.float32)
dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
n = a.instances
side = int(np.ceil(np.sqrt(n)))
coords = np.stack([np.arange(n) % side, np.arange(n) // side], 1).astype(np.int32) * 256
rows = []
for b in range(a.bags):
    label = b % a.classes
    x = np.maximum(rng.standard_normal((n, a.dim), dtype=np.float32), 0)
    inst = np.zeros(n, dtype=np.int8)
    if label > 0:
        k = max(1, int(n * rng.uniform(0.05, 0.20)))
        idx = rng.choice(n, size=k, replace=False)
        x[idx] += 3.0 * dirs[label]
        inst[idx] = 1
    sid = f"slide_{b:05d}"
    with h5py.File(os.path.join(a.dir, "h5_files", sid + ".h5"), "w") as f:
        f.create_dataset("features", data=x, chunks=(min(32, n), a.dim))
        f.create_dataset("coords", data=coords, chunks=(min(32, n), 2))
    np.savetxt(os.path.join(a.dir, "instance_labels", sid + ".csv"), inst, fmt="%d")
    rows.append((f"case_{b:05d}", sid, f"class_{label}"))
with open(os.path.join(a.dir, "labels.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["case_id", "slide_id", "label"])
    w.writerows(rows)
# CLAM split: the last two slides test, the one before validation, the rest
# (12 of the default 15) train, so an epoch is a known number of slides.
ids = [r[1] for r in rows]
train, val, test = ids[:-3], ids[-3:-2], ids[-2:]
with open(os.path.join(a.dir, "splits.csv"), "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["", "train", "val", "test"])
    for i in range(len(train)):
        w.writerow([i, train[i], val[i] if i < len(val) else "", test[i] if i < len(test) else ""])
print(f"{a.bags} slides of {n} instances x {a.dim} in {a.dir}")
