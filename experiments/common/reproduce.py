#!/usr/bin/python3
"""Do the published figures come from the code as it stands? Re-runs the
cheapest cell of each experiment named in reproduce.yaml (next to this file)
and checks that its figures equal the committed row exactly.

  reproduce.py [--abmil build/abmil] [--spec reproduce.yaml] [--only NAME] [--keep DIR]

- mnist_bags: one cell of experiments/mnist_bags/results.csv, re-trained as
  `sweep.py run` trains it (the same `abmil train --set ...` list, the
  spec's threads); test_auc, test_error, instance_auc, epochs_run and
  best_epoch must equal the committed row's text.
- classical_mil (and any `abmil cv` table of the same layout): one run of
  the experiment's results.md, re-run with `abmil cv CONFIG --jobs J`
  (runtime.threads = J, so each worker has one thread, as run_all.sh gave
  them on the 2-core machine); its table cell (mean ± s.e. of the fold
  accuracies, make_table.py's text) must equal the committed cell.

A change of random stream, initialisation order or arithmetic moves these
figures, so the check fails loudly and names each figure: committed, now.
Exact equality is only defined on the kind of CPU the figures were
produced on (LibTorch's oneDNN and OpenBLAS pick their float kernels by CPU
features), so the spec records that CPU (`cpu`: /proc/cpuinfo's model name
and its vector-unit flags); on another CPU the check says so and is skipped.

Exit status: 0 every figure equal; 1 a figure differs or a re-run failed;
77 skipped (ABMIL_DATA unset, or another CPU): ctest's SKIP_RETURN_CODE.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
EXPERIMENTS = os.path.dirname(HERE)
REPO = os.path.dirname(EXPERIMENTS)
sys.path.insert(0, HERE)
import provenance  # noqa: E402

SKIP = 77
# Flags that decide which float kernels oneDNN and OpenBLAS run.
VECTOR_FLAGS = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"]
MNIST_FIGURES = ["test_auc", "test_error", "instance_auc", "epochs_run", "best_epoch"]


def cpu_signature(cpuinfo="/proc/cpuinfo"):
    """'<model name> [flag flag ...]' of the first CPU in cpuinfo, the flags
    limited to VECTOR_FLAGS; 'unknown' when the file cannot be read."""
    try:
        with open(cpuinfo) as f:
            text = f.read()
    except OSError:
        return "unknown"
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break  # first processor only
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    flags = set(fields.get("flags", "").split())
    return f"{fields.get('model name', '?')} [{' '.join(f for f in VECTOR_FLAGS if f in flags)}]"


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_cell(markdown, row_label, column):
    """The text of the cell in column `column` of the Markdown table row
    whose first cell is `row_label` (the first such table in `markdown`).
    Raises KeyError naming what is missing."""
    header = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if cells[0] == row_label:
            if column not in header:
                raise KeyError(f"no column '{column}' in the table of row '{row_label}'")
            return cells[header.index(column)]
    raise KeyError(f"no table row '{row_label}'")


def differences(committed, now, keys):
    """['key: committed X, now Y', ...] for every key whose text differs."""
    return [f"{k}: committed {committed.get(k, '')!s}, now {now.get(k, '')!s}" for k in keys
            if str(committed.get(k, "")) != str(now.get(k, ""))]


def check_mnist(entry, abmil, work):
    """Re-trains the spec's mnist_bags cell; returns (label, differences)."""
    sweep = load_module("sweep", os.path.join(EXPERIMENTS, "mnist_bags", "sweep.py"))
    doc = sweep.load_sweep(os.path.join(EXPERIMENTS, "mnist_bags", "sweep.yaml"))
    cell = {k: entry["cell"][k] for k in ("method", "mean_bag_size", "bag_size_std", "train_bags", "seed")}
    rows = [r for r in sweep.read_results(doc["results"]) if sweep.cell_key(r) == sweep.cell_key(cell)]
    if not rows:
        raise RuntimeError(f"{doc['results']}: no row for cell {sweep.cell_name(cell)}")
    doc["runs"] = work
    row = sweep.run_cell(cell, doc, abmil, entry["threads"], provenance.git_commit())
    label = f"mnist_bags {sweep.cell_name(cell)} (committed by {rows[-1]['commit'] or 'an unrecorded commit'})"
    return label, differences(rows[-1], row, MNIST_FIGURES)


def check_cv_table(entry, abmil, work):
    """Re-runs the spec's `abmil cv` run of a table; returns (label, differences)."""
    folder = os.path.join(EXPERIMENTS, entry["experiment"])
    make_table = load_module(f"make_table_{entry['experiment']}", os.path.join(folder, "make_table.py"))
    with open(os.path.join(folder, "results.md")) as f:
        committed = table_cell(f.read(), entry["row"], entry["column"])
    run = entry["run"]
    jobs = str(entry["jobs"])
    cmd = [abmil, "cv", os.path.join(folder, "configs", run + ".yaml"), "--jobs", jobs, "--set",
           f"runtime.threads={jobs}", "--output", os.path.join(work, run)]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {p.returncode}):\n{p.stdout[-2000:]}")
    now, _ = make_table.cell(work, *entry["cell_args"])
    label = f"{entry['experiment']} {run} (results.md row '{entry['row']}', column '{entry['column']}')"
    return label, differences({"cell": committed}, {"cell": now}, ["cell"])


CHECKS = {"mnist_bags": check_mnist, "cv_table": check_cv_table}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--abmil", default=os.path.join(REPO, "build", "abmil"))
    ap.add_argument("--spec", default=os.path.join(HERE, "reproduce.yaml"))
    ap.add_argument("--only", help="check only the spec entry of this name")
    ap.add_argument("--keep", help="keep the re-run directories here (default: a temporary folder)")
    args = ap.parse_args(argv)
    with open(args.spec) as f:
        spec = yaml.safe_load(f)
    if not os.environ.get("ABMIL_DATA"):
        print("reproduce: SKIPPED: ABMIL_DATA is not set (the published cells need the real data sets)")
        return SKIP
    here = cpu_signature()
    if here != spec["cpu"]:
        print(f"reproduce: SKIPPED: the committed figures come from a '{spec['cpu']}' CPU and this one is "
              f"'{here}'; exact equality is only defined on the same kind of CPU (float kernels differ)")
        return SKIP
    work = args.keep or tempfile.mkdtemp(prefix="abmil-reproduce-")
    os.makedirs(work, exist_ok=True)
    failed = 0
    try:
        for entry in spec["checks"]:
            if args.only and entry["name"] != args.only:
                continue
            try:
                label, diffs = CHECKS[entry["kind"]](entry, args.abmil, os.path.join(work, entry["name"]))
            except (RuntimeError, KeyError, OSError) as e:
                print(f"reproduce: {entry['name']}: FAILED: {e}")
                failed += 1
                continue
            if diffs:
                failed += 1
                print(f"reproduce: {label}: DIFFERS from the committed row:")
                for d in diffs:
                    print(f"  {d}")
            else:
                print(f"reproduce: {label}: equal to the committed row")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if failed:
        print("reproduce: the published figures no longer come from this code: re-run the experiments "
              "(README, 'Published figures') or find what moved the numbers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
