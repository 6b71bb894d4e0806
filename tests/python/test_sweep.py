"""Tests of experiments/mnist_bags/sweep.py: restart skips finished cells,
interrupted cells are run again, `plot` turns a fixed CSV into the
expected Markdown table and one PNG per mean bag size, and new rows carry
their commit and config hash while old rows (without them) still load.
Run: /usr/bin/python3 -m unittest discover -s tests/python (ctest runs it)"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "experiments", "mnist_bags"))
import sweep  # noqa: E402
import provenance  # noqa: E402  (experiments/common, put on sys.path by sweep)


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)

# Stands in for build/abmil: writes a metrics.json whose AUC encodes the cell,
# and logs each call, so the test sees exactly which cells were trained.
FAKE_ABMIL = textwrap.dedent("""\
    #!/usr/bin/env python3
    import json, os, sys
    args = sys.argv[1:]
    out = args[args.index("--output") + 1]
    sets = dict(a.split("=", 1) for a in args[args.index("--output") + 2:] if a != "--set")
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(os.path.basename(out) + "\\n")
    if os.environ.get("FAKE_FAIL") == os.path.basename(out):
        sys.exit(3)
    os.makedirs(out)
    with open(os.path.join(out, "config.yaml"), "w") as f:
        f.write("".join(f"{k}: {v}\\n" for k, v in sorted(sets.items())))
    auc = int(sets["data.train_bags"]) / 1000 + int(sets["experiment.seed"]) / 100000
    json.dump({"test": {"auc": auc, "error": 0.25, "instance_auc": None},
               "training": {"epochs_run": 7, "best_epoch": 3}, "seconds_total": 1.5},
              open(os.path.join(out, "metrics.json"), "w"))
""")

SWEEP = textwrap.dedent("""\
    config: base.yaml
    results: results.csv
    runs: runs
    set: {output.save_checkpoint: false}
    grids:
      - name: small
        bag_size: [10, 2]
        methods: [attention, mean]
        train_bags: [50, 100]
        seeds: [1, 2]
