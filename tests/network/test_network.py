"""The numpy network: gradients against finite differences, offsets, init."""

import numpy as np
import pytest
import scipy.sparse as sp

from centered_nn._network import network as _network
from centered_nn._network.network import BackwardOptions
from centered_nn._network.output import OUTPUT_LAYERS
from centered_nn.activations import ACTIVATIONS, Tanh

from ..harness import network_gradients
from ..test_activations import Swish


class DoubledTanh(Tanh):
    """A built-in's subclass overriding value and derivative only: the parent's in-place
    shortcuts (value_into, multiply_derivative, derivative_from_value) must not apply."""

    def value(self, z):
        return 2.0 * np.tanh(z)

    def derivative(self, z, a):
        return 2.0 / np.cosh(z) ** 2


ACTS = [cls() for cls in ACTIVATIONS.values()] + [Swish(beta=1.5), DoubledTanh()]


def _problem(out_activation, n_out, offsets_at, seed=0, n=7, units=(3, 5, 4)):
    rng = np.random.RandomState(seed)
    layer_units = [*units, n_out]
    coefs, intercepts = _network.init_parameters(rng, layer_units, 6.0, np.float64)
    offsets = [rng.normal(size=u) if i in offsets_at else None for i, u in enumerate(layer_units[:-1])]
    X = rng.normal(size=(n, units[0])) + 1.0
    if out_activation == "softmax":
        Y = np.eye(n_out, dtype=bool)[rng.randint(n_out, size=n)]
    elif out_activation == "logistic":
        Y = rng.rand(n, n_out) > 0.5
    elif out_activation == "identity":
        Y = rng.normal(size=(n, n_out))
    else:  # exp: Poisson counts
        Y = rng.poisson(2.0, size=(n, n_out)).astype(float)
    sw = rng.uniform(0.5, 2.0, size=n)
    return X, Y, sw, coefs, intercepts, offsets


def _loss(X, Y, sw, coefs, intercepts, offsets, act, out, alpha):
    """The objective whose gradient training uses (see OutputLayer.objective)."""
    inputs, _ = _network.forward(X, _network.Network(coefs, intercepts, offsets, act, out))
    loss = OUTPUT_LAYERS[out]().objective(Y, inputs[-1], sw)
    return loss + _network.l2_penalty(coefs, alpha, sw.sum())


def _backward(X, Y, sw, coefs, intercepts, offsets, act, output, alpha, learn_offsets=False,
              out=None):
    net = _network.Network(coefs, intercepts, offsets, act, output)
    return network_gradients(X, Y, sw, net, BackwardOptions(alpha, learn_offsets), out=out)


@pytest.mark.parametrize("act", ACTS, ids=[repr(a) for a in ACTS])
@pytest.mark.parametrize(
    "out, n_out, offsets_at",
    [("softmax", 3, ()), ("logistic", 1, (0,)), ("softmax", 3, (0,)), ("logistic", 1, (0, 1, 2)),
     ("softmax", 3, (0, 1, 2)), ("logistic", 2, (0, 1, 2)), ("identity", 1, (0,)),
     ("identity", 2, (0, 1, 2)), ("exp", 1, ()), ("exp", 2, (0, 1, 2))],
    ids=["multiclass", "binary-first", "multiclass-first", "binary-all", "multiclass-all",
         "multilabel-all", "squared-first", "squared-multioutput-all", "poisson",
         "poisson-multioutput-all"],
)
def test_backward_matches_finite_differences(act, out, n_out, offsets_at):
    X, Y, sw, coefs, intercepts, offsets = _problem(out, n_out, offsets_at)
    alpha = 0.3
    coef_g, inter_g, off_g = _backward(X, Y, sw, coefs, intercepts, offsets, act, out, alpha,
                                       learn_offsets=True)
    params = coefs + intercepts + [b for b in offsets if b is not None]
    grads = coef_g + inter_g + [g for g in off_g if g is not None]
    assert len(params) == len(grads)
    eps = 1e-6
    for param, grad in zip(params, grads):
        assert grad.shape == param.shape
        numeric = np.empty_like(param)
        for idx in np.ndindex(param.shape):
            saved = param[idx]
            param[idx] = saved + eps
            up = _loss(X, Y, sw, coefs, intercepts, offsets, act, out, alpha)
            param[idx] = saved - eps
            down = _loss(X, Y, sw, coefs, intercepts, offsets, act, out, alpha)
            param[idx] = saved
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_offset_gradient_is_w_times_intercept_gradient_not_minus():
    """dL/db_i = sum_j w_ij dL/dc_j (the widely copied (x - b) form has the wrong sign)."""
    X, Y, sw, coefs, intercepts, offsets = _problem("softmax", 3, (0,))
    act = ACTIVATIONS["tanh"]()
    coef_g, inter_g, off_g = _backward(X, Y, sw, coefs, intercepts, offsets, act, "softmax", 0.0,
                                       learn_offsets=True)
    np.testing.assert_allclose(off_g[0], coefs[0] @ inter_g[0])
    # and dL/dW uses (x + b): equal to the plain gradient at the shifted input
    shifted = X + offsets[0]
    plain = [None] * len(offsets)
    coef_g2, _, _ = _backward(shifted, Y, sw, coefs, intercepts, plain, act, "softmax", 0.0)
    np.testing.assert_allclose(coef_g[0], coef_g2[0], rtol=1e-12)


