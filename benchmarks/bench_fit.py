"""Fit time and peak memory of centered_nn's estimators against scikit-learn's, side by side.

For every workload and every estimator pair (MLPClassifier, and MLPRegressor once
centered_nn has it) the script fits scikit-learn's estimator, ours with
``record_gradient_signs=False`` and ours with the default ``True``, interleaved in
one process (the order rotates between repeats), and reports medians.

The digits adam and 20000x100 adam workloads also run every centring setup of
:data:`SETUPS` (``Centerer`` in a pipeline, ``input_bias`` learned/mean/batch,
``gradient_centralization``), each with diagnostics off and on, interleaved with
the same scikit-learn fits: every ratio is to scikit-learn's *plain* estimator.


- ``sk s``: scikit-learn's fit time in seconds;
- ``off/sk``, ``on/sk``: our time without and with diagnostics over scikit-learn's;
- ``diag``: the cost of the diagnostics, ``on / off - 1``;
- ``floor s``: the matrix products alone (forward ``A @ W``, weight gradients
  ``A.T @ D``, backpropagated deltas ``D @ W.T``) at the fit's shapes, dtype and
  batch count (for lbfgs, one full-batch evaluation per iteration), and
  ``on/floor``, ``sk/floor``: how far each fit is from it;
- ``peak MB``: peak traced allocation of one fit (tracemalloc, measured in a
  separate, untimed run) for ours with diagnostics and scikit-learn, and their ratio.

Shared machines are noisy: read the ratios, not the seconds. On a machine
shared with other jobs, ``--clock cpu`` (process CPU time) with
``OPENBLAS_NUM_THREADS=1`` gives the steadiest ratios; with several BLAS
threads CPU time also counts their spinning, so keep the wall clock there.

    python benchmarks/bench_fit.py [--repeats 5] [--quick] [--only TEXT] [--markdown]
                                   [--clock {wall,cpu}] [--setups plain,mean,...]
"""

import argparse
import math
import time
import tracemalloc
import warnings
from dataclasses import dataclass, field

import numpy as np
import sklearn.neural_network as sk_nn
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

import centered_nn


@dataclass
class Workload:
    data: str  # key understood by load()
    params: dict
    quick: dict = field(default_factory=dict)  # overrides for --quick
    setups: tuple = ("plain",)  # names in SETUPS run on this workload

    def label(self, quick=False):
        """Name built from the data and the parameters, e.g. 'digits adam (100,) 50 it'."""
        p = {**self.params, **(self.quick if quick else {})}
        size = "300x64" if quick and self.data == "digits" else DATA_LABELS[self.data]
        size = size.replace("20000", "2000") if quick else size
        words = [size, p.get("solver", "adam"), p.get("activation", "")]
        if "batch_size" in p:
            words.append(f"bs={p['batch_size']}")
        words += [str(p.get("hidden_layer_sizes", (100,))).replace(" ", ""), f"{p['max_iter']} it"]
        return " ".join(w for w in words if w)


DATA_LABELS = {"digits": "digits", "synthetic": "20000x100", "synthetic32": "20000x100 float32"}

#: Centring setups: ``(our estimator's extra parameters, whether a Centerer comes first)``.
SETUPS = {
    "plain": ({}, False),
    "Centerer": ({}, True),
    "learned": ({"input_bias": "learned"}, False),
    "mean": ({"input_bias": "mean"}, False),
    "batch": ({"input_bias": "batch"}, False),
    "gc": ({"gradient_centralization": True}, False),
}

WORKLOADS = [
    Workload("digits", dict(max_iter=50), dict(max_iter=3), tuple(SETUPS)),
    Workload("digits", dict(solver="sgd", activation="logistic", batch_size=1,
                            hidden_layer_sizes=(32,), max_iter=5), dict(max_iter=1)),
    Workload("synthetic", dict(hidden_layer_sizes=(256, 128), max_iter=10), dict(max_iter=2),
             tuple(SETUPS)),
    Workload("synthetic32", dict(solver="sgd", activation="tanh", hidden_layer_sizes=(256,),
                                 max_iter=5), dict(max_iter=2)),
    Workload("digits", dict(solver="lbfgs", hidden_layer_sizes=(64,), max_iter=57),
             dict(max_iter=5)),
]

