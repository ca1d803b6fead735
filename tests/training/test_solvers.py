"""The in-place optimisers reproduce scikit-learn's optimisers bit for bit; BLAS threads."""

import copy
import tracemalloc

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from threadpoolctl import ThreadpoolController

from centered_nn._training.solvers import SGD, SMALL_PRODUCT, Adam
from centered_nn.activations import ReLU

SHAPES = [(7, 5), (5, 3), (5,), (3,)]


@pytest.fixture(params=["numpy", "numba"])
def step_path(request, compiled_switch):
    """Run the test on the numpy step and on the compiled one (skipped without numba)."""
    if request.param == "numba":
        pytest.importorskip("numba")
    compiled_switch.ENABLED = request.param == "numba"
    return request.param


def _params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _grads(dtype, step):
    rng = np.random.default_rng(100 + step)
    grads = [(rng.standard_normal(s) * 10.0 ** rng.integers(-6, 3)).astype(dtype) for s in SHAPES]
    grads[0][0, 0] = 0.0  # zeros and tiny values are rounded like the rest
    grads[1][1, 1] = 1e-300 if dtype == np.float64 else 1e-40
    return grads


def _run_both(ours, theirs, params_ours, params_theirs, dtype, n_steps=12, epoch=4):
    for step in range(n_steps):
        grads = _grads(dtype, step)
        ours.step(params_ours, [g.copy() for g in grads])
        theirs.update_params(params_theirs, [g.copy() for g in grads])
        if (step + 1) % epoch == 0:
            ours.iteration_ends(step * 10)
            theirs.iteration_ends(step * 10)
        for a, b in zip(params_ours, params_theirs):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.9, 0.0])
def test_sgd_matches_scikit_learn_bitwise(step_path, dtype, schedule, nesterov, momentum):
    mine, theirs = _params(dtype), _params(dtype)
    ours = SGD(mine, 0.05, schedule, momentum, nesterov, 0.5)
    sk = SGDOptimizer(theirs, 0.05, schedule, momentum, nesterov, 0.5)
    _run_both(ours, sk, mine, theirs, dtype)
    if schedule == "adaptive":  # a learning-rate cut takes effect in the next steps
        assert ours.trigger_stopping("", False) is sk.trigger_stopping("", False) is False
        _run_both(ours, sk, mine, theirs, dtype, n_steps=3)
        assert ours.learning_rate == sk.learning_rate


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("betas", [(0.9, 0.999, 1e-8), (0.5, 0.9, 1e-3)])
def test_adam_matches_scikit_learn_bitwise(step_path, dtype, betas):
    mine, theirs = _params(dtype), _params(dtype)
    ours = Adam(mine, 0.01, *betas)
    sk = AdamOptimizer(theirs, 0.01, *betas)
    _run_both(ours, sk, mine, theirs, dtype, n_steps=20)
    assert ours.t == sk.t == 20 and ours.learning_rate == sk.learning_rate


def test_flat_parameters_give_the_same_update(step_path):
    """One flat array updates exactly like the separate arrays it concatenates."""
    for make in (lambda p: Adam(p, 0.01, 0.9, 0.999, 1e-8),
                 lambda p: SGD(p, 0.05, "constant", 0.9, True, 0.5)):
        separate = _params(np.float64)
        flat = np.concatenate([p.ravel() for p in separate])
        opt_separate, opt_flat = make(separate), make([flat])
        for step in range(5):
            grads = _grads(np.float64, step)
            opt_separate.step(separate, grads)
            opt_flat.step([flat], [np.concatenate([g.ravel() for g in grads])])
        np.testing.assert_array_equal(flat, np.concatenate([p.ravel() for p in separate]))