@pytest.mark.parametrize("sparse_input", [False, True])
def test_moving_an_offset_preserves_the_function(sparse_input):
    X, Y, sw, coefs, intercepts, offsets = _problem("softmax", 3, (0, 1, 2))
    act = ACTIVATIONS["elu"]()
    X = sp.csr_matrix(X) if sparse_input else X
    net = _network.Network(coefs, intercepts, offsets, act, OUTPUT_LAYERS["softmax"]())
    before = net.predict(X)
    rng = np.random.RandomState(1)
    for layer in range(3):
        new = offsets[layer] + rng.normal(scale=5.0, size=offsets[layer].shape)
        _network.move_offset(coefs[layer], intercepts[layer], offsets[layer], new)
        np.testing.assert_array_equal(offsets[layer], new)
    after = net.predict(X)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-12)


def test_offset_tracker_initialises_then_follows_the_running_mean():
    rng = np.random.RandomState(0)
    W, c, b = rng.normal(size=(3, 2)), rng.normal(size=2), np.zeros(3)
    tracker = _network.OffsetTracker([1], rate=0.25)
    a1, a2 = rng.normal(size=(5, 3)) + 2, rng.normal(size=(4, 3)) - 1
    tracker(1, a1, None, W, c, b)
    np.testing.assert_allclose(b, -a1.mean(axis=0))  # first batch initialises
    c_before, m1 = c.copy(), a1.mean(axis=0)
    tracker(1, a2, None, W, c, b)
    m2 = m1 + 0.25 * (a2.mean(axis=0) - m1)
    np.testing.assert_allclose(b, -m2)
    np.testing.assert_allclose(c, c_before - (-m2 + m1) @ W)  # compensation
    tracker(0, a2, None, W, c, b)  # untracked layer: nothing moves
    np.testing.assert_allclose(b, -m2)


