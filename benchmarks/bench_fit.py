"""Fit time of centered_nn.MLPClassifier against scikit-learn's, side by side.

Each workload is fitted by scikit-learn's MLPClassifier, by ours without
diagnostics and by ours with `record_gradient_signs=True` (the default),
interleaved in one process and repeated; the table reports median times, the
ratios ours / scikit-learn without and with diagnostics, and the cost of the
diagnostics (on / off - 1). Shared machines are
noisy: read the ratios, not the seconds.

    python benchmarks/bench_fit.py [--repeats 5] [--quick]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from centered_nn import MLPClassifier


def workloads(quick):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    n_big = 4000 if quick else 20000
    Xb, yb = make_classification(n_samples=n_big, n_features=100, n_informative=30,
                                 n_classes=5, random_state=0)
    return [
        ("digits adam (100,) 50 ep", X, y, dict(max_iter=50)),
        ("digits logistic sgd bs=1 (32,) 5 ep", X, y,
         dict(activation="logistic", solver="sgd", batch_size=1, hidden_layer_sizes=(32,),
              max_iter=2 if quick else 5)),
        (f"{n_big}x100 adam (256,128) 10 ep", Xb, yb,
         dict(hidden_layer_sizes=(256, 128), max_iter=10)),
        ("digits lbfgs (64,)", X, y, dict(solver="lbfgs", hidden_layer_sizes=(64,), max_iter=57)),
    ]


def _time(make, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        start = time.perf_counter()
        make().fit(X, y)
        return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    header = (f"{'workload':38s} {'sklearn s':>9s} {'ours s':>8s} {'ratio':>6s} {'+diag s':>8s} "
              f"{'ratio':>6s} {'diag cost':>9s}")
    print(header)
    print("-" * len(header))
    rows = []
    for name, X, y, params in workloads(args.quick):
        params = {"random_state": 0, **params}
        times = {"sk": [], "off": [], "on": []}
        for _ in range(args.repeats):
            times["sk"].append(_time(lambda: SkMLP(**params), X, y))
            times["off"].append(_time(lambda: MLPClassifier(record_gradient_signs=False, **params), X, y))
            times["on"].append(_time(lambda: MLPClassifier(record_gradient_signs=True, **params), X, y))
        sk, off, on = (float(np.median(times[k])) for k in ("sk", "off", "on"))
        rows.append((name, sk, off, on))
        print(f"{name:38s} {sk:9.3f} {off:8.3f} {off / sk:6.2f} {on:8.3f} {on / sk:6.2f} "
              f"{on / off - 1:9.1%}")
    return rows


if __name__ == "__main__":
    main()
