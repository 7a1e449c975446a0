#!/usr/bin/python3
"""Checks a homo fraud run of fatectl (train + predict) independently of fatectl.

usage: check_fraud.py JOB.yaml OUT_DIR [--auc-tol 0.01]

1. Preparation: recomputes the data_transform (mean fill of empty cells, mean replacement of the
   outlier values) and standard_scale statistics over every bank's training rows (the job uses
   homo_statistics: federated) and compares them with each bank's model.json "preparation".
2. scikit-learn: LogisticRegression(class_weight='balanced', C = 1/(alpha * n)) on the pooled,
   identically prepared training rows; its AUC on the pooled validation rows must be within
   --auc-tol of fatectl's, which is computed from `fatectl predict`'s predictions.csv of both banks.
3. predict reapplied the preparation: every predict_score equals sigmoid(prepared x . coef + b)
   with the preparation computed here, and the label column is the true label.
4. Curves in metrics.json against their definitions: ROC area and average precision against
   scikit-learn (roc_auc_score, average_precision_score); the ROC, KS, PR, lift and gain points
   against FATE 1.11's rules (evaluation/metrics/classification_metric.py) computed here with numpy
   and sklearn's roc_curve; end points (0,0)-(1,1) of ROC and KS.
5. The threshold chosen on validation (max F1 over the candidate thresholds, on the pooled
   confusion counts) and the recall reported at it.
Prints one line per check; exit 1 on any failure.
"""
import csv
import json
import os
import sys

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fate_eval import confusion, fate_ks, fate_lift_gain, fate_pr, fate_roc, threshold_candidates  # noqa: E402

bad = 0


def check(ok, msg):
    global bad
    print(("ok   " if ok else "FAIL ") + msg)
    if not ok:
        bad += 1


def load(path, label):
    with open(path) as f:
        r = list(csv.reader(f))
    h = r[0]
    li = h.index(label)
    feats = [c for i, c in enumerate(h) if i != li]
    X = np.array([[np.nan if row[i] == "" else float(row[i]) for i in range(len(h)) if i != li] for row in r[1:]])
    y = np.array([1 if float(row[li]) == 1 else 0 for row in r[1:]])
    return feats, X, y


def close(a, b, tol=1e-9):
    return len(a) == len(b) and all(abs(float(p) - float(q)) <= tol * max(1.0, abs(float(q))) for p, q in zip(a, b))


def check_curves(name, m, labels, scores):
    c = m["curves"]
    check(abs(m["auc"] - roc_auc_score(labels, scores)) < 1e-9, "%s: AUC %.6f = sklearn roc_auc_score" % (name, m["auc"]))
    check(abs(m["average_precision"] - average_precision_score(labels, scores)) < 1e-9,
          "%s: average precision %.6f = sklearn average_precision_score" % (name, m["average_precision"]))
    roc = fate_roc(labels, scores)
    check(close(c["roc"]["fpr"], [p[0] for p in roc]) and close(c["roc"]["tpr"], [p[1] for p in roc])
          and close(c["roc"]["thresholds"], [p[2] for p in roc]),
          "%s: ROC = sklearn roc_curve cut by FATE's rule (%d points, (0,0) to (1,1))" % (name, len(roc)))
    check(c["roc"]["fpr"][0] == 0 and c["roc"]["tpr"][0] == 0 and c["roc"]["fpr"][-1] == 1 and c["roc"]["tpr"][-1] == 1,
          "%s: ROC ends at (0,0) and (1,1)" % name)
    area = float(np.trapz(c["roc"]["tpr"], c["roc"]["fpr"]))
    check(abs(area - m["auc"]) < 0.02, "%s: area under the drawn ROC %.4f ~ AUC %.4f" % (name, area, m["auc"]))
    ks, tpr, fpr = fate_ks(labels, scores)
    check(abs(m["ks"] - ks) < 1e-9 and close(c["ks"]["tpr"], tpr) and close(c["ks"]["fpr"], fpr),
          "%s: KS %.6f and its TPR/FPR curves = FATE's KS" % (name, ks))
    rx, py = fate_pr(labels, scores)
    check(close(c["pr"]["recall"], rx) and close(c["pr"]["precision"], py), "%s: PR points = FATE's rule (%d)" % (name, len(rx)))
    (lx, ly), (gx, gy) = fate_lift_gain(labels, scores)
    check(close(c["lift"]["x"], lx) and close(c["lift"]["lift"], ly), "%s: lift points = FATE's rule" % name)
    check(close(c["gain"]["x"], gx) and close(c["gain"]["gain"], gy) and c["gain"]["gain"][-1] == 1.0,
          "%s: gain points = FATE's rule, ending at 1" % name)
    tp, fp, fn, tn = confusion(labels, scores, [i * 0.01 for i in range(100)])
    cm = c["confusion_mat"]
    check(cm["tp"] == list(map(int, tp)) and cm["fp"] == list(map(int, fp)) and cm["fn"] == list(map(int, fn))
          and cm["tn"] == list(map(int, tn)), "%s: confusion matrix at FATE's 100 thresholds" % name)


