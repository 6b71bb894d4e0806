"""Tests of the experiments' shared helpers: experiments/common/tables.py
(mean ± standard error, cell format, reference YAML, provenance footer),
experiments/common/provenance.py (commit, config hash, provenance.json) and
the make_table.py scripts on small fake run folders.
Run: /usr/bin/python3 -m unittest discover -s tests/python (ctest runs it)"""
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
COMMON = os.path.join(REPO, "experiments", "common")
sys.path.insert(0, COMMON)
import provenance  # noqa: E402
import tables  # noqa: E402

SHARED_REFERENCE = os.path.join(REPO, "..", "shared", "reference", "ilse2018_results.yaml")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class MeanSemTest(unittest.TestCase):
    def test_hand_computed(self):
        # mean 2.5; deviations ±1.5, ±0.5: sample variance 5/3, sd 1.2910, sem sd/2
        m, e = tables.mean_sem([1.0, 2.0, 3.0, 4.0])
        self.assertEqual(m, 2.5)
        self.assertAlmostEqual(e, 0.6454972243679028, places=12)
        m, e = tables.mean_sem([0.7, 0.9])  # sd 0.1414, sem 0.1
        self.assertAlmostEqual(m, 0.8, places=12)
        self.assertAlmostEqual(e, 0.1, places=12)

    def test_none_and_nan_are_left_out(self):
        m, e = tables.mean_sem([1.0, None, float("nan"), 3.0])  # as [1, 3]: sd sqrt(2), sem 1
        self.assertEqual(m, 2.0)
        self.assertAlmostEqual(e, 1.0, places=12)

    def test_one_value_has_no_error_and_none_gives_none(self):
        m, e = tables.mean_sem([0.7])
        self.assertEqual(m, 0.7)
        self.assertTrue(math.isnan(e))
        self.assertIsNone(tables.mean_sem([]))
        self.assertIsNone(tables.mean_sem([None, float("nan")]))


class FmtTest(unittest.TestCase):
    def test_cells(self):
        self.assertEqual(tables.fmt((0.12345, 0.04567)), "0.123 ± 0.046")
        self.assertEqual(tables.fmt((0.5, float("nan"))), "0.500")
        self.assertEqual(tables.fmt((0.874, None)), "0.874")
        self.assertEqual(tables.fmt(None), "–")
        self.assertEqual(tables.fmt(tables.mean_sem([0.7, 0.9])), "0.800 ± 0.100")

    def test_names(self):
        self.assertEqual(tables.POOLING_NAMES["mean"], "embedding mean")
        self.assertEqual(tables.POOLING_NAMES["instance_max"], "instance max")
        self.assertEqual(tables.PAPER_METHODS["max"], "embedding_max")
        self.assertLessEqual(set(tables.PAPER_METHODS), set(tables.POOLING_NAMES))  # every paper method is named


