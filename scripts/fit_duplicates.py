#!/usr/bin/env python3
"""Fits the duplicate matcher's logistic model on the dev split's pairs.

    fanloop-bench dedupe --dump-dev-pairs /tmp/dev-pairs.tsv
    python3 scripts/fit_duplicates.py /tmp/dev-pairs.tsv

Prints the weights and the two thresholds to copy into crates/feedback/src/dedupe.rs
(`SEMANTIC`, `LEXICAL`): `same` is the lowest score at which pairwise precision on dev is still
>= 0.95, `suggest` the lowest at which it is >= 0.5.  Only the dev split is read: the test split
(labelled_reports_test.tsv) must never be used here.  Needs numpy.
"""
import csv
import sys

import numpy as np

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
col = lambda k: np.array([float(r[k]) for r in rows])
gold = col("gold") > 0
y = gold.astype(float)
one = np.ones(len(rows))
base = [col("lexical"), col("conflict"), col("shared_c"), col("shared_s"), col("same_lang"), one]


def train(X, y, l2=1e-3, steps=4000, lr=0.5):
    w = np.zeros(X.shape[1])
    sw = np.where(y > 0, (1 - y.mean()) / y.mean(), 1.0)
    sw /= sw.mean()
    for _ in range(steps):
        p = 1 / (1 + np.exp(-X @ w))
        w -= lr * (X.T @ ((p - y) * sw) / len(y) + l2 * w)
    return w


def threshold(s, precision):
    order = np.argsort(-s)
    tp = np.cumsum(gold[order])
    prec = tp / np.arange(1, len(s) + 1)
    ok = np.where(prec >= precision)[0]
    if not len(ok):
        return float("inf"), 0.0
    return s[order][ok[-1]], tp[ok[-1]] / gold.sum()


for name, X in [("SEMANTIC", np.stack([col("cosine")] + base, 1)), ("LEXICAL", np.stack(base, 1))]:
    w = train(X, y)
    if name == "LEXICAL":
        w = np.concatenate([[0.0], w])
        X = np.concatenate([np.zeros((len(rows), 1)), X], 1)
    s = X @ w
    same, r_same = threshold(s, 0.95)
    suggest, r_sug = threshold(s, 0.5)
    keys = ["cosine", "lexical", "conflict", "shared_component", "shared_symptom", "same_language", "bias"]
    print(f"{name}: " + ", ".join(f"{k}: {v:.3f}" for k, v in zip(keys, w)))
    print(f"  same: {same:.3f} (dev pairwise recall {r_same:.3f} at precision 0.95)")
    print(f"  suggest: {suggest:.3f} (dev pairwise recall {r_sug:.3f} at precision 0.5)")
