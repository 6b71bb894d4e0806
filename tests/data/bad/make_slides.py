#!/usr/bin/python3
"""Writes the whole-slide feature cases under slides/ (checked in; run only to
change them): /usr/bin/python3 tests/data/bad/make_slides.py

Each slides/<case>/ is a tiny CLAM data set (data.kind: feature_files):
labels.csv (case_id,slide_id,label; classes normal, tumor) and one file a
slide, h5_files/<slide_id>.h5 (`features` float32 [4, 3], `coords` int64
[4, 2]) or, for the .pt cases, pt_files/<slide_id>.pt (torch.save of a
float32 [4, 3] tensor). Every case holds exactly one defect, in slide_2
unless said otherwise. Deterministic: fixed values, seeded bytes, h5py
without timestamps. Needs h5py and torch (Debian python3-h5py, python3-torch).
"""
import os
import random
import shutil

import h5py
import numpy as np
import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "slides")
SLIDES = [("case_1", "slide_1", "normal"), ("case_2", "slide_2", "tumor"), ("case_3", "slide_3", "tumor")]


def features(k, n=4, d=3):
    """Slide k's [n, d] float32 features: small exact values."""
    return (np.arange(n * d, dtype=np.float32).reshape(n, d) / 8 - 0.5 + k).astype(np.float32)


def coords(n=4):
    return np.stack([np.arange(n) * 256, np.arange(n) * 512], axis=1).astype(np.int64)


def labels(case, rows=SLIDES):
    with open(os.path.join(HERE, case, "labels.csv"), "w") as f:
        f.write("case_id,slide_id,label\n")
        for row in rows:
            f.write(",".join(row) + "\n")


def h5(case, slide, feats=None, xy=None, with_features=True):
    folder = os.path.join(HERE, case, "h5_files")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, slide + ".h5")
    with h5py.File(path, "w", track_order=False) as f:
        if with_features:
            f.create_dataset("features", data=feats, track_times=False)
        f.create_dataset("coords", data=coords(len(feats)) if xy is None else xy, track_times=False)
    return path


def pt(case, slide, tensor):
    folder = os.path.join(HERE, case, "pt_files")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, slide + ".pt")
    torch.save(tensor, path)
    return path


def cut_in_half(path):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])


def h5_case(case, rows=SLIDES, skip=(), **slide_2):
    """labels.csv of `rows` and a good .h5 for each slide, slide_2's built with `slide_2`."""
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    labels(case, rows)
    for k, (_, slide, _) in enumerate(SLIDES):
        if slide in skip:
            continue
        args = dict(feats=features(k))
        if slide == "slide_2":
            args.update(slide_2)
        h5(case, slide, **args)


def pt_case(case):
    os.makedirs(os.path.join(HERE, case), exist_ok=True)
    labels(case)
    return [pt(case, slide, torch.from_numpy(features(k))) for k, (_, slide, _) in enumerate(SLIDES)]


def main():
    shutil.rmtree(HERE, ignore_errors=True)
    h5_case("missing_file", skip=("slide_3",))  # slide_3 listed, no file
    h5_case("missing_features", with_features=False)  # slide_2.h5 holds only `coords`
    h5_case("dim_mismatch", feats=features(1, d=5))  # slide_2: D = 5, the others 3
    h5_case("coords_rows", xy=coords(3))  # slide_2: 3 coords rows, 4 features rows
    h5_case("empty_bag", feats=features(1, n=0))  # slide_2: 0 instances
    nan = features(1)
    nan[1, 2] = np.nan
    h5_case("nan_feature", feats=nan)  # slide_2 row 1, column 2
    inf = features(1)
    inf[3, 0] = np.inf
    h5_case("inf_feature", feats=inf)  # slide_2 row 3, column 0
    # the config passes data.classes [normal, tumor]; slide_2's label is misspelt
    h5_case("unknown_label", rows=[SLIDES[0], ("case_2", "slide_2", "tumuor"), SLIDES[2]])
    # slide_1 listed twice (lines 2 and 4)
    h5_case("duplicate_slide", rows=SLIDES + [("case_4", "slide_1", "tumor")])
    h5_case("truncated_h5")
    cut_in_half(os.path.join(HERE, "truncated_h5", "h5_files", "slide_2.h5"))

    paths = pt_case("corrupt_pt")
    rng = random.Random(7)
    with open(paths[1], "wb") as f:  # slide_2.pt: 600 random bytes
        f.write(bytes(rng.randrange(256) for _ in range(600)))
    paths = pt_case("truncated_pt")
    cut_in_half(paths[1])  # slide_2.pt: a torch.save file cut in half


if __name__ == "__main__":
    main()
