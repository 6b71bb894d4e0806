#!/usr/bin/python3
"""Reference outputs of abmil's poolings on a small hand-made packed batch.

Run with Debian's python3-torch 1.13 (/usr/bin/python3 make_reference.py);
it writes reference.json beside this script, which tests/test_poolings_reference.cpp
reads. Every pooling here is an independent dense computation, one bag at a
time, built from PyTorch's own modules where the method uses them
(torch.nn.MultiheadAttention for the Set Transformer's PMA,
torch.nn.TransformerEncoderLayer for the transformer pooling), in float64.
The parameters are written under abmil's names; the test loads them into
abmil's modules and compares z, the attention weights and (dsmil) the
instance scores.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(20261203)
torch.set_default_dtype(torch.float64)

M = 8
SIZES = [3, 1, 4]  # bags 0, 1, 2 (bag 1: a single instance)
H = torch.randn(sum(SIZES), M)
bag_index = [b for b, n in enumerate(SIZES) for _ in range(n)]


def bags(x):
    out, start = [], 0
    for n in SIZES:
        out.append(x[start:start + n])
        start += n
    return out


def tensor_json(t):
    t = t.detach().to(torch.float64).contiguous()
    return {"shape": list(t.shape), "data": t.flatten().tolist()}


def randomize(module):
    """Non-trivial values everywhere (LayerNorm gains and biases included)."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)


cases = []


def add(name, spec, params, z, attention=None, head_attention=None, instance_logits=None, attention_2d=None):
    case = {"pooling": name, "spec": spec, "params": {k: tensor_json(v) for k, v in params.items()},
            "z": tensor_json(z)}
    if attention is not None:
        case["attention"] = tensor_json(attention)
    if attention_2d is not None:
        case["attention"] = tensor_json(attention_2d)
    if head_attention is not None:
        case["head_attention"] = tensor_json(head_attention)
    if instance_logits is not None:
        case["instance_logits"] = tensor_json(instance_logits)
    cases.append(case)


# ---- lse: z_m = (1/r) log((1/K) sum_k exp(r h_km))
r = 2.5
z = torch.stack([(torch.logsumexp(r * h, 0) - math.log(h.shape[0])) / r for h in bags(H)])
add("lse", {"lse_r": r}, {}, z)

# ---- topk_mean: the mean of the k largest values per dimension
k = 2
z = torch.stack([torch.topk(h, min(k, h.shape[0]), 0).values.mean(0) for h in bags(H)])
add("topk_mean", {"pool_k": k}, {}, z)

# ---- multihead_gated_attention: h independent gated attentions (Ilse et al. eq. 9)
h, L = 2, 3
heads = [dict(V=nn.Linear(M, L), U=nn.Linear(M, L), w=nn.Linear(L, 1)) for _ in range(h)]
for head in heads:
    for m in head.values():
        randomize(m)
for merge in ["concat", "mean"]:
    zs, atts = [], []
    for x in bags(H):
        per_head_z, per_head_a = [], []
        for head in heads:
            s = head["w"](torch.tanh(head["V"](x)) * torch.sigmoid(head["U"](x))).squeeze(1)
            a = torch.softmax(s, 0)
            per_head_a.append(a)
            per_head_z.append(a @ x)
        zs.append(torch.cat(per_head_z) if merge == "concat" else torch.stack(per_head_z).mean(0))
        atts.append(torch.stack(per_head_a, 1))
    params = {
        "V.weight": torch.cat([hd["V"].weight for hd in heads]), "V.bias": torch.cat([hd["V"].bias for hd in heads]),
        "U.weight": torch.cat([hd["U"].weight for hd in heads]), "U.bias": torch.cat([hd["U"].bias for hd in heads]),
        "w": torch.cat([hd["w"].weight for hd in heads]), "w_bias": torch.cat([hd["w"].bias for hd in heads])}
    A = torch.cat(atts)
    add("multihead_gated_attention", {"heads": h, "attention_dim": L, "merge": merge}, params, torch.stack(zs),
        attention=A.mean(1), head_attention=A)

# ---- pma: Set Transformer PMA_k(S, X) = MAB(S, rFF(X)), torch.nn.MultiheadAttention
heads_n, seeds = 2, 2
S = torch.randn(seeds, M)
rff, fc_o = nn.Linear(M, M), nn.Linear(M, M)
mha = nn.MultiheadAttention(M, heads_n, batch_first=True)
ln0, ln1 = nn.LayerNorm(M), nn.LayerNorm(M)
for m in [rff, fc_o, mha, ln0, ln1]:
    randomize(m)
