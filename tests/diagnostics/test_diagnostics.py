import math
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from centered_nn.diagnostics import (
    GradientSignRecorder,
    input_mean,
    positive_input_fraction,
    same_sign_fraction,
    sample_same_sign_fraction,
    sign_flip_fraction,
)

INPUT_FUNCS = [input_mean, positive_input_fraction]


def test_same_sign_fraction_hand_worked():
    grad = np.array([[1.0, -1.0, 0.0, -2.0],
                     [0.0, 2.0, 0.0, -3.0],
                     [3.0, 0.0, 0.0, 0.0]])
    # col0: {1, 3} same; col1: {-1, 2} mixed; col2 all zero (excluded);
    # col3: {-2, -3} same -> 2 / 3
    assert same_sign_fraction(grad) == pytest.approx(2 / 3)
    # 1-D is one unit
    assert same_sign_fraction(np.array([1.0, 0.0, 2.0])) == 1.0
    assert same_sign_fraction(np.array([1.0, 0.0, -2.0])) == 0.0


def test_same_sign_fraction_nan_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(same_sign_fraction(np.zeros((3, 2))))


def test_sample_same_sign_fraction_hand_worked():
    X = np.array([[1.0, 2.0, 0.0],    # single-signed (zero ignored)
                  [1.0, -1.0, 3.0],   # mixed
                  [0.0, 0.0, 0.0],    # all zero: never counted
                  [-1.0, -2.0, 0.0]])  # single-signed
    D = np.array([[1.0, -2.0],   # 2 nonzero deltas, same-sign -> 2/2
                  [0.5, 0.0],    # 1 nonzero, mixed -> 0/1
                  [4.0, 4.0],    # zero row: 0/0
                  [0.0, 0.0]])   # zero deltas (e.g. zero sample weight)
    # counted = 2 + 1 = 3, same = 2
    assert sample_same_sign_fraction(X, D) == pytest.approx(2 / 3)
    # offset [0, 0, -1]: row0 -> [1, 2, -1] mixed, row1 -> [1, -1, 2] mixed,
    # row2 -> [0, 0, -1] single, row3 -> [-1, -2, -1] single
    # counted = 2 + 1 + 2 = 5, same = 2 -> 0.4
    assert sample_same_sign_fraction(X, D, offset=[0, 0, -1.0]) == pytest.approx(0.4)
    Xs = sp.csr_matrix(X)
    assert sample_same_sign_fraction(Xs, D, offset=[0, 0, -1.0]) == pytest.approx(0.4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(sample_same_sign_fraction(X, np.zeros((4, 2))))


def test_sign_flip_fraction_hand_worked():
    g = np.array([[1.0, -1.0, 0.0], [2.0, 3.0, -4.0]])
    prev = np.array([[5.0, 1.0, 1.0], [-1.0, 0.0, -2.0]])
    # nonzero in both: (0,0) same, (0,1) flip, (1,0) flip, (1,2) same -> 2/4
    assert sign_flip_fraction(g, prev) == 0.5
    assert sign_flip_fraction(g, np.sign(prev).astype(np.int8)) == 0.5
    assert math.isnan(sign_flip_fraction(g, None))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(sign_flip_fraction(g, np.zeros_like(g)))
    with pytest.raises(ValueError):
        sign_flip_fraction(g, prev[:1])


def test_input_mean_and_positive_fraction_hand_worked():
    X = np.array([[0.0, 2.0, -1.0], [3.0, 0.0, 2.0]])
    # sum = 6 over 6 entries; positives {2, 3, 2}
    assert input_mean(X) == 1.0
    assert positive_input_fraction(X) == 0.5
    # offset [-3, 0, 1]: E = [[-3, 2, 0], [0, 0, 3]], sum 2, positives {2, 3}
    b = np.array([-3.0, 0.0, 1.0])
    assert input_mean(X, b) == pytest.approx(2 / 6)
    assert positive_input_fraction(X, b) == pytest.approx(2 / 6)
    for fmt in ("csr", "csc"):
        Xs = sp.csr_matrix(X).asformat(fmt)
        assert input_mean(Xs, b) == pytest.approx(2 / 6)
        assert positive_input_fraction(Xs, b) == pytest.approx(2 / 6)


def test_all_positive_inputs_always_same_sign():
    rng = np.random.default_rng(0)
    X = rng.uniform(0.1, 2.0, size=(50, 7))
    D = rng.standard_normal((50, 4))
    assert sample_same_sign_fraction(X, D) == 1.0
    for n in range(5):
        x, d = X[n:n + 1], D[n:n + 1]
        assert same_sign_fraction(x.T @ d) == 1.0
    # centring the same inputs breaks the fact
    Xc = X - X.mean(axis=0)
    assert sample_same_sign_fraction(Xc, D) < 1.0
    assert same_sign_fraction(Xc[:1].T @ D[:1]) < 1.0
    assert sample_same_sign_fraction(X, D, offset=-X.mean(axis=0)) < 1.0


def _random_sparse(rng, n, m, density, fmt, dtype):
    # mostly positive data so that many rows are single-signed
    X = sp.random(n, m, density=density, format="csr", random_state=rng,
                  data_rvs=lambda k: rng.uniform(-0.3, 1.0, k)).astype(dtype)
    X.data[::5] = 0.0  # explicitly stored zeros
    X.data[X.indptr[2]:X.indptr[3]] = 0.0  # row 2 stores only zeros
    return X.asformat(fmt)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset_kind", [None, "mixed", "positive", "few"])
def test_sparse_matches_dense(fmt, dtype, offset_kind):
    rng = np.random.default_rng(42)
    n, m = 60, 25
    X_sparse = _random_sparse(rng, n, m, 0.15, fmt, dtype)
    assert (X_sparse.data == 0).any()
    X_dense = X_sparse.toarray()
    offset = None
    if offset_kind == "mixed":
        offset = rng.standard_normal(m)
        offset[::4] = 0.0
    elif offset_kind == "positive":
        offset = rng.uniform(0.0, 1.0, m)
        offset[3] = 0.0
    elif offset_kind == "few":  # offset nonzero on a few columns only
        offset = np.zeros(m)
        offset[[4, 7]] = [0.2, 0.1]
    D = rng.standard_normal((n, 5))
    D[rng.random((n, 5)) < 0.3] = 0.0
    for func in INPUT_FUNCS:
        np.testing.assert_allclose(func(X_sparse, offset), func(X_dense, offset),
                                   rtol=1e-12)
    expected = sample_same_sign_fraction(X_dense, D, offset)
    if offset_kind in (None, "few"):
        assert 0.0 < expected < 1.0  # non-trivial mix of row kinds
    np.testing.assert_allclose(sample_same_sign_fraction(X_sparse, D, offset),
                               expected, rtol=1e-12)


def test_sparse_offset_on_stored_columns_hand_worked():
    # E = X + b = [[-2 + 1, 0 + 0], [0 + 1, 0 + 0]] = [[-1, 0], [1, 0]]
    X = sp.csr_matrix(np.array([[-2.0, 0.0], [0.0, 0.0]]))
    b = np.array([1.0, 0.0])
    D = np.ones((2, 3))
    # row 0 E = [-1, 0] single-signed; row 1 E = [1, 0] single-signed
    assert sample_same_sign_fraction(X, D, b) == 1.0
    # negative offset on the stored column: row 0 E = [3 - 1, 0] = [2, 0],
    # row 1 E = [-1, 0] -> both single-signed, 1 positive of 4
    X2 = sp.csr_matrix(np.array([[3.0, 0.0], [0.0, 0.0]]))
    assert sample_same_sign_fraction(X2, D, [-1.0, 0.0]) == 1.0
    assert positive_input_fraction(X2, [-1.0, 0.0]) == 0.25


def test_sparse_explicit_zeros_and_duplicates():
    # row 0 stores an explicit zero at column 1; row 1 stores duplicates
    data = np.array([2.0, 0.0, 1.0, -1.0])
    rows, cols = np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2])
    X = sp.coo_matrix((data, (rows, cols)), shape=(2, 3))
    Xcsr = sp.csr_matrix((data, cols, [0, 2, 4]), shape=(2, 3))  # non-canonical
    dense = X.toarray()  # [[2, 0, 0], [0, 0, 0]]
    b = np.array([0.0, -1.0, 0.5])
    # dense E = [[2, -1, 0.5], [0, -1, 0.5]] -> 3 positives of 6, sum 1
    D = np.ones((2, 2))
    for Xs in (X, Xcsr):
        assert positive_input_fraction(Xs, b) == positive_input_fraction(dense, b) == 0.5
        assert input_mean(Xs, b) == pytest.approx(1 / 6)
        assert sample_same_sign_fraction(Xs, D, b) == 0.0
        # without offset: row 0 [2, 0, 0] single, row 1 all zero -> 2 / 2
        assert sample_same_sign_fraction(Xs, D) == 1.0
    assert Xcsr.nnz == 4  # caller's matrix left untouched


