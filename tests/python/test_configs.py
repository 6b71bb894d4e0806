"""The committed configs of experiments/classical_mil (30) and
experiments/histopathology (6) are exactly what their make_configs.sh writes:
make_configs.sh is the one source, so a hand edit of a config fails here.
Run: /usr/bin/python3 -m unittest discover -s tests/python (ctest runs it)"""
import filecmp
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


class GeneratedConfigsTest(unittest.TestCase):
    def check(self, experiment, count):
        committed = os.path.join(REPO, "experiments", experiment, "configs")
        with tempfile.TemporaryDirectory() as out:
            p = subprocess.run(["bash", os.path.join(REPO, "experiments", experiment, "make_configs.sh"), out],
                               stdout=subprocess.PIPE, text=True)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(p.stdout.strip(), str(count))
            generated = sorted(os.listdir(out))
            self.assertEqual(generated, sorted(os.listdir(committed)))
            self.assertEqual(len(generated), count)
            match, mismatch, errors = filecmp.cmpfiles(out, committed, generated, shallow=False)
            self.assertEqual((mismatch, errors), ([], []), f"edit {experiment}/make_configs.sh and rerun it")

    def test_classical_mil(self):
        self.check("classical_mil", 30)

    def test_histopathology(self):
        self.check("histopathology", 6)

    def test_only_name_pooling_and_fox_lr_differ(self):
        # The grid really is data set x pooling: the configs differ only there.
        d = os.path.join(REPO, "experiments", "classical_mil", "configs")
        with open(os.path.join(d, "musk1_gated_attention.yaml")) as f:
            base = f.read()
        with open(os.path.join(d, "fox_max.yaml")) as f:
            fox = f.read()
        expected = base.replace("musk1", "fox").replace("gated_attention", "max").replace("lr: 5.0e-4", "lr: 1.0e-4")
        self.assertEqual(fox, expected)


if __name__ == "__main__":
    unittest.main()
