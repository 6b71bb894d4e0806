#!/usr/bin/python3
"""MNIST-bags sweep of the paper's Sec. 4.2 / Fig. 3: test AUC against the
number of training bags, for each pooling method and mean bag size.

  sweep.py run  [--sweep sweep.yaml] [--grid NAME ...] [--jobs N] [--abmil PATH]
  sweep.py plot [--results results.csv] [--figures DIR] [--table results.md]

`run` trains one `abmil train` process per cell (method x mean bag size x
training bags x seed) and appends one row per finished cell to the results
CSV. On restart, cells already in the CSV are skipped; a run directory left
without metrics.json (interrupted run) is deleted and the cell is run again;
a finished run directory whose row is missing (killed between the two) is
harvested without training. Rows are appended with flush + fsync, and a torn
last line of the CSV is cut off before anything is appended.

`plot` turns the CSV into one PNG per mean bag size (AUC, mean +/- standard
error over seeds, against training bags; one line per method) and a Markdown
table with the reference YAML's known values beside ours (default: the
in-repo copy, ../common/ilse2018_results.yaml).

Provenance: each row written by `run` carries `commit` (git rev-parse --short
HEAD of this repository when the sitting started, "-dirty" if src/ had
uncommitted changes; also written to the cell's RUN_DIR/provenance.json) and
`config_sha` (first 12 hex digits of the sha256 of the cell's saved
config.yaml). Rows from before these columns have them empty; a CSV with the
old 11-column header is read as it is and rewritten with the new header (old
rows padded with empty cells) before `run` appends to it.
"""
import argparse
import concurrent.futures
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import provenance  # noqa: E402
import tables  # noqa: E402

# The columns before provenance was recorded, then the two provenance columns.
OLD_COLUMNS = ["method", "mean_bag_size", "bag_size_std", "train_bags", "seed", "test_auc", "test_error",
               "instance_auc", "epochs_run", "best_epoch", "seconds"]
COLUMNS = OLD_COLUMNS + ["commit", "config_sha"]
# abmil's model.pooling names, in the order of the table's columns and the plot's lines.
METHODS = ["instance_max", "instance_mean", "max", "mean", "attention", "gated_attention",
           # the poolings beyond the paper's (experiments/poolings/mnist_sweep.yaml)
           "lse", "topk_mean", "multihead_gated_attention", "pma", "transformer", "dsmil"]
LABELS = tables.POOLING_NAMES


class SweepError(Exception):
    pass


# ---------------------------------------------------------------- sweep file
def load_sweep(path):
    """Reads the sweep definition; errors name the file and the key."""
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise SweepError(f"{path}: cannot read: {e.strerror}")
    except yaml.YAMLError as e:
        raise SweepError(f"{path}: not valid YAML: {e}")
    if not isinstance(doc, dict) or "grids" not in doc or "config" not in doc:
        raise SweepError(f"{path}: needs 'config' (base abmil config) and 'grids'")
    base = os.path.dirname(os.path.abspath(path))
    doc["config"] = os.path.normpath(os.path.join(base, doc["config"]))
    for key, default in (("results", "results.csv"), ("runs", "runs")):
        doc[key] = os.path.normpath(os.path.join(base, doc.get(key, default)))
    doc.setdefault("set", {})
    for i, g in enumerate(doc["grids"]):
        for key in ("name", "methods", "bag_size", "train_bags", "seeds"):
            if key not in g:
                raise SweepError(f"{path}: grids[{i}]: missing '{key}'")
        for m in g["methods"]:
            if m not in METHODS:
                raise SweepError(f"{path}: grids[{i}].methods: unknown method '{m}' "
                                 f"(one of {', '.join(METHODS)})")
        if len(g["bag_size"]) != 2:
            raise SweepError(f"{path}: grids[{i}].bag_size: want [mean, std]")
    return doc


