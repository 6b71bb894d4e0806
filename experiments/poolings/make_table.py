#!/usr/bin/env python3
"""Markdown table of the new poolings' `abmil cv` results
(RUNS/<data set>_<pooling>/cv_summary.json): ../classical_mil/make_table.py
with this folder's poolings as the rows (run_cv_all.sh calls it).
usage: make_table.py RUNS [REFERENCE_YAML]"""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
POOLINGS = ["lse", "topk_mean", "multihead_gated_attention", "pma", "transformer", "dsmil"]

spec = importlib.util.spec_from_file_location("classical_table", os.path.join(HERE, "..", "classical_mil", "make_table.py"))
classical = importlib.util.module_from_spec(spec)
spec.loader.exec_module(classical)
classical.POOLINGS = POOLINGS

if __name__ == "__main__":
    classical.main()
