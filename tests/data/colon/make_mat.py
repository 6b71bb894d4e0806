#!/usr/bin/python3
"""Writes the small MATLAB v5 .mat files of tests/test_colon_nuclei.cpp.

Each holds one variable laid out like the nucleus coordinate files of the
CRCHistoPhenotypes set (datasets/colon_crchistophenotypes.md): `detection`,
an N x 2 double matrix of 1-based (x, y) pixel centres, or a broken variant.

    /usr/bin/python3 tests/data/colon/make_mat.py   (writes next to itself)

scipy.io.savemat writes the date into the 116-byte text header of a v5 file;
this script overwrites it with a fixed text so that the files are the same
on every run.
"""
import os

import numpy as np
from scipy.io import savemat

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = b"MATLAB 5.0 MAT-file, written by abmil tests/data/colon/make_mat.py"

# Columns x, y (1-based); the test checks these values exactly.
XY = np.array([[10.0, 20.0], [1.0, 500.0], [250.5, 33.25]])

# name: (variables, savemat options); v5 uncompressed unless said otherwise.
FILES = {
    "detection_3x2.mat": {"detection": XY},
    "detection_3x2_zlib.mat": ({"detection": XY}, {"do_compression": True}),  # MATLAB's v7 default
    "detection_3x2_v4.mat": ({"detection": XY}, {"format": "4"}),
    "empty_0x0.mat": {"detection": np.zeros((0, 0))},   # MATLAB's []
    "empty_0x2.mat": {"detection": np.zeros((0, 2))},   # zeros(0, 2)
    "wrong_name.mat": {"centroids": XY},
    "shape_3x3.mat": {"detection": np.arange(1.0, 10.0).reshape(3, 3)},
    "nan.mat": {"detection": np.array([[10.0, 20.0], [np.nan, 5.0], [3.0, 4.0]])},
    "inf.mat": {"detection": np.array([[10.0, 20.0], [2.0, 5.0], [3.0, -np.inf]])},
    "int32.mat": {"detection": XY.astype(np.int32)},
    "complex.mat": {"detection": XY + 1j},
}


def main():
    for name, spec in FILES.items():
        variables, options = spec if isinstance(spec, tuple) else (spec, {})
        options = {"format": "5", "do_compression": False, **options}
        path = os.path.join(HERE, name)
        savemat(path, variables, **options)
        if options["format"] == "5":
            with open(path, "r+b") as f:
                f.write(HEADER.ljust(116, b" "))
        print(name, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
