"""Shortcuts in the centring options' hot paths give the bits of the plain expressions."""

import numpy as np
import pytest

from centered_nn._network.network import BackwardOptions, Network, backward, forward
from centered_nn.activations import ReLU
from centered_nn.diagnostics._sign_stats import _rows_vary


def _backward(delta, sample_weight, inputs, pre, coefs, offsets, activation, *, alpha,
              learn_offsets=False, batch_centered=(), centralize=False):
    """:func:`backward` on these arrays, with the options as keywords."""
    net = Network(coefs, None, offsets, activation, None)
    options = BackwardOptions(alpha, learn_offsets, frozenset(batch_centered), centralize)
    return backward(delta, sample_weight, inputs, pre, net, options)


def _network(dtype, n=23, units=(5, 7, 4, 3), seed=0):
    rng = np.random.default_rng(seed)
    coefs = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(units[:-1], units[1:])]
    intercepts = [rng.standard_normal(b).astype(dtype) for b in units[1:]]
    offsets = [rng.standard_normal(a).astype(dtype) for a in units[:-1]]
    X = (rng.standard_normal((n, units[0])) * 3 + 1).astype(dtype)
    Y = rng.standard_normal((n, units[-1])).astype(dtype)
    return X, Y, coefs, intercepts, offsets


@pytest.mark.parametrize("centralize", [False, True])
def test_batch_centered_backward_unweighted_equals_unit_weights(centralize):
    """Without sample weights every share of the batch mean is 1/n, broadcast as one row;
    unit weights take the general path (shares ``w / sum(w)``, their outer product):
    the same bits."""
    X, Y, coefs, intercepts, offsets = _network(np.float64)
    grads = []
    for sample_weight in (None, np.ones(X.shape[0])):
        inputs, pre = forward(X, Network(coefs, intercepts, offsets, ReLU(), "identity"))
        delta = inputs[-1] - Y
        grads.append(_backward(delta, sample_weight, inputs, pre, coefs, offsets, ReLU(),
                              alpha=1e-3, learn_offsets=True, batch_centered={1, 2},
                              centralize=centralize))
    for unweighted, weighted in zip(*grads):
        for a, b in zip(unweighted, weighted):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    # the path through the batch mean: layer 1's input gradient has zero column sums
    # exactly where the mean is subtracted, so the offset gradients differ from plain ones
    plain = _backward(inputs[-1] - Y, None, inputs, pre, coefs, offsets, ReLU(), alpha=1e-3,
                     learn_offsets=True)
    assert not np.array_equal(plain[0][0], grads[0][0][0])


def test_batch_centered_backward_float32_rounds_as_the_float64_shares():
    """float32 deltas: the shares 1/n are float64, as the outer product's were, so the
    centred delta is float64 arithmetic rounded once to float32."""
    X, Y, coefs, intercepts, offsets = _network(np.float32, units=(5, 7, 3))
    inputs, pre = forward(X, Network(coefs, intercepts, offsets, ReLU(), "identity"))
    got = _backward(inputs[-1] - Y, None, inputs, pre, coefs, offsets, ReLU(), alpha=1e-3,
                   batch_centered={1})[0][0]
    # layer 0's gradient from the plain expressions: the outer product with float64 shares
    delta = (inputs[-1] - Y) @ coefs[1].T
    n = X.shape[0]
    delta -= np.outer(np.full(n, 1.0 / n), delta.sum(axis=0))
    delta *= inputs[1] > 0
    expected = X.T @ delta
    expected += np.outer(offsets[0], np.add.reduce(delta, axis=0))
    expected += 1e-3 * coefs[0]
    expected /= n
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def _rows_vary_reference(E):
    """A row varies when it holds two different numbers and no NaN."""
    return np.array([len(row) > 0 and not np.isnan(row).any() and len(set(row.tolist())) > 1
                     for row in E], dtype=bool)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rows_vary_against_the_definition(dtype):
    rng = np.random.default_rng(1)
    E = rng.standard_normal((12, 6)).astype(dtype)
    E[0] = 2.5  # constant
    E[1] = 0.0
    E[1, 3] = -0.0  # signed zeros are equal
    E[2, :] = np.inf  # all the same infinity
    E[3, 0] = np.inf
    E[4, :] = -1.0
    E[4, 5] = np.nextafter(dtype(-1.0), dtype(0))  # the smallest difference
    got = _rows_vary(E)
    assert got.dtype == bool
    np.testing.assert_array_equal(got, _rows_vary_reference(E))
    assert got[:5].tolist() == [False, False, False, True, True]
    offset = rng.standard_normal(6).astype(dtype)
    np.testing.assert_array_equal(_rows_vary(E, offset), _rows_vary_reference(E + offset))
    E[5, 2] = np.nan  # a NaN row does not count as varying; the others are unchanged
    expected = _rows_vary_reference(E)
    assert not expected[5]
    np.testing.assert_array_equal(_rows_vary(E), expected)
    assert _rows_vary(np.empty((3, 0), dtype)).tolist() == [False] * 3
    assert _rows_vary(E[:, :1]).tolist() == [False] * 12