def cells(sweep, only=None):
    """Every cell of the selected grids, seed-major so that an interrupted
    sweep has whole repeats done first. A cell is a dict with the CSV's key
    columns."""
    out = []
    for g in sweep["grids"]:
        if only and g["name"] not in only:
            continue
        mean, std = g["bag_size"]
        for seed in g["seeds"]:
            for n in g["train_bags"]:
                for m in g["methods"]:
                    out.append({"method": m, "mean_bag_size": mean, "bag_size_std": std, "train_bags": n,
                                "seed": seed})
    return out


def cell_key(row):
    return (row["method"], int(float(row["mean_bag_size"])), int(row["train_bags"]), int(row["seed"]))


def cell_name(c):
    return f"k{c['mean_bag_size']}_n{c['train_bags']}_{c['method']}_s{c['seed']}"


# ---------------------------------------------------------------- results CSV
def read_results(path):
    """Rows of the results CSV (dicts with every key of COLUMNS); a torn last
    line is ignored. Rows without the provenance columns (an old header, or
    old rows under the new one) get empty cells there."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = list(csv.reader(text.splitlines()))
    if not lines:
        return []
    header = lines[0]
    if header not in (COLUMNS, OLD_COLUMNS):
        raise SweepError(f"{path}:1: header is '{','.join(header)}', expected '{','.join(COLUMNS)}'")
    rows = []
    for fields in lines[1:]:
        if len(fields) in (len(OLD_COLUMNS), len(header)):
            row = dict.fromkeys(COLUMNS, "")
            row.update(zip(header, fields))
            rows.append(row)
    return rows


def repair_results(path):
    """Creates the CSV with its header, or cuts a torn last line (a process
    killed mid-write) so that appends start on a fresh line. A CSV with the
    old header (no provenance columns) is rewritten with the new one, its
    rows padded with empty cells."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            f.write(",".join(COLUMNS) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return
    with open(path, "rb+") as f:
        data = f.read()
        if not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)
    header = data.split(b"\n", 1)[0].decode()
    if header.split(",") == OLD_COLUMNS:
        rows = read_results(path)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(",".join(COLUMNS) + "\n")
            f.writelines(",".join(r[c] for c in COLUMNS) + "\n" for r in rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    elif header.split(",") != COLUMNS:
        raise SweepError(f"{path}:1: header is '{header}', expected '{','.join(COLUMNS)}'")


def append_row(path, row, lock):
    line = ",".join(str(row[c]) for c in COLUMNS) + "\n"
    with lock, open(path, "a") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())


def row_from_run(c, run_dir, seconds):
    with open(os.path.join(run_dir, "metrics.json")) as f:
        m = json.load(f)
    num = lambda x: "" if x is None else f"{x:.6f}"
    return dict(c, test_auc=num(m["test"]["auc"]), test_error=num(m["test"]["error"]),
                instance_auc=num(m["test"].get("instance_auc")), epochs_run=m["training"]["epochs_run"],
                best_epoch=m["training"]["best_epoch"], seconds=f"{seconds:.2f}",
                commit="+".join(provenance.commits(run_dir) or []),
                config_sha=provenance.config_sha(os.path.join(run_dir, "config.yaml")))


