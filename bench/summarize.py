#!/usr/bin/env python3
"""Tables of bench/compare_reference.sh (`mnist LOG`) and bench/tiny_bags.sh
(`tiny LOG`). LOG holds one line per run: `TAG ROUND JSON`.

Every run's epochs are timed; "early" is the median of epochs 1-5, "late" the
median of the last 10 (the steady state: once a model fits, gradients and Adam
moments can turn subnormal and epochs slow down 2-5x unless denormals are
flushed). Values over rounds are medians. A run whose late epochs are more
than 1.2x its early ones gets a WARNING line."""
import csv, json, os, re, statistics, sys
from collections import defaultdict

EARLY, LATE, SLOW = 5, 10, 1.2  # as abmil_bench and ref_mil_mlp.py
med = statistics.median


def early_late(epoch_s):
    return med(epoch_s[:EARLY]), med(epoch_s[-LATE:])


def read_log(path):
    """{tag: [(round, record)]} in log order."""
    runs = defaultdict(list)
    for line in open(path):
        tag, rnd, text = line.rstrip("\n").split(" ", 2)
        runs[tag].append((int(rnd), json.loads(text)))
    return runs


class Steady:
    """Early and late medians of one kind of run over the rounds, with its warnings."""

    def __init__(self, label, per_round):
        self.label, self.warnings = label, []
        early, late = [], []
        for rnd, epoch_s in per_round:
            e, l = early_late(epoch_s)
            early.append(e), late.append(l)
            if l > SLOW * e:
                self.warnings.append(f"WARNING: {label} (round {rnd}): late epochs are {l / e:.2f}x the early ones "
                                     "(subnormal floats?)")
        self.early, self.late = med(early), med(late)
        self.epochs = len(per_round[0][1])
        self.rounds = len(per_round)

    def cells(self):
        return f"{self.early:.3f} | {self.late:.3f} | {self.late / self.early:.2f}"


def faster(ref, ours):
    """The steady-state speed of `ours` against `ref`: "2.31x faster", "1.50x slower" or "1.00" (itself)."""
    if ref is ours:
        return "1.00"
    r = ref.late / ours.late
    return f"{r:.2f}x faster" if r >= 1 else f"{1 / r:.2f}x slower"


def ratio_note():
    print("(faster/slower: the run's late s/epoch against the reference's, i.e. in the steady state)")


def target_line(what, ratio, goal):
    return f"- {what}: {ratio:.2f}x, target >= {goal:g}x: {'met' if ratio >= goal else 'NOT met'}"


def overlap_note(epochs):
    if epochs < EARLY + LATE:
        print(f"\nnote: only {epochs} epochs: early (1-{EARLY}) and late (last {LATE}) overlap, "
              "the late median is no steady state; use >= 30 epochs for figures")


def print_warnings(steadies):
    warnings = [w for s in steadies for w in s.warnings]
    if warnings:
        print()
        print("\n".join(warnings))


