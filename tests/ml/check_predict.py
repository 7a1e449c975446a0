#!/usr/bin/python3
"""Checks `fatectl predict` output against the trained model parts, independently of fatectl:
predictions.csv (FATE's columns id, label, predict_result, predict_score): scores =
sigmoid(sum over parties of x·coef (+ intercept)) from each party's model.json and data,
predict_result = score > threshold, label = the data's true label, and predict-metrics.json AUC equals the training
AUC in metrics.json (predict scores the training data when the job lists no validation file).

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


z = None
for p in parties:
    m = json.load(open("%s/%d/model.json" % (out, p["id"])))
    data = rows(p["data"])
    part = {i: sum(float(r[f]) * c for f, c in zip(m["features"], m["coef"])) + float(m.get("intercept", 0.0))
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
         for i, r in rows(me["data"]).items()}
for r in got:
    want = 1 / (1 + math.exp(-z[r["id"]]))
    assert abs(float(r["predict_score"]) - want) < 1e-6, (r, want)
    assert int(r["predict_result"]) == (1 if float(r["predict_score"]) > thr else 0), r
    assert int(r["label"]) == truth[r["id"]], (r, truth[r["id"]])
pm = json.load(open("%s/%d/predict-metrics.json" % (out, party)))["predict"]
tm = json.load(open("%s/%d/metrics.json" % (out, party)))["train"]
assert abs(pm["auc"] - tm["auc"]) < 1e-9, (pm["auc"], tm["auc"])
print("%d predictions match the model parts; AUC %.4f" % (len(got), pm["auc"]))
