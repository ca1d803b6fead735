"""The package's one column mean (centered_nn._stats): against brute force, streamed, at the
float64 limit."""

import numpy as np
import pytest
import scipy.sparse as sp

from centered_nn._stats import RunningMean, weighted_mean

BIG = np.finfo(np.float64).max


def _brute_force(X, w=None):
    """Sum in long double, row by row, then divide: an independent reference."""
    X = np.asarray(X, dtype=np.longdouble)
    w = np.ones(X.shape[0], dtype=np.longdouble) if w is None else np.asarray(w, np.longdouble)
    total = np.longdouble(0)
    sums = np.zeros(X.shape[1], dtype=np.longdouble)
    for row, weight in zip(X, w):
        sums += weight * row
        total += weight
    return sums / total


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_weighted_mean_equals_a_long_double_brute_force(sparse, weighted, dtype, rtol):
    rng = np.random.RandomState(0)
    X = (rng.normal(loc=3.0, size=(500, 7)) * (rng.rand(500, 7) > 0.3)).astype(dtype)
    w = rng.uniform(0.0, 3.0, size=500).astype(dtype) if weighted else None
    got = weighted_mean(sp.csr_matrix(X) if sparse else X, w)
    assert got.shape == (7,) and got.dtype == dtype
    np.testing.assert_allclose(got, _brute_force(X, w).astype(np.float64), rtol=rtol)


def test_dtype_argument_casts_the_result():
    X, w = np.ones((3, 2), dtype=np.float32), np.ones(3)  # float64 weights widen the mean
    assert weighted_mean(X, w).dtype == np.float64
    assert weighted_mean(X, w, dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("chunk", [1, 3, 7, 50])
def test_streamed_chunks_equal_the_mean_of_all_rows(sparse, chunk):
    rng = np.random.RandomState(1)
    X, w = rng.normal(size=(50, 4)) + 10.0, rng.uniform(0.1, 2.0, size=50)
    w[:9] = 0.0  # leading chunks without weight contribute nothing and break nothing
    stream = RunningMean()
    for start in range(0, 50, chunk):
        rows = slice(start, start + chunk)
        stream.add(sp.csr_matrix(X[rows]) if sparse else X[rows], w[rows])
    np.testing.assert_allclose(stream.mean, _brute_force(X, w).astype(float), rtol=1e-13)
    assert stream.weight == pytest.approx(w.sum(), rel=1e-14)


def test_a_chunk_of_negative_or_zero_total_weight_still_counts():
    """Signed weights with a positive total: a chunk summing to zero still moves the mean."""
    X = np.array([[1.0], [5.0], [2.0], [4.0]])
    w = np.array([2.0, 1.0, 1.0, -1.0])  # the second chunk sums to 0 but weighs 2 - 4
    stream = RunningMean().add(X[:2], w[:2]).add(X[2:], w[2:])
    np.testing.assert_allclose(stream.mean, [(2 + 5 + 2 - 4) / 3.0], rtol=1e-15)


def test_running_mean_starts_from_a_given_mean_and_leaves_it_unchanged():
    before = np.array([2.0, -1.0])
    stream = RunningMean(before, 4.0).add(np.array([[12.0, 9.0]]))
    np.testing.assert_allclose(stream.mean, [4.0, 1.0], rtol=1e-15)
    assert stream.weight == 5.0
    np.testing.assert_array_equal(before, [2.0, -1.0])


@pytest.mark.filterwarnings("error")  # no overflow RuntimeWarning either
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("n_rows", [1, 2, 3, 10, 33])
def test_values_at_the_float64_limit_give_a_finite_correct_mean(sparse, n_rows):
    """A plain sum of these columns overflows; the mean is the value itself, to rounding."""
    X = np.empty((n_rows, 4))
    X[:, 0], X[:, 1], X[:, 2] = BIG, -BIG, 1.5e308
    X[:, 3] = np.linspace(1e308, 1.7e308, n_rows)
    expected = _brute_force(X).astype(np.float64)  # long double: no overflow
    data = sp.csr_matrix(X) if sparse else X
    for w in (None, np.full(n_rows, 1e300), np.linspace(1.0, 2.0, n_rows)):
        got = weighted_mean(data, w)
        assert np.isfinite(got).all()
        np.testing.assert_allclose(got, _brute_force(X, w).astype(np.float64), rtol=1e-14)
    stream = RunningMean()
    for row in range(n_rows):
        stream.add(data[row:row + 1])
    assert np.isfinite(stream.mean).all()
    np.testing.assert_allclose(stream.mean, expected, rtol=1e-14)


@pytest.mark.filterwarnings("error")
def test_streaming_opposite_extremes_does_not_overflow():
    """``m + share * (new - m)`` would overflow here (a difference of 2e308)."""
    stream = RunningMean().add(np.array([[1.7e308, -1.7e308]]))
    stream.add(np.array([[-1.7e308, 1.7e308], [-1.7e308, 1.7e308]]))
    np.testing.assert_allclose(stream.mean, [-1.7e308 / 3, 1.7e308 / 3], rtol=1e-15)


def test_undefined_means_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match=r"The sample weights of 2 row\(s\) sum to 0: their "
                                         r"mean is undefined\."):
        weighted_mean(np.ones((2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match=r"sum to 0 while some are not 0"):
        RunningMean().add(np.ones((2, 1)), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"sum to inf in floating point: rescale them"):
        RunningMean(np.ones(1), 1e308).add(np.ones((1, 1)), np.array([1.7e308]))
