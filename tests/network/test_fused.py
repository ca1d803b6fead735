"""The compiled forward/backward steps equal the numpy path bit for bit, or step aside."""

import numpy as np
import pytest
from sklearn.neural_network._base import binary_log_loss, log_loss

from centered_nn import activations
from centered_nn._network import fused
from centered_nn._network.activation_calls import multiply_by_derivative, write_value
from centered_nn._network.output import OUTPUT_LAYERS

pytest.importorskip("numba")

DTYPES = [np.float64, np.float32]
SHAPES = [(1, 1), (7, 1), (300, 1), (13, 5), (200, 100)]
DERIVATIVE_KINDS = ["relu", "logistic", "centered_logistic", "identity", "tanh", "lecun_tanh"]


@pytest.fixture(autouse=True)
def _kernels_on(compiled_switch):
    compiled_switch.ENABLED = True


def _values(shape, dtype, seed, scale=3.0):
    """Random values over many magnitudes, with zeros, -0.0 and extremes at the start."""
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(shape) * scale * 10.0 ** rng.integers(-6, 2, shape)
    flat = values.reshape(-1)
    flat[:4] = [0.0, -0.0, 800.0, -800.0][: flat.size]  # exp overflows for ±800
    return values.astype(dtype)


def _assert_same(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_bias_and_relu_equal_numpy(dtype, shape):
    activation = activations.ReLU()
    z, c = _values(shape, dtype, 1), _values(shape[1], dtype, 2)
    expected = z.copy()
    expected += c
    write_value(activation, expected, expected)
    assert fused.activate(activation, z, c)
    _assert_same(z, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (9, 3), (200, 10), (5, 130), (40, 1)])
def test_softmax_output_equals_numpy(dtype, shape):
    layer = OUTPUT_LAYERS["softmax"]()
    z, c = _values(shape, dtype, 3, scale=1.0), _values(shape[1], dtype, 4, scale=1.0)
    expected = z.copy()
    expected += c
    expected = layer.apply(expected)
    assert fused.output(layer, z, c)
    _assert_same(z, expected)


