"""Helpers shared by the experiment table scripts (experiments/*/make_table.py,
experiments/mnist_bags/sweep.py). A script imports it with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    import tables
"""
import glob
import json
import math
import os

import yaml

import provenance

HERE = os.path.dirname(os.path.abspath(__file__))
# The paper's numbers the tables print (copied from the project's reference file).
REFERENCE = os.path.join(HERE, "ilse2018_results.yaml")

# abmil's model.pooling names as the tables show them.
POOLING_NAMES = {"gated_attention": "gated attention", "attention": "attention", "mean": "embedding mean",
                 "max": "embedding max", "instance_max": "instance max", "instance_mean": "instance mean",
                 "lse": "log-sum-exp (r 5)", "topk_mean": "top-3 mean",
                 "multihead_gated_attention": "multi-head gated attention (4 heads)",
                 "pma": "Set Transformer PMA (1 seed, 4 heads)", "transformer": "transformer + CLS (2 layers)",
                 "dsmil": "DSMIL"}
# abmil's model.pooling names -> the paper's method names (the reference YAML's keys).
PAPER_METHODS = {"instance_max": "instance_max", "instance_mean": "instance_mean", "max": "embedding_max",
                 "mean": "embedding_mean", "attention": "attention", "gated_attention": "gated_attention"}


def load_reference(section, path=None):
    """The section (e.g. "classical_mil") of the reference YAML (default: the
    in-repo copy); errors name the file."""
    path = path or REFERENCE
    with open(path) as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or section not in doc:
        raise KeyError(f"{path}: no section '{section}'")
    return doc[section]


def mean_sem(values):
    """(mean, standard error of the mean) of the values, None and NaN left
    out; the error is NaN for one value, the result None for none."""
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return None
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, float("nan")
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))
    return m, sd / math.sqrt(len(values))


def fmt(pair):
    """'0.123 ± 0.045'; the mean alone when the error is None or NaN; '–' for None."""
    if pair is None:
        return "–"
    m, e = pair
    return f"{m:.3f}" if e is None or math.isnan(e) else f"{m:.3f} ± {e:.3f}"


def fold_results(run_dir):
    """The finished folds of an `abmil cv` run: RUN/folds/r<R>_f<K>.json, by name."""
    out = []
    for path in sorted(glob.glob(os.path.join(run_dir, "folds", "r*_f*.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


def commit_line(commits):
    """'Produced by commit X.' for a list of per-run commits ("" = none
    recorded); None when no run carries one."""
    known = [c for c in commits if c]
    if not known:
        return None
    counts = {}
    for c in known:
        counts[c] = counts.get(c, 0) + 1
    missing = len(commits) - len(known)
    if len(counts) == 1 and not missing:
        return f"Produced by commit {known[0]}."
    runs = lambda n: f"{n} run" + ("" if n == 1 else "s")
    text = ", ".join(f"{c} ({runs(n)})" for c, n in counts.items())
    text = f"Produced by commit{'s' if len(counts) > 1 else ''} {text}"
    return text + (f"; {runs(missing)} without a recorded commit." if missing else ".")


def provenance_footer(runs):
    """Lines saying which commit produced the runs [(name, run_dir)] and the
    hash of each run's config.yaml; [] when no run has provenance.json (runs
    made before the runners recorded it). Run folders that do not exist are
    left out."""
    runs = [(name, d) for name, d in runs if os.path.isdir(d)]
    recorded = {name: provenance.commits(d) for name, d in runs}
    if all(c is None for c in recorded.values()):
        return []
    line = commit_line(["+".join(recorded[name] or []) for name, _ in runs])
    shas = [f"{name} {provenance.config_sha(os.path.join(d, 'config.yaml')) or '–'}" for name, d in runs]
    return [line, "Config sha256 (first 12 hex digits) of each run's config.yaml: " + ", ".join(shas) + "."]