class ReferenceTest(unittest.TestCase):
    def test_in_repo_copy_has_the_table_values(self):
        self.assertTrue(tables.REFERENCE.startswith(REPO))
        ref = tables.load_reference("classical_mil")
        self.assertEqual(ref["attention"]["musk1"], [0.892, 0.040])
        self.assertTrue(ref["attention"]["verified"])
        self.assertEqual(ref["MI_svm"]["fox"], [0.578, None])
        self.assertEqual(set(ref), {"attention", "gated_attention", "mi_net", "MI_net", "mi_graph", "mi_svm", "MI_svm"})
        ucsb = tables.load_reference("histopathology")["breast_ucsb"]
        self.assertEqual(ucsb["gated_attention"]["auc"], [0.799, 0.020])
        self.assertEqual(ucsb["instance_max"], {"accuracy": [0.614, 0.020], "auc": [0.612, 0.026]})
        known = tables.load_reference("mnist_bags")["known_auc"]
        self.assertIn({"mean_bag_size": 10, "train_bags": 50, "method": "attention", "auc": 0.768,
                       "verified": True}, known)
        text = tables.load_reference("text_anchor")["movie_review_polarity_v2"]
        self.assertEqual((text["svm_unigrams_accuracy"], text["verified"]), (0.872, False))

    def test_header_names_the_source(self):
        with open(tables.REFERENCE) as f:
            head = f.read(1500)
        self.assertIn("Ilse, Tomczak & Welling", head)
        self.assertIn("ICML 2018", head)
        self.assertIn("Table 1", head)

    def test_missing_section_names_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "ref.yaml")
            write(path, "classical_mil: {}\n")
            with self.assertRaises(KeyError) as e:
                tables.load_reference("mnist_bags", path)
            self.assertIn(f"{path}: no section 'mnist_bags'", str(e.exception))

    @unittest.skipUnless(os.path.exists(SHARED_REFERENCE), "no ../shared/reference next to the repository")
    def test_copy_equals_the_shared_reference(self):
        def load(section, path):
            return tables.load_reference(section, path)
        for section in ("classical_mil", "text_anchor"):
            mine, theirs = load(section, None), load(section, SHARED_REFERENCE)
            for key, value in mine.items():
                self.assertEqual(value, theirs[key], f"{section}.{key}")
        self.assertEqual(load("mnist_bags", None)["known_auc"], load("mnist_bags", SHARED_REFERENCE)["known_auc"])
        self.assertEqual(load("histopathology", None)["breast_ucsb"],
                         {k: v for k, v in load("histopathology", SHARED_REFERENCE)["breast_ucsb"].items()
                          if k != "data"})


class ProvenanceTest(unittest.TestCase):
    def test_git_commit_and_dirty_src(self):
        with tempfile.TemporaryDirectory() as d:
            git = lambda *a: subprocess.run(["git", "-C", d, *a], check=True, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, text=True).stdout.strip()
            git("init", "-q")
            write(os.path.join(d, "src", "a.cpp"), "int a;\n")
            write(os.path.join(d, "README.md"), "x\n")
            git("add", ".")
            git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
            head = git("rev-parse", "--short", "HEAD")
            self.assertEqual(provenance.git_commit(d), head)
            write(os.path.join(d, "README.md"), "changed outside src\n")
            self.assertEqual(provenance.git_commit(d), head)
            write(os.path.join(d, "src", "new.cpp"), "int b;\n")  # untracked in src/
            self.assertEqual(provenance.git_commit(d), head + "-dirty")
            os.remove(os.path.join(d, "src", "new.cpp"))
            write(os.path.join(d, "src", "a.cpp"), "int c;\n")
            self.assertEqual(provenance.git_commit(d), head + "-dirty")
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(provenance.git_commit(d), "unknown")

    def test_config_sha_and_record(self):
        with tempfile.TemporaryDirectory() as d:
            write(os.path.join(d, "config.yaml"), "experiment: {name: x, seed: 1}\n")
            self.assertEqual(provenance.config_sha(os.path.join(d, "config.yaml")), "97d65231de8a")
            self.assertEqual(provenance.config_sha(os.path.join(d, "none.yaml")), "")
            self.assertIsNone(provenance.commits(d))
            self.assertEqual(provenance.record(d, "abc1234"), ["abc1234"])
            self.assertEqual(provenance.record(d, "abc1234"), ["abc1234"])  # same sitting again
            self.assertEqual(provenance.record(d, "def5678-dirty"), ["abc1234", "def5678-dirty"])
            with open(os.path.join(d, "provenance.json")) as f:
                self.assertEqual(json.load(f), {"commits": ["abc1234", "def5678-dirty"]})

    def test_record_cli_uses_this_checkout(self):
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run(["/usr/bin/python3", os.path.join(COMMON, "provenance.py"), "record", d])
            self.assertEqual(p.returncode, 0)
            self.assertEqual(provenance.commits(d), [provenance.git_commit()])
            p = subprocess.run(["/usr/bin/python3", os.path.join(COMMON, "provenance.py"), "record",
                                os.path.join(d, "missing")], stderr=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 2)

    def test_commit_line(self):
        self.assertIsNone(tables.commit_line([]))
        self.assertIsNone(tables.commit_line(["", ""]))
        self.assertEqual(tables.commit_line(["abc", "abc"]), "Produced by commit abc.")
        self.assertEqual(tables.commit_line(["abc", "", "abc"]),
                         "Produced by commit abc (2 runs); 1 run without a recorded commit.")
        self.assertEqual(tables.commit_line(["abc", "def-dirty", "abc", "", ""]),
                         "Produced by commits abc (2 runs), def-dirty (1 run); 2 runs without a recorded commit.")


