"""Output-layer losses: bit for bit numpy's own wrappers (np.clip, np.average, mean).

The losses avoid the wrappers' per-call overhead on small minibatches; these
tests hold them to the wrapper formulas, written as scikit-learn's losses
(``sklearn/neural_network/_base.py``) write them, which they round like.
"""

import numpy as np
import pytest
from scipy.special import xlogy

from centered_nn._network.output import OUTPUT_LAYERS


def _wrapper_loss(name, Y, P, sw):
    if name == "softmax":  # scikit-learn's log_loss (for n_outputs > 1)
        eps = np.finfo(P.dtype).eps
        P = np.clip(P, eps, 1 - eps)
        return -np.average(xlogy(Y, P), weights=sw, axis=0).sum()
    if name == "logistic":  # scikit-learn's binary_log_loss
        eps = np.finfo(P.dtype).eps
        P = np.clip(P, eps, 1 - eps)
        return -np.average(xlogy(Y, P) + xlogy(1 - Y, 1 - P), weights=sw, axis=0).sum()
    if name == "identity":
        return 0.5 * np.average((Y - P) ** 2, weights=sw, axis=0).mean()
    return np.average(xlogy(Y, Y / P) - Y + P, weights=sw, axis=0).sum()


def _case(name, dtype, n, k, rng):
    if name in ("softmax", "logistic"):
        P = rng.uniform(0, 1, (n, k)).astype(dtype)
        P[0, 0], P[-1, -1] = 0.0, 1.0  # clipped at both ends
        Y = rng.random((n, k)) < 0.5
    else:
        P = rng.uniform(0.1, 3, (n, k)).astype(dtype)
        Y = rng.uniform(0, 3, (n, k))
        Y[0] = 0.0
    return Y, P


@pytest.mark.parametrize("name", sorted(OUTPUT_LAYERS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n, k", [(1, 1), (1, 10), (7, 3), (300, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_is_bitwise_the_wrapper_formula(name, dtype, n, k, weighted):
    rng = np.random.default_rng(n * k)
    Y, P = _case(name, dtype, n, k, rng)
    sw = rng.uniform(0.5, 2, n).astype(dtype) if weighted else None
    P_before = P.copy()
    got = OUTPUT_LAYERS[name]().loss(Y, P, sw)
    expected = _wrapper_loss(name, Y, P, sw)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    assert got == expected or (np.isnan(got) and np.isnan(expected))
    np.testing.assert_array_equal(P, P_before)  # the predictions are not modified


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_identity_objective_sums_what_loss_averages_over_outputs(dtype):
    rng = np.random.default_rng(3)
    Y, P = _case("identity", dtype, 40, 4, rng)
    expected = 0.5 * np.average((Y - P) ** 2, axis=0).sum()
    assert OUTPUT_LAYERS["identity"]().objective(Y, P) == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_apply_is_scikit_learns_output_activation(dtype):
    from sklearn.neural_network._base import ACTIVATIONS

    z = np.random.default_rng(1).normal(scale=5, size=(50, 7)).astype(dtype)
    for name in ("softmax", "logistic", "identity", "exp"):
        got, expected = z.copy(), z.copy()
        OUTPUT_LAYERS[name]().apply(got)
        ACTIVATIONS[name](expected)  # in place
        np.testing.assert_array_equal(got, expected)