""")


class SweepRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.fake = os.path.join(self.dir, "fake_abmil")
        with open(self.fake, "w") as f:
            f.write(FAKE_ABMIL)
        os.chmod(self.fake, 0o755)
        with open(os.path.join(self.dir, "sweep.yaml"), "w") as f:
            f.write(SWEEP)
        self.log = os.path.join(self.dir, "calls.log")
        os.environ["FAKE_LOG"] = self.log
        os.environ.pop("FAKE_FAIL", None)

    def tearDown(self):
        self.tmp.cleanup()

    def run_sweep(self):
        open(self.log, "a").close()
        with open(self.log) as f:
            before = f.read().split()
        rc = sweep.main(["run", "--sweep", os.path.join(self.dir, "sweep.yaml"), "--jobs", "2",
                         "--abmil", self.fake])
        with open(self.log) as f:
            calls = f.read().split()[len(before):]
        return rc, sorted(calls)

    def rows(self):
        return sweep.read_results(os.path.join(self.dir, "results.csv"))

    def test_restart_skips_finished_cells(self):
        rc, calls = self.run_sweep()
        self.assertEqual(rc, 0)
        self.assertEqual(len(calls), 8)  # 2 methods x 2 sizes x 2 seeds
        self.assertEqual(len(self.rows()), 8)
        rc, calls = self.run_sweep()
        self.assertEqual((rc, calls), (0, []))
        self.assertEqual(len(self.rows()), 8)
        row = [r for r in self.rows() if r["method"] == "mean" and r["train_bags"] == "100" and r["seed"] == "2"]
        self.assertEqual(len(row), 1)
        self.assertEqual(row[0]["test_auc"], "0.100020")
        self.assertEqual(row[0]["epochs_run"], "7")

    def test_interrupted_cells_run_again_and_torn_line_is_cut(self):
        self.run_sweep()
        path = os.path.join(self.dir, "results.csv")
        lines = read(path).splitlines(True)
        name = lambda line: sweep.cell_name(dict(zip(sweep.COLUMNS, line.strip().split(","))))
        torn, killed = name(lines[-2]), name(lines[-1])
        # Killed mid-append: the second-to-last row is torn and the last one
        # never written; the last cell's run directory has no metrics.json
        # (killed mid-training). The torn cell's run had finished.
        with open(path, "w") as f:
            f.writelines(lines[:-2])
            f.write(lines[-2][:10])
        os.remove(os.path.join(self.dir, "runs", killed, "metrics.json"))
        self.assertEqual(len(self.rows()), 6)
        rc, calls = self.run_sweep()
        self.assertEqual(rc, 0)
        self.assertEqual(calls, [killed])  # the torn cell is harvested, not trained again
        self.assertNotEqual(torn, killed)
        self.assertEqual(len(self.rows()), 8)
        self.assertEqual(len({sweep.cell_key(r) for r in self.rows()}), 8)
        text = read(path)
        self.assertEqual(text.count("\n"), 9)
        self.assertTrue(text.endswith("\n"))

    def test_failed_cell_is_reported_and_retried(self):
        os.environ["FAKE_FAIL"] = "k10_n100_mean_s2"
        rc, calls = self.run_sweep()
        self.assertEqual(rc, 1)
        self.assertEqual(len(self.rows()), 7)
        os.environ.pop("FAKE_FAIL")
        rc, calls = self.run_sweep()
        self.assertEqual((rc, calls), (0, ["k10_n100_mean_s2"]))

    def test_bad_sweep_file_names_the_key(self):
        with open(os.path.join(self.dir, "sweep.yaml"), "w") as f:
            f.write(SWEEP.replace("[attention, mean]", "[attention, median]"))
        with self.assertRaises(sweep.SweepError) as e:
            sweep.load_sweep(os.path.join(self.dir, "sweep.yaml"))
        self.assertIn("sweep.yaml: grids[0].methods: unknown method 'median'", str(e.exception))


FIXED_CSV = textwrap.dedent("""\
    method,mean_bag_size,bag_size_std,train_bags,seed,test_auc,test_error,instance_auc,epochs_run,best_epoch,seconds
    attention,10,2,50,1,0.700000,0.3,0.9,30,10,60
    attention,10,2,50,2,0.800000,0.2,0.9,30,10,60
    attention,10,2,50,3,0.900000,0.1,0.9,30,10,60
    mean,10,2,50,1,0.600000,0.4,,30,10,30
    mean,10,2,50,2,0.700000,0.3,,30,10,30
    attention,10,2,100,1,0.950000,0.05,0.9,30,10,120
    instance_max,50,10,50,1,0.500000,0.5,,30,10,300
""")

EXPECTED_TABLE = textwrap.dedent("""\
    ### Mean bag size 10

    Test AUC, mean ± standard error over seeds (n seeds).

    | training bags | embedding mean | attention |
    | ---: | --- | --- |
    | 50 | 0.650 ± 0.050 (2) | 0.800 ± 0.058 (3); paper 0.768 |
    | 100 |  | 0.950 (1) |

    6 runs, 6.0 min of run wall time (sum over runs).

    ### Mean bag size 50

    Test AUC, mean ± standard error over seeds (n seeds).

    | training bags | instance max |
    | ---: | --- |
    | 50 | 0.500 (1) |

    1 runs, 5.0 min of run wall time (sum over runs).
""")

REFERENCE = textwrap.dedent("""\
    mnist_bags:
      known_auc:
        - {mean_bag_size: 10, train_bags: 50, method: attention, auc: 0.768, verified: true}
        - {mean_bag_size: 10, train_bags: 50, method: instance_max, auc: 0.553, verified: false}