def fold(k, accuracy, seconds=60.0, epochs=10):
    return json.dumps({"repeat": 0, "fold": k, "accuracy": accuracy, "precision": 0.5, "recall": 0.25,
                       "f1": 1.0, "auc": accuracy, "seconds": seconds, "epochs_run": epochs})


class MakeTableTest(unittest.TestCase):
    """The make_table.py scripts on fake run folders: values, and the
    provenance footer only when a run carries provenance.json."""

    def make_table(self, experiment, runs):
        p = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "experiments", experiment, "make_table.py"), runs],
                           stdout=subprocess.PIPE, text=True, check=True)
        return p.stdout

    def test_histopathology_rows_and_footer(self):
        with tempfile.TemporaryDirectory() as runs:
            run = os.path.join(runs, "gated_attention")
            write(os.path.join(run, "folds", "r0_f0.json"), fold(0, 0.7, seconds=600, epochs=30))
            write(os.path.join(run, "folds", "r0_f2.json"), fold(2, 0.9, seconds=1200, epochs=50))
            write(os.path.join(run, "config.yaml"), "experiment: {name: x, seed: 1}\n")
            text = self.make_table("histopathology", runs)
            self.assertIn("| abmil gated attention | 1, 3 | 0.800 ± 0.100 | 0.500 ± 0.000 | 0.250 ± 0.000 "
                          "| 1.000 ± 0.000 | 0.800 ± 0.100 | 40 | 15.0 min |", text)
            self.assertIn("| abmil attention | not run |", text)
            self.assertIn("| paper: embedding max | 10 | 0.607 ± 0.015 | – | – | – | 0.650 ± 0.013 | | |", text)
            self.assertTrue(text.endswith("(22.5 s per epoch, validation pass included).\n"))
            self.assertNotIn("Produced by", text)
            provenance.record(run, "abc1234")
            text = self.make_table("histopathology", runs)
            self.assertTrue(text.endswith(
                "(22.5 s per epoch, validation pass included).\n\nProduced by commit abc1234.\n"
                "Config sha256 (first 12 hex digits) of each run's config.yaml: gated_attention 97d65231de8a.\n"))

    def test_classical_cells_and_paper_rows(self):
        with tempfile.TemporaryDirectory() as runs:
            run = os.path.join(runs, "musk1_attention")
            write(os.path.join(run, "cv_summary.json"), json.dumps({"accuracy": {"mean": 0.8804, "sem": 0.0136}}))
            write(os.path.join(run, "cv_run.json"), json.dumps({"seconds_total": 90.0}))
            text = self.make_table("classical_mil", runs)
            self.assertIn("| abmil attention | 0.880 ± 0.014 | not run | not run | not run | not run |", text)
            self.assertIn("| paper: mi-svm (±: recalled, not verified) | 0.874 | 0.836 | 0.582 | 0.784 | 0.822 |",
                          text)
            self.assertIn("| bar for abmil attention (paper mean - its ±) | 0.852 | 0.810 | 0.572 | 0.817 | 0.846 |",
                          text)
            self.assertTrue(text.endswith("Sum of the runs' wall times: 1.5 min on this machine.\n"))

    def test_text_unfinished_run(self):
        with tempfile.TemporaryDirectory() as runs:
            for k, acc in enumerate([0.8, 0.9, 1.0]):
                write(os.path.join(runs, "mean", "folds", f"r0_f{k}.json"), fold(k, acc, seconds=120))
            text = self.make_table("text", runs)
            # mean 0.9, sd 0.1, sem 0.1 / sqrt(3) = 0.0577
            self.assertIn("| abmil mean | sentences; tokens → sentence: mean; sentences → review: mean | 3 "
                          "| 0.900 ± 0.058 | 1.000 ± 0.000 | 0.900 ± 0.058 | 10 | 6.0 min (sum of folds, unfinished) |",
                          text)
            self.assertIn("| bag-of-words SVM, unigrams (recalled, not checked against the paper) |", text)


