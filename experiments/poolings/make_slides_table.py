#!/usr/bin/env python3
"""Markdown table of the slide-feature column (run_slides.sh): per pooling,
from runs/slides/<pooling>/ (the 90-slide planted set, mean 2,000 instances)
the test macro AUC and accuracy, the attention AUC against the planted
instances (mean within each planted slide, and pooled over all their
instances) and the run's peak RSS (not its epoch times: that half may run
beside other work); from
runs/slides10k/<pooling>/ (15 slides of 10,000 instances, 12 of them for
training, 2 epochs) the seconds of the second training epoch, per slide, and
the peak RSS.
usage: make_slides_table.py [RUNS]   (default: runs/ next to this script)"""
import csv
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import tables  # noqa: E402

ORDER = ["gated_attention", "attention", "mean", "max", "instance_max", "instance_mean",
         "lse", "topk_mean", "multihead_gated_attention", "pma", "transformer", "dsmil"]


TIMING_TRAIN_SLIDES = 12  # make_slide_timing_set.py's splits.csv


def peak_mib(run):
    with open(os.path.join(run, "time.txt")) as f:
        kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read()).group(1))
    return kb / 1024


def train_epochs(run):
    with open(os.path.join(run, "metrics.csv")) as f:
        return [(int(r["epoch"]), float(r["seconds"])) for r in csv.DictReader(f) if r["split"] == "train"]


def refusal(run):
    """Why the pooling refused the run's data (refused.txt, run_slides.sh), in a few words."""
    with open(os.path.join(run, "refused.txt")) as f:
        text = f.read()
    return ("refused: binary only" if "binary label only" in text else
            "refused: over its limit" if "over its limit" in text else "refused")


def fmt(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f}"


def main():
    runs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "runs")
    print("| pooling | macro AUC | accuracy | attention AUC within each slide | attention AUC pooled "
          "| peak MiB | s per epoch at 10,000 (per slide) | peak MiB at 10,000 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for key in ORDER:
        name = tables.POOLING_NAMES[key]
        a, t = os.path.join(runs, "slides", key), os.path.join(runs, "slides10k", key)
        cells = [name]
        if os.path.exists(os.path.join(a, "metrics.json")):
            m = json.load(open(os.path.join(a, "metrics.json")))["test"]
            cells += [fmt(m.get("macro_auc")), fmt(m.get("accuracy")), fmt(m.get("instance_auc_per_bag")),
                      fmt(m.get("instance_auc")), f"{peak_mib(a):.0f}"]
        elif os.path.exists(os.path.join(a, "refused.txt")):
            cells += [refusal(a)] + ["—"] * 4
        else:
            cells += ["not run"] * 5
        if os.path.exists(os.path.join(t, "metrics.json")):
            s = dict(train_epochs(t))[2]
            cells += [f"{s:.1f} ({s / TIMING_TRAIN_SLIDES:.2f})", f"{peak_mib(t):.0f}"]
        elif os.path.exists(os.path.join(t, "refused.txt")):
            cells += [refusal(t), "—"]
        else:
            cells += ["not run", "not run"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
