#!/usr/bin/python3
"""Plaintext reference of fatectl's federated logistic regression (numpy).

Implements the same protocols as src/ml without encryption: hetero LR (FATE 1.11's Taylor
residual d = 1/4 wx - 1/2 y, gradients X^T d / n on round(x*2^P) features and round(d*2^40)
residuals, the arbiter's optimizer on [hosts..., guest], convergence) and homo LR (exact logistic
gradient per client, weighted model averaging in 2^-32 fixed point). The PRNG (SplitMix64 streams
named by tags), weight initialisation and batch shuffling are the documented ones
(include/fatectl/ml/rng.h), so a run with the same seed gives the same weights.

Preparation, sample weights and validation (early stopping, best iteration, threshold choice)
come from prep_ref.py, FATE's evaluation rules from fate_eval.py.

Usage: reference.py JOB.yaml [--max-rows N]   -> JSON on stdout:
  {"weights": {"<party>": [coef..., intercept?]}, "auc": float, "losses": [...], "epochs": int,
   "sklearn_auc": float}
"""
import json
import math
import os
import sys

import numpy as np
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fate_eval import choose_threshold, confusion, threshold_candidates  # noqa: E402
from prep_ref import (EarlyStopping, apply_cells, apply_scale, fit_cells, fit_scale, load_csv as load_ref,  # noqa: E402
                      metrics_of, missing_of_header, need_run, prep_params, sample_weights, validation_params,
                      weight_params)

M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xcbf29ce484222325
    for c in s.encode():
        h ^= c
        h = (h * 0x100000001b3) & M64
    return h


class Rng:
    def __init__(self, seed, tag):
        self.s = (seed ^ fnv1a64(tag)) & M64

    def next(self):
        self.s = (self.s + 0x9e3779b97f4a7c15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & M64
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & M64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next() >> 11) * 2.0 ** -53

    def normal(self):
        u1 = self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)

    def shuffle(self, a):
        for i in range(len(a), 1, -1):
            j = self.next() % i
            a[i - 1], a[j] = a[j], a[i - 1]


DEFAULTS = dict(penalty="L2", tol=1e-4, alpha=1.0, optimizer="rmsprop", batch_size=-1, shuffle=True,
                masked_rate=5, learning_rate=0.01, max_iter=100, early_stop="diff", decay=1.0, decay_sqrt=True,
                floating_point_precision=23, aggregate_iters=1, mask_gradients=False)


def params_of(job):
    p = dict(DEFAULTS)
    raw = (job.get("algorithm") or {}).get("params") or {}
    for k, v in raw.items():
        if k in ("init_param", "encrypt_param", "predict_param"):
            continue
        p[k] = v
    ip = raw.get("init_param") or {}
    p["init_method"] = ip.get("init_method", "random_uniform")
    p["init_const"] = float(ip.get("init_const", 1.0))
    p["fit_intercept"] = bool(ip.get("fit_intercept", True))
    p["seed"] = ip.get("random_seed")
    if p["seed"] is None:
        raise SystemExit("reference: init_param.random_seed must be set")
    p["penalty"] = "none" if p["penalty"] is None else str(p["penalty"]).upper() if str(p["penalty"]).upper() in ("L1", "L2") else "none"
    p["threshold"] = float((raw.get("predict_param") or {}).get("threshold", 0.5))
    return p


def init_weights(p, who, n):
    r = Rng(p["seed"], "init/" + who)
    out = []
    for _ in range(n):
        m = p["init_method"]
        if m == "random_uniform":
            out.append(r.uniform())
        elif m == "random_normal":
            out.append(r.normal())
        elif m == "zeros":
            out.append(0.0)
        elif m == "ones":
            out.append(1.0)
        else:
            out.append(p["init_const"])
    return np.array(out, dtype=np.float64)


def decayed_lr(p, epoch):
    if p["decay_sqrt"]:
        return p["learning_rate"] / math.sqrt(1.0 + p["decay"] * epoch)
    return p["learning_rate"] / (1.0 + p["decay"] * epoch)


