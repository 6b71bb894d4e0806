#!/usr/bin/env python3
"""PyTorch per-bag reference for classical MIL (tiny bags of feature vectors,
e.g. Musk1: ~5-10 instances of 166 features per bag), the network of
experiments/classical_mil/configs/musk1_gated_attention.yaml written the way a
PyTorch user writes it: one bag per optimizer step.

  fc D->256->128->64, ReLU and dropout 0.5 after each; gated attention
  (L = 64) over the 64-d embeddings; fc 64->1 on the pooled embedding;
  binary cross-entropy on the logit; Adam lr 5e-4, betas (0.9, 0.999),
  weight decay 5e-3 (L2, torch.optim.Adam); bag order shuffled every epoch.

Data: abmil's feature-bag CSV (src/abmil/data/feature_csv.h): a header
`bag_id,label,f1,...,fD`, one row per instance, the rows of a bag contiguous.
A stratified --test-fraction of the bags is held out (as `abmil train` with
data.validation_fraction=0, not the same bags), the features are z-scored with
the training instances' statistics (a feature without spread only centred).

Used only to time the same work side by side with abmil (bench/tiny_bags.sh):
every epoch is timed; the test AUC is a sanity check.

usage: ref_mil_mlp.py [CSV] [--epochs 50] [--threads 1] [--flush-denormal]
       [--test-fraction 0.1] [--seed 1]
CSV defaults to $ABMIL_DATA/musk1/musk1.csv. Prints one JSON line (the last)."""
import argparse, csv, json, os, statistics, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

EARLY, LATE = 5, 10  # epochs in the early median (the first) and the late one (the last: steady state)


def read_bags(path):
    """[(features [K, D] float32, label 0/1)] in file order."""
    bags, ids = [], {}
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        if header[:2] != ["bag_id", "label"]:
            raise SystemExit(f"{path}: header must start with bag_id,label")
        for row in rows:
            if not row:
                continue
            bag = row[0].strip()
            if bag not in ids:
                ids[bag] = len(bags)
                bags.append(([], int(row[1])))
            elif ids[bag] != len(bags) - 1:
                raise SystemExit(f"{path}: the rows of bag {bag} are not contiguous")
            bags[ids[bag]][0].append([float(v) for v in row[2:]])
    return [(np.asarray(x, np.float32), y) for x, y in bags]


def stratified_split(labels, test_fraction, rng):
    """Positions of (train, test): test_fraction of each label held out, rounded half up
    (abmil's stratified_split: the same bag counts, not the same bags), at least one."""
    train, test = [], []
    for label in (0, 1):
        pos = [i for i, y in enumerate(labels) if y == label]
        rng.shuffle(pos)
        k = min(max(1, int(np.floor(test_fraction * len(pos) + 0.5))), len(pos) - 1)
        test += pos[:k]
        train += pos[k:]
    return sorted(train), sorted(test)


class Net(nn.Module):
    def __init__(self, dim, hidden=(256, 128, 64), dropout=0.5, attention_dim=64):
        super().__init__()
        layers, d = [], dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(dropout)]
            d = h
        self.encoder = nn.Sequential(*layers)
        self.V = nn.Linear(d, attention_dim)
        self.U = nn.Linear(d, attention_dim)
        self.w = nn.Linear(attention_dim, 1)
        self.cls = nn.Linear(d, 1)

    def forward(self, x):
        h = self.encoder(x)                                    # [K, 64]
        a = torch.tanh(self.V(h)) * torch.sigmoid(self.U(h))   # gated attention
        a = F.softmax(self.w(a).t(), dim=1)                    # [1, K]
        return self.cls(a @ h).squeeze()                       # bag logit


def auc(y, p):
    y, p = np.asarray(y), np.asarray(p)
    npos, nneg = y.sum(), len(y) - y.sum()
    if npos == 0 or nneg == 0:
        return float("nan")
    greater = (p[y == 1][:, None] > p[y == 0][None, :]).sum()
    ties = (p[y == 1][:, None] == p[y == 0][None, :]).sum()
    return float((greater + 0.5 * ties) / (npos * nneg))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    data = os.environ.get("ABMIL_DATA")
    ap.add_argument("csv", nargs="?", default=f"{data}/musk1/musk1.csv" if data else None)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--test-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--flush-denormal", action="store_true", help="torch.set_flush_denormal(True)")
    a = ap.parse_args()
    if not a.csv:
        ap.error("give the CSV or set ABMIL_DATA")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    if a.flush_denormal:
        torch.set_flush_denormal(True)

    bags = read_bags(a.csv)
    train_pos, test_pos = stratified_split([y for _, y in bags], a.test_fraction, np.random.RandomState(a.seed))
    stacked = np.concatenate([bags[i][0] for i in train_pos])
    mean, std = stacked.mean(0), stacked.std(0)
    std[std == 0] = 1
    to_t = lambda i: (torch.from_numpy((bags[i][0] - mean) / std), torch.tensor(float(bags[i][1])))
    train, test = [to_t(i) for i in train_pos], [to_t(i) for i in test_pos]

    net = Net(bags[0][0].shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=5e-4, betas=(0.9, 0.999), weight_decay=5e-3)
    times = []
    for _ in range(a.epochs):
        net.train()
        t0 = time.perf_counter()
        for i in torch.randperm(len(train)).tolist():
            x, y = train[i]
            opt.zero_grad()
            F.binary_cross_entropy_with_logits(net(x), y).backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    net.eval()
    with torch.no_grad():
        ps = [torch.sigmoid(net(x)).item() for x, _ in test]
    early = statistics.median(times[:EARLY])
    late = statistics.median(times[-LATE:])
    print(json.dumps({"impl": "pytorch-per-bag-mlp", "data": a.csv, "threads": a.threads,
                      "flush_denormal": a.flush_denormal, "train_bags": len(train), "test_bags": len(test),
                      "train_instances": int(sum(len(x) for x, _ in train)), "epochs": a.epochs,
                      "epoch_s": [round(t, 5) for t in times], "early_s": early, "late_s": late,
                      "late_over_early": late / early, "steps_per_s": len(train) / late,
                      "test_auc": auc([int(y) for _, y in test], ps)}))


if __name__ == "__main__":
    main()
