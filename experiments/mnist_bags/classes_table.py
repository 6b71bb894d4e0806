#!/usr/bin/env python3
"""Table of the multi-class and multi-label MNIST-bags runs (classes.sh):
test metrics, mean ± standard deviation over seeds, as Markdown.

    experiments/mnist_bags/classes_table.py [RUNS_DIR]   (default: experiments/mnist_bags/runs)

Reads RUNS_DIR/multiclass_789_s*/metrics.json and multilabel_789_s*/metrics.json.
"""
import glob
import json
import math
import os
import sys


def mean_std(values):
    """(mean, sample standard deviation) of the values; std 0 for one value."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan"), float("nan")
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, 0.0
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def cell(values):
    m, s = mean_std(values)
    return f"{m:.3f} ± {s:.3f}"


def seconds(runs):
    """Mean wall seconds of the runs, data loading to finished run directory."""
    return f"{mean_std([j['seconds_total'] for _, j in runs])[0]:.0f}"


def load(runs, config):
    out = []
    for path in sorted(glob.glob(os.path.join(runs, f"{config}_s*", "metrics.json"))):
        with open(path) as f:
            j = json.load(f)
        seed = path.split(f"{config}_s")[1].split(os.sep)[0]
        out.append((seed, j))
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    runs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "runs")
    mc = load(runs, "multiclass_789")
    if mc:
        t = [j["test"] for _, j in mc]
        tr = [j["training"] for _, j in mc]
        print(f"Multi-class 7 / 8 / 9 (multiclass_789.yaml), seeds {', '.join(s for s, _ in mc)}:\n")
        print("| accuracy | macro AUC | balanced accuracy | macro F1 | epochs run | mean seconds |")
        print("| --- | --- | --- | --- | --- | --- |")
        print(f"| {cell([x['accuracy'] for x in t])} | {cell([x['macro_auc'] for x in t])} | "
              f"{cell([x['balanced_accuracy'] for x in t])} | {cell([x['macro_f1'] for x in t])} | "
              f"{', '.join(str(x['epochs_run']) for x in tr)} | {seconds(mc)} |")
        print()
    ml = load(runs, "multilabel_789")
    if ml:
        t = [j["test"] for _, j in ml]
        tr = [j["training"] for _, j in ml]
        labels = t[0]["labels"]
        print(f"Multi-label 7 / 8 / 9 (multilabel_789.yaml), seeds {', '.join(s for s, _ in ml)}:\n")
        head = ["exact match", "macro F1", "micro F1", "macro AUC"] + [f"AUC {l}" for l in labels]
        print("| " + " | ".join(head + ["epochs run", "mean seconds"]) + " |")
        print("| " + " | ".join(["---"] * (len(head) + 2)) + " |")
        cells = [cell([x[k] for x in t]) for k in ("exact_match", "macro_f1", "micro_f1", "macro_auc")]
        cells += [cell([x["per_label"][l]["auc"] for x in t]) for l in labels]
        cells += [", ".join(str(x["epochs_run"]) for x in tr), seconds(ml)]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
