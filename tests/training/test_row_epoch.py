"""The compiled epoch at batch_size=1: scikit-learn's trajectories bit for bit, the numpy
path's history, its self-check, and where it steps aside."""

import ctypes
import warnings

import numpy as np
import pytest
import sklearn.neural_network as sk_nn
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn._training import row_epoch
from centered_nn._training import ufunc_address
from centered_nn._training.row_epoch import RowEpochs
from centered_nn._training.ufunc_address import ufunc_loop_address

pytest.importorskip("numba")


@pytest.fixture
def compiled_on(compiled_switch):
    compiled_switch.ENABLED = True
    return compiled_switch


@pytest.fixture
def epochs_run(monkeypatch):
    """The compiled epochs of fits run during the test (not those of the self-check, which
    has no numpy path's gradients to fall back on)."""
    calls = []
    original = RowEpochs.__call__

    def counted(self, order, epoch):
        if self.gradients is not None:
            calls.append(epoch)
        return original(self, order, epoch)

    monkeypatch.setattr(RowEpochs, "__call__", counted)
    return calls


@pytest.fixture
def numpy_path(monkeypatch):
    """Makes every fit of the test take the numpy path's epochs."""
    def use_numpy():
        monkeypatch.setattr(RowEpochs, "plan", classmethod(lambda cls, *args: None))
    return use_numpy


def _digits(n=150):
    X, y = load_digits(return_X_y=True)
    return X[:n] / 16.0, y[:n]


def _fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def _assert_same_fit(ours, theirs):
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(ours, name), getattr(theirs, name)):
            np.testing.assert_array_equal(a, b)
    assert ours.loss_curve_ == theirs.loss_curve_
    assert ours.n_iter_ == theirs.n_iter_ and ours.t_ == theirs.t_


