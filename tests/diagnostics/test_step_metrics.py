"""User metrics (StepMetric) beside the built-ins: every path, validation, clone, pickle."""

import math
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.diagnostics import GradientSignRecorder, StepMetric
from centered_nn.diagnostics._metrics import BUILTIN_METRICS, DEFAULT_METRICS, resolve_metrics
from centered_nn.metrics import gradient_sign_scorer
from centered_nn.plotting import GradientSignDisplay


class EffectiveInputMean(StepMetric):
    """input_mean written the way a user would, from the step's effective input."""

    name = "my_input_mean"

    def step_value(self, step):
        return float(np.mean(step.effective_input, dtype=np.float64))


class BatchRows(StepMetric):
    name = "batch_rows"

    def step_value(self, step):
        return float(step.inputs.shape[0])


class GradientIsDataTerm(StepMetric):
    """1.0 when weight_gradient is (a + b)ᵀ delta (centred under GC), to rounding."""

    name = "data_term"

    def step_value(self, step):
        E = np.asarray(step.effective_input, dtype=np.float64)
        expected = E.T @ np.asarray(step.delta, dtype=np.float64)
        if step.centered:
            expected = expected - expected.mean(axis=0)
        scale = np.abs(E).max() * np.abs(step.delta).sum(axis=0).max() + 1e-300
        return float(np.abs(step.weight_gradient - expected).max() <= 1e-10 * scale)


def _data(n=24, n_features=5, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.uniform(0.0, 1.0, (n, n_features))  # all positive: offsets matter
    return X, np.arange(n) % 3


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X, y)


