#!/usr/bin/env python3
"""Markdown table of `abmil cv` results (RUNS/<data set>_<pooling>/cv_summary.json)
next to the paper's Table 1 from the reference YAML.
usage: make_table.py RUNS REFERENCE_YAML"""
import json, os, sys
import yaml

runs, reference = sys.argv[1], sys.argv[2]
ref = yaml.safe_load(open(reference))["classical_mil"]
sets = ["musk1", "musk2", "fox", "tiger", "elephant"]
poolings = ["gated_attention", "attention", "mean", "max", "instance_max", "instance_mean"]
names = {"gated_attention": "gated attention", "attention": "attention", "mean": "embedding mean",
         "max": "embedding max", "instance_max": "instance max", "instance_mean": "instance mean"}

def cell(ds, pool):
    d = os.path.join(runs, f"{ds}_{pool}")
    try:
        s = json.load(open(os.path.join(d, "cv_summary.json")))["accuracy"]
    except FileNotFoundError:
        return "not run", 0.0
    t = json.load(open(os.path.join(d, "cv_run.json")))["seconds_total"]
    return f"{s['mean']:.3f} ± {s['sem']:.3f}", t

print("Mean test accuracy ± standard error over 5 repeats x 10 folds (n = 50 folds).\n")
print("| method | " + " | ".join(sets) + " |")
print("| --- | " + " | ".join("---" for _ in sets) + " |")
total = 0.0
for pool in poolings:
    row = []
    for ds in sets:
        text, t = cell(ds, pool)
        total += t
        row.append(text)
    print(f"| abmil {names[pool]} | " + " | ".join(row) + " |")
for method in ["attention", "gated_attention", "mi_net", "MI_net", "mi_graph", "mi_svm", "MI_svm"]:
    r = ref[method]
    vals = []
    for ds in sets:
        m, e = r[ds]
        vals.append(f"{m:.3f}" + (f" ± {e:.3f}" if e is not None else ""))
    note = "" if r.get("verified") else " (±: recalled, not verified)"
    print(f"| paper: {method.replace('_', '-')}{note} | " + " | ".join(vals) + " |")
for method in ["attention", "gated_attention"]:
    bars = [f"{ref[method][ds][0] - ref[method][ds][1]:.3f}" for ds in sets]
    print(f"| bar for abmil {names[method]} (paper mean - its ±) | " + " | ".join(bars) + " |")
print(f"\nSum of the runs' wall times: {total / 60:.1f} min on this machine.")