def _targets(name, shape, dtype, rng):
    if name == "softmax":
        return np.eye(shape[1], dtype=bool)[rng.integers(0, shape[1], shape[0])]
    if name == "logistic":
        return rng.random(shape) < 0.5
    if name == "exp":  # counts: the Poisson deviance needs Y >= 0
        return rng.uniform(0, 3, shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name", ["softmax", "logistic", "identity", "exp"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 3), (200, 10), (300, 1), (4100, 1), (150, 2), (2100, 2)])
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_delta_and_sums_equal_numpy(name, dtype, shape, weighted):
    rng = np.random.default_rng(5)
    layer = OUTPUT_LAYERS[name]()
    z = rng.standard_normal(shape).astype(dtype)
    z[0, 0] = 60.0  # a probability clipped at 1 - eps
    P = layer.apply(z)
    Y = _targets(name, shape, dtype, rng)
    sw = rng.uniform(0.1, 3.0, shape[0]).astype(dtype) if weighted else None
    P_before, Y_before = P.copy(), Y.copy()
    result = fused.loss_and_delta(layer, Y, P, sw)
    if name in ("identity", "exp") and P.size < fused._SMALL:
        assert result is None  # numpy's calls are cheaper there
        return
    loss, delta, sums = result
    expected_delta = layer.gradient(Y, P)
    if weighted:
        expected_delta *= sw.reshape(-1, 1)
    expected_loss = layer.loss(Y, P, sw)
    assert loss == expected_loss and np.asarray(loss).dtype == np.asarray(expected_loss).dtype
    _assert_same(delta, expected_delta)
    _assert_same(sums, np.add.reduce(expected_delta, axis=0))
    np.testing.assert_array_equal(P, P_before)
    np.testing.assert_array_equal(Y, Y_before)


@pytest.mark.parametrize("name, sklearn_loss", [("softmax", log_loss),
                                                ("logistic", binary_log_loss)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_log_losses_are_scikit_learns(name, sklearn_loss, dtype, weighted):
    rng = np.random.default_rng(6)
    shape = (120, 4)
    P = OUTPUT_LAYERS[name]().apply(rng.standard_normal(shape).astype(dtype))
    Y = _targets(name, shape, dtype, rng)
    sw = rng.uniform(0.1, 3.0, shape[0]).astype(dtype) if weighted else None
    loss = fused.loss_and_delta(OUTPUT_LAYERS[name](), Y, P, sw)[0]
    assert loss == sklearn_loss(Y, P, sw)


@pytest.mark.parametrize("name", DERIVATIVE_KINDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_derivative_times_delta_and_sums_equal_numpy(name, dtype, shape):
    activation = activations.get_activation(name)
    z = _values(shape, dtype, 7)
    a = write_value(activation, z, z.copy())
    delta = _values(shape, dtype, 8)
    expected = multiply_by_derivative(activation, z.copy(), a, delta.copy())
    sums = fused.multiply_by_derivative(activation, a, delta)
    _assert_same(delta, expected)
    _assert_same(sums, np.add.reduce(expected, axis=0))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("with_offset", [False, True])
@pytest.mark.parametrize("scale", [200, 37.25])
def test_penalty_and_scale_equal_numpy(dtype, with_offset, scale):
    grad, coef = _values((64, 100), dtype, 9), _values((64, 100), dtype, 10)
    offset = _values(64, dtype, 11) if with_offset else None
    sums = _values(100, dtype, 12)
    scale = dtype(scale) if isinstance(scale, float) else scale  # a weight sum, or a count
    expected = grad.copy()
    if with_offset:
        expected += np.outer(offset, sums)
    expected += 1e-4 * coef
    expected /= scale
    assert fused.penalty_fits(grad, coef, 1e-4, scale)
    fused.penalize(grad, coef, offset, sums, 1e-4, scale)
    _assert_same(grad, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (12, 7), (64, 100), (100, 10)])
def test_offset_term_equals_numpys_outer_product(dtype, shape):
    grad, offset, sums = (_values(shape, dtype, 18), _values(shape[0], dtype, 19),
                          _values(shape[1], dtype, 20))
    offset[-1], sums[-1] = np.inf, np.nan  # an inf row, a NaN column, a 0 * inf
    expected = grad.copy()
    with np.errstate(invalid="ignore"):  # 0 * inf
        expected += np.outer(offset, sums)
    assert fused.shift(grad, offset, sums)
    _assert_same(grad, expected)


def test_offset_term_steps_aside_for_arrays_it_does_not_take(compiled_switch):
    grad, offset, sums = _values((6, 4), np.float64, 21), _values(6, np.float64, 22), \
        _values(4, np.float64, 23)
    before = grad.copy()
    assert not fused.shift(grad, offset.astype(np.float32), sums)  # numpy would promote
    assert not fused.shift(grad, offset, sums.astype(">f8"))  # byte-swapped
    assert not fused.shift(np.asfortranarray(grad), offset, sums)  # not C-contiguous
    compiled_switch.ENABLED = False
    assert not fused.shift(grad, offset, sums)
    _assert_same(grad, before)


@pytest.mark.parametrize("n", [1, 7, 8, 127, 128, 129, 300, 1797, 5000, 100003])
@pytest.mark.parametrize("dtype", DTYPES)
def test_single_column_sums_are_numpys_pairwise_sums(n, dtype):
    delta = _values((n, 1), dtype, n)
    sums = fused.multiply_by_derivative(activations.Identity(), delta, delta)
    _assert_same(sums, np.add.reduce(delta, axis=0))


class _Doubled(activations.ReLU):
    def value(self, z):
        return 2 * np.maximum(z, 0)

    def derivative(self, z, a):
        return 2.0 * (z > 0)


def test_the_numpy_path_serves_what_the_kernels_do_not_take(compiled_switch):
    z, c = _values((5, 3), np.float64, 13), _values(3, np.float64, 14)
    relu = activations.ReLU()
    assert not fused.activate(_Doubled(), z.copy(), c)  # a subclass may change the function
    assert not fused.activate(activations.Tanh(), z.copy(), c)  # numpy's tanh is kept
    assert not fused.activate(activations.Logistic(), z.copy(), c)  # exp-bound: numpy's
    assert not fused.output(OUTPUT_LAYERS["logistic"](), z.copy(), c)
    assert not fused.activate(relu, z.copy(), c.astype(np.float32))  # mixed dtypes
    assert not fused.activate(relu, np.asfortranarray(z), c)  # not C-contiguous
    assert not fused.activate(relu, z.astype(">f8"), c.astype(">f8"))  # byte-swapped
    assert fused.multiply_by_derivative(_Doubled(), z, z.copy()) is None
    assert fused.multiply_by_derivative(relu, z, z.astype(np.float32)) is None
    P = OUTPUT_LAYERS["softmax"]().apply(z.copy())
    Y64 = np.eye(3)[[0, 1, 2, 0, 1]]
    assert fused.loss_and_delta(OUTPUT_LAYERS["softmax"](), Y64, P.astype(np.float32),
                                None) is None  # the delta would be float64
    big = _values((80, 60), np.float64, 17)
    assert fused.penalty_fits(big, big, 1e-4, 5)
    assert not fused.penalty_fits(z, z, 1e-4, 5)  # small: numpy's two calls are cheaper
    assert not fused.penalty_fits(big, big.astype(np.float32), 1e-4, 5)
    assert not fused.penalty_fits(big.astype(np.float32), big.astype(np.float32),
                                  np.float64(1e-4), 5)
    compiled_switch.ENABLED = False
    assert not fused.activate(relu, z.copy(), c)
    assert not fused.output(OUTPUT_LAYERS["softmax"](), z.copy(), c)
    assert fused.loss_and_delta(OUTPUT_LAYERS["softmax"](), Y64, P, None) is None
    assert fused.multiply_by_derivative(relu, z, z.copy()) is None
    assert not fused.penalty_fits(big, big, 1e-4, 5)


def test_exp_and_log_are_left_to_numpy_when_numba_would_vectorise_them(monkeypatch):
    """With Intel's SVML, numba's exp and log may differ from the C library's in the last bit."""
    monkeypatch.setattr(fused, "_LIBM", False)
    z, c = _values((6, 3), np.float64, 15), _values(3, np.float64, 16)
    P = OUTPUT_LAYERS["softmax"]().apply(z.copy())
    Y = np.eye(3, dtype=bool)[[0, 1, 2, 0, 1, 2]]
    assert fused.loss_and_delta(OUTPUT_LAYERS["softmax"](), Y, P, None) is None
    assert fused.activate(activations.ReLU(), z, c)  # no exp or log: still compiled


@pytest.mark.parametrize("value", [1e-4, 3, np.float64(1e-4), np.float32(1e-4), np.int64(3),
                                   np.float16(2.0), True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_penalty_is_compiled_exactly_when_numpy_keeps_the_dtype(value, dtype):
    array = np.ones((64, 64), dtype)
    keeps = np.result_type(value, array) == array.dtype
    assert fused.penalty_fits(array, array, value, 5) == keeps
    assert fused.penalty_fits(array, array, 1e-4, value) == keeps
    small = np.ones((3, 2), dtype)  # a pass made anyway: the size does not matter
    assert fused.penalty_fits(small, small, value, 5, any_size=True) == keeps
    scalars = fused.penalty_scalars(small, small, 1e-4, value)
    assert (scalars is not None) == keeps
    if keeps:  # in the arrays' dtype, as penalize passes them
        assert scalars == (dtype(1e-4), dtype(value))
        assert scalars[0].dtype == scalars[1].dtype == array.dtype


def test_the_penalty_scalars_need_the_arrays_the_compiled_penalty_takes(compiled_switch):
    grad = np.ones((4, 3))
    assert fused.penalty_scalars(grad, grad, 1e-4, 5) == (1e-4, 5.0)
    assert fused.penalty_scalars(grad, grad.astype(np.float32), 1e-4, 5) is None
    assert fused.penalty_scalars(np.asfortranarray(grad), grad, 1e-4, 5) is None
    assert fused.penalty_scalars(grad.astype(">f8"), grad.astype(">f8"), 1e-4, 5) is None
    assert fused.penalty_scalars(grad[0], grad[0], 1e-4, 5) is None  # 1-D
    compiled_switch.ENABLED = False
    assert fused.penalty_scalars(grad, grad, 1e-4, 5) is None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 100), (5000, 1), (4096, 2), (300, 17), (1, 5), (3, 2)])
def test_centralization_equals_numpy(dtype, shape):
    grad = _values(shape, dtype, 18)
    grad[:, -1] = -0.0  # a column of negative zeros: numpy's sums start from +0.0
    expected = grad.copy()
    expected -= expected.mean(axis=0)
    assert fused.centralize(grad)
    _assert_same(grad, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(64, 100), (5000, 1), (300, 17), (12, 5)])
@pytest.mark.parametrize("scale", [200, 37.25])
def test_centred_penalty_and_scale_equal_numpy(dtype, shape, scale):
    grad, coef = _values(shape, dtype, 19), _values(shape, dtype, 20)
    scale = dtype(scale) if isinstance(scale, float) else scale
    expected = grad.copy()
    expected += 1e-4 * coef
    expected -= 1e-4 * coef.mean(axis=0)
    expected /= scale
    assert fused.centered_penalty(grad, coef, 1e-4, scale)
    _assert_same(grad, expected)


def test_centralization_steps_aside_where_numpy_must_run(compiled_switch):
    big = _values((80, 60), np.float64, 21)
    for grad in (np.asfortranarray(big), big.astype(">f8"), big.astype(np.float16)):
        before = grad.copy()
        assert not fused.centralize(grad)
        np.testing.assert_array_equal(grad, before)
    # float32 gradients of float64 weights: numpy would compute in float64 and round back
    assert not fused.centered_penalty(big.astype(np.float32), big, 1e-4, 5)
    assert not fused.centered_penalty(big.astype(np.float32), big.astype(np.float32),
                                      np.float64(1e-4), 5)  # numpy would give float64
    compiled_switch.ENABLED = False
    assert not fused.centralize(big)
    assert not fused.centered_penalty(big, big, 1e-4, 5)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(200, 100), (300, 1), (13, 5), (1, 4)])
