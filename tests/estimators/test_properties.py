"""Properties that hold for every small network, activation, offset scheme, solver and data set.

Hypothesis draws the setup (architecture, activation, offsets, solver, dtype, sparsity,
sample weights, task) and a seed; the data are drawn from that seed with numpy, so the
examples are ordinary floating-point data rather than hand-picked edge values. Settings
are derandomized: every run (and CI) tries the same examples.

``ESTIMATORS`` lists the estimators under test. The properties branch only on what is
task-specific (``predict_proba`` for classifiers, ``classes=`` for ``partial_fit``, the
encoded target matrix of the loss).
"""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.activations import ACTIVATIONS, LeakyReLU
from centered_nn.diagnostics import GradientSignRecorder

from ..harness import flat_loss_and_gradient
from ..test_activations import Swish

# The drawn cases include hidden layers of one unit and data of one feature under
# gradient_centralization, and last minibatches of one row under input_bias='batch':
# the package warns about both, as tests/estimators/test_centering_methods.py checks.
# Here those cases are ordinary draws, and the warnings noise.
pytestmark = [
    pytest.mark.filterwarnings("ignore:gradient_centralization=True.*has fan_in 1:UserWarning"),
    pytest.mark.filterwarnings("ignore:input_bias='batch'. a minibatch of 1 row:UserWarning"),
]

ESTIMATORS = [MLPClassifier, MLPRegressor]
CLASSIFIERS = [cls for cls in ESTIMATORS if is_classifier(cls())]
STOCHASTIC = ("sgd", "adam")

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Every registered name, a built-in class with a parameter, and a user's own subclass.
ACTIVATION_CHOICES = st.one_of(
    st.sampled_from(sorted(ACTIVATIONS)),
    st.builds(LeakyReLU, alpha=st.floats(0.0, 0.5)),
    st.builds(Swish, beta=st.floats(0.25, 2.0)),
)


# ----------------------------------------------------------------------------- helpers
def _encoded(est, y):
    """The target as the fitted estimator's output layer sees it, one column per output."""
    Y = est._label_binarizer.transform(y).astype(bool) if is_classifier(est) else y
    return Y.reshape(Y.shape[0], -1)


def _loss_rounding(est, X, sample_weight):
    """A bound on the rounding error of the training loss at the fitted parameters.

    The log-loss is computed from probabilities. With a logistic output, ``log(1 - p)``
    of a ``p`` near 1 has an absolute error of about ``eps / (1 - p)`` (the cancellation
    in ``1 - p``; ``p`` itself is rounded to ``eps``), so saturated outputs make the loss
    noisy far above ``eps``, and central differences of step ``h`` inherit
    ``noise / h``. Otherwise the loss is accurate to a few ``eps`` of its size.
    """
    eps = np.finfo(np.float64).eps
    if getattr(est, "out_activation_", None) != "logistic":
        return eps * (1.0 + abs(est.loss_))
    proba = est.predict_proba(X)
    p = proba[:, 1:] if est.n_outputs_ == 1 else proba
    per_sample = (eps / np.maximum(1.0 - p, eps)).sum(axis=1)
    return eps * (1.0 + abs(est.loss_)) + np.average(per_sample, weights=sample_weight)


def _targets(draw, Estimator, rng, n_samples, tasks):
    """Targets for a drawn task: every class present; labels of several kinds."""
    if not is_classifier(Estimator()):
        n_outputs = 1 if draw(st.sampled_from(tasks)) == "regression" else 2
        y = rng.normal(size=(n_samples, n_outputs))
        return (y.ravel() if n_outputs == 1 else y), "regression"
    task = draw(st.sampled_from(tasks))
    if task == "multilabel":
        y = (rng.rand(n_samples, draw(st.integers(2, 3))) < 0.5).astype(int)
        return y, task
    n_classes = 2 if task == "binary" else draw(st.integers(3, 4))
    labels = draw(st.sampled_from([np.arange(n_classes), np.arange(n_classes) * 2 - 1,
                                   np.array(["ant", "bee", "cat", "dog"])[:n_classes]]))
    return labels[rng.permutation(np.arange(n_samples) % n_classes)], task


def _sparse(X, rng, canonical):
    """CSR copy of X; non-canonical (unsorted column indices) unless `canonical`."""
    X = sp.csr_matrix(X)
    if not canonical:
        for start, stop in zip(X.indptr[:-1], X.indptr[1:]):
            order = rng.permutation(stop - start)[::-1] + start
            X.indices[start:stop] = X.indices[order]
            X.data[start:stop] = X.data[order]
        X.has_sorted_indices = False
    return X


