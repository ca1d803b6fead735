"""input_eigenvalue_ratio: λ_max / mean eigenvalue of the effective input's second moment."""

import math
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier
from centered_nn.diagnostics._curvature import (
    EXACT_MAX_FAN_IN,
    RTOL,
    second_moment,
    top_eigenvalue,
    top_eigenvalue_ratio,
)


def _eigen_ratio(X, w=None):
    """λ_max / mean(λ) of Xᵀ diag(w) X / sum(w), from numpy.linalg.eigvalsh."""
    w = np.ones(X.shape[0]) if w is None else w
    eigenvalues = np.linalg.eigvalsh((X * w[:, None]).T @ X / w.sum())
    return eigenvalues[-1] / eigenvalues.mean()


def _positive(n, m, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, m))


@pytest.mark.parametrize("fan_in", [5, EXACT_MAX_FAN_IN, EXACT_MAX_FAN_IN + 1, 150])
@pytest.mark.parametrize("centred", [False, True])
def test_ratio_matches_eigvalsh_on_both_branches(fan_in, centred):
    X = _positive(300, fan_in, seed=fan_in)
    if centred:
        X = X - X.mean(axis=0)
    memory = {}
    got = top_eigenvalue_ratio(X, memory=memory)
    exact = fan_in <= EXACT_MAX_FAN_IN
    # the exact branch to rounding; power iteration to its stated tolerance
    assert got == pytest.approx(_eigen_ratio(X), rel=1e-12 if exact else RTOL)
    if exact:
        assert memory == {}
    elif "input_eigenvalue_ratio" in memory:  # converged (else decomposed exactly)
        v = memory["input_eigenvalue_ratio"]
        assert v.shape == (fan_in,) and np.linalg.norm(v) == pytest.approx(1.0)


def test_power_iteration_warm_starts_from_the_last_vector():
    scales = np.ones(100)
    scales[7] = 1.6  # a top eigenvalue apart from the rest, which the fixed start misses
    X = np.random.default_rng(1).standard_normal((400, 100)) * scales
    M = second_moment(X)
    cold, v = top_eigenvalue(M)
    assert v is not None and cold == pytest.approx(np.linalg.eigvalsh(M)[-1], rel=RTOL)
    # from the last vector one iteration is enough (from the fixed start it is not:
    # the exact decomposition answers, and no vector is returned)
    warm, again = top_eigenvalue(M, start=v, max_iter=1)
    assert again is not None and warm == pytest.approx(cold, rel=RTOL)
    assert top_eigenvalue(M, max_iter=1)[1] is None


def test_power_iteration_falls_back_to_the_exact_decomposition():
    """Centred uniform features: eigenvalues too close to converge in a few iterations."""
    X = _positive(200, 100, seed=2)
    M = second_moment(X - X.mean(axis=0))
    top, v = top_eigenvalue(M, max_iter=3)
    assert v is None and top == np.linalg.eigvalsh(M)[-1]


def test_weighted_sparse_and_degenerate_inputs():
    X = _positive(50, 6, seed=3)
    w = np.random.default_rng(4).uniform(0.1, 3.0, 50)
    assert top_eigenvalue_ratio(X, w) == pytest.approx(_eigen_ratio(X, w), rel=1e-12)
    S = sp.random(40, 7, density=0.3, random_state=5, format="csr")
    assert top_eigenvalue_ratio(S) == pytest.approx(_eigen_ratio(S.toarray()), rel=1e-12)
    assert top_eigenvalue_ratio(S, w[:40]) == pytest.approx(
        _eigen_ratio(S.toarray(), w[:40]), rel=1e-12)
    assert math.isnan(top_eigenvalue_ratio(np.zeros((3, 4))))
    assert math.isnan(top_eigenvalue_ratio(np.zeros((3, 0))))
    one_row = np.array([[0.5, -2.0, 1.0]])  # rank one: the whole trace in one eigenvalue
    assert top_eigenvalue_ratio(one_row) == pytest.approx(3.0, rel=1e-14)