@pytest.mark.parametrize("weights", [None, "same", "float64"])
def test_batch_mean_path_equals_numpy(dtype, shape, weights):
    """``delta`` minus the outer product of the shares with its column sums: float64 shares
    1/n unweighted (one float64 rounding), the weights' own dtype when weighted."""
    delta = _values(shape, dtype, 23)
    sw = None if weights is None else np.random.default_rng(24).uniform(
        0.1, 3.0, shape[0]).astype(dtype if weights == "same" else np.float64)
    sw_sum = shape[0] if sw is None else sw.sum()
    expected = delta.copy()
    if sw is None:
        expected -= np.full(1, 1.0 / shape[0]) * expected.sum(axis=0)
    else:
        expected -= np.outer(sw / sw_sum, expected.sum(axis=0))
    before = delta.copy()
    done = fused.center_columns(delta, sw, sw_sum)
    if weights == "float64" and dtype == np.float32:  # the products would be float64
        assert not done
        np.testing.assert_array_equal(delta, before)
        return
    assert done
    _assert_same(delta, expected)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(200, 100), (300, 1), (4100, 1), (13, 5), (1, 4)])
def test_batch_input_means_are_weighted_means(dtype, shape):
    from centered_nn._stats import weighted_mean

    a = _values(shape, dtype, 25)
    a[:, -1] = -0.0
    _assert_same(fused.column_means(a), weighted_mean(a, dtype=a.dtype))


