"""The training loops as a user meets them: threads, switched settings, failures, Ctrl-C."""

import pickle
import threading
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info, threadpool_limits

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.activations import Tanh

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:200] / 16.0
Y_DIGITS = Y_DIGITS[:200]
ESTIMATORS = [MLPClassifier, MLPRegressor]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _target(cls):
    return Y_DIGITS if cls is MLPClassifier else Y_DIGITS / 9.0


def _blas_threads():
    return [(i["filepath"], i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]


# ------------------------------------------------------------- 18.2: BLAS threads
def _restore_blas_threads(before):
    """Put the process back as it was when a test failed (so later tests run as usual)."""
    if _blas_threads() != before:
        threadpool_limits(limits=max(n for _, n in before), user_api="blas")


#: Events the two fits of the ordered-overlap test meet at (module level: an
#: activation's parameters are copied by the estimator, events are not copyable).
_EVENTS = {}


class Meet(Tanh):
    """tanh whose second call (the first one inside the fit's BLAS limit) signals
    ``_EVENTS[role + ' inside']`` and waits for ``_EVENTS[wait]``."""

    def __init__(self, role="first", wait="second inside"):
        self.role = role
        self.wait = wait

    def value(self, z):
        self.calls_ = getattr(self, "calls_", 0) + 1
        if self.calls_ == 2:
            _EVENTS[self.role + " inside"].set()
            assert _EVENTS[self.wait].wait(timeout=60)
        return super().value(z)


@pytest.mark.parametrize("solvers", [("adam", "lbfgs"), ("lbfgs", "sgd")])
def test_overlapping_fits_in_threads_restore_the_blas_threads(solvers):
    """The first fit enters its one-thread limit, the second enters while the first is
    inside, the first leaves, then the second: an ordering in which limits that restore
    what they found leave the process on one thread."""
    _EVENTS.clear()
    _EVENTS.update({k: threading.Event() for k in ("first inside", "second inside",
                                                     "first done")})
    first = MLPClassifier(hidden_layer_sizes=(4,), activation=Meet("first", "second inside"),
                          solver=solvers[0], max_iter=2, random_state=0)
    second = MLPClassifier(hidden_layer_sizes=(4,), activation=Meet("second", "first done"),
                           solver=solvers[1], max_iter=2, random_state=0)
    before = _blas_threads()
    if not before or max(n for _, n in before) < 2:
        pytest.skip("BLAS runs on one thread already: nothing a limit could fail to restore")
    threads = [threading.Thread(target=est.fit, args=(X_DIGITS, Y_DIGITS))
               for est in (first, second)]
    try:
        threads[0].start()
        assert _EVENTS["first inside"].wait(timeout=60)
        threads[1].start()
        threads[0].join()
        _EVENTS["first done"].set()
        threads[1].join()
        assert _blas_threads() == before
    finally:
        _restore_blas_threads(before)
    assert first.n_iter_ > 0 and second.n_iter_ > 0


def test_four_fits_in_a_thread_pool_leave_the_blas_threads_as_found():
    from concurrent.futures import ThreadPoolExecutor

    estimators = [MLPClassifier(hidden_layer_sizes=(8,), solver=solver, max_iter=15,
                                random_state=seed)
                  for seed, solver in enumerate(["adam", "lbfgs", "adam", "lbfgs"])]
    before = _blas_threads()
    try:
        with ThreadPoolExecutor(4) as pool:
            fitted = list(pool.map(lambda est: est.fit(X_DIGITS, Y_DIGITS), estimators))
        assert _blas_threads() == before
    finally:
        _restore_blas_threads(before)
    assert all(est.n_iter_ > 0 for est in fitted)


# ------------------------------------------------- 18.3: settings switched between calls
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_warm_start_can_switch_early_stopping_on_and_off(cls):
    est = cls(hidden_layer_sizes=(8,), solver="adam", max_iter=5, warm_start=True,
              random_state=0)
    y = _target(cls)
    est.fit(X_DIGITS, y)
    est.set_params(early_stopping=True).fit(X_DIGITS, y)
    assert len(est.validation_scores_) == est.n_iter_ == 5
    assert est.best_validation_score_ == max(est.validation_scores_)
    assert est.best_loss_ is None
    est.set_params(early_stopping=False).fit(X_DIGITS, y)
    assert est.validation_scores_ is None and est.best_validation_score_ is None
    assert est.best_loss_ == min(est.loss_curve_[-est.n_iter_:])
    assert len(est.loss_curve_) == 15


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_partial_fit_after_an_lbfgs_fit_with_the_solver_switched(cls):
    y = _target(cls)
    est = cls(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=5, random_state=0)
    est.fit(X_DIGITS, y)
    n_lbfgs = len(est.loss_curve_)
    est.set_params(solver="sgd")
    est.partial_fit(X_DIGITS, y)
    est.partial_fit(X_DIGITS, y)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == n_lbfgs + 2
    assert est.best_loss_ == min(est.loss_curve_[-2:])
    assert est.validation_scores_ is None


# ------------------------------------------------------------------ 18.4: messages
# The overflow is the point: numpy warns on its way (the numba path does not), the
# ValueError that follows is what is asserted.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_lbfgs_non_finite_failure_does_not_point_to_the_learning_rate():
    est = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", activation="identity",
                       max_iter=50, random_state=0)
    with pytest.raises(ValueError, match="L-BFGS") as info:
        est.fit(X_DIGITS * 1e154, Y_DIGITS)
    assert "learning_rate_init" not in str(info.value)
    assert "scale the input" in str(info.value) and "alpha" in str(info.value)
    assert not hasattr(est, "coefs_")