TARGETS = {
    "multiclass": lambda y: y,
    "binary": lambda y: y % 2,
    "multilabel": lambda y: np.stack([y % 2, y > 4], axis=1),
}
SOLVERS = [
    dict(solver="sgd"),
    dict(solver="sgd", nesterovs_momentum=False, learning_rate="invscaling"),
    dict(solver="adam", learning_rate_init=0.01),
]


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("solver", SOLVERS, ids=["sgd", "momentum-invscaling", "adam"])
@pytest.mark.parametrize("target", TARGETS)
def test_classifier_equals_scikit_learn(compiled_on, epochs_run, activation, solver, target):
    X, y = _digits()
    Y = TARGETS[target](y)
    params = dict(hidden_layer_sizes=(7, 5), activation=activation, batch_size=1, max_iter=3,
                  alpha=1e-3, random_state=0, **solver)
    ours = _fit(MLPClassifier(**params), X, Y)
    _assert_same_fit(ours, _fit(sk_nn.MLPClassifier(**params), X, Y))
    assert epochs_run == [1, 2, 3]


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("solver", SOLVERS, ids=["sgd", "momentum-invscaling", "adam"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_equals_scikit_learn(compiled_on, epochs_run, activation, solver, n_outputs):
    X, y = _digits()
    Y = y / 9.0 if n_outputs == 1 else np.stack([y / 9.0, X[:, 20]], axis=1)
    params = dict(hidden_layer_sizes=(6,), activation=activation, batch_size=1, max_iter=3,
                  random_state=1, **{"learning_rate_init": 0.01, **solver})
    ours = _fit(MLPRegressor(**params), X, Y)
    _assert_same_fit(ours, _fit(sk_nn.MLPRegressor(**params), X, Y))
    assert len(epochs_run) == 3


def test_early_stopping_shuffle_and_partial_fit_equal_scikit_learn(compiled_on, epochs_run):
    X, y = _digits(300)
    params = dict(hidden_layer_sizes=(9,), batch_size=1, max_iter=4, random_state=3,
                  early_stopping=True, validation_fraction=0.2)
    _assert_same_fit(_fit(MLPClassifier(**params), X, y),
                     _fit(sk_nn.MLPClassifier(**params), X, y))
    params = dict(hidden_layer_sizes=(9,), batch_size=1, shuffle=False, random_state=3,
                  solver="adam")
    ours, theirs = MLPClassifier(**params), sk_nn.MLPClassifier(**params)
    for _ in range(3):
        ours.partial_fit(X, y, classes=np.arange(10))
        theirs.partial_fit(X, y, classes=np.arange(10))
    _assert_same_fit(ours, theirs)
    assert len(epochs_run) >= 4 + 3


@pytest.mark.parametrize("record", [True, ["sign_flip_fraction", "input_mean"]])
@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_history_equals_the_numpy_paths(compiled_on, epochs_run, numpy_path, record,
                                        estimator):
    X, y = _digits(300)  # over two blocks of kept rows per epoch
    y = y if estimator is MLPClassifier else y.astype(np.int32)  # cast to float64 as numpy's
    params = dict(hidden_layer_sizes=(8, 6), batch_size=1, max_iter=2, random_state=0,
                  record_gradient_signs=record, activation="tanh")
    compiled = _fit(estimator(**params), X, y)
    assert len(epochs_run) == 2
    numpy_path()
    reference = _fit(estimator(**params), X, y)
    assert len(epochs_run) == 2
    _assert_same_fit(compiled, reference)
    assert compiled.gradient_sign_history_.keys() == reference.gradient_sign_history_.keys()
    for name, values in reference.gradient_sign_history_.items():
        np.testing.assert_array_equal(compiled.gradient_sign_history_[name], values)


def test_a_non_finite_loss_raises_as_on_the_numpy_path(compiled_on, epochs_run, numpy_path):
    X, y = _digits()
    params = dict(hidden_layer_sizes=(5,), activation="identity", batch_size=1,
                  solver="sgd", learning_rate_init=1e3, max_iter=5, random_state=0)
    with pytest.raises(ValueError) as compiled, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        MLPRegressor(**params).fit(X, y * 1e3)
    assert epochs_run
    numpy_path()
    with pytest.raises(ValueError) as reference, warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        MLPRegressor(**params).fit(X, y * 1e3)
    assert str(compiled.value) == str(reference.value)
    assert "epoch" in str(compiled.value)


def test_a_failed_self_check_warns_and_trains_on_numpy(compiled_on, epochs_run, monkeypatch):
    """A wrong exp (numpy's sin loop in its place) makes the softmax differ: the check sees it."""
    monkeypatch.setattr(row_epoch, "_checked", {})
    sin = ufunc_loop_address(np.sin)
    monkeypatch.setattr(ufunc_address, "_addresses", {"exp": sin, "tanh": sin})
    X, y = _digits()
    params = dict(hidden_layer_sizes=(6,), batch_size=1, max_iter=2, random_state=0)
    with pytest.warns(RuntimeWarning, match="compiled batch_size=1 epoch does not match its "
                      "numpy path in this process .its parameters or losses differ."):
        ours = _fit(MLPClassifier(**params), X, y)
    assert epochs_run == []
    _assert_same_fit(ours, _fit(sk_nn.MLPClassifier(**params), X, y))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # once per process and setup
        _fit(MLPClassifier(**params), X, y)


@pytest.mark.parametrize("ufunc", [np.exp, np.tanh, np.sqrt])
def test_the_loop_address_is_numpys_float64_loop(ufunc):
    """Called through ctypes as numpy calls an inner loop, it gives the ufunc's values."""
    loop = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                            ctypes.c_void_p)(ufunc_loop_address(ufunc))
    x = np.random.default_rng(0).uniform(0.1, 5, 37)
    out = np.empty_like(x)
    args = (ctypes.c_void_p * 2)(x.ctypes.data, out.ctypes.data)
    loop(args, (ctypes.c_ssize_t * 1)(37), (ctypes.c_ssize_t * 2)(8, 8), None)
    np.testing.assert_array_equal(out, ufunc(x))


def test_a_ufunc_without_a_float64_loop_has_no_address():
    assert ufunc_loop_address(np.bitwise_and) == 0
    assert ufunc_loop_address(np.add) > 0  # binary ufuncs too ('dd->d')


@pytest.mark.parametrize("params, fit_params", [
    (dict(input_bias="mean"), {}),
    (dict(gradient_centralization=True), {}),
    (dict(activation="softplus"), {}),
    ({}, dict(sample_weight=np.linspace(0.5, 1.5, 150))),
    (dict(batch_size=2), {}),
])
def test_what_it_does_not_take_trains_on_numpy(compiled_on, epochs_run, params, fit_params):
    X, y = _digits()
    _fit(MLPClassifier(**{"hidden_layer_sizes": (5,), "batch_size": 1, "max_iter": 1,
                          **params}), X, y, **fit_params)
    assert epochs_run == []


def test_float32_and_sparse_inputs_train_on_numpy(compiled_on, epochs_run):
    from scipy import sparse

    X, y = _digits()
    for data in (X.astype(np.float32), sparse.csr_matrix(X)):
        _fit(MLPClassifier(hidden_layer_sizes=(5,), batch_size=1, max_iter=1), data, y)
    assert epochs_run == []


def _history_equal(a, b):
    assert a.keys() == b.keys()
    for name, values in b.items():
        np.testing.assert_array_equal(a[name], values, err_msg=name)


def _compiled_and_numpy(make, X, y, numpy_path, epochs_run):
    compiled = _fit(make(), X, y)
    assert epochs_run
    numpy_path()
    reference = _fit(make(), X, y)
    _assert_same_fit(compiled, reference)
    _history_equal(compiled.gradient_sign_history_, reference.gradient_sign_history_)
    return compiled


def test_steps_whose_signs_are_not_outer_products_are_seen_whole(compiled_on, epochs_run,
                                                                 numpy_path, monkeypatch):
    """Inputs of 1e-306 make products of the first layer's gradient round below the
    smallest normal float: those steps (and the ones after them, whose flips need the
    whole previous signs) are announced one by one; the history is the numpy path's."""
    whole = []
    original = RowEpochs._whole_step
    monkeypatch.setattr(RowEpochs, "_whole_step",
                        lambda self, row: whole.append(row) or original(self, row))
    X, y = _digits(120)
    X = X.copy()
    X[::7, 0] = 1e-306
    _compiled_and_numpy(lambda: MLPClassifier(hidden_layer_sizes=(6,), batch_size=1, max_iter=2,
                                              random_state=0), X, y, numpy_path, epochs_run)
    assert len(whole) > 20  # the first step, then the tiny rows and the steps after them


def test_a_metric_without_a_batched_form_takes_the_rows(compiled_on, epochs_run, numpy_path):
    """A user's metric has no batched form: the loop hands over the steps' rows instead."""
    from centered_nn.diagnostics import StepMetric

    class InputMax(StepMetric):
        name = "input_max"

        def step_value(self, step):
            return float(np.max(step.effective_input))

    X, y = _digits(300)
    compiled = _compiled_and_numpy(
        lambda: MLPClassifier(hidden_layer_sizes=(6,), batch_size=1, max_iter=2, random_state=0,
                              record_gradient_signs=["sign_flip_fraction", InputMax()]),
        X, y, numpy_path, epochs_run)
    assert not np.isnan(compiled.gradient_sign_history_["input_max"]).any()


def test_the_recorders_numpy_sums_of_summaries_are_its_compiled_ones(compiled_on, monkeypatch):
    """The recorder adds summaries in one compiled pass, or through the metrics' numpy
    ``kept_values`` when its kernels are off: the same history."""
    from centered_nn.diagnostics import _kernels as sign_kernels

    X, y = _digits(300)
    params = dict(hidden_layer_sizes=(7,), batch_size=1, max_iter=2, random_state=0,
                  record_gradient_signs=True)
    compiled = _fit(MLPClassifier(**params), X, y)
    monkeypatch.setattr(sign_kernels, "available", lambda: False)
    reference = _fit(MLPClassifier(**params), X, y)
    _history_equal(compiled.gradient_sign_history_, reference.gradient_sign_history_)


def test_ctrl_c_between_blocks_keeps_the_epochs_before(compiled_on, epochs_run, monkeypatch):
    """Ctrl-C is heard between two blocks of compiled steps: the epochs before it stay, the
    cut-short epoch's steps are not recorded, as on the numpy path."""
    from centered_nn.diagnostics import GradientSignRecorder

    calls = []
    original = GradientSignRecorder.on_row_summaries

    def interrupted(self, summaries):
        calls.append(len(summaries))
        if len(calls) == 3:  # epoch 1: its first step alone, then the 299 others; epoch 2
            raise KeyboardInterrupt
        return original(self, summaries)

    monkeypatch.setattr(GradientSignRecorder, "on_row_summaries", interrupted)
    X, y = _digits(300)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        est = MLPClassifier(hidden_layer_sizes=(6,), batch_size=1, max_iter=3,
                            random_state=0).fit(X, y)
    assert epochs_run == [1, 2]
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 1 and est.t_ == 300
    assert est.gradient_sign_history_["same_sign_fraction"].shape == (1, 2)
    assert all(count == 0 for row in est._state.recorder._counts for count in row.values())


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_later_calls_take_their_first_flips_against_the_last_step(compiled_on, epochs_run,
                                                                  numpy_path, how):
    """A call's first one-row step is summarised against no step before; the recorder takes
    its flips against the previous call's last step, as the numpy path does."""
    X, y = _digits(200)
    params = dict(hidden_layer_sizes=(7,), batch_size=1, max_iter=2, random_state=0,
                  warm_start=how == "warm_start")

    def three_calls():
        est = MLPClassifier(**params)
        for _ in range(3):
            if how == "partial_fit":
                est.partial_fit(X, y, classes=np.arange(10))
            else:
                _fit(est, X, y)
        return est

    compiled = three_calls()
    assert epochs_run
    numpy_path()
    reference = three_calls()
    _assert_same_fit(compiled, reference)
    _history_equal(compiled.gradient_sign_history_, reference.gradient_sign_history_)
    flips = compiled.gradient_sign_history_["sign_flip_fraction"]
    assert not np.isnan(flips).any()


@pytest.mark.parametrize("record", [True, False, ["input_max"]])
def test_steps_run_in_few_calls(compiled_on, monkeypatch, record):
    """Only the summarising loop takes its first step alone: then whole blocks of steps."""
    from centered_nn._training import row_epoch_loops
    from centered_nn.diagnostics import StepMetric

    class InputMax(StepMetric):
        name = "input_max"

        def step_value(self, step):
            return float(np.max(step.effective_input))

    calls = []
    original = row_epoch_loops.run_rows

    def counted(data, start, stop, *args):
        if data[0].shape[0] == 600:  # the fit's, not the self-check's
            calls.append(stop - start)
        return original(data, start, stop, *args)

    monkeypatch.setattr(row_epoch_loops, "run_rows", counted)
    X, y = _digits(600)
    metrics = [InputMax()] if isinstance(record, list) else record
    _fit(MLPClassifier(hidden_layer_sizes=(5,), batch_size=1, max_iter=2, random_state=0,
                       record_gradient_signs=metrics), X, y)
    expected = {True: [1, 512, 87, 512, 88], False: [600, 600],
                "rows": [128] * 4 + [88] + [128] * 4 + [88]}
    assert calls == expected["rows" if isinstance(record, list) else record]


def test_inputs_in_any_memory_layout_equal_scikit_learn(compiled_on, epochs_run):
    """Rows are copied out of X and Y in the loop: Fortran order and strided views train
    as C-contiguous arrays do."""
    X, y = _digits(120)
    X_f = np.asfortranarray(X)
    Y2 = np.stack([y / 9.0, X[:, 20], X[:, 30]], axis=1)[:, ::2]  # a strided view
    params = dict(hidden_layer_sizes=(5,), batch_size=1, max_iter=2, random_state=0)
    _assert_same_fit(_fit(MLPClassifier(**params), X_f, y),
                     _fit(sk_nn.MLPClassifier(**params), X_f, y))
    _assert_same_fit(_fit(MLPRegressor(**params), X_f, Y2),
                     _fit(sk_nn.MLPRegressor(**params), X_f, Y2))
    assert len(epochs_run) == 4