#: (task, our class name, scikit-learn's class). A pair whose class centered_nn
#: does not have (yet) is skipped.
ESTIMATORS = [
    ("classifier", "MLPClassifier", sk_nn.MLPClassifier),
    ("regressor", "MLPRegressor", sk_nn.MLPRegressor),
]


def load(data, task, quick):
    """``(X, y)`` of dataset `data` for `task` ('classifier' or 'regressor')."""
    if data == "digits":
        X, y = load_digits(return_X_y=True)
        X, y = X / 16.0, (y if task == "classifier" else y / 9.0)
        return (X[:300], y[:300]) if quick else (X, y)
    n = 2000 if quick else 20000
    if task == "classifier":
        X, y = make_classification(n_samples=n, n_features=100, n_informative=30,
                                   n_classes=5, random_state=0)
    else:
        X, y = make_regression(n_samples=n, n_features=100, n_informative=30, noise=1.0,
                               random_state=0)
        y = y / y.std()
    return (X.astype(np.float32), y) if data == "synthetic32" else (X, y)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]


def _fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = clock()
        estimator.fit(X, y)
        return clock() - start


def _peak_mb(make, X, y):
    tracemalloc.start()
    try:
        _fit(make(), X, y)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def warm_up():
    """Untimed tiny fits, so that no timed fit pays a one-off cost of the process (the
    first BLAS call, lazy imports, numba's kernels loaded from its cache or compiled)."""
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        X = rng.standard_normal((40, 3)).astype(dtype)
        for solver in ("adam", "sgd", "lbfgs"):
            for make, y in ((centered_nn.MLPClassifier, np.arange(40) % 2),
                            (centered_nn.MLPClassifier, np.arange(40) % 3),
                            (centered_nn.MLPRegressor, X[:, 0].astype(np.float64))):
                for activation in ("relu", "logistic", "tanh"):
                    _fit(make(hidden_layer_sizes=(4,), solver=solver, activation=activation,
                              max_iter=2), X, y)