@st.composite
def cases(draw, Estimator, solvers=("sgd", "adam", "lbfgs"), dtypes=(np.float64, np.float32),
          tasks=("binary", "multiclass", "multilabel")):
    """A small estimator and data: ``(estimator, X, y, sample_weight)``."""
    solver = draw(st.sampled_from(solvers))
    n_samples = draw(st.integers(8, 30))
    params = dict(
        hidden_layer_sizes=tuple(draw(st.lists(st.integers(1, 8), min_size=1, max_size=2))),
        activation=draw(ACTIVATION_CHOICES),
        solver=solver,
        alpha=draw(st.sampled_from([0.0, 1e-4, 0.3])),
        max_iter=draw(st.integers(1, 6)),
        tol=draw(st.sampled_from([1e-4, 0.1])),  # 0.1: the stopping rules fire too
        n_iter_no_change=draw(st.sampled_from([1, 10])),
        random_state=draw(st.integers(0, 2**16)),
        input_bias=draw(st.sampled_from(["none", "learned", "mean", "batch"])),
        gradient_centralization=draw(st.booleans()),
        input_bias_layers=draw(st.sampled_from(["first", "all"])),
        input_bias_init=draw(st.sampled_from(["zeros", "center"])),
    )
    if params["input_bias"] in ("mean", "batch"):
        params["input_bias_rate"] = draw(st.sampled_from([0.1, 1.0]))
    if solver in STOCHASTIC:
        params["batch_size"] = draw(st.sampled_from(["auto", 1, 3, 8]))
        if params["input_bias"] == "batch" and params["batch_size"] == 1:
            params["batch_size"] = 2  # one-sample minibatches are refused for 'batch'
        params["learning_rate_init"] = draw(st.sampled_from([1e-3, 0.03]))
        params["shuffle"] = draw(st.booleans())
    if solver == "sgd":
        params["learning_rate"] = draw(st.sampled_from(["constant", "invscaling", "adaptive"]))
        params["momentum"] = draw(st.sampled_from([0.0, 0.9]))
        params["nesterovs_momentum"] = draw(st.booleans())
        if n_samples >= 16 and draw(st.booleans()):
            params.update(early_stopping=True, validation_fraction=0.25)
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    n_features = draw(st.integers(1, 5))
    X = rng.normal(size=(n_samples, n_features)) + draw(st.sampled_from([0.0, 3.0]))
    layout = draw(st.sampled_from(["dense", "dense-fortran", "sparse", "sparse-unsorted"]))
    if layout.startswith("sparse"):
        X[rng.rand(*X.shape) < 0.5] = 0.0
        X = _sparse(X, rng, canonical=layout == "sparse")
    X = X.astype(draw(st.sampled_from(dtypes)))
    if layout == "dense-fortran":
        X = np.asfortranarray(X)
    sample_weight = rng.uniform(0.2, 3.0, n_samples) if draw(st.booleans()) else None
    y, _ = _targets(draw, Estimator, rng, n_samples, tasks)
    return Estimator(**params), X, y, sample_weight


