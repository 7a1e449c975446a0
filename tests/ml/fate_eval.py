"""FATE 1.11's binary evaluation rules in numpy (federatedml/evaluation/metrics/
classification_metric.py and evaluation.py), written from its definitions for the tests:
confusion counts at thresholds (positive when score > threshold), FATE's threshold cuts, the ROC
(scikit-learn's roc_curve cut to 100 thresholds), KS, PR, lift and gain curves, and fatectl's
threshold choice on validation data (max F1 / max KS over the candidate thresholds)."""
import math

import numpy as np
from sklearn.metrics import roc_curve


def confusion(labels, scores, thresholds):
    s = np.asarray(scores)[None, :] > np.asarray(thresholds)[:, None]
    y = np.asarray(labels)[None, :] == 1
    tp = (s & y).sum(1)
    fp = (s & ~y).sum(1)
    return tp, fp, y.sum() - tp, (~y).sum() - fp


def step_thresholds(scores):
    t = sorted(set(float(x) for x in scores), reverse=True)
    return [t[int(len(t) * c)] for c in np.arange(0, 1, 0.01)]


def fate_roc(labels, scores):
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=True)
    thr = list(map(float, thr))
    thr[0] = float(np.max(scores)) + 1  # scikit-learn < 1.3 (FATE's); newer ones write inf here
    size = len(thr)
    out, seen = [], set()
    for c in np.arange(0, 1, 0.01):
        i = int(size * c)
        key = (float(fpr[i]), float(tpr[i]), thr[i])
        if key not in seen:
            seen.add(key)
            out.append(key)
    out.append((1.0, 1.0, 1.0))
    return out


def fate_ks(labels, scores):
    """(KS, TPR curve, FPR curve) at the 100 index-quantile thresholds, (1, 1) appended."""
    labels = np.asarray(labels)
    srt = np.sort(np.asarray(scores))[::-1]
    thr = [srt[int(len(srt) * (c / 100))] for c in range(100)]
    tp, fp, _, _ = confusion(labels, scores, thr)
    P, N = (labels == 1).sum(), (labels != 1).sum()
    tpr, fpr = tp / P, fp / N
    return float(np.max(tpr - fpr)), list(tpr) + [1.0], list(fpr) + [1.0]


def best_y_per_x(xs, ys):
    order, best = [], {}
    for x, y in zip(xs, ys):
        if x not in best:
            order.append(x)
            best[x] = y
        elif best[x] < y:
            best[x] = y
    return order, [best[x] for x in order]


def fate_pr(labels, scores):
    t = step_thresholds(scores)
    t.append(min(t) - 0.001)
    tp, fp, fn, _ = confusion(labels, scores, t)
    prec = np.where(tp + fp == 0, 1.0, tp / np.maximum(tp + fp, 1))
    return best_y_per_x(list(tp / (tp + fn)), list(prec))


def fate_lift_gain(labels, scores):
    t = step_thresholds(scores)
    tp, fp, fn, _ = confusion(labels, scores, t)
    n = len(labels)
    x = (tp + fp) / n
    prec = np.where(tp + fp == 0, 1.0, tp / np.maximum(tp + fp, 1))
    lx, ly = best_y_per_x(list(x), list(prec / ((tp + fn) / n)))
    gx, gy = best_y_per_x(list(x), list(tp / (tp + fn)))
    return (lx + [1.0], ly + [1.0]), (gx + [1.0], gy + [1.0])


def threshold_candidates():
    """FATE's 0.00..0.99 and sigmoid(k/20), k = -200..200 (docs/training.md)."""
    return sorted(set([i * 0.01 for i in range(100)] + [1 / (1 + math.exp(-k / 20)) for k in range(-200, 201)]))


def choose_threshold(tp, fp, fn, tn, cands, rule):
    if rule == "max_ks":
        v = tp / np.maximum(tp + fn, 1) - fp / np.maximum(fp + tn, 1)
    else:
        p = np.where(tp + fp == 0, 1.0, tp / np.maximum(tp + fp, 1))
        r = np.where(tp + fn == 0, 0.0, tp / np.maximum(tp + fn, 1))
        v = 2 * p * r / np.where(p + r == 0, 1e-6, p + r)
    return cands[int(np.argmax(v))]