@pytest.mark.parametrize("n_features", [8, 80])
@pytest.mark.parametrize("centred", [False, True])
def test_full_batch_history_equals_the_data_moment_ratio(n_features, centred):
    """Under lbfgs every step sees all of X: layer 0's record is λ_max/mean(λ) of XᵀX/n."""
    rng = np.random.default_rng(n_features)
    X = rng.uniform(0.0, 1.0, (120, n_features))
    if centred:
        X = X - X.mean(axis=0)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    clf = MLPClassifier((5,), solver="lbfgs", max_iter=4, random_state=0,
                        record_gradient_signs=["input_eigenvalue_ratio"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    ratio = clf.gradient_sign_history_["input_eigenvalue_ratio"]
    assert ratio.shape == (len(clf.loss_curve_), 2)
    np.testing.assert_allclose(ratio[:, 0], _eigen_ratio(X),
                               rtol=1e-12 if n_features <= EXACT_MAX_FAN_IN else RTOL)
    # uncentred inputs: one dominant direction (the mean), far above the centred spread
    if not centred:
        assert ratio[0, 0] > 2 * _eigen_ratio(X - X.mean(axis=0))


def test_one_row_steps_have_the_ratio_fan_in(compiled_switch):
    """At batch_size=1 each step's moment is eeᵀ: the ratio is fan_in, by the kept
    steps' batched form and by the reference alike."""
    X = np.random.default_rng(6).uniform(0.0, 1.0, (30, 7))
    y = np.arange(30) % 2
    for numba in (True, False):
        compiled_switch.ENABLED = numba
        clf = MLPClassifier((4,), solver="sgd", batch_size=1, max_iter=2, random_state=0,
                            record_gradient_signs=["input_eigenvalue_ratio"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
        ratio = clf.gradient_sign_history_["input_eigenvalue_ratio"]
        np.testing.assert_array_equal(ratio[:, 0], 7.0)
        np.testing.assert_allclose(ratio[:, 1], 4.0, rtol=1e-12)


def test_not_recorded_by_default():
    X = _positive(30, 4)
    y = np.arange(30) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        history = MLPClassifier((3,), max_iter=2, random_state=0).fit(X, y)\
            .gradient_sign_history_
    assert "input_eigenvalue_ratio" not in history


def test_layers_restricts_the_ratio_to_the_named_weight_matrices(compiled_switch):
    """``InputEigenvalueRatio(layers=[0])``: layer 0 as the unrestricted metric records it,
    NaN elsewhere; at batch_size=1 its one-row steps go one by one (their batched form
    cannot see the layer) and still give fan_in."""
    from centered_nn.diagnostics import InputEigenvalueRatio

    X = _positive(60, 6)
    y = np.arange(60) % 3
    for batch_size, numba in ((16, True), (16, False), (1, True)):
        compiled_switch.ENABLED = numba
        histories = []
        for metric in ("input_eigenvalue_ratio", InputEigenvalueRatio(layers=[0])):
            clf = MLPClassifier((5, 4), solver="sgd", batch_size=batch_size, max_iter=3,
                                random_state=0, record_gradient_signs=[metric])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(X, y)
            histories.append(clf.gradient_sign_history_["input_eigenvalue_ratio"])
        every, first = histories
        np.testing.assert_array_equal(first[:, 0], every[:, 0])
        assert np.isnan(first[:, 1:]).all() and np.isfinite(every).all()
        if batch_size == 1:
            np.testing.assert_array_equal(first[:, 0], 6.0)
    assert InputEigenvalueRatio(layers=[0]).kept_values is None
    assert InputEigenvalueRatio().kept_values is not None
    assert repr(InputEigenvalueRatio(layers=[0])) == "InputEigenvalueRatio(layers=[0])"
