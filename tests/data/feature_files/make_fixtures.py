#!/usr/bin/python3
"""Writes the feature-file fixtures of tests/test_feature_files.cpp with
Python's torch and h5py (Debian python3-torch, python3-h5py), so that the C++
readers are checked against files the real tools write. Deterministic; the
files are checked in: run it only to change them.

  /usr/bin/python3 tests/data/feature_files/make_fixtures.py

Every tensor is F[i][j] = (i * D + j) / 4 - 1 (exact in float16 and bfloat16)
unless said otherwise; n = 3 rows, D = 4 columns.
"""
import os

import h5py
import numpy as np
import torch
import torch.serialization

HERE = os.path.dirname(os.path.abspath(__file__))


def values(dtype):
    return (torch.arange(12, dtype=torch.float64).reshape(3, 4) / 4 - 1).to(dtype)


def save(name, obj):
    torch.save(obj, os.path.join(HERE, name))


def main():
    save("f32.pt", values(torch.float32))
    save("f16.pt", values(torch.float16))
    save("f64.pt", values(torch.float64))
    save("bf16.pt", values(torch.bfloat16))
    save("transposed.pt", values(torch.float32).t())  # [4, 3], not contiguous
    save("int64.pt", torch.arange(12).reshape(3, 4))
    save("one_d.pt", torch.arange(4, dtype=torch.float32))
    save("list.pt", [values(torch.float32), values(torch.float32)])
    save("empty.pt", torch.zeros(0, 4))
    nan = values(torch.float32)
    nan[2, 1] = float("nan")
    save("nan.pt", nan)
    # A tensor saved from a GPU: its storage's location tag is "cuda:0". Made
    # without a GPU by tagging a CPU storage the way torch.save tags a CUDA one.
    tag = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: "cuda:0"
    try:
        save("cuda.pt", values(torch.float32))
    finally:
        torch.serialization.location_tag = tag

    # A TRIDENT-style .h5 as h5py writes it: float16 features with attribute
    # `encoder`, int32 coords with the patch attributes.
    with h5py.File(os.path.join(HERE, "trident_f16.h5"), "w") as f:
        feats = f.create_dataset("features", data=values(torch.float16).numpy())
        feats.attrs["encoder"] = "conch_v15"
        coords = f.create_dataset("coords", data=np.array([[0, 0], [512, 0], [1024, 2048]], dtype=np.int32))
        coords.attrs["patch_size"] = 512
        coords.attrs["patch_size_level0"] = 1024
        coords.attrs["level0_magnification"] = 40.0


if __name__ == "__main__":
    main()
