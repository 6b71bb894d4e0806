#!/usr/bin/env python3
"""Markdown table of `abmil cv` results (RUNS/<data set>_<pooling>/cv_summary.json)
next to the paper's Table 1 from the reference YAML (default: the in-repo
copy, ../common/ilse2018_results.yaml).
usage: make_table.py RUNS [REFERENCE_YAML]"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import tables  # noqa: E402

SETS = ["musk1", "musk2", "fox", "tiger", "elephant"]
POOLINGS = ["gated_attention", "attention", "mean", "max", "instance_max", "instance_mean"]
NAMES = tables.POOLING_NAMES


def cell(runs, ds, pool):
    d = os.path.join(runs, f"{ds}_{pool}")
    try:
        s = json.load(open(os.path.join(d, "cv_summary.json")))["accuracy"]
    except FileNotFoundError:
        return "not run", 0.0
    t = json.load(open(os.path.join(d, "cv_run.json")))["seconds_total"]
    return tables.fmt((s["mean"], s["sem"])), t


def main():
    runs = sys.argv[1]
    ref = tables.load_reference("classical_mil", sys.argv[2] if len(sys.argv) > 2 else None)
    print("Mean test accuracy ± standard error over 5 repeats x 10 folds (n = 50 folds).\n")
    print("| method | " + " | ".join(SETS) + " |")
    print("| --- | " + " | ".join("---" for _ in SETS) + " |")
    total = 0.0
    for pool in POOLINGS:
        row = []
        for ds in SETS:
            text, t = cell(runs, ds, pool)
            total += t
            row.append(text)
        print(f"| abmil {NAMES[pool]} | " + " | ".join(row) + " |")
    for method in ["attention", "gated_attention", "mi_net", "MI_net", "mi_graph", "mi_svm", "MI_svm"]:
        r = ref[method]
        vals = [tables.fmt((r[ds][0], r[ds][1])) for ds in SETS]
        note = "" if r.get("verified") else " (±: recalled, not verified)"
        print(f"| paper: {method.replace('_', '-')}{note} | " + " | ".join(vals) + " |")
    for method in ["attention", "gated_attention"]:
        bars = [f"{ref[method][ds][0] - ref[method][ds][1]:.3f}" for ds in SETS]
        print(f"| bar for abmil {NAMES[method]} (paper mean - its ±) | " + " | ".join(bars) + " |")
    print(f"\nSum of the runs' wall times: {total / 60:.1f} min on this machine.")
    footer = tables.provenance_footer([(f"{ds}_{pool}", os.path.join(runs, f"{ds}_{pool}"))
                                       for pool in POOLINGS for ds in SETS])
    if footer:
        print("\n" + "\n".join(footer))


if __name__ == "__main__":
    main()