@pytest.mark.parametrize("numba", [True, False])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("input_bias", ["none", "learned", "mean", "batch"])
@pytest.mark.parametrize("centralize", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_user_input_mean_equals_the_builtin_on_every_path(compiled_switch, numba, estimator,
                                                          input_bias, centralize, solver):
    """A user metric takes the reference path wherever the built-ins take a fast one
    (compiled counts, kept one-row steps): it is never NaN, and its mean of the
    effective input equals input_mean's to 1e-12."""
    compiled_switch.ENABLED = numba
    X, y = _data()
    # 'batch' refuses one-sample minibatches: two rows, the smallest it takes
    batch_size = 2 if input_bias == "batch" else 1
    est = estimator(hidden_layer_sizes=(4,), solver=solver, batch_size=batch_size, max_iter=2,
                    input_bias=input_bias, gradient_centralization=centralize, random_state=0,
                    record_gradient_signs=["input_mean", EffectiveInputMean(),
                                           GradientIsDataTerm()])
    history = _fit(est, X, y if estimator is MLPClassifier else y / 2.0).gradient_sign_history_
    assert list(history) == ["input_mean", "my_input_mean", "data_term"]
    mine = history["my_input_mean"]
    assert mine.shape == (len(est.loss_curve_), 2) and np.isfinite(mine).all()
    np.testing.assert_allclose(mine, history["input_mean"], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(history["data_term"], 1.0)


def test_user_metric_history_is_the_mean_over_each_iterations_steps():
    X, y = _data(n=10)
    est = _fit(MLPClassifier((3,), solver="sgd", batch_size=4, max_iter=2, shuffle=False,
                             random_state=0, record_gradient_signs=[BatchRows()]), X, y)
    # steps of 4, 4 and 2 rows in each epoch, for both weight matrices
    np.testing.assert_allclose(est.gradient_sign_history_["batch_rows"], 10 / 3, rtol=1e-15)


def test_builtins_keep_their_values_beside_a_user_metric(compiled_switch):
    """A user metric switches the kept one-row steps off (it has no batched form); the
    built-ins then take their per-step paths, with the same values."""
    X, y = _data()
    params = dict(hidden_layer_sizes=(4,), solver="sgd", batch_size=1, max_iter=2,
                  random_state=0)
    for numba in (True, False):
        compiled_switch.ENABLED = numba
        plain = _fit(MLPClassifier(**params), X, y).gradient_sign_history_
        mixed = _fit(MLPClassifier(record_gradient_signs=list(DEFAULT_METRICS) + [BatchRows()],
                                   **params), X, y).gradient_sign_history_
        for name in DEFAULT_METRICS:
            if name == "input_mean":  # the compiled sum runs in another order
                np.testing.assert_allclose(mixed[name], plain[name], rtol=1e-12)
            else:
                np.testing.assert_array_equal(mixed[name], plain[name], err_msg=name)


def test_metric_instances_clone_pickle_and_run_in_grid_search_workers():
    X, y = _data(n=40)
    est = MLPClassifier((4,), max_iter=2, random_state=0,
                        record_gradient_signs=["same_sign_fraction", EffectiveInputMean()])
    copy = clone(est)
    assert isinstance(copy.record_gradient_signs[1], EffectiveInputMean)
    assert copy.record_gradient_signs[1] is not est.record_gradient_signs[1]
    fitted = _fit(est, X, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.gradient_sign_history_["my_input_mean"],
                                  fitted.gradient_sign_history_["my_input_mean"])
    search = GridSearchCV(est, {"alpha": [1e-4, 1e-2]}, cv=2, n_jobs=2, error_score="raise",
                          scoring=gradient_sign_scorer(EffectiveInputMean()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    # the scorer reads the user's metric: the mean input of layer 0, the data's mean
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all()
    np.testing.assert_allclose(scores, X.mean(), rtol=0.1)
    history = search.best_estimator_.gradient_sign_history_
    assert list(history) == ["same_sign_fraction", "my_input_mean"]


def test_a_display_draws_a_user_metric():
    pytest.importorskip("matplotlib")
    X, y = _data()
    est = _fit(MLPClassifier((4,), max_iter=3, random_state=0,
                             record_gradient_signs=[BatchRows()]), X, y)
    display = GradientSignDisplay.from_estimator(est, metric=BatchRows(), layers=0)
    np.testing.assert_array_equal(display.ax_.lines[0].get_ydata(),
                                  est.gradient_sign_history_["batch_rows"][:, 0])


class Unnamed(StepMetric):
    def step_value(self, step):
        return 0.0


class NamedLikeABuiltin(StepMetric):
    name = "input_mean"

    def step_value(self, step):
        return -1.0


def test_bad_metric_entries_raise_clear_errors():
    X, y = _data()
    with pytest.raises(TypeError, match=r"entries must be metric names or StepMetric "
                                        r"instances; got 3 of type int"):
        MLPClassifier(record_gradient_signs=["input_mean", 3]).fit(X, y)
    with pytest.raises(TypeError, match="Unnamed\\(\\) has no name"):
        resolve_metrics([Unnamed()])
    with pytest.raises(ValueError, match="two metrics named 'my_input_mean'"):
        resolve_metrics([EffectiveInputMean(), EffectiveInputMean()])
    with pytest.raises(ValueError, match="two metrics named 'input_mean'"):
        resolve_metrics(["input_mean", NamedLikeABuiltin()])
    with pytest.raises(NotImplementedError, match="Unnamed must implement step_value"):
        StepMetric.step_value(Unnamed(), None)
    # a user metric may take a built-in's name in place of it
    (alone,) = resolve_metrics([NamedLikeABuiltin()])
    assert isinstance(alone, NamedLikeABuiltin)
    rec = GradientSignRecorder(1, metrics=[NamedLikeABuiltin()])
    rec.observe(0, np.ones((1, 2)), np.ones((1, 1)), np.ones((2, 1)), product=True)
    rec.end_iteration()
    assert rec.history == {"input_mean": np.array([[-1.0]])}


def test_registry_is_the_one_list_of_names():
    assert set(DEFAULT_METRICS) < set(BUILTIN_METRICS)
    assert "input_eigenvalue_ratio" not in DEFAULT_METRICS
    assert GradientSignRecorder.METRICS == DEFAULT_METRICS
    for name, metric in BUILTIN_METRICS.items():
        assert metric.name == name and isinstance(metric, StepMetric)
        # every built-in has a batched form for the kept one-row steps
        assert metric.kept_values is not None
    docs = [gradient_sign_scorer.__doc__, GradientSignDisplay.__doc__,
            GradientSignDisplay.from_history.__doc__, GradientSignDisplay.from_estimator.__doc__]
    for doc in docs:
        assert "METRIC_CHOICES" not in doc
        choices = doc[doc.index("metric : {") + len("metric : "):].split("}")[0] + "}"
        assert choices == "{" + ", ".join(map(repr, BUILTIN_METRICS)) + "}"


def test_recorder_without_fast_paths_matches_the_builtins(compiled_switch):
    """Each built-in's reference step_value (the numpy definitions), reached through a
    subclass that drops the fast paths, records what its fast paths record."""
    rng = np.random.default_rng(3)
    reference = []
    for metric in BUILTIN_METRICS.values():
        slow = type("Slow" + type(metric).__name__, (type(metric),),
                    {"from_counts": None, "kept_values": None})()
        reference.append(slow)
    for numba in (True, False):
        compiled_switch.ENABLED = numba
        fast = GradientSignRecorder(1, metrics=list(BUILTIN_METRICS))
        slow = GradientSignRecorder(1, metrics=reference)
        for step in range(40):
            n = 1 if step % 3 else 5
            a = rng.uniform(-0.2, 1.0, (n, 6))
            d = rng.standard_normal((n, 2))
            for rec in (fast, slow):
                rec.observe(0, a, d, a.T @ d, product=True)
            if step % 10 == 9:
                fast.end_iteration()
                slow.end_iteration()
        for name in BUILTIN_METRICS:
            got, expected = fast.history[name], slow.history[name]
            if name in ("input_mean", "input_eigenvalue_ratio"):
                np.testing.assert_allclose(got, expected, rtol=1e-12)
            else:
                np.testing.assert_array_equal(got, expected, err_msg=name)
            assert not math.isnan(got.sum())


def _row_steps(rng, n, fan_in, fan_out):
    A = rng.uniform(-0.3, 1.0, (n, fan_in))
    D = rng.standard_normal((n, fan_out))
    A[rng.random(A.shape) < 0.2] = 0.0
    A[5, :] = 0.0  # an all-zero input row
    A[9, 0] = 1e-200  # its products underflow to zero: signs not sign(a) ⊗ sign(d)
    D[17, :] = 0.0
    A[23, 1] = np.inf
    return A, D


@pytest.mark.parametrize("numba", [True, False])
@pytest.mark.parametrize("metrics", [None, list(BUILTIN_METRICS), ["input_mean", BatchRows()]])
@pytest.mark.parametrize("row_block", [GradientSignRecorder.ROW_BLOCK, 17])
def test_row_steps_in_blocks_equal_steps_one_by_one(compiled_switch, numba, metrics, row_block):
    """observe_rows (what a compiled batch-size-one epoch hands over) records what
    announcing each one-row step does, across flushes, iterations and odd rows."""
    compiled_switch.ENABLED = numba
    rng = np.random.default_rng(7)
    blocks = [_row_steps(rng, 40, 6, 3), _row_steps(rng, 25, 6, 3)]
    one, many = GradientSignRecorder(1, metrics=metrics), GradientSignRecorder(1, metrics=metrics)
    many.ROW_BLOCK = row_block  # 17: blocks of 17, 17 and 6 steps, then 17 and 8
    with np.errstate(all="ignore"):
        for A, D in blocks:
            for a, d in zip(A, D):
                a, d = a[None, :], d[None, :]
                one.observe(0, a, d, a.T @ d)  # each step summarised at once
            one.end_iteration()
            many.on_row_steps([A], [D])
            many.end_iteration()
    for name in one.metrics:
        if name == "input_mean":  # the compiled kernels sum in their own order
            np.testing.assert_allclose(many.history[name], one.history[name], rtol=1e-12)
        else:
            np.testing.assert_array_equal(many.history[name], one.history[name], err_msg=name)
    with pytest.raises(ValueError, match="one row per step"):
        many.observe_rows(0, np.ones((2, 6)), np.ones((3, 3)))


def test_a_pickled_estimator_keeps_recording_as_the_original(compiled_switch):
    """Metrics compare by value: after a pickle round trip (dask's Incremental ships the
    estimator between blocks) partial_fit keeps the recorder, and the flips compare
    with the last call's signs."""
    X, y = _data(n=60)
    params = dict(hidden_layer_sizes=(5,), solver="sgd", batch_size=20, random_state=0,
                  record_gradient_signs=["sign_flip_fraction", EffectiveInputMean()])
    kept, shipped = MLPClassifier(**params), MLPClassifier(**params)
    for start in (0, 20, 40):
        rows = slice(start, start + 20)
        kept.partial_fit(X[rows], y[rows], classes=[0, 1, 2])
        shipped = pickle.loads(pickle.dumps(shipped.partial_fit(X[rows], y[rows],
                                                                 classes=[0, 1, 2])))
    assert EffectiveInputMean() == EffectiveInputMean() and BatchRows() != EffectiveInputMean()
    for name, values in kept.gradient_sign_history_.items():
        np.testing.assert_array_equal(shipped.gradient_sign_history_[name], values)
    assert not np.isnan(kept.gradient_sign_history_["sign_flip_fraction"][1:]).any()