class Optimizer:
    def __init__(self, p):
        self.p = p
        self.m = None
        self.v = None
        self.steps = 0

    def step(self, g, epoch):
        if self.m is None:
            self.m = np.zeros_like(g)
            self.v = np.zeros_like(g)
        self.steps += 1
        lr = decayed_lr(self.p, epoch)
        k = self.p["optimizer"]
        if k == "sgd":
            return lr * g
        if k == "rmsprop":
            self.m = 0.99 * self.m + 0.01 * g * g
            return lr * g / np.sqrt(self.m + 1e-6)
        if k == "adagrad":
            self.m = self.m + g * g
            return lr * g / (np.sqrt(self.m) + 1e-7)
        if k == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-8
            c1 = 1.0 - b1 ** self.steps
            c2 = 1.0 - b2 ** self.steps
            self.m = b1 * self.m + (1 - b1) * g
            self.v = b2 * self.v + (1 - b2) * g * g
            return lr * (self.m / c1) / (np.sqrt(self.v / c2) + eps)
        if k == "nesterov_momentum_sgd":
            mu = 0.9
            prev = self.m.copy()
            self.m = mu * prev - lr * g
            return mu * prev - (1 + mu) * self.m
        raise SystemExit("unknown optimizer " + k)


def ncoef(w, icpt):
    return len(w) - 1 if icpt else len(w)


def penalty_grad(p, w, icpt):
    g = np.zeros_like(w)
    if p["penalty"] == "L2":
        k = ncoef(w, icpt)
        g[:k] = p["alpha"] * w[:k]
    return g


def penalty_value(p, w, icpt):
    k = ncoef(w, icpt)
    if p["penalty"] == "L2":
        return 0.5 * p["alpha"] * float(np.dot(w[:k], w[:k]))
    if p["penalty"] == "L1":
        return p["alpha"] * float(np.sum(np.abs(w[:k])))
    return 0.0


def apply_update(p, w, delta, epoch, icpt):
    if p["penalty"] == "L1":
        k = ncoef(w, icpt)
        shrink = p["alpha"] * p["learning_rate"] / math.sqrt(max(epoch, 1))
        u = w[:k] - delta[:k]
        w[:k] = np.sign(u) * np.maximum(0.0, np.abs(u) - shrink)
        w[k:] = w[k:] - delta[k:]
        return w
    return w - delta


def sigmoid(z):
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def plan_batches(p, epoch, N):
    order = list(range(N))
    bs = N if p["batch_size"] < 0 else min(p["batch_size"], N)
    if p["shuffle"] and bs < N:
        Rng(p["seed"], "shuffle/epoch/%d" % epoch).shuffle(order)
    return [order[a:a + bs] for a in range(0, N, bs)]


def sigmoid_scores(Xg, wg, icpt, Xh, wh):
    z = Xg @ wg[:Xg.shape[1]] + (wg[-1] if icpt else 0.0)
    for k in range(len(Xh)):
        z = z + Xh[k] @ wh[k]
    return sigmoid(z)