def batch_counts(fitted, n_samples):
    """``{rows: count}``: how many minibatches of each size the fit processed."""
    if fitted.solver == "lbfgs":
        return {n_samples: fitted.n_iter_}
    batch = fitted.batch_size
    batch = min(200, n_samples) if batch == "auto" else min(batch, n_samples)
    counts = {batch: fitted.n_iter_ * (n_samples // batch)}
    if n_samples % batch:
        counts[n_samples % batch] = fitted.n_iter_
    return counts


def matmul_floor(fitted, X, repeats):
    """Median time of the fit's matrix products alone (see the module docstring)."""
    units = [X.shape[1], *(c.shape[1] for c in fitted.coefs_)]
    counts = batch_counts(fitted, X.shape[0])
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((i, o)).astype(X.dtype) for i, o in zip(units[:-1], units[1:])]
    plans = []
    for rows, count in counts.items():
        acts = [rng.standard_normal((rows, u)).astype(X.dtype) for u in units]
        products = []
        for layer, W in enumerate(weights):
            products.append((acts[layer], W, np.empty((rows, W.shape[1]), X.dtype)))
            products.append((acts[layer].T, acts[layer + 1], np.empty(W.shape, X.dtype)))
            if layer > 0:
                products.append((acts[layer + 1], W.T, np.empty((rows, W.shape[0]), X.dtype)))
        plans.append((products, count))
    times = []
    for _ in range(repeats):
        start = clock()
        for products, count in plans:
            for _ in range(count):
                for a, b, out in products:
                    np.matmul(a, b, out=out)
        times.append(clock() - start)
    return float(np.median(times))


def _ours(ours_cls, setup, record, params):
    """A maker of our estimator in `setup`, diagnostics on or off."""
    extra, centerer = SETUPS[setup]

    def make():
        estimator = ours_cls(record_gradient_signs=record, **params, **extra)
        return make_pipeline(centered_nn.Centerer(), estimator) if centerer else estimator
    return make


def run(workload, task, ours_cls, sk_cls, repeats, quick, setups=None):
    """One row per setup of `workload` (those in `setups`, None: all of its own)."""
    X, y = load(workload.data, task, quick)
    params = {"random_state": 0, **workload.params, **(workload.quick if quick else {})}
    names = [s for s in workload.setups if setups is None or s in setups]
    makers = {"sk": lambda: sk_cls(**params)}
    for setup in names:
        makers[(setup, "off")] = _ours(ours_cls, setup, False, params)
        makers[(setup, "on")] = _ours(ours_cls, setup, True, params)
    times = {key: [] for key in makers}
    order = list(makers)
    fitted = None
    for r in range(repeats):
        shift = r % len(order)
        for key in order[shift:] + order[:shift]:
            estimator = makers[key]()
            times[key].append(_fit(estimator, X, y))
            fitted = estimator if key == "sk" else fitted
    median = {key: float(np.median(t)) for key, t in times.items()}
    floor = matmul_floor(fitted, X, repeats)
    peak_sk = _peak_mb(makers["sk"], X, y)
    label = f"{task} {workload.label(quick)}"
    return [{"workload": label, "setup": setup, "sk": median["sk"],
             "off": median[(setup, "off")], "on": median[(setup, "on")], "floor": floor,
             "peak_on_mb": _peak_mb(makers[(setup, "on")], X, y), "peak_sk_mb": peak_sk}
            for setup in names]


COLUMNS = [  # (header, width, format of a row dict)
    ("workload", 48, lambda r: r["workload"]),
    ("setup", 8, lambda r: r["setup"]),
    ("sk s", 7, lambda r: f"{r['sk']:.3f}"),
    ("off/sk", 6, lambda r: f"{r['off'] / r['sk']:.2f}"),
    ("on/sk", 6, lambda r: f"{r['on'] / r['sk']:.2f}"),
    ("diag", 6, lambda r: f"{r['on'] / r['off'] - 1:.0%}"),
    ("floor s", 7, lambda r: f"{r['floor']:.3f}"),
    ("on/floor", 8, lambda r: f"{r['on'] / r['floor']:.2f}"),
    ("sk/floor", 8, lambda r: f"{r['sk'] / r['floor']:.2f}"),
    ("peak MB", 7, lambda r: f"{r['peak_on_mb']:.1f}"),
    ("sk MB", 7, lambda r: f"{r['peak_sk_mb']:.1f}"),
    ("mem", 5, lambda r: f"{r['peak_on_mb'] / r['peak_sk_mb']:.2f}"),
]


def _line(cells, markdown):
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return " ".join(c.ljust(w) if i < 2 else c.rjust(w)
                    for i, (c, (_, w, _)) in enumerate(zip(cells, COLUMNS)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny data and few epochs")
    parser.add_argument("--only", default="", help="run workloads whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print a markdown table")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or process CPU time (steadier under load)")
    parser.add_argument("--setups", default=None,
                        help="comma-separated names from SETUPS (default: all)")
    args = parser.parse_args(argv)
    setups = None if args.setups is None else args.setups.split(",")
    unknown = sorted(set(setups or ()) - set(SETUPS))
    if unknown:
        parser.error(f"unknown setup(s) {unknown}; choose from {', '.join(SETUPS)}")
    global clock
    clock = CLOCKS[args.clock]
    header = [name for name, _, _ in COLUMNS]
    warm_up()
    print(_line(header, args.markdown))
    print("|---" * len(COLUMNS) + "|" if args.markdown else "-" * len(_line(header, False)))
    rows = []
    for task, our_name, sk_cls in ESTIMATORS:
        ours_cls = getattr(centered_nn, our_name, None)
        if ours_cls is None:
            continue
        for workload in WORKLOADS:
            if args.only in f"{task} {workload.label(args.quick)}":
                for row in run(workload, task, ours_cls, sk_cls, args.repeats, args.quick,
                               setups):
                    rows.append(row)
                    print(_line([fmt(row) for _, _, fmt in COLUMNS], args.markdown), flush=True)
    if rows:
        gmean = {k: math.exp(np.mean([math.log(r[k] / r["sk"]) for r in rows]))
                 for k in ("off", "on")}
        print(f"geometric mean: off/sk {gmean['off']:.2f}, on/sk {gmean['on']:.2f}")
    return rows


if __name__ == "__main__":
    main()
