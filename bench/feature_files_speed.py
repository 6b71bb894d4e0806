#!/usr/bin/python3
"""Whole-slide feature bags: abmil's training epoch against CLAM's loop
(../shared/bench/ref_clam_features.py), side by side in one run, same threads.

Figures, not a timed test (issue 16's bars):
  * epoch seconds of the reference and of abmil with one bag per step, and
    abmil's best setting among train.bags_per_step in --batch-sizes;
  * the compute floor: abmil_bench's fc + gated-attention forward and backward
    on the epoch's instances in large chunks (`abmil_bench features`);
  * peak RSS of abmil at half, all and double the bags (the double set lists
    every slide twice, as links to the same files);
  * time per instance at bags of about 1,000, 10,000 and 100,000 instances.

The data set is written once by the reference's `make` command (200 bags x
~8,000 instances x 1,024 floats, 3 classes: about 6.5 GB) under --dir and
reused. Both train on the same 4 of every 5 bags (a CLAM split CSV for abmil;
no validation split), for --epochs epochs; an epoch figure is the median of
the epochs after the first (page cache warm, as the reference's note says).

  /usr/bin/python3 bench/feature_files_speed.py [--dir D] [--threads 2] [--epochs 3]
      [--parts speed,rss,sizes] [--batch-sizes 1,4,16]
"""
import argparse, csv, json, os, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.environ.get("ABMIL_REF_CLAM", os.path.join(ROOT, "..", "shared", "bench", "ref_clam_features.py"))
ABMIL = os.environ.get("ABMIL", os.path.join(ROOT, "build", "abmil"))
BENCH = os.environ.get("ABMIL_BENCH", os.path.join(ROOT, "build", "abmil_bench"))


def make_set(d, bags, instances):
    if not os.path.exists(os.path.join(d, "labels.csv")):
        subprocess.run(["/usr/bin/python3", REF, "make", d, "--bags", str(bags), "--instances", str(instances),
                        "--classes", "3"], check=True, stdout=subprocess.DEVNULL)
    rows = list(csv.DictReader(open(os.path.join(d, "labels.csv"))))
    write_split(d, rows)
    return rows


def write_split(d, rows, name="split.csv"):
    """The reference's split: every 5th bag held out for testing, no validation."""
    train = [r["slide_id"] for i, r in enumerate(rows) if i % 5 != 4]
    test = [r["slide_id"] for i, r in enumerate(rows) if i % 5 == 4]
    with open(os.path.join(d, name), "w") as f:
        f.write("train,val,test\n")
        for i in range(max(len(train), len(test))):
            f.write(f"{train[i] if i < len(train) else ''},,{test[i] if i < len(test) else ''}\n")


def instances_of(d, rows):
    import h5py
    n = 0
    for i, r in enumerate(rows):
        if i % 5 != 4:
            with h5py.File(os.path.join(d, "h5_files", r["slide_id"] + ".h5"), "r") as f:
                n += f["features"].shape[0]
    return n


