"""``python -OO`` (docstrings stripped): the package imports, fits and predicts."""

import json
import warnings
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification, make_regression

from centered_nn import MLPClassifier, MLPRegressor

_ROOT = str(Path(__file__).resolve().parents[2])

_SCRIPT = """
import json, sys
import centered_nn
from centered_nn import MLPClassifier, MLPRegressor
from sklearn.datasets import make_classification, make_regression
assert sys.flags.optimize == 2 and MLPClassifier.__doc__ is None
X, y = make_classification(n_samples=60, n_features=5, random_state=0)
clf = MLPClassifier((8,), input_bias="mean", max_iter=20, random_state=0).fit(X, y)
Xr, yr = make_regression(n_samples=60, n_features=4, random_state=0)
reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0).fit(Xr, yr)
print(json.dumps({"clf": clf.predict_proba(X).tolist(), "reg": reg.predict(Xr).tolist()}))
"""


def test_import_fit_predict_under_python_OO():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [_ROOT, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-OO", "-W", "ignore", "-c", _SCRIPT],
                          capture_output=True, text=True, env=env, cwd=_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the same fits in this (normal) interpreter: stripping docstrings changes nothing
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    Xr, yr = make_regression(n_samples=60, n_features=4, random_state=0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier((8,), input_bias="mean", max_iter=20, random_state=0).fit(X, y)
        reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=20, random_state=0).fit(Xr, yr)
    np.testing.assert_array_equal(np.array(out["clf"]), clf.predict_proba(X))
    np.testing.assert_array_equal(np.array(out["reg"]), reg.predict(Xr))