def hetero(job, base, max_rows):
    p = params_of(job)
    raw = (job.get("algorithm") or {}).get("params") or {}
    pp, wp, vp = prep_params(raw), weight_params(raw), validation_params(raw)
    idc, labelc = raw.get("id_column", "id"), raw.get("label_column", "y")
    parties = job["parties"]
    guest = [q for q in parties if q["role"] == "guest"][0]
    hosts = [q for q in parties if q["role"] == "host"]
    data_of = lambda q: [os.path.join(base, d) for d in (q["data"] if isinstance(q["data"], list) else [q["data"]])]
    local = lambda v: v

    def party_data(q, label, which):
        path = data_of(q)[which]
        ids, X, y, w, names = load_ref(path, label, idc, labelc, wp["column"] if label and which == 0 else None,
                                       missing_of_header(pp, path, label, labelc), max_rows)
        return ids, X, y, w, names

    # FATE's order: data_transform on each party's whole file, intersection, then feature_scale.
    gids, Xg, y, wcol, gnames = party_data(guest, True, 0)
    Xg, gcells = fit_cells(pp, Xg, gnames, local)
    H = []
    for h in hosts:
        hid, X, _, _, hnames = party_data(h, False, 0)
        X, cells = fit_cells(pp, X, hnames, local)
        H.append((hid, X, cells, hnames))
    common = set(gids)
    for hid, _, _, _ in H:
        common &= set(hid)
    order = sorted(common)
    gi = {v: i for i, v in enumerate(gids)}
    Xg = Xg[[gi[v] for v in order]]
    y = y[[gi[v] for v in order]]
    Xg, gscale = fit_scale(pp, Xg, gnames, local)
    wrow = sample_weights(wp, y, None if wcol is None else wcol[[gi[v] for v in order]], local)
    if wrow is not None:
        wrow = wrow * (len(wrow) / wrow.sum())  # FATE's scale_sample_weight: mean 1
    Xh, hscale = [], []
    for hid, X, cells, hnames in H:
        hi = {v: i for i, v in enumerate(hid)}
        Xs, sc = fit_scale(pp, X[[hi[v] for v in order]], hnames, local)
        Xh.append(Xs)
        hscale.append(sc)
    # validation rows: the same preparation, applied
    V = None
    if len(data_of(guest)) > 1:
        vg, VXg, vy, _, _ = party_data(guest, True, 1)
        VXg = apply_cells(gcells, VXg)
        vh = []
        for k, h in enumerate(hosts):
            hid, X, _, _, _ = party_data(h, False, 1)
            vh.append((hid, apply_cells(H[k][2], X)))
        vcommon = set(vg)
        for hid, _ in vh:
            vcommon &= set(hid)
        vorder = sorted(vcommon)
        vgi = {v: i for i, v in enumerate(vg)}
        VXh = []
        for k, (hid, X) in enumerate(vh):
            hi = {v: i for i, v in enumerate(hid)}
            VXh.append(apply_scale(hscale[k], X[[hi[v] for v in vorder]]))
        V = (apply_scale(gscale, VXg[[vgi[v] for v in vorder]]), vy[[vgi[v] for v in vorder]], VXh)
    N = len(order)
    P = p["floating_point_precision"]
    S = P + 40
    icpt = p["fit_intercept"]
    ypm = np.where(y == 1, 1.0, -1.0)
    wg = init_weights(p, "guest", Xg.shape[1] + (1 if icpt else 0))
    wh = [init_weights(p, "host/%d" % k, X.shape[1]) for k, X in enumerate(Xh)]
    xqg = np.rint(Xg * 2.0 ** P)
    if icpt:
        xqg = np.hstack([xqg, np.full((N, 1), 2.0 ** P)])
    xqh = [np.rint(X * 2.0 ** P) for X in Xh]
    opt = Optimizer(p)
    losses = []
    converged = False
    stopper = EarlyStopping(vp)
    e = 0
    while e < p["max_iter"] and not converged:
        batch_losses = []
        dsum = None
        for rows in plan_batches(p, e, N):
            n = len(rows)
            wxg = Xg[rows] @ wg[:Xg.shape[1]] + (wg[-1] if icpt else 0.0)
            if wrow is None:
                dq = np.rint((0.25 * wxg - 0.5 * ypm[rows]) * 2.0 ** 40).astype(np.int64)
            else:  # weighted: w·half_d at 2^40 plus round(w·2^20)·[[fw]] with fw at 2^20
                wq = np.rint(wrow[rows] * 2.0 ** 20).astype(np.int64)
                dq = np.rint(wrow[rows] * (0.25 * wxg - 0.5 * ypm[rows]) * 2.0 ** 40).astype(np.int64)
            wxh_tot = np.zeros(n)
            for k in range(len(Xh)):
                wxh = Xh[k][rows] @ wh[k]
                wxh_tot += wxh
                if wrow is None:
                    dq = dq + np.rint(0.25 * wxh * 2.0 ** 40).astype(np.int64)
                else:
                    dq = dq + wq * np.rint(0.25 * wxh * 2.0 ** 20).astype(np.int64)
            dqf = dq.astype(np.float64)
            grads = []
            for k in range(len(Xh)):
                G = xqh[k][rows].T @ dqf
                grads.append(G / 2.0 ** S / n + penalty_grad(p, wh[k], False))
            G = xqg[rows].T @ dqf
            grads.append(G / 2.0 ** S / n + penalty_grad(p, wg, icpt))
            if len(Xh) == 1:
                wx = wxg + wxh_tot
                ww = np.ones(n) if wrow is None else wrow[rows]
                loss = float(np.sum(ww * (math.log(2) - 0.5 * ypm[rows] * wx + 0.125 * wx * wx))) / n
                loss += penalty_value(p, wg, icpt) + penalty_value(p, wh[0], False)
                batch_losses.append(loss)
            g = np.concatenate(grads)
            delta = opt.step(g, e)
            dsum = delta.copy() if dsum is None else dsum + delta
            off = 0
            for k in range(len(Xh)):
                m = len(wh[k])
                wh[k] = apply_update(p, wh[k], delta[off:off + m], e, False)
                off += m
            wg = apply_update(p, wg, delta[off:], e, icpt)
        stop = False
        if V is not None and need_run(vp, e):
            vs = sigmoid_scores(V[0], wg, icpt, V[2], wh)
            stop = stopper.update(e, metrics_of(V[1], vs), [wg] + wh)
        has_loss = bool(batch_losses)
        loss = sum(batch_losses) / len(batch_losses) if has_loss else 0.0
        es = p["early_stop"]
        if es == "diff":
            converged = has_loss and bool(losses) and abs(loss - losses[-1]) < p["tol"]
        elif es == "abs":
            converged = has_loss and loss <= p["tol"]
        else:
            converged = float(np.sqrt(np.dot(dsum, dsum))) < p["tol"]
        converged = converged or stop
        if has_loss:
            losses.append(loss)
        e += 1
    best = stopper.final()
    if best is not None:
        wg, wh = best[0][0], best[0][1:]
    from sklearn.metrics import roc_auc_score
    auc = roc_auc_score(y, sigmoid_scores(Xg, wg, icpt, Xh, wh))
    out = dict(auc=float(auc), losses=losses, epochs=e, converged=bool(converged),
               sklearn_auc=sklearn_auc(np.hstack([Xg] + Xh), y, p))
    if vp["threshold"] in ("max_f1", "max_ks") and V is not None:
        vs = sigmoid_scores(V[0], wg, icpt, V[2], wh)
        c = threshold_candidates()
        out["threshold"] = choose_threshold(*confusion(V[1], vs, c), c, vp["threshold"])
    if best is not None:
        out["best_iteration"] = best[1] + 1
    weights = {str(guest["id"]): list(map(float, wg))}
    for k, h in enumerate(hosts):
        weights[str(h["id"])] = list(map(float, wh[k]))
    out["weights"] = weights
    out["preparation"] = {str(guest["id"]): fitted_json(gcells, gscale, gnames)}
    for k, h in enumerate(hosts):
        out["preparation"][str(h["id"])] = fitted_json(H[k][2], hscale[k], H[k][3])
    return out


