"""Plaintext reference of fatectl's data preparation, sample weights and validation (numpy),
written from FATE 1.11's definitions and docs/training.md, for tests/ml/reference.py.

Preparation (FATE's DataTransform / FeatureScale): empty cells ('', none, null, na, nan, any
case, or missing_impute) are filled per column (designated / mean / median / min / max over the
other cells), then outlier values (outlier_impute) are replaced the same way (statistics over the
non-outlier cells, after the fill); standard_scale uses the mean and population deviation of the
values clipped to [column_lower, column_upper] (the column's min/max pulled inside
feat_lower/feat_upper; federated: the bounds only), min_max_scale divides by max - min; a
deviation or range below 1e-6 becomes 1. `total` adds a vector over parties (federated statistics)
or returns it (local).
Weights (FATE's SampleWeight): balanced n / (2 n_class), {0: w0, 1: w1}, or a column (normalize:
divided by its mean); hetero scales them to mean 1.
Validation (FATE's ValidationStrategy / PerformanceRecorder): validation_freqs n (after epochs
with (e + 1) % n == 0) or a list of 0-based epochs; a metric improves when larger; stop when one
tracked metric has not improved for early_stopping_rounds validations; the model kept is the best
of the stopping metric, else of the first."""
import numpy as np

from fate_eval import fate_ks

MISSING = {"", "none", "null", "na", "nan"}
FILLS = ("designated", "mean", "median", "min", "max")


def load_csv(path, label, idc="id", labelc="y", weightc=None, missing=None, max_rows=None, row_ids=False):
    """ids, features (NaN where a missing marker may be filled), labels or None, weights or None, names."""
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.rstrip("\r\n").split(",") for line in f if line.strip()]
    if max_rows:
        rows = rows[:max_rows]
    has_id = idc in header
    ids = [r[header.index(idc)] for r in rows] if has_id or not row_ids else [str(i) for i in range(len(rows))]
    skip = {idc} | ({labelc} if label else set()) | ({weightc} if weightc else set())
    names = [h for h in header if h not in skip]
    cols = [header.index(h) for h in names]
    markers = {m.lower() for m in (missing if missing is not None else MISSING)}

    def num(cell, name):
        c = cell.strip()
        if missing is not None and c.lower() in markers and name in missing.columns:
            return np.nan
        return float(c)

    X = np.array([[num(r[c], n) for c, n in zip(cols, names)] for r in rows], dtype=np.float64)
    y = np.array([1.0 if float(r[header.index(labelc)]) == 1 else 0.0 for r in rows]) if label else None
    w = np.array([float(r[header.index(weightc)]) for r in rows]) if weightc and weightc in header else None
    return ids, X, y, w, names


class Missing(set):
    """The missing-value markers of a job and the columns a fill applies to."""

    def __init__(self, markers, columns):
        super().__init__(markers)
        self.columns = columns


def prep_params(raw):
    dt = dict(raw.get("data_transform") or {})
    fs = raw.get("feature_scale")
    mf_method = dt.get("missing_fill_method")
    col_mf = dt.get("col_missing_fill_method") or {}
    mf = dt.get("missing_fill", mf_method is not None or bool(col_mf))
    if mf and mf_method is None and not col_mf:
        mf_method = "designated"
    or_method = dt.get("outlier_replace_method")
    col_or = dt.get("col_outlier_replace_method") or {}
    orp = dt.get("outlier_replace", or_method is not None or bool(col_or) or bool(dt.get("outlier_impute")))
    if orp and or_method is None and not col_or:
        or_method = "designated"
    p = dict(missing_fill=mf, missing_fill_method=mf_method, col_missing_fill_method=col_mf,
             default_value=dt.get("default_value", 0), missing_impute=dt.get("missing_impute"),
             outlier_replace=orp, outlier_replace_method=or_method, col_outlier_replace_method=col_or,
             outlier_impute=[float(v) for v in dt.get("outlier_impute") or []],
             outlier_replace_value=dt.get("outlier_replace_value", 0),
             scale=None, statistics=raw.get("homo_statistics", "local"))
    if fs is not None:
        p.update(scale=fs.get("method", "standard_scale"), feat_upper=fs.get("feat_upper"),
                 feat_lower=fs.get("feat_lower"), scale_names=fs.get("scale_names"),
                 scale_col_indexes=fs.get("scale_col_indexes", -1), with_mean=fs.get("with_mean", True),
                 with_std=fs.get("with_std", True))
        if fs.get("need_run") is False:
            p["scale"] = None
    return p