""")


class SweepPlotTest(unittest.TestCase):
    def test_fixed_csv_gives_expected_table_and_figures(self):
        with tempfile.TemporaryDirectory() as d:
            csv_path, ref = os.path.join(d, "results.csv"), os.path.join(d, "ref.yaml")
            write(csv_path, FIXED_CSV)
            write(ref, REFERENCE)
            table, figures = os.path.join(d, "results.md"), os.path.join(d, "figures")
            rc = sweep.main(["plot", "--results", csv_path, "--reference", ref, "--table", table,
                             "--figures", figures])
            self.assertEqual(rc, 0)
            self.assertEqual(read(table), EXPECTED_TABLE + "\n")
            pngs = sorted(os.listdir(figures))
            self.assertEqual(pngs, ["auc_bag_size_10.png", "auc_bag_size_50.png"])
            for p in pngs:
                with open(os.path.join(figures, p), "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_empty_results_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            csv_path = os.path.join(d, "results.csv")
            write(csv_path, FIXED_CSV.splitlines()[0] + "\n")
            rc = sweep.main(["plot", "--results", csv_path, "--table", os.path.join(d, "t.md"),
                             "--figures", ""])
            self.assertEqual(rc, 2)
            self.assertFalse(os.path.exists(os.path.join(d, "t.md")))


class SweepProvenanceTest(unittest.TestCase):
    """Rows written by `run` carry commit and config_sha; a CSV with the old
    11-column header still loads and plots, and is migrated before appending."""
    setUp, tearDown = SweepRunTest.setUp, SweepRunTest.tearDown
    run_sweep, rows = SweepRunTest.run_sweep, SweepRunTest.rows

    def test_new_rows_carry_commit_and_config_sha(self):
        rc, calls = self.run_sweep()
        self.assertEqual((rc, len(calls)), (0, 8))
        with open(os.path.join(self.dir, "results.csv")) as f:
            self.assertEqual(f.readline().strip(), ",".join(sweep.COLUMNS))
        self.assertEqual(sweep.COLUMNS[-2:], ["commit", "config_sha"])
        commit = provenance.git_commit()
        self.assertRegex(commit, r"^([0-9a-f]{7,}(-dirty)?|unknown)$")  # unknown: not a git checkout
        for r in self.rows():
            run_dir = os.path.join(self.dir, "runs", sweep.cell_name(r))
            with open(os.path.join(run_dir, "config.yaml"), "rb") as f:
                sha = hashlib.sha256(f.read()).hexdigest()[:12]
            self.assertEqual((r["commit"], r["config_sha"]), (commit, sha))
            self.assertEqual(provenance.commits(run_dir), [commit])
        shas = {r["config_sha"] for r in self.rows()}
        self.assertEqual(len(shas), 8)  # each cell's config differs (pooling, bags, seed)

    def test_old_rows_load_plot_and_are_migrated(self):
        path = os.path.join(self.dir, "results.csv")
        old_rows = FIXED_CSV.splitlines()[1:3]  # attention, 10, 50, seeds 1 and 2 (not cells of SWEEP)
        write(path, FIXED_CSV.splitlines()[0] + "\n" + "\n".join(old_rows) + "\n")
        rows = self.rows()
        self.assertEqual(len(rows), 2)
        self.assertEqual((rows[0]["test_auc"], rows[0]["commit"], rows[0]["config_sha"]), ("0.700000", "", ""))
        # SWEEP's cells (10, 50, attention, seeds 1, 2) are the old rows' cells: they count as done.
        rc, calls = self.run_sweep()
        self.assertEqual(rc, 0)
        self.assertEqual(len(calls), 6)
        lines = read(path).splitlines()
        self.assertEqual(lines[0], ",".join(sweep.COLUMNS))
        self.assertEqual(lines[1:3], [r + ",," for r in old_rows])  # old rows keep empty cells
        self.assertEqual(len(self.rows()), 8)
        commit = provenance.git_commit()
        self.assertEqual(sorted(r["commit"] for r in self.rows()), sorted(["", ""] + [commit] * 6))
        text = sweep.table(self.rows(), None)
        # the 6 new runs' wall time is the fake program's, measured: not asserted
        self.assertRegex(text, r"8 runs, \d+\.\d min of run wall time \(sum over runs\)\. Produced by commit "
                         + re.escape(commit) + r" \(6 runs\); 2 runs without a recorded commit\.")

    def test_new_header_with_old_short_rows_loads(self):
        path = os.path.join(self.dir, "results.csv")
        body = FIXED_CSV.splitlines()
        write(path, ",".join(sweep.COLUMNS) + "\n" + body[1] + "\n" + body[2] + ",abc1234,0123456789ab\n"
              + body[3] + ",torn")
        rows = self.rows()
        self.assertEqual([(r["seed"], r["commit"], r["config_sha"]) for r in rows],
                         [("1", "", ""), ("2", "abc1234", "0123456789ab")])

    def test_foreign_header_is_an_error(self):
        path = os.path.join(self.dir, "results.csv")
        write(path, "method,auc\nattention,0.5\n")
        with self.assertRaises(sweep.SweepError) as e:
            sweep.read_results(path)
        self.assertIn("results.csv:1: header is 'method,auc'", str(e.exception))


if __name__ == "__main__":
    unittest.main()