# ---------------------------------------------------------------- run
def run_cell(c, sweep, abmil, threads, commit):
    """Trains one cell (or harvests its finished run directory); returns its
    row. commit is recorded in the run directory of a cell trained here; a
    harvested one keeps what its directory recorded (nothing if it predates
    provenance)."""
    run_dir = os.path.join(sweep["runs"], cell_name(c))
    if os.path.exists(os.path.join(run_dir, "metrics.json")):
        try:
            with open(os.path.join(run_dir, "cell_seconds")) as f:
                seconds = float(f.read())
        except OSError:  # killed after metrics.json, before cell_seconds
            with open(os.path.join(run_dir, "metrics.json")) as f:
                seconds = json.load(f)["seconds_total"]
        return row_from_run(c, run_dir, seconds)
    shutil.rmtree(run_dir, ignore_errors=True)  # interrupted run: start it again
    sets = {"model.pooling": c["method"], "data.bag_size_mean": c["mean_bag_size"],
            "data.bag_size_std": c["bag_size_std"], "data.train_bags": c["train_bags"],
            "experiment.seed": c["seed"], "runtime.threads": threads, "runtime.progress": "never"}
    sets.update(sweep["set"])
    cmd = [abmil, "train", sweep["config"], "--output", run_dir]
    for k, v in sets.items():
        cmd += ["--set", f"{k}={str(v).lower() if isinstance(v, bool) else v}"]
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seconds = time.monotonic() - t0
    if p.returncode != 0:
        raise SweepError(f"cell {cell_name(c)} failed (exit {p.returncode}):\n{' '.join(cmd)}\n{p.stdout[-2000:]}")
    provenance.record(run_dir, commit)
    with open(os.path.join(run_dir, "cell_seconds"), "w") as f:
        f.write(f"{seconds:.3f}\n")
    return row_from_run(c, run_dir, seconds)


