import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from centered_nn.preprocessing import Centerer, SampleCenterer

STRATEGIES = ["mean", "median", "min", "none"]


# Centerer(strategy='none') takes any sparse format as it is; given scikit-learn's DOK
# matrix, scikit-learn's validation says it cannot scan that format for NaN.
@pytest.mark.filterwarnings("ignore:Can't check dok sparse matrix for nan or inf:UserWarning")
@parametrize_with_checks(
    [Centerer(strategy=s) for s in STRATEGIES]
    + [Centerer(shift=1.5), SampleCenterer()]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(loc=3.0, scale=2.0, size=(25, 4))


@pytest.fixture
def weights():
    return np.random.RandomState(1).uniform(0.1, 3.0, size=25)


# --- strategies -------------------------------------------------------------


def test_mean_matches_numpy(X, weights):
    assert_allclose(Centerer().fit(X).center_, X.mean(axis=0), rtol=1e-12)
    centerer = Centerer().fit(X, sample_weight=weights)
    expected = np.average(X, axis=0, weights=weights)
    assert_allclose(centerer.center_, expected, rtol=1e-12)
    assert_allclose(centerer.transform(X), X - expected, rtol=1e-12, atol=1e-12)
    assert_allclose(np.average(centerer.transform(X), axis=0, weights=weights), 0,
                    atol=1e-12)
    assert centerer.n_samples_seen_ == pytest.approx(weights.sum(), rel=1e-12)


@pytest.mark.parametrize("n_samples", [1, 2, 7, 8])
def test_unweighted_median_equals_numpy_median_exactly(n_samples):
    X = np.random.RandomState(n_samples).normal(size=(n_samples, 5))
    assert_array_equal(Centerer("median").fit(X).center_, np.median(X, axis=0))


def test_weighted_median_hand_worked():
    # Column 0 sorted values 1, 2, 3, 10 (rows shuffled on purpose).
    X = np.array([[3.0, 0.0], [10.0, 5.0], [1.0, -1.0], [2.0, 7.0]])
    # weights 1,3,1,1 -> sorted weights 1,1,1,3 (col 0), total 6, half 3:
    # cumulative weight reaches exactly 3 at value 3 -> midpoint (3 + 10) / 2.
    # Column 1 sorted: -1 (w1), 0 (w1), 5 (w3), 7 (w1): cum 1, 2, 5 -> 5.
    centerer = Centerer("median").fit(X, sample_weight=[1, 3, 1, 1])
    assert_array_equal(centerer.center_, [6.5, 5.0])
    # weight 4 on the value 10: total 7, half 3.5 is first reached at 10.
    centerer = Centerer("median").fit(X, sample_weight=[1, 4, 1, 1])
    assert_array_equal(centerer.center_[0], 10.0)
    # zero weight on the value 3 removes it: median of 1, 2, 10, 10 is 6.
    centerer = Centerer("median").fit(X, sample_weight=[0, 2, 1, 1])
    assert_array_equal(centerer.center_[0], 6.0)


@pytest.mark.parametrize("shift", [0.0, 1.5, -2.0])
def test_min_strategy_output_min_equals_shift(X, shift):
    Xt = Centerer("min", shift=shift).fit_transform(X)
    assert_array_equal(Xt.min(axis=0), np.full(X.shape[1], shift))
    assert np.all(Xt >= shift)


def test_min_strategy_ignores_zero_weight_samples(X):
    weights = np.ones(X.shape[0])
    argmin = X[:, 0].argmin()
    weights[argmin] = 0.0
    centerer = Centerer("min").fit(X, sample_weight=weights)
    assert centerer.center_[0] == np.delete(X[:, 0], argmin).min()


def test_none_strategy_is_identity(X):
    centerer = Centerer("none").fit(X)
    assert_array_equal(centerer.center_, np.zeros(X.shape[1]))
    assert_array_equal(centerer.transform(X), X)
    assert_allclose(Centerer("none", shift=2.0).fit_transform(X), X + 2.0,
                    rtol=1e-15)


@pytest.mark.parametrize("strategy", ["mean", "median", "min"])
def test_integer_weights_equal_repeated_rows(X, strategy):
    counts = np.random.RandomState(2).randint(0, 4, size=X.shape[0])
    counts[0] = 1
    weighted = Centerer(strategy).fit(X, sample_weight=counts)
    repeated = Centerer(strategy).fit(np.repeat(X, counts, axis=0))
    assert_allclose(weighted.center_, repeated.center_, rtol=1e-12)
    assert weighted.n_samples_seen_ == repeated.n_samples_seen_ == counts.sum()


# --- partial_fit ------------------------------------------------------------


def test_partial_fit_streaming_equals_one_shot(X, weights):
    streamed = Centerer()
    for chunk in np.array_split(np.arange(X.shape[0]), 3):
        streamed.partial_fit(X[chunk], sample_weight=weights[chunk])
    one_shot = Centerer().fit(X, sample_weight=weights)
    assert_allclose(streamed.center_, one_shot.center_, rtol=1e-12, atol=1e-12)
    assert_allclose(streamed.center_, np.average(X, axis=0, weights=weights),
                    rtol=1e-12)
    assert streamed.n_samples_seen_ == pytest.approx(weights.sum(), rel=1e-12)


def test_partial_fit_none_counts_samples(X):
    centerer = Centerer("none").partial_fit(X[:10]).partial_fit(X[10:])
    assert_array_equal(centerer.center_, np.zeros(X.shape[1]))
    assert centerer.n_samples_seen_ == X.shape[0]


@pytest.mark.parametrize("strategy", ["median", "min"])
def test_partial_fit_rejects_non_streaming_strategies(X, strategy):
    centerer = Centerer(strategy)
    assert not hasattr(centerer, "partial_fit")
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'") as exc:
        centerer.partial_fit(X)
    assert "partial_fit supports only strategy='mean' or 'none'" in str(exc.value.__cause__)
    # also when the strategy is changed after a streaming fit
    fitted = Centerer().partial_fit(X)
    partial_fit = fitted.partial_fit
    fitted.set_params(strategy=strategy)
    with pytest.raises(AttributeError, match="strategy='mean' or 'none'"):
        partial_fit(X)


# --- round trip, dtypes, no side effects ------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_inverse_transform_round_trip(X, strategy):
    centerer = Centerer(strategy, shift=0.7).fit(X)
    assert_allclose(centerer.inverse_transform(centerer.transform(X)), X,
                    rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_float32_preserved(X, strategy):
    X32 = X.astype(np.float32)
    centerer = Centerer(strategy, shift=1.5).fit(X32)
    Xt = centerer.transform(X32)
    assert Xt.dtype == np.float32
    assert centerer.inverse_transform(Xt).dtype == np.float32
    expected = X32.astype(np.float64) - centerer.center_ + 1.5
    assert_allclose(Xt, expected, rtol=1e-6, atol=1e-5)


def test_min_float32_output_min_equals_shift(X):
    Xt = Centerer("min", shift=0.25).fit_transform(X.astype(np.float32))
    assert_array_equal(Xt.min(axis=0), np.full(X.shape[1], 0.25, np.float32))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_input_arrays_not_modified(X, weights, strategy):
    X_orig, w_orig = X.copy(), weights.copy()
    centerer = Centerer(strategy, shift=1.0).fit(X, sample_weight=weights)
    centerer.transform(X)
    centerer.inverse_transform(X)
    SampleCenterer().fit(X).transform(X)
    assert_array_equal(X, X_orig)
    assert_array_equal(weights, w_orig)


# --- errors -----------------------------------------------------------------


def test_unknown_strategy(X):
    with pytest.raises(InvalidParameterError, match="strategy"):
        Centerer(strategy="mode").fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
@pytest.mark.parametrize("estimator", [Centerer(), SampleCenterer()])
def test_non_finite_rejected(X, bad, estimator):
    X_bad = X.copy()
    X_bad[3, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        estimator.fit(X_bad)
    estimator.fit(X)
    with pytest.raises(ValueError, match="NaN|infinity"):
        estimator.transform(X_bad)


def test_wrong_number_of_features(X):
    centerer = Centerer().fit(X)
    msg = "X has 3 features, but Centerer is expecting 4 features as input"
    with pytest.raises(ValueError, match=msg):
        centerer.transform(X[:, :3])
    with pytest.raises(ValueError, match=msg):
        centerer.inverse_transform(X[:, :3])


def test_negative_sample_weight_rejected(X):
    weights = np.ones(X.shape[0])
    weights[0] = -1
    with pytest.raises(ValueError, match="Negative values"):
        Centerer().fit(X, sample_weight=weights)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
@pytest.mark.parametrize(
    "estimator", [Centerer(), Centerer("median"), Centerer("none", shift=1.0)]
)
def test_sparse_rejected_with_hint(X, container, estimator):
    X_sparse = container(X)
    with pytest.raises(TypeError, match="input_bias='mean'"):
        estimator.fit(X_sparse)
    if hasattr(estimator, "partial_fit"):
        with pytest.raises(TypeError, match="dense"):
            estimator.partial_fit(X_sparse)
    estimator.fit(X)
    with pytest.raises(TypeError, match="input_bias='mean'"):
        estimator.transform(X_sparse)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array, sp.csc_matrix])
def test_sparse_passthrough_for_none_without_shift(X, container):
    X_sparse = container(np.where(X > 3, X, 0.0))
    centerer = Centerer("none").fit(X_sparse)
    Xt = centerer.transform(X_sparse)
    assert sp.issparse(Xt) and Xt.format == X_sparse.format
    assert isinstance(Xt, sp.sparray) == isinstance(X_sparse, sp.sparray)
    assert Xt is not X_sparse
    assert_array_equal(Xt.toarray(), X_sparse.toarray())
    assert_array_equal(centerer.inverse_transform(Xt).toarray(), X_sparse.toarray())
    Centerer("none").partial_fit(X_sparse)  # accepted too
    with pytest.raises(TypeError, match="dense"):
        SampleCenterer().fit(X_sparse)


# --- pandas -----------------------------------------------------------------


@pytest.mark.parametrize("estimator", [Centerer(shift=1.0), SampleCenterer()])
def test_pandas_output(X, estimator):
    pd = pytest.importorskip("pandas")
    columns = ["a", "b", "c", "d"]
    index = pd.RangeIndex(100, 100 + X.shape[0])
    df = pd.DataFrame(X, columns=columns, index=index)
    expected = estimator.fit(X).transform(X)
    out = estimator.set_output(transform="pandas").fit(df).transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == columns
    assert out.index.equals(index)
    assert_allclose(out.to_numpy(), expected, rtol=1e-12)
    assert list(estimator.get_feature_names_out()) == columns
    assert list(estimator.feature_names_in_) == columns


# --- SampleCenterer ---------------------------------------------------------


def test_sample_centerer(X):
    Xt = SampleCenterer().fit_transform(X)
    assert_allclose(Xt.mean(axis=1), 0, atol=1e-12)
    assert_allclose(Xt, X - X.mean(axis=1, keepdims=True), rtol=1e-12, atol=1e-12)


def test_sample_centerer_float32(X):
    X32 = X.astype(np.float32)
    Xt = SampleCenterer().fit(X32).transform(X32)
    assert Xt.dtype == np.float32
    assert_allclose(Xt, X - X.mean(axis=1, keepdims=True), atol=1e-5)
    assert_allclose(Xt.astype(np.float64).mean(axis=1), 0, atol=1e-6)


def test_sample_centerer_wrong_number_of_features(X):
    msg = "X has 3 features, but SampleCenterer is expecting 4 features as input"
    with pytest.raises(ValueError, match=msg):
        SampleCenterer().fit(X).transform(X[:, :3])


def test_sample_centerer_is_stateless_like_normalizer(X):
    # Like sklearn's Normalizer: requires_fit=False, transform works unfitted.
    from sklearn.utils import get_tags

    assert get_tags(SampleCenterer()).requires_fit is False
    assert_allclose(SampleCenterer().transform(X), X - X.mean(1, keepdims=True),
                    rtol=1e-12, atol=1e-12)


# --- values near the float64 limit (issue 18, item 6) -------------------------


@pytest.mark.filterwarnings("error")  # no overflow RuntimeWarning either
def test_mean_of_huge_values_neither_overflows_nor_turns_nan():
    big = np.full((3, 2), 1.5e308)
    big[:, 1] = np.finfo(np.float64).max
    streamed = Centerer().partial_fit(big).partial_fit(big)
    assert_allclose(streamed.center_, big[0], rtol=1e-15)  # thirds of the weight: rounding
    assert streamed.n_samples_seen_ == 6.0
    assert_allclose(Centerer().fit(np.vstack([big, big])).center_, big[0], rtol=1e-15)
    weighted = Centerer().fit(big, sample_weight=[1e300, 2e300, 3e300])
    assert_allclose(weighted.center_, big[0], rtol=1e-15)
    opposite = Centerer().partial_fit(big).partial_fit(-big)
    assert_array_equal(opposite.center_, [0.0, 0.0])
    shifted = Centerer().partial_fit(big[:, :1]).partial_fit(-big[:1, :1] / 3)
    assert_allclose(shifted.center_, [1.5e308 * 0.75 - 0.5e308 * 0.25], rtol=1e-15)


def test_total_weight_overflow_is_refused_not_nan():
    centerer = Centerer().partial_fit(np.ones((2, 1)), sample_weight=[5e307, 5e307])
    with pytest.raises(ValueError, match=r"sample weights seen so far \(this batch included\) "
                                         r"sum to inf in float64: rescale sample_weight"):
        with np.errstate(over="ignore"):
            centerer.partial_fit(np.ones((1, 1)), sample_weight=[1e308])
    assert centerer.n_samples_seen_ == 1e308  # left as it was


# --- scikit-learn's callbacks, as StandardScaler takes them (issue 25, item 2) ---------


class _Tasks:
    """Records (hook, task_name, sample_weight seen) of every task hook."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        self.events.append(("setup", context.task_name, None))

    def teardown(self, estimator, context):
        self.events.append(("teardown", context.task_name, None))

    def on_fit_task_begin(self, estimator, context, *, metadata=None):
        self.events.append(("begin", context.task_name, (metadata or {}).get("sample_weight")))

    def on_fit_task_end(self, estimator, context, *, metadata=None, fitted_estimator=None):
        assert fitted_estimator is not None and hasattr(fitted_estimator, "n_features_in_")
        self.events.append(("end", context.task_name, (metadata or {}).get("sample_weight")))


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_centerer_fits_are_callback_tasks_with_the_users_weights(X, method):
    pytest.importorskip("sklearn.callback")
    weights = list(np.linspace(1.0, 2.0, X.shape[0]))
    tasks = _Tasks()
    centerer = Centerer().set_callbacks(tasks)
    getattr(centerer, method)(X, sample_weight=weights)
    assert [e[:2] for e in tasks.events] == [("setup", method), ("begin", method),
                                             ("end", method), ("teardown", method)]
    assert tasks.events[1][2] is weights and tasks.events[2][2] is weights  # as passed
    assert not hasattr(centerer, "_callback_fit_ctx")  # the context is gone after fit
    tasks = _Tasks()
    SampleCenterer().set_callbacks(tasks).fit(X)
    assert [e[:2] for e in tasks.events] == [("setup", "fit"), ("begin", "fit"),
                                             ("end", "fit"), ("teardown", "fit")]
