#!/usr/bin/python3
"""Compares a fatectl training output with the numpy reference (tests/ml/reference.py).

Usage: compare.py OUT_DIR REF.json GUEST_ID [--sklearn] [--wtol 1e-4] [--atol 0.001]
Checks every party's model.json weights against the reference within wtol (absolute), the guest's
train AUC within atol of the reference's, and with --sklearn within 0.01 of scikit-learn's exact
logistic regression on the joined data; the threshold chosen on validation data and the best
iteration kept by early stopping when the reference has them; the fitted preparation (fill and
outlier values, clipping bounds, mean/std or range) in every party's model.json. Prints one line per check; exit 1
on any failure.
"""
import json
import os
import sys


def main():
    args = sys.argv[1:]
    sk = "--sklearn" in args
    if sk:
        args.remove("--sklearn")
    wtol, atol = 1e-4, 1e-3
    if "--wtol" in args:
        i = args.index("--wtol"); wtol = float(args[i + 1]); del args[i:i + 2]
    if "--atol" in args:
        i = args.index("--atol"); atol = float(args[i + 1]); del args[i:i + 2]
    out, ref_path, guest = args
    ref = json.load(open(ref_path))
    bad = 0
    worst = 0.0
    for party, w in ref["weights"].items():
        m = json.load(open(os.path.join(out, party, "model.json")))
        mine = [float(x) for x in m["coef"]] + ([float(m["intercept"])] if "intercept" in m else [])
        if len(mine) != len(w):
            print("FAIL party %s: %d weights, reference has %d" % (party, len(mine), len(w)))
            bad += 1
            continue
        d = max(abs(a - b) for a, b in zip(mine, w))
        worst = max(worst, d)
        if d > wtol:
            print("FAIL party %s: max |w - w_ref| = %.3g > %g" % (party, d, wtol))
            bad += 1
    print("weights: max |w - w_ref| = %.3g over %d parties (tolerance %g)" % (worst, len(ref["weights"]), wtol))
    met = json.load(open(os.path.join(out, guest, "metrics.json")))
    auc = float(met["train"]["auc"])
    if int(met["epochs"]) != int(ref["epochs"]):
        print("FAIL epochs: fatectl %s, reference %s" % (met["epochs"], ref["epochs"]))
        bad += 1
    print("auc: fatectl %.6f reference %.6f sklearn %.6f epochs %s" % (auc, ref["auc"], ref["sklearn_auc"], met["epochs"]))
    if abs(auc - ref["auc"]) > atol:
        print("FAIL auc differs from the reference by %.4g > %g" % (abs(auc - ref["auc"]), atol))
        bad += 1
    pworst, pcount = 0.0, 0
    for party, cols in ref.get("preparation", {}).items():  # the fitted preparation in model.json
        m = json.load(open(os.path.join(out, party, "model.json")))
        if all(c["fill"] is None and c["outlier"] is None and c["scale"] is None for c in cols):
            continue
        got = {c["name"]: c for c in (m.get("preparation") or {}).get("columns", [])}
        method = (m.get("preparation") or {}).get("scale_method")
        for c in cols:
            g = got.get(c["name"], {})
            want = {"missing_fill_value": c["fill"], "outlier_replace_value": c["outlier"]}
            if c["scale"] is not None:
                lo, hi, center, div = c["scale"]
                want.update(column_lower=lo, column_upper=hi)
                want.update({"mean": center, "std": div} if method == "standard_scale" else {"range": div})
            for key, v in want.items():
                if (v is None) != (key not in g):
                    print("FAIL party %s column %s: %s is %s in model.json, reference %s" % (party, c["name"], key, g.get(key), v))
                    bad += 1
                    continue
                if v is None:
                    continue
                pcount += 1
                x = float(g[key])
                d = 0.0 if x == v else abs(x - v) / max(1.0, abs(v))
                pworst = max(pworst, d)
                if not d <= 1e-9:
                    print("FAIL party %s column %s: %s %r, reference %r" % (party, c["name"], key, x, v))
                    bad += 1
    if pcount:
        print("preparation: %d fitted values in model.json = reference (max rel. diff %.2g)" % (pcount, pworst))
    for key in ("threshold", "best_iteration"):  # chosen on validation data / early stopping
        if key in ref:
            got = met.get(key)
            print("%s: fatectl %s reference %s" % (key, got, ref[key]))
            if got is None or abs(float(got) - float(ref[key])) > 1e-9:
                print("FAIL %s differs" % key)
                bad += 1
    if sk:
        a = ref.get("joined_auc", auc)
        if abs(a - ref["sklearn_auc"]) > 0.01:
            print("FAIL auc %.6f differs from sklearn's %.6f by more than 0.01" % (a, ref["sklearn_auc"]))
            bad += 1
    sys.exit(1 if bad else 0)


main()