def missing_of(p, names):
    if not p["missing_fill"]:
        return None
    markers = p["missing_impute"] or MISSING
    cols = {n for n in names if p["col_missing_fill_method"].get(n, p["missing_fill_method"]) is not None}
    return Missing(markers, cols)


def missing_of_header(p, path, label, labelc):
    with open(path) as f:
        header = f.readline().strip().split(",")
    return missing_of(p, header)


def per_column(v, names):
    if v is None:
        return [None] * len(names)
    if isinstance(v, list):
        return [float(x) for x in v]
    if isinstance(v, dict):
        return [float(v[n]) if n in v else None for n in names]
    return [float(v)] * len(names)


def _replace(X, names, methods, designated, bad, total, mean_round):
    vals = np.zeros(len(names))
    local = np.zeros(2 * len(names))
    for j, m in enumerate(methods):
        good = X[~bad(X[:, j]), j]
        if m == "designated":
            vals[j] = designated[j] if designated[j] is not None else 0.0
        elif m == "mean":
            local[2 * j], local[2 * j + 1] = len(good), good.sum()
        elif m == "median":
            vals[j] = np.median(good)
        elif m == "min":
            vals[j] = good.min()
        elif m == "max":
            vals[j] = good.max()
    if mean_round:
        g = total(local)
        for j, m in enumerate(methods):
            if m == "mean":
                vals[j] = g[2 * j + 1] / g[2 * j]
    return vals


def fit_cells(p, X, names, total):
    """Missing fill then outlier replacement, fitted and applied; returns (X, fitted)."""
    X = X.copy()
    fitted = {"fill": [None] * len(names), "outlier": [None] * len(names), "outliers": p["outlier_impute"]}
    if p["missing_fill"]:
        methods = [p["col_missing_fill_method"].get(n, p["missing_fill_method"]) for n in names]
        uses_mean = p["missing_fill_method"] == "mean" or "mean" in p["col_missing_fill_method"].values()
        vals = _replace(X, names, methods, per_column(p["default_value"], names), np.isnan, total, uses_mean)
        for j, m in enumerate(methods):
            if m is not None:
                fitted["fill"][j] = vals[j]
    X = apply_cells(fitted, X)
    if p["outlier_replace"]:
        methods = [p["col_outlier_replace_method"].get(n, p["outlier_replace_method"]) for n in names]
        uses_mean = p["outlier_replace_method"] == "mean" or "mean" in p["col_outlier_replace_method"].values()
        out = p["outlier_impute"]
        vals = _replace(X, names, methods, per_column(p["outlier_replace_value"], names), lambda c: np.isin(c, out),
                        total, uses_mean)
        for j, m in enumerate(methods):
            if m is not None:
                fitted["outlier"][j] = vals[j]
    return apply_cells(fitted, X), fitted


def apply_cells(fitted, X):
    X = X.copy()
    for j in range(X.shape[1]):
        if fitted["fill"][j] is not None:
            X[np.isnan(X[:, j]), j] = fitted["fill"][j]
        if fitted["outlier"][j] is not None:
            X[np.isin(X[:, j], fitted["outliers"]), j] = fitted["outlier"][j]
    if np.isnan(X).any():
        raise SystemExit("reference: a missing value without a fill method")
    return X