def test_the_limit_is_restored_from_a_fresh_thread_so_the_next_fit_gets_its_own():
    """OpenBLAS ignores a thread count set from another thread than the last setter once
    that setter has run BLAS calls: restored from the fit's own thread (here the calling
    thread, which runs BLAS), the next fit's limit, set from a fresh thread, would not
    hold. Two fits in a row in this thread, on their own, catch that."""
    from centered_nn import MLPClassifier

    def blas():
        return {i["num_threads"] for i in ThreadpoolController().info()
                if i["user_api"] == "blas"}

    before = blas()
    if max(before) < 2:
        pytest.skip("BLAS runs on one thread already: a limit of one changes nothing")
    X = np.random.default_rng(0).standard_normal((400, 16))
    X @ X.T  # this thread has run BLAS calls, as a session's main thread has
    y = np.arange(400) % 2
    fits = [MLPClassifier(hidden_layer_sizes=(8,), activation=_ThreadsSeen(), max_iter=1,
                          random_state=0) for _ in range(2)]
    try:
        for clf in fits:
            with pytest.warns(ConvergenceWarning):
                clf.fit(X, y)
            assert clf.activation_.seen_ == {1}  # the limit held inside each fit
            assert blas() == before  # and was lifted after it
    finally:
        if blas() != before:  # leave the process as found for the tests that follow
            ThreadpoolController().limit(limits=max(before), user_api="blas")


@pytest.mark.parametrize("make", [lambda p: Adam(p, 0.01, 0.9, 0.999, 1e-8),
                                  lambda p: SGD(p, 0.05, "constant", 0.9, True, 0.5)],
                         ids=["adam", "sgd"])
def test_a_step_holds_at_most_two_temporaries_and_keeps_none(step_path, make):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((300, 200)), rng.standard_normal(200)]
    grads = [rng.standard_normal((300, 200)), rng.standard_normal(200)]
    opt = make(params)
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(params, grads)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # tracemalloc counts every thread's allocations (the session's dask cluster runs an
    # event loop in this process), so allow a quarter array of slack: a third temporary
    # (a whole array more) or a kept one would still fail.
    slack = params[0].nbytes // 4
    assert peak <= 2 * params[0].nbytes + slack
    assert current < slack


class _ThreadsSeen(ReLU):
    """ReLU that notes how many BLAS threads each minibatch's forward pass runs on."""

    def value(self, z):
        if z.shape[0] == 200:  # a minibatch, not the fit's check of the activation
            seen = getattr(self, "seen_", set())
            seen.update(i["num_threads"] for i in ThreadpoolController().info()
                        if i["user_api"] == "blas")
            self.seen_ = seen
        return np.maximum(z, 0)


@pytest.mark.parametrize("n_features, hidden, small", [(16, (8,), True), (128, (256,), False)])
def test_small_minibatch_products_run_on_one_blas_thread(n_features, hidden, small):
    from centered_nn import MLPClassifier

    before = {i["num_threads"] for i in ThreadpoolController().info() if i["user_api"] == "blas"}
    X = np.random.default_rng(0).standard_normal((400, n_features))
    y = np.arange(400) % 2
    act = _ThreadsSeen()
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation=act, max_iter=1, random_state=0)
    with pytest.warns(ConvergenceWarning):
        clf.fit(X, y)
    largest = 200 * n_features * hidden[0]
    assert (largest < SMALL_PRODUCT) == small
    assert clf.activation_.seen_ == ({1} if small else before)
    assert {i["num_threads"] for i in ThreadpoolController().info()
            if i["user_api"] == "blas"} == before  # restored


@pytest.mark.parametrize("make", [lambda p: Adam(p, 0.01, 0.9, 0.999, 1e-8),
                                  lambda p: SGD(p, 0.05, "constant", 0.9, True, 0.5)],
                         ids=["adam", "sgd"])
def test_match_recuts_the_state_between_layouts(step_path, make):
    """A partial_fit may step one buffer after separate arrays (or back): same values."""
    separate = _params(np.float64)
    opt = make(separate)
    for step in range(3):
        opt.step(separate, _grads(np.float64, step))
    flat = np.concatenate([p.ravel() for p in separate])
    halves = [flat[:20], flat[20:]]
    recut = copy.deepcopy(opt)
    recut.match(halves)
    for step in range(3, 6):
        grads = _grads(np.float64, step)
        opt.step(separate, grads)
        flat_grads = np.concatenate([g.ravel() for g in grads])
        recut.match(halves)  # already cut so: a no-op
        recut.step(halves, [flat_grads[:20], flat_grads[20:]])
    np.testing.assert_array_equal(flat, np.concatenate([p.ravel() for p in separate]))
    back = copy.deepcopy(recut)
    back.match(separate)
    for name in back._state:
        assert [s.shape for s in getattr(back, name)] == [p.shape for p in separate]


