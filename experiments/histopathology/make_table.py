#!/usr/bin/env python3
"""Markdown table of the UCSB `abmil cv` runs next to the paper's Table 2.

usage: make_table.py RUNS [REFERENCE_YAML] > results.md

RUNS/<pooling>/folds/r<R>_f<K>.json are the finished folds of each run (a run
still going, or stopped, counts the folds it has). Each cell is the mean ±
standard error over the finished folds; the folds column says which ran.
REFERENCE_YAML defaults to the in-repo copy, ../common/ilse2018_results.yaml.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import tables  # noqa: E402
from tables import fmt, mean_sem  # noqa: E402

POOLINGS = ["gated_attention", "attention", "mean", "max", "instance_mean", "instance_max"]
NAMES = tables.POOLING_NAMES
METRICS = ["accuracy", "precision", "recall", "f1", "auc"]


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
    runs = sys.argv[1]
    ref = tables.load_reference("histopathology", sys.argv[2] if len(sys.argv) > 2 else None)["breast_ucsb"]
    print("UCSB breast cancer, stratified 10-fold CV (`abmil cv`, 1 repeat): mean ± standard error over the folds "
          "that ran. The paper's values (Ilse et al. 2018, Table 2) are below ours.\n")
    print("| method | folds | " + " | ".join(METRICS) + " | epochs (mean) | fold time (mean) |")
    print("| --- | --- | " + " | ".join("---" for _ in METRICS) + " | --- | --- |")
    total_seconds, total_epochs = 0.0, 0
    for pool in POOLINGS:
        folds = tables.fold_results(os.path.join(runs, pool))
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
        r = ref.get(tables.PAPER_METHODS[pool])
        if not r:
            continue
        cells = [fmt((r[m][0], r[m][1])) if m in r else "–" for m in METRICS]
        print(f"| paper: {NAMES[pool]} | 10 | " + " | ".join(cells) + " | | |")
    print(f"\nSum of the folds' wall times: {total_seconds / 60:.1f} min for {total_epochs} epochs "
          f"({total_seconds / max(1, total_epochs):.1f} s per epoch, validation pass included).")
    footer = tables.provenance_footer([(pool, os.path.join(runs, pool)) for pool in POOLINGS])
    if footer:
        print("\n" + "\n".join(footer))


if __name__ == "__main__":
    main()