def test_no_per_sample_tensor_allocated():
    rng = np.random.default_rng(0)
    n, fan_in, fan_out = 2000, 300, 300
    X = rng.standard_normal((n, fan_in))
    D = rng.standard_normal((n, fan_out))
    b = rng.standard_normal(fan_in)
    tracemalloc.start()
    try:
        sample_same_sign_fraction(X, D, offset=b)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n * fan_in * fan_out * 8 / 100


def test_recorder_means_and_nan_first_flip():
    rec = GradientSignRecorder(n_weight_matrices=2)
    X = np.array([[1.0, 2.0]])
    # step 1: G = [[1, -1], [2, -2]]: same 1, flip NaN, mean 1.5, pos 1
    # step 2: G = [[-1, -1], [-2, -2]]: same 1, flip 2/4
    # step 3: G = [[1, 0], [2, 0]] with input [[1, -1]] -> G = [[1, 0], [-1, 0]]
    #   same 0 (one nonzero column, mixed), flip vs step 2: (0,0) flip,
    #   (1,0) same -> 1/2; mean 0, pos 0.5
    rec.observe(0, X, np.array([[1.0, -1.0]]), X.T @ np.array([[1.0, -1.0]]))
    rec.observe(0, X, np.array([[-1.0, -1.0]]), X.T @ np.array([[-1.0, -1.0]]))
    X3, D3 = np.array([[1.0, -1.0]]), np.array([[1.0, 0.0]])
    rec.observe(0, X3, D3, X3.T @ D3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.end_iteration()
    h = rec.history
    assert set(h) == set(GradientSignRecorder.METRICS)
    assert h["same_sign_fraction"].shape == (1, 2)
    assert h["same_sign_fraction"][0, 0] == pytest.approx(2 / 3)
    assert h["sample_same_sign_fraction"][0, 0] == pytest.approx(2 / 3)
    assert h["sign_flip_fraction"][0, 0] == pytest.approx((0.5 + 0.5) / 2)
    assert h["input_mean"][0, 0] == pytest.approx((1.5 + 1.5 + 0.0) / 3)
    assert h["positive_input_fraction"][0, 0] == pytest.approx(2.5 / 3)
    # layer 1 never observed -> NaN
    assert all(math.isnan(h[m][0, 1]) for m in GradientSignRecorder.METRICS)
    # flip continues across iteration boundary: G = [[1, 0], [-1, 0]] again
    rec.observe(0, X3, D3, X3.T @ D3)
    rec.end_iteration()
    assert rec.history["sign_flip_fraction"][1, 0] == 0.0


def test_recorder_empty_iteration_and_discard():
    rec = GradientSignRecorder(n_weight_matrices=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rec.end_iteration()
        h = rec.history
    assert all(np.isnan(h[m]).all() and h[m].shape == (1, 1) for m in h)
    X = np.array([[1.0, -2.0]])
    rec.observe(0, X, np.ones((1, 1)), X.T)
    rec.discard_steps()
    rec.end_iteration()
    assert np.isnan(rec.history["input_mean"][1, 0])
    # a discarded step leaves no previous signs behind: the next flip is NaN
    rec.observe(0, X, np.ones((1, 1)), X.T)
    rec.end_iteration()
    assert np.isnan(rec.history["sign_flip_fraction"][2, 0])
    assert rec.history["input_mean"][2, 0] == -0.5
    # ...while a recorded iteration's signs are kept: G = [1, -2] -> [-1, 2] flips both
    rec.observe(0, X, np.ones((1, 1)), X.T)
    rec.discard_steps()
    rec.observe(0, X, -np.ones((1, 1)), -X.T)
    rec.end_iteration()
    assert rec.history["sign_flip_fraction"][3, 0] == 1.0


def test_recorder_sparse_and_offset():
    rng = np.random.default_rng(1)
    X = sp.random(8, 5, density=0.4, format="csr", random_state=rng)
    b = rng.standard_normal(5)
    D = rng.standard_normal((8, 3))
    G = (X.toarray() + b).T @ D
    rec = GradientSignRecorder(1)
    rec.observe(0, X, D, G, offset=b)
    rec.end_iteration()
    h = rec.history
    assert h["input_mean"][0, 0] == pytest.approx(input_mean(X, b), rel=1e-12)
    assert h["sample_same_sign_fraction"][0, 0] == sample_same_sign_fraction(X, D, b)
    assert h["same_sign_fraction"][0, 0] == same_sign_fraction(G)


def test_recorder_history_continuation_and_pickle():
    rec = GradientSignRecorder(n_weight_matrices=1)
    for v in (1.0, 2.0, 3.0):
        X = np.array([[v]])
        rec.observe(0, X, np.ones((1, 1)), X.T)
        rec.end_iteration()
    np.testing.assert_array_equal(rec.history["input_mean"][:, 0], [1, 2, 3])
    first_two = {m: h[:2] for m, h in rec.history.items()}
    rec2 = GradientSignRecorder(1, history=first_two)
    np.testing.assert_array_equal(rec2.history["input_mean"][:, 0], [1, 2])
    X = np.array([[7.0]])
    rec2.observe(0, X, np.ones((1, 1)), X.T)
    rec2.end_iteration()
    np.testing.assert_array_equal(rec2.history["input_mean"][:, 0], [1, 2, 7])
    np.testing.assert_array_equal(first_two["input_mean"][:, 0], [1, 2])  # not written to
    clone = pickle.loads(pickle.dumps(rec2))
    for m in GradientSignRecorder.METRICS:
        np.testing.assert_array_equal(clone.history[m], rec2.history[m])
    with pytest.raises(ValueError, match=r"history arrays must all have shape \(n_records, 2\)"):
        GradientSignRecorder(2, history=rec.history)


def test_centered_rows_per_sample_fraction_against_explicit_centred_gradients():
    """With gradient centralization the per-sample column is delta_su (e_s - mean(e_s))."""
    rng = np.random.RandomState(3)
    A = rng.rand(12, 5) + 0.5  # all positive
    A[3] = 2.0  # a constant row: centred, it is all zero and not counted
    offset = np.zeros(5)
    delta = rng.normal(size=(12, 4))
    delta[5, 1] = 0.0
    E = A + offset
    centred = E - E.mean(axis=1, keepdims=True)
    single = counted = 0
    for s in range(12):
        for u in range(4):
            column = delta[s, u] * centred[s]
            nonzero = column[column != 0]
            if nonzero.size:
                counted += 1
                single += bool(np.all(nonzero > 0) or np.all(nonzero < 0))
    G = (centred.T @ delta)
    rec = GradientSignRecorder(1)
    rec.observe(0, A, delta, G - G.mean(axis=0), offset=offset, centered_rows=True)
    rec.end_iteration()
    assert rec.history["sample_same_sign_fraction"][0, 0] == single / counted == 0.0
    assert counted == 11 * 4 - 1
    # the input metrics still describe E itself
    assert rec.history["input_mean"][0, 0] == pytest.approx(E.mean())
    assert rec.history["positive_input_fraction"][0, 0] == 1.0


# --- the history as a tidy frame (issue 16) -----------------------------------------


def test_history_frame_equals_the_dict_history():
    pd = pytest.importorskip("pandas")
    from sklearn.datasets import load_digits

    from centered_nn import MLPClassifier
    from centered_nn.diagnostics import history_frame

    X, y = load_digits(return_X_y=True)
    X = X[:200] / 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [MLPClassifier(hidden_layer_sizes=(5, 4), max_iter=3, random_state=0,
                              input_bias=bias).fit(X, y[:200]) for bias in ("none", "mean")]
    single = history_frame(fits[0])
    assert list(single.columns) == ["iteration", "layer", "metric", "value"]
    history = fits[0].gradient_sign_history_
    assert len(single) == sum(v.size for v in history.values())
    for row in single.sample(25, random_state=0).itertuples():
        expected = history[row.metric][row.iteration - 1, row.layer]
        assert row.value == expected or (np.isnan(row.value) and np.isnan(expected))
    both = history_frame([fits[0], fits[1].gradient_sign_history_], labels=["none", "mean"])
    assert list(both.columns) == ["label", "iteration", "layer", "metric", "value"]
    assert isinstance(both, pd.DataFrame) and len(both) == 2 * len(single)
    part = both[(both.label == "mean") & (both.metric == "input_mean")]
    np.testing.assert_array_equal(
        part["value"].to_numpy().reshape(3, 3), fits[1].gradient_sign_history_["input_mean"])
    assert list(history_frame([history, history])["label"].unique()) == ["0", "1"]


# a two-epoch fit only to have a fitted estimator to pass by mistake
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_history_frame_errors(monkeypatch):
    import sys

    from centered_nn import MLPClassifier
    from centered_nn.diagnostics import history_frame

    history = {"same_sign_fraction": np.ones((2, 1))}
    with pytest.raises(ValueError, match="Got 1 labels for 2 histories"):
        history_frame([history, history], labels=["a"])
    with pytest.raises(ValueError, match="histories is empty"):
        history_frame([])
    fitted = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
        np.eye(4), [0, 1, 0, 1])
    with pytest.raises(TypeError, match=r"histories must be a gradient_sign_history_ dict "
                                        r".*estimator under 'x'.*labels="):
        history_frame({"x": fitted})
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r'history_frame requires pandas.*centered_nn\[pandas\]'):
        history_frame(history)
