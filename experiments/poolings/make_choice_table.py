#!/usr/bin/env python3
"""The one table to choose a pooling by (README "Choosing a pooling"): one row
per pooling, one column per question, each cell taken from the committed
result tables of this folder and ../classical_mil:
  MNIST-bags AUC at 50 and 200 training bags and the attention's instance
      AUC at 200 (results_mnist.md, from make_mnist_table.py);
  the mean over the five classical sets of the 5 x 10-fold accuracy
      (../classical_mil/results.md for the paper's six, results.md for the
      others; both from make_table.py);
  the planted slide-feature set's macro AUC, attention AUC within each slide
      and seconds per 10,000-instance slide (results_slides.md, from
      make_slides_table.py);
  peak memory on one bag of 100,000 instances (results_bench.md, from
      ../../bench/poolings.sh).
A missing table or row leaves its cells "not run".
usage: make_choice_table.py [DIR] > choice.md   (DIR: this folder by default;
its tables and DIR/../classical_mil/results.md are read)"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "common"))
import tables  # noqa: E402

ORDER = ["gated_attention", "attention", "mean", "max", "instance_max", "instance_mean",
         "lse", "topk_mean", "multihead_gated_attention", "pma", "transformer", "dsmil"]


def md_rows(path):
    """{first cell: [cells]} of every markdown table row in path ({} if it is missing)."""
    if not os.path.exists(path):
        return {}
    out = {}
    with open(path) as f:
        for line in f:
            if line.startswith("|") and not line.startswith("| ---"):
                cells = [c.strip() for c in line.strip().strip("|").split("|")]
                out[cells[0]] = cells[1:]
    return out


def mean_of(cells):
    """Mean of the leading numbers of "0.884 ± 0.015" cells; None if any is missing."""
    values = []
    for c in cells:
        m = re.match(r"([0-9.]+)", c)
        if not m:
            return None
        values.append(float(m.group(1)))
    return sum(values) / len(values)


def main():
    here = sys.argv[1] if len(sys.argv) > 1 else HERE
    mnist = md_rows(os.path.join(here, "results_mnist.md"))
    classical = {**md_rows(os.path.join(here, "..", "classical_mil", "results.md")),
                 **md_rows(os.path.join(here, "results.md"))}
    slides = md_rows(os.path.join(here, "results_slides.md"))
    bench = md_rows(os.path.join(here, "results_bench.md"))
    print("| pooling | MNIST-bags AUC, 50 bags | MNIST-bags AUC, 200 bags | instance AUC, 200 bags "
          "| classical sets, mean accuracy | slides: macro AUC | slides: attention AUC within each slide "
          "| slides: s per 10,000-instance slide | peak MiB, 100,000 instances |")
    print("| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for key in ORDER:
        name = tables.POOLING_NAMES[key]
        m = mnist.get(name)
        cells = [m[0], m[3], m[4]] if m else ["not run"] * 3
        c = classical.get("abmil " + name)
        acc = mean_of(c) if c else None
        cells.append(f"{acc:.3f}" if acc is not None else "not run")
        s = slides.get(name)
        if s:
            per_slide = re.search(r"\(([0-9.]+)\)", s[5])
            cells += [s[0], s[2], per_slide.group(1) if per_slide else s[5]]
        else:
            cells += ["not run"] * 3
        b = bench.get(key)
        cells.append(b[2] if b and b[0].replace(",", "") == "100000" else
                     (f"{b[2]} at {b[0]}" if b else "not run"))
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
