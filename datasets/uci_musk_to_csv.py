#!/usr/bin/env python3
"""Converts UCI's "Musk" text files (clean1.data = Musk1, clean2.data = Musk2:
molecule_name,conformation_name,f1,...,f166,class) into abmil's feature-bag
CSV (bag_id,label,f1,...,f166), bags numbered 0.. in order of first appearance.
usage: uci_musk_to_csv.py clean1.data musk1.csv"""
import csv, sys

src, dst = sys.argv[1], sys.argv[2]
ids, rows = {}, []
with open(src) as f:
    for line_no, row in enumerate(csv.reader(f), 1):
        if not row:
            continue
        if len(row) != 169:
            sys.exit(f"{src}:{line_no}: expected 169 fields, got {len(row)}")
        bag = ids.setdefault(row[0], len(ids))
        rows.append([bag, int(float(row[168]))] + row[2:168])
with open(dst, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["bag_id", "label"] + [f"f{i}" for i in range(1, 167)])
    w.writerows(rows)
print(f"{dst}: {len(ids)} bags, {len(rows)} instances")