def mnist(log):
    runs = read_log(log)
    ours = runs["ours"]
    refs = {"ref": "PyTorch reference, default", "refflush": "PyTorch reference + flush denormals"}
    ref = {tag: Steady(label, [(r, o["epoch_s"]) for r, o in runs[tag]]) for tag, label in refs.items()}
    bs = sorted({run["bags_per_step"] for _, o in ours for run in o["runs"]})
    flush = "on" if ours[0][1].get("flush_denormal") else "off"
    abmil = {b: Steady(f"abmil B={b}", [(r, run["epoch_s"]) for r, o in ours for run in o["runs"]
                                        if run["bags_per_step"] == b]) for b in bs}
    best = min(bs, key=lambda b: abmil[b].late)
    print(f"\nmedians over {len(ours)} rounds (threads {ours[0][1]['threads']}, {abmil[bs[0]].epochs} epochs a run; "
          f"early = median of epochs 1-{EARLY}, late = of the last {LATE}: the steady state; abmil flush denormals {flush})")
    print("| run | early s/epoch | late s/epoch | late/early | steady state vs reference | vs reference + flush |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s in ref.values():
        print(f"| {s.label} | {s.cells()} | {faster(ref['ref'], s)} | {faster(ref['refflush'], s)} |")
    for b in bs:
        name = abmil[b].label + (" (best B)" if b == best and len(bs) > 1 else "")
        print(f"| {name} | {abmil[b].cells()} | {faster(ref['ref'], abmil[b])} | "
              f"{faster(ref['refflush'], abmil[b])} |")
    ratio_note()
    print("\nsteady-state targets, against the reference with flush (like for like):")
    for b, goal in ((1, 2), (16, 5)):
        if b in abmil:
            print(target_line(f"abmil B={b}", ref["refflush"].late / abmil[b].late, goal))
    if best not in (1, 16):
        print(f"- abmil best B={best}: {ref['refflush'].late / abmil[best].late:.2f}x")

    floor = med(o["floor_s"] for _, o in ours)
    evals = med(run["eval_s"] for _, o in ours for run in o["runs"])
    ref_eval = med(o["eval_s"] for _, o in runs["refflush"] + runs["ref"])
    test_bags = ours[0][1]["test_bags"]
    print("\n| what | seconds | ratio |")
    print("| --- | --- | --- |")
    print(f"| compute floor: LeNet-5 fwd+bwd of the same instances, large batches | {floor:.3f} | "
          f"best B={best} (late) is {abmil[best].late / floor:.2f}x the floor |")
    step_floors = [o["b1_step_floor_s"] for _, o in ours if "b1_step_floor_s" in o]
    if step_floors and 1 in abmil:
        step_floor = med(step_floors)
        print(f"| B=1 step floor: the model's forward, loss, backward and Adam step per bag, no trainer | "
              f"{step_floor:.3f} | abmil B=1 (late) is {abmil[1].late / step_floor:.2f}x it |")
    print(f"| PyTorch reference: evaluation of {test_bags} test bags | {ref_eval:.3f} | 1.00 |")
    print(f"| abmil: evaluation of {test_bags} test bags | {evals:.3f} | {ref_eval / evals:.2f}x faster |")
    print(f"\npeak resident memory of abmil_bench mnist: {max(o['peak_rss_mib'] for _, o in ours):.0f} MiB")
    large = [o for _, o in runs["large"]]
    if len(large) == 2:
        l10, l100 = large
        print(f"large bag: {l10['instances']:,} instances {l10['step_s_median']:.4f} s/step ({l10['peak_rss_mib']:.0f} MiB); "
              f"{l100['instances']:,} instances {l100['step_s_median']:.4f} s/step ({l100['peak_rss_mib']:.0f} MiB); "
              f"{l100['instances']:,} / ({l100['instances'] / l10['instances']:g} x {l10['instances']:,}) = "
              f"{l100['step_s_median'] * l10['instances'] / (l100['instances'] * l10['step_s_median']):.2f}")
    overlap_note(abmil[bs[0]].epochs)
    print_warnings(list(ref.values()) + list(abmil.values()))


def train_run(run_dir):
    """(epoch seconds of the train rows of RUN/metrics.csv, training bags from RUN/stdout.log)."""
    with open(os.path.join(run_dir, "metrics.csv")) as f:
        epoch_s = [float(r["seconds"]) for r in csv.DictReader(f) if r["split"] == "train"]
    m = re.search(r"train (\d+), validation", open(os.path.join(run_dir, "stdout.log")).read())
    return epoch_s, int(m.group(1)) if m else None


def tiny(log):
    runs = read_log(log)
    cells = defaultdict(list)  # (threads, B) -> [(round, epoch_s)]
    bags = {}
    for rnd, o in runs["train"]:
        epoch_s, bags[(o["threads"], o["bags_per_step"])] = train_run(o["run"])
        cells[(o["threads"], o["bags_per_step"])].append((rnd, epoch_s))
    abmil = {k: Steady(f"abmil threads={k[0]} B={k[1]}", v) for k, v in sorted(cells.items())}
    refs = {"ref": "PyTorch reference, default", "refflush": "PyTorch reference + flush denormals"}
    ref = {tag: Steady(label, [(r, o["epoch_s"]) for r, o in runs[tag]]) for tag, label in refs.items()}
    ref_bags = runs["ref"][0][1]["train_bags"]
    epochs = next(iter(abmil.values())).epochs
    rounds = next(iter(abmil.values())).rounds
    print(f"\nmedians over {rounds} rounds, {epochs} epochs a run (= a fold of abmil cv); early = median of epochs "
          f"1-{EARLY}, late = of the last {LATE}: the steady state; abmil flush denormals: {runs['flush'][0][1]['abmil']}")
    print("| run | threads | bags/step | early s/epoch | late s/epoch | late/early | steps/s (late) "
          f"| fold of {epochs} epochs, s (late) | per fold vs reference | vs reference + flush |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for tag, s in ref.items():
        print(f"| {s.label} | {runs[tag][0][1]['threads']} | 1 | {s.cells()} | {ref_bags / s.late:.0f} | "
              f"{epochs * s.late:.2f} | {faster(ref['ref'], s)} | {faster(ref['refflush'], s)} |")
    for (t, b), s in abmil.items():
        steps = -(-bags[(t, b)] // b) if bags[(t, b)] else float("nan")
        print(f"| abmil | {t} | {b} | {s.cells()} | {steps / s.late:.0f} | {epochs * s.late:.2f} | "
              f"{faster(ref['ref'], s)} | {faster(ref['refflush'], s)} |")
    ratio_note()
    print(f"\n(training bags: abmil {sorted(set(bags.values()))}, reference {ref_bags}; the reference runs 1 thread)")
    best = min(abmil, key=lambda k: abmil[k].late)
    print("per-fold steady-state target, abmil >= 3x faster than the reference with flush:")
    if (1, 1) in abmil:
        print(target_line("abmil 1 thread, B=1 (like for like)", ref["refflush"].late / abmil[(1, 1)].late, 3))
    print(target_line(f"abmil fastest: threads={best[0]} B={best[1]}", ref["refflush"].late / abmil[best].late, 3))

    cv = defaultdict(list)  # (jobs, threads each) -> [(folds, seconds, mean fold seconds)]
    for _, o in runs["cv"]:
        summary = json.load(open(os.path.join(o["run"], "cv_run.json")))
        with open(os.path.join(o["run"], "folds.csv")) as f:
            fold_s = [float(r["seconds"]) for r in csv.DictReader(f)]
        cv[(o["jobs"], o["threads_each"])].append((summary["folds"], summary["seconds_total"], statistics.mean(fold_s)))
    if cv:
        print(f"\nabmil cv on {os.cpu_count()} cores ({epochs} epochs a fold, no early stopping), medians over rounds:")
        print("| --jobs | threads each | folds | wall s | folds per minute | s per fold (inside its process) |")
        print("| --- | --- | --- | --- | --- | --- |")
        fpm = {}
        for (j, t), v in sorted(cv.items()):
            folds, wall = v[0][0], med(x[1] for x in v)
            fpm[(j, t)] = 60 * folds / wall
            print(f"| {j} | {t} | {folds} | {wall:.1f} | {fpm[(j, t)]:.1f} | {med(x[2] for x in v):.2f} |")
        j, t = max(fpm, key=fpm.get)
        print(f"best folds per minute: --jobs {j} with {t} thread(s) each")
    overlap_note(epochs)
    print_warnings(list(ref.values()) + list(abmil.values()))


if __name__ == "__main__":
    {"mnist": mnist, "tiny": tiny}[sys.argv[1]](sys.argv[2])