def run_reference(d, threads, epochs):
    out = subprocess.run(["/usr/bin/python3", REF, "train", d, "--epochs", str(epochs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    epoch_s = [l["epoch_s"] for l in lines if "epoch" in l]
    return {"epoch_s": epoch_s, "peak_rss_mib": lines[-1]["peak_rss_mib"], "auc": lines[-1]["test_macro_auc"]}


def run_abmil(d, threads, epochs, bags_per_step, bag_list="labels.csv", split="split.csv", tag="run"):
    run = os.path.join(d, f"abmil_{tag}_b{bags_per_step}_t{threads}")
    subprocess.run(["rm", "-rf", run], check=True)
    cfg = os.path.join(d, f"abmil_{tag}.yaml")
    with open(cfg, "w") as f:
        f.write(f"""experiment: {{name: ff_bench, seed: 1}}
data: {{kind: feature_files, bag_list: {os.path.join(d, bag_list)}, features: {d}, split_csv: {os.path.join(d, split)},
       verify_features: false}}
model: {{encoder: mlp, hidden_dims: [512], dropout: 0.25, pooling: gated_attention, attention_dim: 256}}
train: {{epochs: {epochs}, bags_per_step: {bags_per_step}, optimizer: {{lr: 2.0e-4, weight_decay: 1.0e-5}},
        early_stopping: {{patience: 0}}}}
eval: {{max_instances_per_pass: 16384}}
runtime: {{threads: {threads}, progress: never}}
output: {{dir: {run}, save_attention: false, save_checkpoint: false}}
""")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", ABMIL, "train", cfg], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"abmil train failed:\n{p.stdout}\n{p.stderr}")
    rss_kib = int(p.stderr.strip().splitlines()[-1])
    epoch_s = [float(r["seconds"]) for r in csv.DictReader(open(os.path.join(run, "metrics.csv"))) if r["split"] == "train"]
    m = json.load(open(os.path.join(run, "metrics.json")))
    return {"epoch_s": epoch_s, "peak_rss_mib": rss_kib // 1024, "auc": m["test"].get("macro_auc", m["test"].get("auc")),
            "wall_s": wall}


def late(epoch_s):
    return statistics.median(epoch_s[1:] if len(epoch_s) > 1 else epoch_s)


def floor_seconds(instances, threads):
    out = subprocess.run([BENCH, "features", "--instances", str(instances), "--dim", "1024", "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("{"):
            return json.loads(line)["seconds"]
    sys.exit("abmil_bench features printed no figure:\n" + out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/tmp/abmil_ff_bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--parts", default="speed,rss,sizes")
    ap.add_argument("--batch-sizes", default="1,4,16")
    ap.add_argument("--bags", type=int, default=200)
    ap.add_argument("--instances", type=int, default=8000)
    a = ap.parse_args()
    parts = a.parts.split(",")
    full = os.path.join(a.dir, "full")
    rows = make_set(full, a.bags, a.instances)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# feature_files_speed at {commit}, {a.threads} threads, {a.epochs} epochs, {len(rows)} bags in {full}")

    if "speed" in parts:
        n = instances_of(full, rows)
        ref = run_reference(full, a.threads, a.epochs)
        print(f"reference (CLAM loop, 1 bag/step): late epoch {late(ref['epoch_s']):.2f} s  epochs {ref['epoch_s']}  "
              f"peak RSS {ref['peak_rss_mib']} MiB  test macro AUC {ref['auc']}", flush=True)
        best = None
        for b in [int(x) for x in a.batch_sizes.split(",")]:
            r = run_abmil(full, a.threads, a.epochs, b)
            ratio = late(ref["epoch_s"]) / late(r["epoch_s"])
            print(f"abmil bags_per_step={b}: late epoch {late(r['epoch_s']):.2f} s  epochs {[round(x, 2) for x in r['epoch_s']]}  "
                  f"{ratio:.2f}x the reference  peak RSS {r['peak_rss_mib']} MiB  test macro AUC {r['auc']}", flush=True)
            if best is None or ratio > best[1]:
                best = (b, ratio)
        fl = floor_seconds(n, a.threads)
        print(f"compute floor (fc + gated attention forward and backward, {n} instances in chunks): {fl:.2f} s; "
              f"reference late epoch = {late(ref['epoch_s']) / fl:.2f}x the floor")
        print(f"best abmil setting: bags_per_step={best[0]}, {best[1]:.2f}x the reference")

    if "rss" in parts:
        half = rows[: len(rows) // 2]
        for name, sel in (("half", half), ("double", rows + rows)):
            with open(os.path.join(full, f"labels_{name}.csv"), "w") as f:
                f.write("case_id,slide_id,label\n")
                for i, r in enumerate(sel):
                    sid = r["slide_id"] if i < len(rows) else r["slide_id"] + "_copy"
                    if sid.endswith("_copy"):
                        link = os.path.join(full, "h5_files", sid + ".h5")
                        if not os.path.exists(link):
                            os.symlink(r["slide_id"] + ".h5", link)
                    f.write(f"{r['case_id'] if i < len(rows) else r['case_id'] + '_copy'},{sid},{r['label']}\n")
            write_split(full, list(csv.DictReader(open(os.path.join(full, f"labels_{name}.csv")))), f"split_{name}.csv")
        for name, bl, sp in (("half", "labels_half.csv", "split_half.csv"), ("all", "labels.csv", "split.csv"),
                             ("double", "labels_double.csv", "split_double.csv")):
            r = run_abmil(full, a.threads, 1, 1, bl, sp, tag="rss_" + name)
            nb = sum(1 for _ in open(os.path.join(full, bl))) - 1
            print(f"peak RSS, {name} ({nb} bags, 1 epoch, 1 bag/step): {r['peak_rss_mib']} MiB", flush=True)

    if "sizes" in parts:
        for inst, bags in ((1000, 50), (10000, 10), (100000, 5)):
            d = os.path.join(a.dir, f"size_{inst}")
            srows = make_set(d, bags, inst)
            n = instances_of(d, srows)
            r = run_abmil(d, a.threads, max(2, a.epochs), 1, tag="size")
            print(f"bags of ~{inst} instances: {1e6 * late(r['epoch_s']) / n:.2f} us per instance "
                  f"({n} training instances, late epoch {late(r['epoch_s']):.2f} s)", flush=True)


if __name__ == "__main__":
    main()