class PoolingTablesTest(unittest.TestCase):
    """experiments/poolings: make_slides_table.py on fake run folders and
    make_choice_table.py on fake committed tables."""

    def script(self, name, arg):
        p = subprocess.run(["/usr/bin/python3", os.path.join(REPO, "experiments", "poolings", name), arg],
                           stdout=subprocess.PIPE, text=True, check=True)
        return p.stdout

    def test_slides_table_cells(self):
        with tempfile.TemporaryDirectory() as runs:
            acc = os.path.join(runs, "slides", "dsmil")
            write(os.path.join(acc, "metrics.json"), json.dumps(
                {"test": {"macro_auc": 0.99949, "accuracy": 0.9444, "instance_auc_per_bag": 0.9, "instance_auc": 0.7}}))
            write(os.path.join(acc, "time.txt"), "\tMaximum resident set size (kbytes): 1048576\n")
            tim = os.path.join(runs, "slides10k", "dsmil")
            write(os.path.join(tim, "metrics.json"), json.dumps({"test": {}}))
            write(os.path.join(tim, "metrics.csv"), "epoch,split,loss,seconds\n1,train,1.0,50.0\n1,validation,1.0,2.0\n"
                  "2,train,0.9,24.0\n")
            write(os.path.join(tim, "time.txt"), "\tMaximum resident set size (kbytes): 2097152\n")
            write(os.path.join(runs, "slides10k", "transformer", "refused.txt"), "abmil: error: ... is over its limit\n")
            write(os.path.join(runs, "slides", "instance_max", "refused.txt"), "... for a binary label only; ...\n")
            text = self.script("make_slides_table.py", runs)
            # 24 s for the 12 training slides of make_slide_timing_set.py's split
            self.assertIn("| DSMIL | 0.999 | 0.944 | 0.900 | 0.700 | 1024 | 24.0 (2.00) | 2048 |", text)
            self.assertIn("| transformer + CLS (2 layers) | not run | not run | not run | not run | not run "
                          "| refused: over its limit | — |", text)
            self.assertIn("| instance max | refused: binary only | — | — | — | — | not run | not run |", text)

    def test_choice_table_joins_the_tables(self):
        with tempfile.TemporaryDirectory() as root:
            here = os.path.join(root, "poolings")
            write(os.path.join(here, "results_mnist.md"),
                  "| pooling | a | b | c | d | e | f |\n| --- |\n| DSMIL | 0.746 ± 0.050 | 0.7 | 11 "
                  "| 0.965 ± 0.007 | 0.886 ± 0.085 | 51 |\n")
            write(os.path.join(root, "classical_mil", "results.md"),
                  "| abmil gated attention | 0.9 ± 0.1 | 0.8 ± 0.1 | 0.6 ± 0.1 | 0.8 ± 0.1 | 0.9 ± 0.1 |\n")
            write(os.path.join(here, "results.md"), "| abmil DSMIL | 0.9 | 0.8 | 0.6 | not run | 0.9 |\n")
            write(os.path.join(here, "results_slides.md"),
                  "| DSMIL | 0.999 | 0.944 | 0.900 | 0.700 | 1024 | 24.0 (2.00) | 2048 |\n")
            write(os.path.join(here, "results_bench.md"), "| dsmil | 100,000 | 1.896 | 1389 |\n"
                  "| transformer | 6,600 | 11.2 | 3562 |\n")
            text = self.script("make_choice_table.py", here)
            self.assertIn("| DSMIL | 0.746 ± 0.050 | 0.965 ± 0.007 | 0.886 ± 0.085 | not run | 0.999 | 0.900 | 2.00 "
                          "| 1389 |", text)  # one set not run: no mean
            self.assertIn("| gated attention | not run | not run | not run | 0.800 | not run | not run | not run "
                          "| not run |", text)
            self.assertIn("| transformer + CLS (2 layers) | not run | not run | not run | not run | not run | not run "
                          "| not run | 3562 at 6,600 |", text)

if __name__ == "__main__":
    unittest.main()