def main():
    args = sys.argv[1:]
    auc_tol = 0.01
    if "--auc-tol" in args:
        i = args.index("--auc-tol")
        auc_tol = float(args[i + 1])
        del args[i:i + 2]
    job_path, out = args
    job = yaml.safe_load(open(job_path))
    base = os.path.dirname(os.path.abspath(job_path))
    prm = job["algorithm"]["params"]
    label = prm.get("label_column", "y")
    banks = [p for p in job["parties"] if p["role"] != "arbiter"]
    files = lambda p: [os.path.join(base, d) for d in p["data"]]
    train, valid = [], []
    for p in banks:
        feats, X, y = load(files(p)[0], label)
        train.append((p["id"], X, y))
        _, V, v = load(files(p)[1], label)
        valid.append((p["id"], V, v))
    X = np.vstack([t[1] for t in train])
    y = np.concatenate([t[2] for t in train])
    outliers = [float(v) for v in prm["data_transform"]["outlier_impute"]]

    # 1. preparation, computed here over every bank's training rows
    fill = np.nanmean(X, axis=0)
    Xf = np.where(np.isnan(X), fill, X)
    good = ~np.isin(Xf, outliers)
    repl = np.array([Xf[good[:, j], j].mean() for j in range(X.shape[1])])

    def prepare(A):
        A = np.where(np.isnan(A), fill, A)
        return np.where(np.isin(A, outliers), repl, A)

    Xp = prepare(X)
    mean, std = Xp.mean(axis=0), Xp.std(axis=0)
    std = np.where(np.abs(std) < 1e-6, 1.0, std)
    worst = 0.0
    for bid, _, _ in train:
        cols = json.load(open(os.path.join(out, str(bid), "model.json")))["preparation"]["columns"]
        for j, c in enumerate(cols):
            for key, want in (("missing_fill_value", fill[j]), ("outlier_replace_value", repl[j]), ("mean", mean[j]),
                              ("std", std[j])):
                got = float(c[key])
                worst = max(worst, abs(got - want) / max(1.0, abs(want)))
    check(worst < 1e-9, "preparation in both models = recomputed fill, outlier, mean, std (max rel. diff %.2g)" % worst)

    def scaled(A):
        return (prepare(A) - mean) / std

    # 2. scikit-learn on the pooled, identically prepared data
    alpha = float(prm.get("alpha", 1.0))
    clf = LogisticRegression(class_weight="balanced", C=1.0 / (alpha * len(y)), max_iter=20000, tol=1e-10)
    clf.fit(scaled(X), y)
    V = np.vstack([v[1] for v in valid])
    vy = np.concatenate([v[2] for v in valid])
    sk_auc = roc_auc_score(vy, clf.decision_function(scaled(V)))
    # 3. predictions of both banks: scores from the model and this preparation; true labels kept
    scores, labels = [], []
    for (bid, Vb, vb) in valid:
        model = json.load(open(os.path.join(out, str(bid), "model.json")))
        coef = np.array([float(x) for x in model["coef"]])
        b = float(model.get("intercept", 0.0))
        want = 1 / (1 + np.exp(-(scaled(Vb) @ coef + b)))
        with open(os.path.join(out, str(bid), "predictions.csv")) as f:
            rows = list(csv.DictReader(f))
        check(list(rows[0].keys()) == ["id", "label", "predict_result", "predict_score"] and len(rows) == len(vb),
              "bank %s: predictions.csv has FATE's columns and one row per validation row" % bid)
        got = np.array([float(r["predict_score"]) for r in rows])
        check(np.max(np.abs(got - want)) < 1e-6 and [r["id"] for r in rows] == [str(i) for i in range(len(vb))],
              "bank %s: predict reapplied the fitted preparation (max |score diff| %.2g; ids are row numbers)"
              % (bid, np.max(np.abs(got - want))))
        check([int(r["label"]) for r in rows] == list(vb), "bank %s: label column is the true label" % bid)
        thr = float(model["threshold"])
        check(all(int(r["predict_result"]) == (1 if float(r["predict_score"]) > thr else 0) for r in rows),
              "bank %s: predict_result = score > %.2f" % (bid, thr))
        scores.append(got)
        labels.append(vb)
        met = json.load(open(os.path.join(out, str(bid), "metrics.json")))
        check_curves("bank %s validate" % bid, met["validate"], vb, got)
    scores = np.concatenate(scores)
    labels = np.concatenate(labels)
    auc = roc_auc_score(labels, scores)
    check(abs(auc - sk_auc) <= auc_tol,
          "pooled validation AUC: fatectl %.4f, scikit-learn class-weighted LR %.4f (|diff| %.4f <= %g)"
          % (auc, sk_auc, abs(auc - sk_auc), auc_tol))
    # 5. the threshold chosen on the pooled validation confusion counts, and the recall at it
    grid = threshold_candidates()
    tp, fp, fn, tn = confusion(labels, scores, grid)
    p = np.where(tp + fp == 0, 1.0, tp / np.maximum(tp + fp, 1))
    r = tp / (tp + fn)
    f1 = 2 * p * r / np.where(p + r == 0, 1e-6, p + r)
    want_thr = grid[int(np.argmax(f1))]
    for bid, _, _ in valid:
        met = json.load(open(os.path.join(out, str(bid), "metrics.json")))
        check(abs(met["threshold"] - want_thr) < 1e-12 and met["threshold_rule"] == "max_f1",
              "bank %s: threshold %.4f = max F1 on the pooled validation data" % (bid, met["threshold"]))
    k = int(np.argmax(f1))
    print("recall at the chosen threshold %.4f (pooled validation): %.4f, precision %.4f, F1 %.4f"
          % (want_thr, r[k], p[k], f1[k]))
    check(all("recall" in json.load(open(os.path.join(out, str(b), "metrics.json")))["validate"] for b, _, _ in valid),
          "recall at the chosen threshold is in metrics.json")
    sys.exit(1 if bad else 0)


main()
