#!/usr/bin/env python3
"""Draws the README's example slide heatmap, figures/heatmap_ucsb_tiff.png.

A UCSB breast-cancer image becomes a tiled pyramidal TIFF (vips tiffsave
--tile --pyramid), the whole-slide format OpenSlide reads; its tissue is cut
into 64-px patches whose "attention weights" are synthetic: how dark the patch
is (255 minus its mean grey level; white background patches are left out), so
the picture shows the drawing, not a model. A hand-written feature_files run
directory (config.yaml with data.slide_dir, attention/test.csv with x,y) is
then drawn by `abmil visualize`, and the PNG shrunk to 60 % with a 256-colour
palette (vips) to stay small.

    ABMIL_DATA=/path/to/datasets python3 experiments/feature_files/make_heatmap_figure.py [--abmil build/abmil]

Needs vips (Debian libvips-tools) and $ABMIL_DATA/ucsb_breast; Python's
standard library only.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IMAGE = "ytma10_010704_malignant1_ccd.png"
PATCH = 64
SLIDE = "ucsb_malignant1"
HEADER = ("bag_id,bag_name,instance_index,source_index,instance_label,attention_weight,attention_logit,"
          "instance_probability,bag_label,bag_probability,x,y")


def run(*args):
    subprocess.run([str(a) for a in args], check=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--abmil", default=str(HERE.parents[1] / "build" / "abmil"))
    p.add_argument("--out", default=str(HERE / "figures" / "heatmap_ucsb_tiff.png"))
    a = p.parse_args()
    data = os.environ.get("ABMIL_DATA")
    image = Path(data or "", "ucsb_breast", "images", IMAGE)
    if not data or not image.is_file():
        sys.exit(f"make_heatmap_figure: no {image}: set ABMIL_DATA to the data-set root")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run_dir = tmp / "run"
        (run_dir / "slides").mkdir(parents=True)
        (run_dir / "attention").mkdir()
        run("vips", "tiffsave", image, run_dir / "slides" / f"{SLIDE}.tif", "--tile", "--pyramid", "--tile-width",
            "256", "--tile-height", "256")
        # mean grey level of every PATCH x PATCH patch: the image shrunk by PATCH
        run("vips", "colourspace", image, tmp / "grey.v", "b-w")
        run("vips", "extract_band", tmp / "grey.v", tmp / "grey1.v", "0")
        run("vips", "shrink", tmp / "grey1.v", tmp / "means.v", PATCH, PATCH)
        run("vips", "csvsave", tmp / "means.v", tmp / "means.csv", "--separator", ",")
        rows = [[float(v) for v in line.split(",") if v.strip()] for line in (tmp / "means.csv").read_text().split("\n")
                if line.strip()]
        lines = [HEADER]
        for j, row in enumerate(rows):
            for i, mean in enumerate(row):
                if mean >= 215:  # background
                    continue
                k = len(lines) - 1
                lines.append(f"0,{SLIDE},{k},{k},,{(255 - mean) / 255:.4f},,,,0.5,{i * PATCH},{j * PATCH}")
        (run_dir / "attention" / "test.csv").write_text("\n".join(lines) + "\n")
        (run_dir / "config.yaml").write_text(
            "experiment: {name: ucsb_tiff, seed: 1}\ndata: {kind: feature_files, slide_dir: slides}\n")
        run(a.abmil, "visualize", run_dir, "--alpha", "0.45")
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        run("vips", "resize", run_dir / "visualize" / f"{SLIDE}_heatmap.png", tmp / "small.v", "0.6")
        run("vips", "pngsave", tmp / "small.v", a.out, "--palette", "--compression", "9")
    print(f"wrote {a.out} ({Path(a.out).stat().st_size} bytes, {len(lines) - 1} patches)")


if __name__ == "__main__":
    main()