for merge in ["concat", "mean"]:
    zs, atts = [], []
    for x in bags(H):
        Y = torch.relu(rff(x)).unsqueeze(0)                   # [1, n, M]
        out, w = mha(S.unsqueeze(0), Y, Y, need_weights=True)  # w [1, k, n], mean over heads
        Hs = ln0(S.unsqueeze(0) + out)
        Z = ln1(Hs + torch.relu(fc_o(Hs)))[0]                  # [k, M]
        zs.append(Z.flatten() if merge == "concat" else Z.mean(0))
        atts.append(w[0].t())                                  # [n, k]
    params = {"S": S, "rff.weight": rff.weight, "rff.bias": rff.bias,
              "mha.in_proj_weight": mha.in_proj_weight, "mha.in_proj_bias": mha.in_proj_bias,
              "mha.out_proj.weight": mha.out_proj.weight, "mha.out_proj.bias": mha.out_proj.bias,
              "ln0.weight": ln0.weight, "ln0.bias": ln0.bias, "ln1.weight": ln1.weight, "ln1.bias": ln1.bias,
              "fc_o.weight": fc_o.weight, "fc_o.bias": fc_o.bias}
    A = torch.cat(atts)
    add("pma", {"heads": heads_n, "seeds": seeds, "merge": merge}, params, torch.stack(zs),
        attention=A.mean(1), head_attention=A)

# ---- transformer: CLS token, pre-norm torch.nn.TransformerEncoderLayer x layers, final LayerNorm
heads_n, layers_n = 2, 2
cls = torch.randn(1, M)
layers = [nn.TransformerEncoderLayer(M, heads_n, dim_feedforward=2 * M, dropout=0.0, batch_first=True,
                                     norm_first=True) for _ in range(layers_n)]
norm = nn.LayerNorm(M)
for m in layers + [norm]:
    randomize(m)
    m.eval()
zs, atts = [], []
with torch.no_grad():
    for x in bags(H):
        t = torch.cat([cls, x]).unsqueeze(0)  # [1, n + 1, M], dense: the bag alone
        for layer in layers[:-1]:
            t = layer(t)
        last = layers[-1]
        _, w = last.self_attn(last.norm1(t), last.norm1(t), last.norm1(t), need_weights=True)  # [1, n+1, n+1]
        t = last(t)
        zs.append(norm(t[0, 0]))
        a = w[0, 0, 1:]
        atts.append(a / a.sum())
params = {"cls": cls, "norm.weight": norm.weight, "norm.bias": norm.bias}
for l, layer in enumerate(layers):
    for name, p in layer.named_parameters():
        params[f"layer{l}.{name}"] = p
add("transformer", {"heads": heads_n, "layers": layers_n}, params, torch.stack(zs), attention=torch.cat(atts))

# ---- dsmil: instance stream, critical instance per class, <q_k, q_m> / sqrt(L) attention
L = 4
for C in [1, 3]:
    fc, q1, q2 = nn.Linear(M, C), nn.Linear(M, L), nn.Linear(L, L)
    for m in [fc, q1, q2]:
        randomize(m)
    zs, atts, scores = [], [], []
    for x in bags(H):
        s = fc(x)                                   # [n, C]
        m_idx = torch.argmax(s, 0)                  # [C] critical instance per class
        q = torch.tanh(q2(torch.relu(q1(x))))       # [n, L]
        A = torch.softmax(q @ q[m_idx].t() / math.sqrt(L), 0)  # [n, C]
        zs.append((A.t() @ x).flatten())            # [C M]
        atts.append(A)
        scores.append(s)
    params = {"instance_classifier.weight": fc.weight, "instance_classifier.bias": fc.bias,
              "q1.weight": q1.weight, "q1.bias": q1.bias, "q2.weight": q2.weight, "q2.bias": q2.bias}
    A = torch.cat(atts)
    add("dsmil", {"attention_dim": L, "classes": C}, params, torch.stack(zs),
        attention=A[:, 0] if C == 1 else None, attention_2d=A if C > 1 else None,
        instance_logits=torch.cat(scores))

out = {"source": "tests/data/poolings/make_reference.py, python3-torch " + torch.__version__ + ", float64",
       "M": M, "H": tensor_json(H), "bag_index": bag_index, "cases": cases}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.json"), "w") as f:
    json.dump(out, f, indent=1)
print(f"{len(cases)} cases written")
