#!/usr/bin/env python3
"""Markdown table of MNIST-bags (mean bag size 10) for every pooling: the
paper's six from ../mnist_bags/results.csv, the others from
results_mnist.csv (sweep.py run --sweep mnist_sweep.yaml), at 50 and 200
training bags, seeds 1-5: test AUC and the attention's instance AUC (mean ±
standard error over seeds), epochs run and seconds per cell (means).
usage: make_mnist_table.py [RESULTS_CSV ...]"""
import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import tables  # noqa: E402

TRAIN_BAGS = [50, 200]
SEEDS = {1, 2, 3, 4, 5}
ORDER = ["gated_attention", "attention", "mean", "max", "instance_max", "instance_mean",
         "lse", "topk_mean", "multihead_gated_attention", "pma", "transformer", "dsmil"]


def rows(paths):
    out = []
    for p in paths:
        with open(p) as f:
            out += [r for r in csv.DictReader(f)
                    if int(float(r["mean_bag_size"])) == 10 and int(r["train_bags"]) in TRAIN_BAGS
                    and int(r["seed"]) in SEEDS]
    return out


def main():
    paths = sys.argv[1:] or [os.path.join(HERE, "..", "mnist_bags", "results.csv"),
                             os.path.join(HERE, "results_mnist.csv")]
    data = rows(paths)
    print("MNIST-bags, mean bag size 10 (std 2), 1000 test bags: mean ± standard error over seeds 1-5 "
          "(n in brackets when fewer).\n")
    head = " | ".join(f"AUC, {n} bags | instance AUC, {n} bags | s per cell, {n}" for n in TRAIN_BAGS)
    print(f"| pooling | {head} |")
    print("| --- |" + " --- | --- | ---: |" * len(TRAIN_BAGS))
    commits = set()
    for method in ORDER:
        cells = []
        for n in TRAIN_BAGS:
            sel = [r for r in data if r["method"] == method and int(r["train_bags"]) == n]
            commits |= {r.get("commit", "") for r in sel if r.get("commit")}
            if not sel:
                cells += ["not run", "", ""]
                continue
            note = f" (n = {len(sel)})" if len(sel) < len(SEEDS) else ""
            auc = tables.fmt(tables.mean_sem([float(r["test_auc"]) for r in sel])) + note
            inst = [float(r["instance_auc"]) for r in sel if r["instance_auc"] not in ("", "nan")]
            cells += [auc, tables.fmt(tables.mean_sem(inst)) if inst else "—",
                      f"{sum(float(r['seconds']) for r in sel) / len(sel):.0f}"]
        print(f"| {tables.POOLING_NAMES.get(method, method)} | " + " | ".join(cells) + " |")
    if commits:
        print(f"\nCells produced by commits: {', '.join(sorted(commits))}.")


if __name__ == "__main__":
    main()