def test_init_parameters_bounds_and_draw_order():
    layer_units = [4, 3, 2]
    coefs, intercepts = _network.init_parameters(np.random.RandomState(5), layer_units, 2.0, np.float32)
    rng = np.random.RandomState(5)
    for (fan_in, fan_out), W, c in zip([(4, 3), (3, 2)], coefs, intercepts):
        bound = np.sqrt(2.0 / (fan_in + fan_out))
        np.testing.assert_array_equal(W, rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        np.testing.assert_array_equal(c, rng.uniform(-bound, bound, fan_out).astype(np.float32))
        assert W.dtype == np.float32 and np.abs(W).max() <= bound


@pytest.mark.parametrize("act", ACTS, ids=[repr(a) for a in ACTS])
@pytest.mark.parametrize("sparse_input", [False, True])
def test_backward_into_buffers_equals_fresh_arrays(act, sparse_input):
    """``out=`` (the flat gradient buffer's views) changes where, not what, is written."""
    X, Y, sw, coefs, intercepts, offsets = _problem("softmax", 3, (0, 1, 2))
    X = sp.csr_matrix(X) if sparse_input else X
    fresh = _backward(X, Y, sw, coefs, intercepts, offsets, act, "softmax", 0.3,
                      learn_offsets=True)
    out = tuple([np.full_like(g, np.nan) for g in grads] for grads in fresh)
    written = _backward(X, Y, sw, coefs, intercepts, offsets, act, "softmax", 0.3,
                        learn_offsets=True, out=out)
    for got, buffers, expected in zip(written, out, fresh):
        for g, buffer, e in zip(got, buffers, expected):
            assert g is buffer
            np.testing.assert_array_equal(g, e)


def test_in_place_forward_keeps_the_function_and_pre_activations_on_request():
    X, Y, sw, coefs, intercepts, offsets = _problem("softmax", 3, (0,))
    act = ACTIVATIONS["relu"]()
    net = _network.Network(coefs, intercepts, offsets, act, "softmax")
    inputs, pre = _network.forward(X, net)
    kept_inputs, kept_pre = _network.forward(X, net, keep_pre=True)
    for a, z, kept_a, kept_z in zip(inputs[1:-1], pre, kept_inputs[1:-1], kept_pre):
        assert z is a  # written over
        assert not np.shares_memory(kept_z, kept_a)
        np.testing.assert_array_equal(a, kept_a)
        np.testing.assert_array_equal(kept_a, np.maximum(kept_z, 0))
    np.testing.assert_array_equal(inputs[-1], kept_inputs[-1])


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("layers", [{0, 1, 2}, {1}, {0, 2}])
def test_center_layer_inputs_in_chunks_equals_one_tracked_forward_pass(sparse, weighted, layers):
    """Chunked, layer by layer: the offsets one forward pass with a rate-1 tracker sets
    (each layer centred on its input through the already centred layers before it)."""
    rng = np.random.RandomState(3)
    units = [6, 9, 5, 3]
    coefs, intercepts = _network.init_parameters(rng, units, 6.0, np.float64)
    X = np.abs(rng.normal(size=(53, units[0]))) + 0.5
    X[X < 0.7] = 0.0
    Xin = sp.csr_matrix(X) if sparse else X
    sw = rng.uniform(0.1, 2.0, size=53) if weighted else None

    def network():
        offsets = [np.zeros(u) if i in layers else None for i, u in enumerate(units[:-1])]
        return _network.Network([c.copy() for c in coefs], [c.copy() for c in intercepts],
                                offsets, Tanh(), "softmax")

    tracked, chunked = network(), network()
    tracked.forward(Xin, _network.OffsetTracker(layers, 1.0), sw)
    _network.center_layer_inputs(chunked, Xin, layers, sw, chunk_rows=7)  # 8 chunks
    for got, want in zip(chunked.offsets, tracked.offsets):
        assert (got is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
            assert np.abs(want).min() > 0  # the test sees real means, not zeros
    # and by hand for the last layer: its input's weighted mean through the centred net
    a = X
    for layer in range(2):
        b = chunked.offsets[layer]
        z = a @ coefs[layer] + intercepts[layer] + (0 if b is None else b @ coefs[layer])
        a = np.tanh(z)
    expected = -(np.average(a, axis=0, weights=sw))
    if 2 in layers:
        np.testing.assert_allclose(chunked.offsets[2], expected, rtol=1e-12)


def test_learned_center_init_holds_one_chunk_of_activations_not_all_of_x():
    """input_bias='learned' with init 'center' computes its means in chunks: the peak
    memory of the first fit's preparation stays below one layer's activations for all X."""
    import tracemalloc

    from centered_nn._network.offsets import OFFSET_SCHEMES

    rng = np.random.RandomState(0)
    X = rng.normal(size=(20000, 20))
    coefs, intercepts = _network.init_parameters(rng, [20, 256, 1], 6.0, np.float64)
    net = _network.Network(coefs, intercepts, [np.zeros(20), np.zeros(256)], Tanh(),
                           "logistic")
    scheme = OFFSET_SCHEMES["learned"]({0, 1}, init="center")
    one_layer = X.shape[0] * 256 * 8  # bytes of the hidden activations for all of X
    tracemalloc.start()
    scheme.prepare(net, X, None, first_pass=True, incremental=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < one_layer / 4
    np.testing.assert_allclose(net.offsets[0], -X.mean(axis=0), rtol=1e-12)
    assert np.abs(net.offsets[1]).min() > 0  # the hidden offset was set