# The overflow is the point: numpy warns on its way (the numba path does not), the
# ValueError that follows is what is asserted.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "adam"])
def test_loss_overflow_from_the_target_scale_is_named(solver):
    y = np.linspace(1.0, 2.0, len(X_DIGITS)) * 1e200
    est = MLPRegressor(hidden_layer_sizes=(8,), solver=solver, max_iter=5, random_state=0)
    with pytest.raises(ValueError, match=r"loss overflowed .* the targets are as large as "
                                         r"2e\+200, too large for the loss; scale y") as info:
        est.fit(X_DIGITS, y)
    assert "non-finite parameter weights" not in str(info.value)
    assert "learning_rate_init" not in str(info.value)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_all_negative_sample_weights_are_named(cls):
    with pytest.raises(ValueError, match=r"sample_weight has negative values and sums to "
                                         r"-200.0; sample weights must be non-negative"):
        cls(hidden_layer_sizes=(4,), max_iter=2).fit(X_DIGITS, _target(cls),
                                                      sample_weight=-np.ones(len(X_DIGITS)))


def test_a_minibatch_with_negative_weights_summing_to_zero_or_less_is_named():
    """A positive total, but one minibatch whose negative weight outweighs the rest: the
    message names the negative weights, not zero-weight samples."""
    sw = np.ones(len(X_DIGITS))
    sw[0] = -5.0
    est = MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", batch_size=2, shuffle=False,
                        max_iter=2)
    with pytest.raises(ValueError, match=r"sum to -4\.0 and include negative weights: the "
                                         r"batch loss is undefined; sample weights must be "
                                         r"non-negative"):
        est.fit(X_DIGITS, Y_DIGITS, sample_weight=sw)