def _assert_one_buffer_trains_as_separate_arrays(monkeypatch, estimator, X, y):
    """Fit `estimator` on one parameter buffer, then a clone on separate arrays (the
    layout `_step_buffers` falls back to): the same bits. Returns the first fit."""
    from sklearn.base import clone

    from centered_nn._training import loops as _training
    from centered_nn._training.layout import ParameterLayout

    separate = clone(estimator)
    with pytest.warns(ConvergenceWarning):
        flat = estimator.fit(X, y)
    assert flat.coefs_[0].base is not None
    assert flat.coefs_[0].base is flat.intercepts_[1].base  # views of one buffer
    monkeypatch.setattr(_training, "_step_buffers", lambda net, offsets, X, Y, sw: (
        ParameterLayout.of(net, offsets.trainable).arrays(), None, None, None))
    with pytest.warns(ConvergenceWarning):
        separate.fit(X, y)
    assert separate.coefs_[0].base is None or separate.coefs_[0].base is not \
        separate.intercepts_[1].base
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for a, b in zip(getattr(flat, name), getattr(separate, name)):
            np.testing.assert_array_equal(a, b)
    assert flat.loss_curve_ == separate.loss_curve_
    return flat


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver, input_bias", [("adam", "none"), ("sgd", "learned"),
                                                ("adam", "mean")])
def test_one_buffer_and_separate_arrays_train_bit_for_bit_alike(monkeypatch, dtype, solver,
                                                               input_bias):
    from centered_nn import MLPClassifier

    X = np.random.default_rng(0).standard_normal((120, 6)).astype(dtype)
    y = np.arange(120) % 3
    params = dict(hidden_layer_sizes=(7, 5), solver=solver, input_bias=input_bias,
                  batch_size=16, max_iter=4, random_state=0)
    _assert_one_buffer_trains_as_separate_arrays(monkeypatch, MLPClassifier(**params), X, y)


def test_flat_parameters_layout_chunks_and_dtype_check():
    from centered_nn._training.layout import FlatParameters, ParameterLayout

    coefs = [np.arange(6.0).reshape(2, 3), np.arange(4.0)]
    before = [c.copy() for c in coefs]
    flat = FlatParameters(ParameterLayout(coefs, []), chunk=4)
    np.testing.assert_array_equal(flat.values, np.concatenate([b.ravel() for b in before]))
    assert [c.base is flat.values for c in coefs] == [True, True]
    assert [(s.start, s.stop) for s in flat.chunks] == [(0, 3), (3, 7), (7, 10)]
    flat.value_chunks()[1][...] = -1.0  # the chunks are views of the estimator's arrays
    np.testing.assert_array_equal(coefs[0].ravel()[3:], -1.0)
    np.testing.assert_array_equal(coefs[1][0], -1.0)
    mixed = [np.zeros(2), np.zeros(2, dtype=np.float32)]
    with pytest.raises(ValueError, match=r"share one dtype, got \['float32', 'float64'\]"):
        FlatParameters(ParameterLayout(mixed, []))


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_float32_regressor_with_float64_targets_steps_one_buffer_bit_for_bit(monkeypatch,
                                                                             solver):
    """float32 weights, float64 gradients (P - Y with float64 y, as scikit-learn has them):
    one float32 parameter buffer stepped with a float64 gradient buffer, the same bits
    as separate arrays."""
    from centered_nn import MLPRegressor

    rng = np.random.default_rng(1)
    X = rng.standard_normal((90, 5)).astype(np.float32)
    y = X.astype(np.float64) @ rng.standard_normal(5) + 0.1
    params = dict(hidden_layer_sizes=(6,), solver=solver, batch_size=10, max_iter=3,
                  random_state=0, learning_rate_init=0.01)
    flat = _assert_one_buffer_trains_as_separate_arrays(monkeypatch, MLPRegressor(**params),
                                                        X, y)
    assert flat.coefs_[0].dtype == np.float32
