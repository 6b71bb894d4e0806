#!/usr/bin/env python3
"""Markdown table of the UCSB `abmil cv` runs next to the paper's Table 2.

usage: make_table.py RUNS REFERENCE_YAML > results.md

RUNS/<pooling>/folds/r<R>_f<K>.json are the finished folds of each run (a run
still going, or stopped, counts the folds it has). Each cell is the mean ±
standard error over the finished folds; the folds column says which ran.
"""
import glob
import json
import math
import os
import sys

import yaml

POOLINGS = ["gated_attention", "attention", "mean", "max", "instance_mean", "instance_max"]
NAMES = {"gated_attention": "gated attention", "attention": "attention", "mean": "embedding mean",
         "max": "embedding max", "instance_mean": "instance mean", "instance_max": "instance max"}
REF_NAMES = {"mean": "embedding_mean", "max": "embedding_max"}
METRICS = ["accuracy", "precision", "recall", "f1", "auc"]


def mean_sem(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, float("nan")
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return m, sd / math.sqrt(len(values))


def fmt(pair):
    if pair is None:
        return "–"
    m, e = pair
    return f"{m:.3f}" if math.isnan(e) else f"{m:.3f} ± {e:.3f}"


def folds_of(run):
    out = []
    for path in sorted(glob.glob(os.path.join(run, "folds", "r*_f*.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def fold_list(folds):
    by_repeat = {}
    for f in folds:
        by_repeat.setdefault(f["repeat"], []).append(f["fold"] + 1)
    parts = []
    for r in sorted(by_repeat):
        ks = sorted(by_repeat[r])
        text = "all 10" if ks == list(range(1, 11)) else ", ".join(map(str, ks))
        parts.append(text if len(by_repeat) == 1 else f"repeat {r + 1}: {text}")
    return "; ".join(parts)


def main():
    runs, reference = sys.argv[1], sys.argv[2]
    with open(reference) as f:
        ref = yaml.safe_load(f)["histopathology"]["breast_ucsb"]
    print("UCSB breast cancer, stratified 10-fold CV (`abmil cv`, 1 repeat): mean ± standard error over the folds "
          "that ran. The paper's values (Ilse et al. 2018, Table 2) are below ours.\n")
    print("| method | folds | " + " | ".join(METRICS) + " | epochs (mean) | fold time (mean) |")
    print("| --- | --- | " + " | ".join("---" for _ in METRICS) + " | --- | --- |")
    total_seconds, total_epochs = 0.0, 0
    for pool in POOLINGS:
        folds = folds_of(os.path.join(runs, pool))
        if not folds:
            print(f"| abmil {NAMES[pool]} | not run | " + " | ".join("–" for _ in METRICS) + " | – | – |")
            continue
        cells = [fmt(mean_sem([f[m] for f in folds])) for m in METRICS]
        seconds = [f["seconds"] for f in folds]
        epochs = [f["epochs_run"] for f in folds]
        total_seconds += sum(seconds)
        total_epochs += sum(epochs)
        print(f"| abmil {NAMES[pool]} | {fold_list(folds)} | " + " | ".join(cells) +
              f" | {sum(epochs) / len(epochs):.0f} | {sum(seconds) / len(seconds) / 60:.1f} min |")
    for pool in POOLINGS:
        r = ref.get(REF_NAMES.get(pool, pool))
        if not r:
            continue
        cells = [fmt((r[m][0], r[m][1])) if m in r else "–" for m in METRICS]
        print(f"| paper: {NAMES[pool]} | 10 | " + " | ".join(cells) + " | | |")
    print(f"\nSum of the folds' wall times: {total_seconds / 60:.1f} min for {total_epochs} epochs "
          f"({total_seconds / max(1, total_epochs):.1f} s per epoch, validation pass included).")


if __name__ == "__main__":
    main()