def test_batch_input_means_leave_overflow_and_other_inputs_to_weighted_mean():
    big = np.full((4, 3), np.finfo(np.float64).max / 2)
    assert fused.column_means(big) is None  # the sums overflow: weighted_mean rescales
    assert fused.column_means(np.asfortranarray(_values((5, 3), np.float64, 26))) is None
    assert fused.column_means(np.zeros((0, 3))) is None
    with_nan = _values((5, 3), np.float64, 27)
    with_nan[2, 1] = np.nan
    assert fused.column_means(with_nan) is None  # weighted_mean's own NaN


@pytest.mark.parametrize("name", DERIVATIVE_KINDS)
@pytest.mark.parametrize("shape", [(200, 100), (300, 1), (13, 5)])
def test_float64_deltas_of_float32_activations_equal_numpy(name, shape):
    """float32 X with float64 targets: the derivative in float32, the product in float64."""
    activation = activations.get_activation(name)
    z = _values(shape, np.float32, 28)
    a = write_value(activation, z, z.copy())
    delta = _values(shape, np.float64, 29)
    expected = multiply_by_derivative(activation, z.copy(), a, delta.copy())
    assert expected.dtype == np.float64
    sums = fused.multiply_by_derivative(activation, a, delta)
    _assert_same(delta, expected)
    _assert_same(sums, np.add.reduce(expected, axis=0))
    assert fused.multiply_by_derivative(activation, a.astype(np.float64),
                                        delta.astype(np.float32)) is None  # not numpy's


@pytest.mark.parametrize("centralize", [False, True])
@pytest.mark.parametrize("shape", [(64, 100), (300, 1), (12, 5)])
@pytest.mark.parametrize("scale", [200, np.float64(37.25)])
def test_penalty_of_float32_weights_with_float64_gradients_equals_numpy(centralize, shape,
                                                                          scale):
    grad, coef = _values(shape, np.float64, 30), _values(shape, np.float32, 31)
    expected = grad.copy()
    expected += 1e-4 * coef  # the product in float32, the sum in float64
    if centralize:
        expected -= 1e-4 * coef.mean(axis=0)
    expected /= scale
    if centralize:
        assert fused.centered_penalty(grad, coef, 1e-4, scale)
    else:
        assert not fused.penalty_fits(grad, coef, 1e-4, scale)  # the same-dtype pass
        assert fused.wider_penalty(grad, coef, 1e-4, scale)
    _assert_same(grad, expected)


def test_wider_penalty_steps_aside_where_numpy_keeps_other_dtypes():
    g64, c32 = _values((64, 100), np.float64, 32), _values((64, 100), np.float32, 33)
    assert not fused.wider_penalty(g64, g64.copy(), 1e-4, 5)  # same dtypes: penalize's
    assert not fused.wider_penalty(c32, g64, 1e-4, 5)  # float64 weights, float32 gradients
    assert not fused.wider_penalty(g64, c32, np.float64(1e-4), 5)  # alpha * coef in float64
    assert not fused.centered_penalty(c32, g64, 1e-4, 5)
