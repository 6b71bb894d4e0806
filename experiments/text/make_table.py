#!/usr/bin/env python3
"""Markdown table of the polarity `abmil cv` runs next to bag-of-words baselines.

usage: make_table.py RUNS [REFERENCE_YAML] > results.md

RUNS/<config>/folds/r0_f<K>.json are the finished folds of each run (a run
still going, or stopped, counts the folds it has); RUNS/<config>/cv_run.json
has the wall time of a finished run. Each cell is the mean ± standard error
over the finished folds. REFERENCE_YAML (its text_anchor) defaults to the
in-repo copy, ../common/ilse2018_results.yaml.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import tables  # noqa: E402
from tables import fmt, mean_sem  # noqa: E402

RUNS = [("gated_attention", "sentences; tokens → sentence: gated attention; sentences → review: gated attention"),
        ("mean", "sentences; tokens → sentence: mean; sentences → review: mean"),
        ("tokens_gated_attention", "tokens; tokens → review: gated attention")]
METRICS = ["accuracy", "f1", "auc"]


def main():
    runs = sys.argv[1]
    anchor = tables.load_reference("text_anchor", sys.argv[2] if len(sys.argv) > 2 else None)
    anchor = anchor["movie_review_polarity_v2"]
    print("Movie Review Polarity v2.0 (2000 reviews), 10-fold CV by the cvNNN file prefixes (`abmil cv`, "
          "`cv.split: groups`): mean ± standard error over the folds that ran. Wall time: the whole `abmil cv` run "
          "(2 worker processes, 1 LibTorch thread each, on the 2-core development machine).\n")
    print("| model | instances; pooling | folds | " + " | ".join(METRICS) + " | epochs (mean) | wall time |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in METRICS) + " | --- | --- |")
    for name, what in RUNS:
        run = os.path.join(runs, name)
        folds = tables.fold_results(run)
        if not folds:
            print(f"| abmil {name} | {what} | not run | " + " | ".join("–" for _ in METRICS) + " | – | – |")
            continue
        cells = [fmt(mean_sem([f[m] for f in folds])) for m in METRICS]
        epochs = sum(f["epochs_run"] for f in folds) / len(folds)
        if os.path.exists(os.path.join(run, "cv_run.json")):
            with open(os.path.join(run, "cv_run.json")) as f:
                wall = f"{json.load(f)['seconds_total'] / 60:.1f} min"
        else:
            wall = f"{sum(f['seconds'] for f in folds) / 60:.1f} min (sum of folds, unfinished)"
        print(f"| abmil {name} | {what} | {len(folds)} | " + " | ".join(cells) + f" | {epochs:.0f} | {wall} |")
    note = "" if anchor.get("verified") else " (recalled, not checked against the paper)"
    print(f"| bag-of-words SVM, unigrams{note} | {anchor['source']} | 10 | {anchor['svm_unigrams_accuracy']:.3f} "
          "| – | – | | |")
    print(f"| naive Bayes, unigrams{note} | | 10 | {anchor['naive_bayes_unigrams_accuracy']:.3f} | – | – | | |")
    footer = tables.provenance_footer([(name, os.path.join(runs, name)) for name, _ in RUNS])
    if footer:
        print("\n" + "\n".join(footer))


if __name__ == "__main__":
    main()