def _quietly(method, *args, **kwargs):
    """Call a fitting method with the expected ConvergenceWarnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return method(*args, **kwargs)


def _partial_fit(est, X, y, sample_weight):
    extra = {"classes": _classes(y)} if is_classifier(est) else {}
    return _quietly(est.partial_fit, X, y, sample_weight=sample_weight, **extra)


def _classes(y):
    return np.arange(y.shape[1]) if y.ndim == 2 else np.unique(y)


def _predictions(est, X):
    out = {"predict": est.predict(X)}
    if is_classifier(est):
        out["predict_proba"] = est.predict_proba(X)
    return out


def _snapshot(value):
    """A comparable copy of an input: arrays, sparse matrices and activation objects."""
    if sp.issparse(value):
        return ("sparse", value.format, value.shape, value.dtype, value.data.copy(),
                value.indices.copy(), value.indptr.copy())
    if isinstance(value, np.ndarray):
        return ("dense", value.shape, value.dtype, value.copy())
    return ("object", type(value), copy.deepcopy(value.get_params(deep=True)),
            copy.deepcopy(vars(value)))


def _assert_same(before, after):
    assert len(before) == len(after)
    for a, b in zip(before, after):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b, strict=True)
        else:
            assert a == b


# -------------------------------------------------------------------------- properties
@pytest.mark.parametrize("Estimator", CLASSIFIERS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_predict_proba_rows_sum_to_one(Estimator, data):
    est, X, y, sw = data.draw(cases(Estimator, tasks=("binary", "multiclass")))
    _quietly(est.fit, X, y, sample_weight=sw)
    proba = est.predict_proba(X)
    assert proba.shape == (X.shape[0], len(est.classes_))
    assert proba.dtype == X.dtype
    assert np.isfinite(proba).all() and proba.min() >= 0 and proba.max() <= 1
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=8 * np.finfo(X.dtype).eps)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_pickle_round_trip_changes_no_prediction(Estimator, data):
    est, X, y, sw = data.draw(cases(Estimator))
    _quietly(est.fit, X, y, sample_weight=sw)
    restored = pickle.loads(pickle.dumps(est))
    for method, expected in _predictions(est, X).items():
        np.testing.assert_array_equal(_predictions(restored, X)[method], expected, strict=True)
    # the training state survives too: one more epoch from either gives the same model
    if est.solver in STOCHASTIC and not est.early_stopping:
        for model in (est, restored):
            _partial_fit(model, X, y, sw)
        assert restored.loss_curve_ == est.loss_curve_
        for method, expected in _predictions(est, X).items():
            np.testing.assert_array_equal(_predictions(restored, X)[method], expected, strict=True)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_fitting_modifies_no_input(Estimator, data):
    est, X, y, sw = data.draw(cases(Estimator))
    if isinstance(est.activation, str):  # a name cannot change; test the object instead
        est.set_params(activation=ACTIVATIONS[est.activation]())
    activation = est.activation
    inputs = (X, y) if sw is None else (X, y, sw)
    before = [_snapshot(v) for v in (*inputs, activation)]
    _quietly(est.fit, X, y, sample_weight=sw)
    if est.solver in STOCHASTIC and not est.early_stopping:
        _partial_fit(est, X, y, sw)
    assert est.activation is activation and est.activation_ is not activation
    for a, b in zip(before, [_snapshot(v) for v in (*inputs, activation)]):
        _assert_same(a, b)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_backprop_matches_finite_differences(Estimator, data):
    """Every coordinate of the gradient, at the fitted parameters (float64 only).

    The tolerance widens only by the loss's own rounding noise over the step (large
    only for logistic outputs saturated near 1, see :func:`_loss_rounding`).
    """
    est, X, y, sw = data.draw(cases(Estimator, dtypes=(np.float64,)))
    _quietly(est.fit, X, y, sample_weight=sw)
    x0, loss_grad = flat_loss_and_gradient(est, X, _encoded(est, y), sw)
    _, grad = loss_grad(x0.copy())
    step = 1e-6
    numeric = np.empty_like(x0)
    for i in range(x0.size):
        up, down = x0.copy(), x0.copy()
        up[i] += step
        down[i] -= step
        numeric[i] = (loss_grad(up)[0] - loss_grad(down)[0]) / (2 * step)
    if est.gradient_centralization:  # the step follows the column-centred weight gradient
        start = 0
        for coef in est.coefs_:
            block = numeric[start:start + coef.size].reshape(coef.shape)
            block -= block.mean(axis=0)
            start += coef.size
    noise = _loss_rounding(est, X, sw) / step
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 + 4 * noise)


@st.composite
def call_sequences(draw, solver, early_stopping):
    """Up to four fitting calls: a fresh fit, a warm_start fit, or partial_fit."""
    kinds = ["fit", "warm_start"]
    if solver in STOCHASTIC and not early_stopping:
        kinds.append("partial_fit")
    calls = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=4))
    return [(kind, draw(st.booleans())) for kind in calls]  # (call, record_gradient_signs)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
@PROPERTY_SETTINGS
@given(data=st.data())
def test_gradient_sign_history_aligns_with_loss_curve(Estimator, data):
    est, X, y, sw = data.draw(cases(Estimator))
    calls = data.draw(call_sequences(est.solver, est.early_stopping))
    for kind, record in calls:
        est.set_params(record_gradient_signs=record, warm_start=kind == "warm_start")
        if kind == "partial_fit":
            _partial_fit(est, X, y, sw)
        else:
            _quietly(est.fit, X, y, sample_weight=sw)
        history = est.gradient_sign_history_
        if not record:
            assert history is None
            continue
        assert set(history) == set(GradientSignRecorder.METRICS)
        expected = (len(est.loss_curve_), len(est.hidden_layer_sizes) + 1)
        assert est.n_layers_ - 1 == expected[1]
        for name, values in history.items():
            assert values.shape == expected, (name, kind, calls)
