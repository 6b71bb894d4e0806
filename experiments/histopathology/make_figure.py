#!/usr/bin/env python3
"""README figure: attention overlays of a few UCSB test images.

usage: make_figure.py RUN_DIR OUT.png [PER_LABEL]

RUN_DIR is an `abmil cv` run on which `abmil visualize RUN_DIR` has written
visualize/<image>_overlay.png. From the first repeat's predictions
(predictions/r0_f<K>.csv) it takes, per label (malignant, benign), the
PER_LABEL (default 2) test images predicted right with the most confidence,
and lays their overlays out in a grid, half size.
"""
import csv
import glob
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402


def main():
    run, out = sys.argv[1], sys.argv[2]
    per_label = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    with open(os.path.join(run, "config.yaml")) as f:
        import yaml
        cfg = yaml.safe_load(f)
    data = cfg["data"]
    listing = os.path.expandvars(data["path"])
    with open(listing) as f:
        rows = list(csv.DictReader(f))
    names = [os.path.splitext(os.path.basename(r.get("path") or r["file"]))[0] for r in rows]
    preds = []
    for path in sorted(glob.glob(os.path.join(run, "predictions", "r0_f*.csv"))):
        with open(path) as f:
            for r in csv.DictReader(f):
                preds.append((int(r["bag_id"]), int(r["bag_label"]), float(r["bag_probability"])))
    chosen = []
    for label in (1, 0):
        right = [p for p in preds if p[1] == label and (p[2] >= 0.5) == (label == 1)]
        right.sort(key=lambda p: -abs(p[2] - 0.5))
        chosen += right[:per_label]
    fig, axes = plt.subplots(len(chosen) // 2 + len(chosen) % 2, 2, figsize=(12, 4.6 * ((len(chosen) + 1) // 2)))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (bag, label, p) in zip(axes.flat, chosen):
        img = mpimg.imread(os.path.join(run, "visualize", names[bag] + "_overlay.png"))
        ax.imshow(img[40:])  # below the picture's own heading
        ax.set_title(f"{names[bag]}: {'malignant' if label else 'benign'}, P(malignant) = {p:.2f}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(f"wrote {out}: " + ", ".join(names[b] for b, _, _ in chosen))


if __name__ == "__main__":
    main()