def sklearn_auc(X, y, p):
    from sklearn.metrics import roc_auc_score
    from sklearn.linear_model import LogisticRegression
    N = len(y)
    if p["penalty"] == "L2" and p["alpha"] > 0:
        clf = LogisticRegression(C=1.0 / (p["alpha"] * N), max_iter=5000)
    else:
        clf = LogisticRegression(penalty=None, max_iter=5000)
    clf.fit(X, y)
    return float(roc_auc_score(y, clf.decision_function(X)))


def to_fixed(x):
    s = int(np.rint(x * 2.0 ** 32))
    return s & M64


def from_fixed(u):
    u &= M64
    s = u - (1 << 64) if u >= (1 << 63) else u
    return math.ldexp(float(s), -32)


def homo(job, base, max_rows):
    p = params_of(job)
    parties = job["parties"]
    clients = [q for q in parties if q["role"] == "guest"] + [q for q in parties if q["role"] == "host"]
    data_of = lambda q: [os.path.join(base, d) for d in (q["data"] if isinstance(q["data"], list) else [q["data"]])]
    raw = (job.get("algorithm") or {}).get("params") or {}
    pp, wp, vp = prep_params(raw), weight_params(raw), validation_params(raw)
    idc, labelc = raw.get("id_column", "id"), raw.get("label_column", "y")
    row_ids = "id_column" not in raw

    def client_data(q, which):
        path = data_of(q)[which]
        ids, X, y, w, names = load_ref(path, True, idc, labelc, wp["column"], missing_of_header(pp, path, True, labelc),
                                       max_rows, row_ids)
        return ids, X, y, w, names

    T = [client_data(c, 0) for c in clients]
    names = T[0][4]
    local = lambda v: v
    # Preparation: federated statistics are the statistics of every client's rows together.
    if pp["statistics"] == "federated":
        _, cells = fit_cells(pp, np.vstack([t[1] for t in T]), names, local)
        _, scale = fit_scale(pp, apply_cells(cells, np.vstack([t[1] for t in T])), names, local)
        fits = [(cells, scale)] * len(T)
    else:
        fits = []
        for t in T:
            X, cells = fit_cells(pp, t[1], names, local)
            fits.append((cells, fit_scale(pp, X, names, local)[1]))
    D, SW = [], []
    for (ids, X, y, w, _), (cells, scale) in zip(T, fits):
        D.append((ids, apply_scale(scale, apply_cells(cells, X)), y))
        if pp["statistics"] == "federated" and (wp["class_weight"] == "balanced" or wp["normalize"]):
            yy = np.concatenate([t[2] for t in T])
            if wp["column"]:
                allw = np.concatenate([t[3] for t in T])
                SW.append(w / allw.mean())
            else:
                SW.append(sample_weights(wp, y, w, lambda v: np.array([(yy == 1).sum(), (yy != 1).sum()], dtype=float)))
        else:
            SW.append(sample_weights(wp, y, w, local))
    VD = []
    for c, q in enumerate(clients):
        if len(data_of(q)) > 1:
            ids, X, y, _, _ = client_data(q, 1)
            VD.append((apply_scale(fits[c][1], apply_cells(fits[c][0], X)), y))
        else:
            VD.append(None)
    stopper = EarlyStopping(vp)
    icpt = p["fit_intercept"]
    nf = D[0][1].shape[1]
    w0 = init_weights(p, "homo", nf + (1 if icpt else 0))
    W = [w0.copy() for _ in clients]
    opts = [Optimizer(p) for _ in clients]
    losses = []
    prev = None
    converged = False
    e = 0
    while e < p["max_iter"] and not converged:
        eloss = []
        for c, (ids, X, y) in enumerate(D):
            N = len(y)
            bs = N if p["batch_size"] < 0 else min(p["batch_size"], N)
            order = list(range(N))
            if p["shuffle"] and bs < N:
                Rng(p["seed"], "shuffle/%d/epoch/%d" % (clients[c]["id"], e)).shuffle(order)
            tot = 0.0
            nb = 0
            w = W[c]
            for a in range(0, N, bs):
                rows = order[a:a + bs]
                ww = np.ones(len(rows)) if SW[c] is None else SW[c][rows]
                n = float(ww.sum())  # weighted: Σ w·∇l / Σ w
                s = X[rows] @ w[:nf] + (w[-1] if icpt else 0.0)
                r = ww * (sigmoid(s) - y[rows])
                g = np.concatenate([X[rows].T @ r, [np.sum(r)] if icpt else []]) / n + penalty_grad(p, w, icpt)
                t = np.where(y[rows] == 1, 1.0, -1.0) * s
                tot += float(np.sum(ww * (np.maximum(-t, 0.0) + np.log1p(np.exp(-np.abs(t)))))) / n + penalty_value(p, w, icpt)
                nb += 1
                w = apply_update(p, w, opts[c].step(g, e), e, icpt)
            W[c] = w
            eloss.append(tot / nb)
        if (e + 1) % p["aggregate_iters"] == 0 or e + 1 == p["max_iter"]:
            total = sum(len(d[2]) for d in D)
            k = len(W[0])
            sums = [0] * (k + 1)
            for c, (ids, X, y) in enumerate(D):
                N = len(y)
                for i in range(k):
                    sums[i] = (sums[i] + to_fixed(W[c][i] * N)) & M64
                sums[k] = (sums[k] + to_fixed(eloss[c] * N)) & M64
            avg = np.array([from_fixed(sums[i]) / total for i in range(k)])
            loss = from_fixed(sums[k]) / total
            es = p["early_stop"]
            if es == "diff":
                converged = bool(losses) and abs(loss - losses[-1]) < p["tol"]
            elif es == "abs":
                converged = loss <= p["tol"]
            elif prev is not None:
                converged = float(np.linalg.norm(avg - prev)) < p["tol"] * max(float(np.linalg.norm(avg)), 1.0)
            losses.append(loss)
            prev = avg
            W = [avg.copy() for _ in clients]
            if need_run(vp, e) and any(v is not None for v in VD):
                tot_n, acc = 0.0, {"auc": 0.0, "ks": 0.0}
                for v in VD:  # the clients' metrics weighted by their validation rows
                    if v is None or len(set(v[1])) < 2:
                        continue
                    m = metrics_of(v[1], sigmoid(v[0] @ avg[:nf] + (avg[-1] if icpt else 0.0)))
                    tot_n += len(v[1])
                    for key in acc:
                        acc[key] += len(v[1]) * m[key]
                if stopper.update(e, {k: a / tot_n for k, a in acc.items()}, [avg]):
                    converged = True
        e += 1
    best = stopper.final()
    if best is not None:
        W = [best[0][0].copy() for _ in clients]
    from sklearn.metrics import roc_auc_score
    w = W[0]
    ids, X, y = D[0]
    auc = roc_auc_score(y, sigmoid(X @ w[:nf] + (w[-1] if icpt else 0.0)))
    Xall = np.vstack([d[1] for d in D])
    yall = np.concatenate([d[2] for d in D])
    sk_joined = sklearn_auc(Xall, yall, p)
    weights = {str(c["id"]): list(map(float, W[i])) for i, c in enumerate(clients)}
    out = dict(weights=weights, auc=float(auc), losses=losses, epochs=e, converged=bool(converged),
               sklearn_auc=sk_joined, joined_auc=float(roc_auc_score(yall, sigmoid(Xall @ w[:nf] + (w[-1] if icpt else 0.0)))))
    if vp["threshold"] in ("max_f1", "max_ks"):
        cands = threshold_candidates()
        tabs = [confusion(v[1], sigmoid(v[0] @ w[:nf] + (w[-1] if icpt else 0.0)), cands) for v in VD if v is not None]
        out["threshold"] = choose_threshold(*[sum(t[i] for t in tabs) for i in range(4)], cands, vp["threshold"])
    if best is not None:
        out["best_iteration"] = best[1] + 1
    out["preparation"] = {str(c["id"]): fitted_json(fits[i][0], fits[i][1], names) for i, c in enumerate(clients)}
    return out


def fitted_json(cells, scale, names):
    """One party's fitted preparation per column: fill and outlier values, scaling (lower, upper, center,
    divisor); None where the column has none. compare.py checks it against model.json."""
    num = lambda v: None if v is None else float(v)
    return [dict(name=n, fill=num(cells["fill"][j]), outlier=num(cells["outlier"][j]),
                 scale=None if scale is None or scale[j] is None else [float(v) for v in scale[j]])
            for j, n in enumerate(names)]


def main():
    args = sys.argv[1:]
    max_rows = None
    if "--max-rows" in args:
        i = args.index("--max-rows")
        max_rows = int(args[i + 1])
        del args[i:i + 2]
    path = args[0]
    job = yaml.safe_load(open(path))
    base = os.path.dirname(os.path.abspath(path))
    name = job["algorithm"]["name"]
    out = hetero(job, base, max_rows) if name == "hetero_lr" else homo(job, base, max_rows)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