def fit_scale(p, X, names, total):
    """Feature scaling fitted and applied; returns (X, fitted) with per column (lower, upper, center, divisor)."""
    if not p["scale"]:
        return X, None
    n = len(names)
    idx = p.get("scale_col_indexes", -1)
    sn = p.get("scale_names")
    if (idx == -1 or idx is None) and not sn:
        scaled = [True] * n
    else:
        scaled = [False] * n
        for i in (idx if isinstance(idx, list) else []):
            scaled[i] = True
        for s in sn or []:
            if s in names:
                scaled[names.index(s)] = True
    up, lo = per_column(p.get("feat_upper"), names), per_column(p.get("feat_lower"), names)
    fed = p["statistics"] == "federated"
    cols = []
    for j in range(n):
        mn, mx = (-np.inf, np.inf) if fed else (X[:, j].min(), X[:, j].max())
        if up[j] is not None:
            mx, mn = min(mx, up[j]), min(mn, up[j])
        if lo[j] is not None:
            mn, mx = max(mn, lo[j]), max(mx, lo[j])
        cols.append([mn, mx, 0.0, 1.0])
    if p["scale"] == "min_max_scale":
        for j in range(n):
            r = cols[j][1] - cols[j][0]
            cols[j][2], cols[j][3] = cols[j][0], (1.0 if abs(r) < 1e-6 else r)
    else:
        C = np.column_stack([np.clip(X[:, j], cols[j][0], cols[j][1]) for j in range(n)])
        s1 = total(np.concatenate([np.where(scaled, C.sum(axis=0), 0.0), [len(C)]]))
        mean = s1[:n] / s1[n]
        s2 = total(np.where(scaled, ((C - mean) ** 2).sum(axis=0), 0.0))
        sd = np.sqrt(s2 / s1[n])
        for j in range(n):
            cols[j][2] = mean[j] if p["with_mean"] else 0.0
            cols[j][3] = 1.0 if (not p["with_std"] or abs(sd[j]) < 1e-6) else sd[j]
    fitted = [(c if s else None) for c, s in zip(cols, scaled)]
    return apply_scale(fitted, X), fitted


def apply_scale(fitted, X):
    if fitted is None:
        return X
    X = X.copy()
    for j, c in enumerate(fitted):
        if c is not None:
            X[:, j] = (np.clip(X[:, j], c[0], c[1]) - c[2]) / c[3]
    return X


def weight_params(raw):
    sw = dict(raw.get("sample_weight") or {})
    cw = raw.get("class_weight", sw.get("class_weight"))
    return dict(class_weight=cw, column=sw.get("sample_weight_name"), normalize=bool(sw.get("normalize", False)))


def sample_weights(wp, y, wcol, total):
    """Row weights (None when the job has none)."""
    if wp["column"]:
        w = np.array(wcol, dtype=np.float64)
        if wp["normalize"]:
            g = total(np.array([w.sum(), len(w)]))
            w = w / (g[0] / g[1])
        return w
    cw = wp["class_weight"]
    if cw is None:
        return None
    if cw == "balanced":
        pos = float((y == 1).sum())
        g = total(np.array([pos, len(y) - pos]))
        w1, w0 = (g[0] + g[1]) / (2 * g[0]), (g[0] + g[1]) / (2 * g[1])
    else:
        w0, w1 = float(cw.get(0, cw.get("0", cw.get(-1, 1)))), float(cw.get(1, cw.get("1", 1)))
    return np.where(y == 1, w1, w0)


def validation_params(raw):
    cb = dict(raw.get("callback_param") or {})
    get = lambda k, d=None: raw.get(k, cb.get(k, d))
    metrics = [m.lower() for m in (get("metrics") or ["auc", "ks"])]
    if get("use_first_metric_only", False):
        metrics = metrics[:1]
    return dict(freqs=get("validation_freqs"), rounds=get("early_stopping_rounds"), metrics=metrics,
                threshold=raw.get("choose_threshold", "none"))


def need_run(vp, e):
    f = vp["freqs"]
    if not f:
        return False
    return (e + 1) % f == 0 if isinstance(f, int) else e in f


class EarlyStopping:
    def __init__(self, vp):
        self.vp, self.best, self.no_imp = vp, {}, {}
        self.best_w, self.best_e = {}, {}
        self.stop_metric = None

    def update(self, e, values, weights):
        for m in self.vp["metrics"]:
            if m not in self.best or values[m] > self.best[m]:
                self.best[m], self.no_imp[m] = values[m], 0
                self.best_w[m], self.best_e[m] = [np.array(w, copy=True) for w in weights], e
            else:
                self.no_imp[m] += 1
        if self.vp["rounds"]:
            for m in self.vp["metrics"]:
                if self.no_imp[m] >= self.vp["rounds"]:
                    self.stop_metric = m
                    return True
        return False

    def final(self):
        """(weights, epoch) to keep, or None."""
        if not self.vp["rounds"] or not self.best_w:
            return None
        m = self.stop_metric or self.vp["metrics"][0]
        return self.best_w[m], self.best_e[m]


def metrics_of(labels, scores):
    from sklearn.metrics import roc_auc_score
    return {"auc": float(roc_auc_score(labels, scores)), "ks": fate_ks(labels, scores)[0]}
