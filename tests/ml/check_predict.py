#!/usr/bin/python3
"""Checks `fatectl predict` output against the trained model parts, independently of fatectl:
predictions.csv (FATE's columns id, label, predict_result, predict_score): scores =
sigmoid(sum over parties of x·coef (+ intercept)) from each party's model.json and data,
predict_result = score > threshold, label = the data's true label, and predict-metrics.json AUC equals the training
AUC in metrics.json (predict scores the training data when the job lists no validation file), or the
validation AUC when it scores the validation file. When model.json holds a preparation, the cells are
prepared here from its fitted values (missing cells filled, outliers replaced, clipped and scaled),
so the check also shows that predict reapplies the fitted preparation unchanged.

usage: check_predict.py JOB OUT PARTY   (PARTY: the one whose predictions are checked)"""
import csv, json, math, sys
import yaml

job, out, party = yaml.safe_load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3])
algo = job["algorithm"]["name"]
parties = [p for p in job["parties"] if p["role"] != "arbiter"]
if algo == "homo_lr":
    parties = [p for p in parties if p["id"] == party]


def rows(path):
    with open(path) as f:
        return {r["id"]: r for r in csv.DictReader(f)}


def scored_file(p):  # predict scores data[1] when the job lists one, else data[0]
    d = p["data"] if isinstance(p["data"], list) else [p["data"]]
    return d[1] if len(d) > 1 else d[0]


def prepared(m):
    """cell text -> value, per feature, from model.json's fitted preparation (identity without one)."""
    prep = m.get("preparation") or {}
    missing = {v.lower() for v in prep.get("missing_values", [])}
    outliers = [float(v) for v in prep.get("outlier_values", [])]
    cols = {c["name"]: c for c in prep.get("columns", [])}

    def value(feature, text):
        c = cols.get(feature, {})
        if text.strip().lower() in missing and "missing_fill_value" in c:
            x = float(c["missing_fill_value"])
        else:
            x = float(text)
        if x in outliers and "outlier_replace_value" in c:
            x = float(c["outlier_replace_value"])
        if "column_lower" in c:
            x = min(max(x, float(c["column_lower"])), float(c["column_upper"]))
            if "mean" in c:
                x = (x - float(c["mean"])) / float(c["std"])
            else:
                x = (x - float(c["column_lower"])) / float(c["range"])
        return x
    return value


z = None
with_prep = False
for p in parties:
    m = json.load(open("%s/%d/model.json" % (out, p["id"])))
    data = rows(scored_file(p))
    v = prepared(m)
    with_prep = with_prep or any(len(c) > 1 for c in (m.get("preparation") or {}).get("columns", []))
    part = {i: sum(v(f, r[f]) * c for f, c in zip(m["features"], m["coef"])) + float(m.get("intercept", 0.0))
            for i, r in data.items()}
    z = part if z is None else {i: z[i] + part[i] for i in z if i in part}
    if p["id"] == party:
        thr = m["threshold"]
with open("%s/%d/predictions.csv" % (out, party)) as f:
    got = list(csv.DictReader(f))
assert got and list(got[0].keys()) == ["id", "label", "predict_result", "predict_score"], got[:1]
assert len(got) == len(z), (len(got), len(z))
me = [p for p in parties if p["id"] == party][0]
truth = {i: (1 if float(r[job["algorithm"]["params"].get("label_column", "y")]) == 1 else 0)
         for i, r in rows(scored_file(me)).items()}
for r in got:
    want = 1 / (1 + math.exp(-z[r["id"]]))
    assert abs(float(r["predict_score"]) - want) < 1e-6, (r, want)
    assert int(r["predict_result"]) == (1 if float(r["predict_score"]) > thr else 0), r
    assert int(r["label"]) == truth[r["id"]], (r, truth[r["id"]])
pm = json.load(open("%s/%d/predict-metrics.json" % (out, party)))["predict"]
scored = "validate" if scored_file(me) != (me["data"][0] if isinstance(me["data"], list) else me["data"]) else "train"
tm = json.load(open("%s/%d/metrics.json" % (out, party)))[scored]
assert abs(pm["auc"] - tm["auc"]) < 1e-9, (pm["auc"], tm["auc"], scored)
print("%d predictions match the model parts%s; AUC %.4f (= %s AUC in metrics.json)"
      % (len(got), " and their fitted preparation" if with_prep else "", pm["auc"], scored))
