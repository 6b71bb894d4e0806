"""Tests of experiments/common/run_cv_all.sh with a fake abmil (ABMIL=...):
every config of a folder is run once with the --set options, a finished run
is skipped, an unfinished one resumed with --resume RUN, ONLY and JOBS are
honoured, a failed run stops the sitting with its exit status, each run gets
provenance.json, and make_table.py writes results.md with the table args.
Run: /usr/bin/python3 -m unittest discover -s tests/python (ctest runs it)"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
RUNNER = os.path.join(REPO, "experiments", "common", "run_cv_all.sh")
sys.path.insert(0, os.path.join(REPO, "experiments", "common"))
import provenance  # noqa: E402

# Stands in for build/abmil: logs its arguments, writes config.yaml on a new
# run, then one fold per call (so a run needs FOLDS calls unless it fails),
# and cv_summary.json once all folds are there.
FAKE_ABMIL = textwrap.dedent("""\
    #!/usr/bin/python3
    import json, os, sys
    args = sys.argv[1:]
    out = args[args.index("--output" if "--output" in args else "--resume") + 1]
    with open(os.environ["FAKE_LOG"], "a") as f:
        f.write(" ".join(a.replace(os.environ["FAKE_DIR"], "DIR") for a in args) + "\\n")
    if "--resume" not in args:
        os.makedirs(os.path.join(out, "folds"))
        with open(os.path.join(out, "config.yaml"), "w") as f:
            f.write(open(args[1]).read())
    if os.environ.get("FAKE_FAIL") == os.path.basename(out):
        sys.exit(3)
    n = len(os.listdir(os.path.join(out, "folds")))
    open(os.path.join(out, "folds", f"r0_f{n}.json"), "w").write("{}")
    if n + 1 == 2:
        open(os.path.join(out, "cv_summary.json"), "w").write("{}")
""")

MAKE_TABLE = textwrap.dedent("""\
    import os, sys
    runs = sys.argv[1]
    print("args:", " ".join(sys.argv[2:]))
    for name in sorted(os.listdir(runs)):
        print(name, "finished" if os.path.exists(os.path.join(runs, name, "cv_summary.json")) else "unfinished")
""")


class RunCvAllTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "exp")
        os.makedirs(os.path.join(self.dir, "configs"))
        for name in ("alpha", "beta", "gamma"):
            with open(os.path.join(self.dir, "configs", name + ".yaml"), "w") as f:
                f.write(f"experiment: {{name: {name}}}\n")
        with open(os.path.join(self.dir, "make_table.py"), "w") as f:
            f.write(MAKE_TABLE)
        self.fake = os.path.join(self.tmp.name, "abmil")
        with open(self.fake, "w") as f:
            f.write(FAKE_ABMIL)
        os.chmod(self.fake, 0o755)
        self.log = os.path.join(self.tmp.name, "calls.log")

    def tearDown(self):
        self.tmp.cleanup()

    def run_all(self, *args, **env):
        open(self.log, "a").close()
        with open(self.log) as f:
            before = len(f.read().splitlines())
        e = dict(os.environ, ABMIL=self.fake, FAKE_LOG=self.log, FAKE_DIR=self.dir, JOBS="3")
        e.pop("ONLY", None)
        e.update(env)
        p = subprocess.run(["bash", RUNNER, *args], env=e, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        with open(self.log) as f:
            calls = f.read().splitlines()[before:]
        return p.returncode, calls, p.stdout

    def test_runs_skips_resumes_and_records(self):
        rc, calls, out = self.run_all("--set", "runtime.threads=1", self.dir, "--extra", "x")
        self.assertEqual(rc, 0, out)
        self.assertEqual(calls, [f"cv DIR/configs/{n}.yaml --set runtime.threads=1 --output DIR/runs/{n} --jobs 3"
                                 for n in ("alpha", "beta", "gamma")])
        with open(os.path.join(self.dir, "results.md")) as f:
            table = f.read()
        self.assertEqual(table, "args: --extra x\nalpha unfinished\nbeta unfinished\ngamma unfinished\n")
        self.assertTrue(out.endswith(table))
        # second sitting: each unfinished run is resumed; the third finds them all finished
        rc, calls, _ = self.run_all(self.dir, JOBS="2", ONLY="b")
        self.assertEqual((rc, calls), (0, ["cv --resume DIR/runs/beta --jobs 2"]))
        rc, calls, _ = self.run_all(self.dir)
        self.assertEqual(calls, ["cv --resume DIR/runs/alpha --jobs 3", "cv --resume DIR/runs/gamma --jobs 3"])
        rc, calls, out = self.run_all(self.dir)
        self.assertEqual((rc, calls), (0, []))
        self.assertIn("alpha finished\nbeta finished\ngamma finished\n", out)
        commit = provenance.git_commit()
        for name in ("alpha", "beta", "gamma"):
            self.assertEqual(provenance.commits(os.path.join(self.dir, "runs", name)), [commit])

    def test_failed_run_stops_the_sitting(self):
        rc, calls, out = self.run_all(self.dir, FAKE_FAIL="beta")
        self.assertEqual(rc, 3)
        self.assertEqual(len(calls), 2)  # alpha, then beta fails: gamma not started
        self.assertFalse(os.path.exists(os.path.join(self.dir, "results.md")))
        # the failed run's folder exists (config.yaml) and carries this commit
        self.assertEqual(provenance.commits(os.path.join(self.dir, "runs", "beta")), [provenance.git_commit()])

    def test_bad_arguments(self):
        rc, calls, out = self.run_all(os.path.join(self.dir, "configs"))
        self.assertEqual((rc, calls), (2, []))
        self.assertIn("usage: run_cv_all.sh", out)
        rc, calls, out = self.run_all(self.dir, ONLY="zeta")
        self.assertEqual((rc, calls), (1, []))
        self.assertIn("no config matches", out)

    def test_wrappers_pass_the_runtime_threads_of_today(self):
        # classical_mil ran without --set; histopathology and text with runtime.threads=1
        for experiment, sets in (("classical_mil", ""), ("histopathology", "--set runtime.threads=1 "),
                                 ("text", "--set runtime.threads=1 ")):
            with open(os.path.join(REPO, "experiments", experiment, "run_all.sh")) as f:
                text = f.read()
            self.assertIn(f'exec "$(dirname "$0")/../common/run_cv_all.sh" {sets}"$(dirname "$0")" "$@"', text)


if __name__ == "__main__":
    unittest.main()
