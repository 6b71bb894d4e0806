"""Tests of experiments/common/reproduce.py, the CI check that published
figures still come from the code: table cells are found by row and column,
the CPU signature reads model name and vector flags, the check is skipped
(77) without data or on another CPU, and a re-run (here a fake abmil that
writes a run's metrics.json) passes only when every figure equals the
committed row of mnist_bags/results.csv.
Run: /usr/bin/python3 -m unittest discover -s tests/python (ctest runs it)"""
import contextlib
import io
import os
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "experiments", "common"))
import reproduce  # noqa: E402

TABLE = textwrap.dedent("""\
    Mean test accuracy.

    | method | musk1 | musk2 |
    | --- | --- | --- |
    | abmil attention | 0.880 ± 0.014 | 0.847 ± 0.018 |
    | abmil embedding max | 0.880 ± 0.015 | 0.854 ± 0.014 |
""")

# Stands in for build/abmil train: writes the metrics.json and config.yaml of
# a run whose figures come from FAKE_* variables.
FAKE_ABMIL = textwrap.dedent("""\
    #!/usr/bin/python3
    import json, os, sys
    out = sys.argv[sys.argv.index("--output") + 1]
    os.makedirs(out)
    open(os.path.join(out, "config.yaml"), "w").write("fake: 1\\n")
    e = os.environ
    json.dump({"test": {"auc": float(e["FAKE_AUC"]), "error": float(e["FAKE_ERROR"]),
                        "instance_auc": None},
               "training": {"epochs_run": int(e["FAKE_EPOCHS"]), "best_epoch": int(e["FAKE_BEST"])},
               "seconds_total": 1.0}, open(os.path.join(out, "metrics.json"), "w"))
""")


class TableCell(unittest.TestCase):
    def test_finds_the_cell_by_row_and_column(self):
        self.assertEqual(reproduce.table_cell(TABLE, "abmil embedding max", "musk1"), "0.880 ± 0.015")
        self.assertEqual(reproduce.table_cell(TABLE, "abmil attention", "musk2"), "0.847 ± 0.018")

    def test_names_a_missing_row_or_column(self):
        with self.assertRaisesRegex(KeyError, "no table row 'abmil mean'"):
            reproduce.table_cell(TABLE, "abmil mean", "musk1")
        with self.assertRaisesRegex(KeyError, "no column 'fox'"):
            reproduce.table_cell(TABLE, "abmil attention", "fox")


class Differences(unittest.TestCase):
    def test_lists_each_figure_whose_text_differs(self):
        committed = {"test_auc": "0.848600", "epochs_run": "35", "best_epoch": "15"}
        now = {"test_auc": "0.791400", "epochs_run": 35, "best_epoch": "15"}
        self.assertEqual(reproduce.differences(committed, now, ["test_auc", "epochs_run", "best_epoch"]),
                         ["test_auc: committed 0.848600, now 0.791400"])


class CpuSignature(unittest.TestCase):
    def test_model_name_and_vector_flags_of_the_first_cpu(self):
        with tempfile.NamedTemporaryFile("w", suffix="cpuinfo", delete=False) as f:
            f.write("processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse avx2 fma avx512f sse4_2\n\n"
                    "processor\t: 1\nmodel name\t: Other\nflags\t\t: amx_tile\n")
        self.addCleanup(os.unlink, f.name)
        self.assertEqual(reproduce.cpu_signature(f.name), "Test CPU 9000 [avx2 fma avx512f]")
        self.assertEqual(reproduce.cpu_signature(f.name + ".missing"), "unknown")


class Main(unittest.TestCase):
    """reproduce.main on the repository's committed mnist_bags row of the spec
    in experiments/common/reproduce.yaml, with a fake abmil."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.abmil = os.path.join(self.dir, "abmil")
        with open(self.abmil, "w") as f:
            f.write(FAKE_ABMIL)
        os.chmod(self.abmil, 0o755)
        sweep = reproduce.load_module("sweep", os.path.join(REPO, "experiments", "mnist_bags", "sweep.py"))
        with open(os.path.join(REPO, "experiments", "common", "reproduce.yaml")) as f:
            entry = next(e for e in reproduce.yaml.safe_load(f)["checks"] if e["kind"] == "mnist_bags")
        rows = [r for r in sweep.read_results(os.path.join(REPO, "experiments", "mnist_bags", "results.csv"))
                if sweep.cell_key(r) == sweep.cell_key(entry["cell"])]
        self.row = rows[-1]
        self.spec = os.path.join(self.dir, "spec.yaml")
        with open(self.spec, "w") as f:
            reproduce.yaml.safe_dump({"cpu": reproduce.cpu_signature(), "checks": [entry]}, f)
        self.env = dict(os.environ)
        self.addCleanup(self.restore_env)
        os.environ.update(ABMIL_DATA=self.dir, FAKE_AUC=self.row["test_auc"], FAKE_ERROR=self.row["test_error"],
                          FAKE_EPOCHS=self.row["epochs_run"], FAKE_BEST=self.row["best_epoch"])

    def restore_env(self):
        os.environ.clear()
        os.environ.update(self.env)

    def run_main(self, *args):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = reproduce.main(["--abmil", self.abmil, "--spec", self.spec, *args])
        return status, out.getvalue()

    def test_equal_figures_pass(self):
        status, out = self.run_main()
        self.assertEqual(status, 0, out)
        self.assertIn("equal to the committed row", out)

    def test_a_moved_figure_fails_and_is_named(self):
        os.environ["FAKE_BEST"] = str(int(self.row["best_epoch"]) + 1)
        status, out = self.run_main()
        self.assertEqual(status, 1, out)
        self.assertIn(f"best_epoch: committed {self.row['best_epoch']}, now {int(self.row['best_epoch']) + 1}", out)

    def test_skipped_without_data(self):
        del os.environ["ABMIL_DATA"]
        status, out = self.run_main()
        self.assertEqual(status, reproduce.SKIP)
        self.assertIn("ABMIL_DATA is not set", out)

    def test_skipped_on_another_cpu(self):
        with open(self.spec) as f:
            spec = reproduce.yaml.safe_load(f)
        spec["cpu"] = "Some Other CPU [avx]"
        with open(self.spec, "w") as f:
            reproduce.yaml.safe_dump(spec, f)
        status, out = self.run_main()
        self.assertEqual(status, reproduce.SKIP)
        self.assertIn("'Some Other CPU [avx]' CPU", out)


if __name__ == "__main__":
    unittest.main()
