"""Save every gradient_sign_history_ of 18 small fits, or compare two saved sets bit for bit.

The fits cover every option the recorder sees (solvers, batch sizes 1 to full, every
input_bias, gradient centralization, float32, sparse, sample weights, the regressor,
partial_fit, early stopping, a metric subset). Run it before and after a change to the
diagnostics, with numba on and off (``CENTERED_NN_NUMBA=0``)::

    python benchmarks/history_snapshot.py save before.npz
    python benchmarks/history_snapshot.py save after.npz
    python benchmarks/history_snapshot.py compare before.npz after.npz
"""

import sys
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_digits

from centered_nn import MLPClassifier, MLPRegressor

BASE = dict(hidden_layer_sizes=(12, 7), max_iter=3, random_state=0)
CONFIGS = {
    "sgd_bs1_none": dict(solver="sgd", batch_size=1, activation="logistic"),
    "sgd_bs1_learned": dict(solver="sgd", batch_size=1, input_bias="learned"),
    "sgd_bs1_mean": dict(solver="sgd", batch_size=1, input_bias="mean"),
    "sgd_bs1_gc": dict(solver="sgd", batch_size=1, gradient_centralization=True),
    "adam_auto_none": dict(solver="adam"),
    "adam_bs7_batch": dict(solver="adam", batch_size=7, input_bias="batch"),
    "adam_bs16_learned_first": dict(solver="adam", batch_size=16, input_bias="learned",
                                    input_bias_layers="first"),
    "adam_mean_gc": dict(solver="adam", batch_size=32, input_bias="mean",
                         gradient_centralization=True),
    "lbfgs_none": dict(solver="lbfgs", max_iter=8),
    "lbfgs_batch": dict(solver="lbfgs", max_iter=8, input_bias="batch"),
    "lbfgs_learned_gc": dict(solver="lbfgs", max_iter=8, input_bias="learned",
                             gradient_centralization=True),
    "sgd_f32_mean": dict(solver="sgd", batch_size=10, input_bias="mean", _f32=True),
    "adam_sparse_learned": dict(solver="adam", batch_size=20, input_bias="learned",
                                _sparse=True),
    "adam_sw_batch": dict(solver="adam", batch_size=20, input_bias="batch", _sw=True),
    "sgd_bs1_sw_tanh": dict(solver="sgd", batch_size=1, activation="tanh", _sw=True),
    "adam_early_subset": dict(solver="adam", early_stopping=True,
                              record_gradient_signs=["sign_flip_fraction", "input_mean"]),
    "reg_sgd_bs1_learned": dict(solver="sgd", batch_size=1, input_bias="learned", _reg=True),
    "partial_fit_mean": dict(solver="sgd", batch_size=25, input_bias="mean", _partial=True),
}


def save(path):
    warnings.filterwarnings("ignore")
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    sw = np.random.RandomState(0).uniform(0.5, 2, len(y))
    out = {}
    for name, cfg in CONFIGS.items():
        cfg = dict(cfg)
        f32, sparse, use_sw, reg, partial = (cfg.pop(k, False) for k in
                                             ("_f32", "_sparse", "_sw", "_reg", "_partial"))
        Xc = X.astype(np.float32) if f32 else X
        Xc = sp.csr_matrix(Xc) if sparse else Xc
        est = (MLPRegressor if reg else MLPClassifier)(**{**BASE, **cfg})
        yc = y.astype(float) / 9 if reg else y
        if partial:
            for _ in range(3):
                est.partial_fit(Xc, yc, classes=np.unique(y))
        else:
            est.fit(Xc, yc, **({"sample_weight": sw} if use_sw else {}))
        for metric, values in est.gradient_sign_history_.items():
            out[f"{name}|{metric}"] = values
    np.savez(path, **out)
    print(f"{len(out)} histories saved to {path}")


def compare(before, after):
    a, b = np.load(before), np.load(after)
    differ = [k for k in a.files if k not in b.files or a[k].shape != b[k].shape
              or not np.array_equal(a[k].view(np.uint64), b[k].view(np.uint64))]
    print(f"{len(a.files)} histories compared, {len(differ)} differ: {differ}")
    return not differ


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save(sys.argv[2])
    else:
        sys.exit(0 if compare(sys.argv[2], sys.argv[3]) else 1)