# ------------------------------------------------------------- 18.7: KeyboardInterrupt
class InterruptAt(Tanh):
    """tanh that raises KeyboardInterrupt on its ``at``-th call (Ctrl-C, reproducibly)."""

    def __init__(self, at=5):
        self.at = at

    def value(self, z):
        self.calls_ = getattr(self, "calls_", 0) + 1
        if self.calls_ == self.at:
            raise KeyboardInterrupt
        return super().value(z)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_interrupt_before_the_first_epoch_propagates_and_leaves_no_model(cls, solver):
    # call 1 is the fit's check of the activation; call 3 is inside the first epoch
    # (two batches of 100) or the first L-BFGS evaluations
    est = cls(activation=InterruptAt(at=3), hidden_layer_sizes=(8,), batch_size=100,
              solver=solver, max_iter=3, random_state=0)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X_DIGITS, _target(cls))
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_iter_")
    with pytest.raises(NotFittedError):
        est.predict(X_DIGITS)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_interrupt_in_the_first_epoch_of_a_later_call_keeps_the_previous_model(cls, how):
    y = _target(cls)
    est = cls(hidden_layer_sizes=(8,), batch_size=100, solver="sgd", max_iter=2,
              warm_start=True, random_state=0).fit(X_DIGITS, y)
    before = pickle.loads(pickle.dumps(est))
    est.set_params(activation=InterruptAt(at=3))
    with pytest.raises(KeyboardInterrupt):
        est.fit(X_DIGITS, y) if how == "warm_start" else est.partial_fit(X_DIGITS, y)
    assert (est.n_iter_, est.t_, est.loss_curve_) == (before.n_iter_, before.t_,
                                                       before.loss_curve_)
    for a, b in zip(est.coefs_ + est.intercepts_, before.coefs_ + before.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_interrupt_after_an_epoch_keeps_the_model_so_far(solver):
    # two batches an epoch: call 4 is the first batch of epoch 2
    est = MLPClassifier(activation=InterruptAt(at=4), hidden_layer_sizes=(8,), batch_size=100,
                        solver=solver, max_iter=3, random_state=0)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est.fit(X_DIGITS, Y_DIGITS)
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1 and est.t_ == len(X_DIGITS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = MLPClassifier(activation="tanh", hidden_layer_sizes=(8,), batch_size=100,
                            solver=solver,
                            max_iter=1, random_state=0).fit(X_DIGITS, Y_DIGITS)
    for a, b in zip(est.coefs_, one.coefs_):
        np.testing.assert_array_equal(a, b)  # the first epoch's model, nothing of the second


# ------------------------------------------------------------ the loops' inputs
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fit_settings_are_the_estimators_parameters_frozen(cls):
    import dataclasses

    from centered_nn._training.settings import FitSettings

    params = cls(solver="sgd", alpha=0.5, batch_size=7, tol=0.0).get_params()
    settings = FitSettings.from_params(params)
    for field in dataclasses.fields(FitSettings):
        assert getattr(settings, field.name) == params[field.name]
    assert (settings.alpha, settings.batch_size, settings.stochastic) == (0.5, 7, True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.alpha = 1.0
    assert not FitSettings.from_params({**params, "solver": "lbfgs"}).stochastic


def test_parameter_layout_names_places_and_sorts_the_trainable_arrays():
    from centered_nn._training.layout import ParameterLayout

    est = MLPClassifier(hidden_layer_sizes=(5,), input_bias="learned", input_bias_layers="all",
                        max_iter=2, random_state=0).fit(X_DIGITS, Y_DIGITS)
    net = est._network()
    layout = ParameterLayout.of(net, offsets_trained=True)
    assert layout.slots == [("coefs", 0), ("coefs", 1), ("intercepts", 0), ("intercepts", 1),
                            ("offsets", 0), ("offsets", 1)]
    arrays = est.coefs_ + est.intercepts_ + est.input_biases_
    np.testing.assert_array_equal(layout.vector(), np.concatenate([a.ravel() for a in arrays]))
    x = np.arange(layout.size, dtype=np.float64)
    layout.place(x)  # the estimator's own lists now hold views of x
    assert all(np.shares_memory(a, x) for a in est.coefs_ + est.intercepts_ + est.input_biases_)
    np.testing.assert_array_equal(est.input_biases_[1], x[-5:])
    np.testing.assert_array_equal(est.coefs_[0].ravel(), x[:64 * 5])
    coefs, intercepts, offsets = layout.by_kind(layout.split(x))
    assert [c.shape for c in coefs] == [(64, 5), (5, 10)]
    assert [b.shape for b in offsets] == [(64,), (5,)] and intercepts[1].shape == (10,)
    fixed = ParameterLayout.of(net, offsets_trained=False)
    assert [kind for kind, _ in fixed.slots] == ["coefs"] * 2 + ["intercepts"] * 2
    assert fixed.by_kind(fixed.split(x[:fixed.size]))[2] == [None, None]


# The overflow is the point: numpy warns on its way (the numba path does not), the
# ValueError that follows is what is asserted.
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_classifier_whose_weights_overflow_the_penalty_is_told_the_step_size():
    """A classifier's targets never exceed its outputs' range: a loss that overflows
    there (the L2 penalty of huge weights) is a step too large, not the targets' scale."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X) + 3.0
    est = MLPClassifier(hidden_layer_sizes=(64,), activation="logistic", solver="sgd",
                        momentum=0.0, learning_rate_init=10.0, input_bias="learned",
                        max_iter=60, n_iter_no_change=60, random_state=0)
    with pytest.raises(ValueError, match=r"non-finite .*learning_rate_init=10\.0") as info:
        est.fit(X[::2], y[::2])
    assert "targets are as large" not in str(info.value)


def test_a_non_finite_failure_crosses_process_boundaries():
    """Raised in a joblib worker (cross_validate with n_jobs=2, error_score='raise'), the
    error reaches the caller with its message, not an unpickling TypeError."""
    from sklearn.model_selection import cross_validate

    from centered_nn._training.failures import NonFiniteLoss

    error = NonFiniteLoss("step", "a cause", "in epoch 2")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NonFiniteLoss and str(copy) == str(error)
    assert (copy.kind, copy.cause, copy.where) == ("step", "a cause", "in epoch 2")
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X) + 3.0
    est = MLPClassifier(hidden_layer_sizes=(64,), activation="logistic", solver="sgd",
                        momentum=0.0, learning_rate_init=10.0, input_bias="learned",
                        max_iter=60, n_iter_no_change=60, random_state=0)
    with pytest.raises(ValueError, match=r"non-finite .*learning_rate_init=10\.0"):
        cross_validate(est, X, y, cv=2, n_jobs=2, error_score="raise")


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("kind", ["C", "F", "sparse", "float32"])
def test_minibatches_are_the_rows_indexed_in_order(shuffle, kind):
    """Shuffled, each batch is ``A[order[start:stop]]`` of X, Y and the weights (taken
    with np.take where that is the same copy, C-contiguous as indexing gives it);
    unshuffled, the slices ``A[start:stop]``."""
    import scipy.sparse as sp

    from centered_nn._training.loops import Minibatches

    rng = np.random.default_rng(0)
    X = rng.standard_normal((53, 7))
    X = {"C": X, "F": np.asfortranarray(X), "sparse": sp.csr_matrix(X * (X > 0.5)),
         "float32": X.astype(np.float32)}[kind]
    Y = np.eye(4, dtype=bool)[rng.integers(0, 4, 53)]
    sw = rng.uniform(0.5, 2.0, 53)
    order = rng.permutation(53) if shuffle else np.arange(53)
    batches = list(Minibatches((X, Y, sw), order, 10, shuffle))
    assert [len(b[3]) for b in batches] == [10, 10, 10, 10, 10, 3]
    for start, (Xb, Yb, swb, rows) in zip(range(0, 53, 10), batches):
        np.testing.assert_array_equal(rows, order[start:start + 10])
        expected = X[order[start:start + 10]] if shuffle else X[start:start + 10]  # a view
        if sp.issparse(X):
            assert sp.issparse(Xb) and (Xb != expected).nnz == 0
        else:
            assert Xb.dtype == X.dtype and Xb.flags.c_contiguous == expected.flags.c_contiguous
            np.testing.assert_array_equal(Xb, expected)
        np.testing.assert_array_equal(Yb, Y[order[start:start + 10]])
        np.testing.assert_array_equal(swb, sw[order[start:start + 10]])