def cmd_run(args):
    sweep = load_sweep(args.sweep)
    results = args.results or sweep["results"]
    if args.runs:
        sweep["runs"] = args.runs
    repair_results(results)
    done = {cell_key(r) for r in read_results(results)}
    selected = cells(sweep, args.grid)
    todo = [c for c in selected if cell_key(c) not in done]
    print(f"sweep: {len(selected) - len(todo)} of {len(selected)} cells done, {len(todo)} to run, {args.jobs} at a time",
          flush=True)
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    commit = provenance.git_commit()
    lock = threading.Lock()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run_cell, c, sweep, args.abmil, threads, commit): c for c in todo}
        for i, fut in enumerate(concurrent.futures.as_completed(futures), 1):
            c = futures[fut]
            try:
                row = fut.result()
            except SweepError as e:
                failed += 1
                print(f"sweep: {e}", file=sys.stderr, flush=True)
                continue
            append_row(results, row, lock)
            print(f"[{i}/{len(todo)}] {cell_name(c)}: AUC {row['test_auc']} epochs {row['epochs_run']} "
                  f"{row['seconds']} s", flush=True)
    if failed:
        print(f"sweep: {failed} cells failed; run again to retry them", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- plot
def summarise(rows):
    """{(mean_bag_size, method, train_bags): (mean, sem, n)} of the test AUC."""
    groups = {}
    for r in rows:
        if r["test_auc"] == "":
            continue
        k = (int(float(r["mean_bag_size"])), r["method"], int(r["train_bags"]))
        groups.setdefault(k, []).append(float(r["test_auc"]))
    return {k: tables.mean_sem(v) + (len(v),) for k, v in groups.items()}


def known_values(reference):
    """{(mean_bag_size, method, train_bags): auc} from the reference YAML."""
    if not reference or not os.path.exists(reference):
        return {}
    ref = tables.load_reference("mnist_bags", reference)
    back = {v: k for k, v in tables.PAPER_METHODS.items()}
    return {(k["mean_bag_size"], back[k["method"]], k["train_bags"]): (k["auc"], k.get("verified", False))
            for k in ref.get("known_auc", [])}


def table(rows, reference):
    """Markdown: one table per mean bag size, rows = training bags, columns =
    methods, cells 'mean ± sem (n)', with the paper's value where known."""
    s = summarise(rows)
    known = known_values(reference)
    order = [m for m in METHODS if any(k[1] == m for k in s)]
    out = []
    for size in sorted({k[0] for k in s}):
        methods = [m for m in order if any(k[0] == size and k[1] == m for k in s)]
        out.append(f"### Mean bag size {size}\n")
        out.append("Test AUC, mean ± standard error over seeds (n seeds).\n")
        out.append("| training bags | " + " | ".join(LABELS[m] for m in methods) + " |")
        out.append("| ---: | " + " | ".join("---" for _ in methods) + " |")
        for n in sorted({k[2] for k in s if k[0] == size}):
            cellv = []
            for m in methods:
                if (size, m, n) not in s:
                    cellv.append("")
                    continue
                mean, sem, cnt = s[(size, m, n)]
                text = f"{mean:.3f} ± {sem:.3f} ({cnt})" if cnt > 1 else f"{mean:.3f} ({cnt})"
                if (size, m, n) in known:
                    auc, verified = known[(size, m, n)]
                    text += f"; paper {auc:.3f}" + ("" if verified else " (recalled)")
                cellv.append(text)
            out.append(f"| {n} | " + " | ".join(cellv) + " |")
        secs = sum(float(r["seconds"]) for r in rows if int(float(r["mean_bag_size"])) == size)
        cnt = sum(1 for r in rows if int(float(r["mean_bag_size"])) == size)
        line = tables.commit_line([r["commit"] for r in rows if int(float(r["mean_bag_size"])) == size])
        out.append(f"\n{cnt} runs, {secs / 60:.1f} min of run wall time (sum over runs)." +
                   (f" {line}" if line else "") + "\n")
    return "\n".join(out)


def plot(rows, figures):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s = summarise(rows)
    os.makedirs(figures, exist_ok=True)
    written = []
    for size in sorted({k[0] for k in s}):
        fig, ax = plt.subplots(figsize=(6, 4.2), dpi=100)
        for m in METHODS:
            pts = sorted((k[2], v) for k, v in s.items() if k[0] == size and k[1] == m)
            if not pts:
                continue
            x = [p[0] for p in pts]
            y = [p[1][0] for p in pts]
            e = [0.0 if math.isnan(p[1][1]) else p[1][1] for p in pts]
            ax.errorbar(x, y, yerr=e, marker="o", markersize=4, capsize=3, label=LABELS[m])
        ax.set_xlabel("number of training bags")
        ax.set_ylabel("test AUC (mean ± s.e.)")
        ax.set_title(f"MNIST-bags, mean bag size {size}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        path = os.path.join(figures, f"auc_bag_size_{size}.png")
        fig.savefig(path + ".tmp.png")
        os.replace(path + ".tmp.png", path)
        plt.close(fig)
        written.append(path)
    return written


def cmd_plot(args):
    rows = read_results(args.results)
    if not rows:
        raise SweepError(f"{args.results}: no result rows")
    text = table(rows, args.reference)
    tmp = args.table + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, args.table)
    print(f"plot: wrote {args.table}")
    if args.figures:
        for p in plot(rows, args.figures):
            print(f"plot: wrote {p}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the cells not in the results CSV yet")
    r.add_argument("--sweep", default=os.path.join(HERE, "sweep.yaml"))
    r.add_argument("--grid", action="append", help="only this grid (repeatable); default all")
    r.add_argument("--jobs", type=int, default=2, help="cells trained at once (processes)")
    r.add_argument("--threads", type=int, default=0, help="LibTorch threads per cell; default cores / jobs")
    r.add_argument("--abmil", default=os.path.join(REPO, "build", "abmil"))
    r.add_argument("--results", help="results CSV; default the sweep file's 'results'")
    r.add_argument("--runs", help="folder of the cells' run directories; default the sweep file's 'runs'")
    p = sub.add_parser("plot", help="figures and Markdown table from the results CSV")
    p.add_argument("--results", default=os.path.join(HERE, "results.csv"))
    p.add_argument("--figures", default=os.path.join(HERE, "figures"))
    p.add_argument("--table", default=os.path.join(HERE, "results.md"))
    p.add_argument("--reference", default=tables.REFERENCE)
    args = ap.parse_args(argv)
    try:
        return cmd_run(args) if args.command == "run" else cmd_plot(args)
    except SweepError as e:
        print(f"sweep: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
