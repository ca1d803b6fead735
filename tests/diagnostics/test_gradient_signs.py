"""gradient_sign_history_ on the estimator: the seed's facts and alignment."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from centered_nn import MLPClassifier
from centered_nn._network import network as _network
from centered_nn._training.row_epoch import RowEpochs
from centered_nn.diagnostics import GradientSignRecorder

X_RAW, Y = load_digits(return_X_y=True)
X_POS = X_RAW[:150] / 16.0 + 0.05  # strictly positive, like pixel intensities
Y = Y[:150]
X_CENTRED = X_POS - X_POS.mean(axis=0)
METRICS = GradientSignRecorder.METRICS


def _fit(X, y=Y, **params):
    params = {"hidden_layer_sizes": (10,), "random_state": 0, "max_iter": 3, "solver": "sgd",
              "learning_rate_init": 0.05, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return MLPClassifier(**params).fit(X, y)


def _layer(clf, metric, layer):
    return clf.gradient_sign_history_[metric][:, layer]


def test_all_positive_inputs_batch_size_one_logistic():
    clf = _fit(X_POS, batch_size=1, activation="logistic")
    for layer in (0, 1):  # raw positive pixels, then sigmoid outputs
        np.testing.assert_array_equal(_layer(clf, "same_sign_fraction", layer), 1.0)
        np.testing.assert_array_equal(_layer(clf, "sample_same_sign_fraction", layer), 1.0)
        np.testing.assert_array_equal(_layer(clf, "positive_input_fraction", layer), 1.0)


def test_centring_breaks_the_first_layer_only_with_logistic():
    clf = _fit(X_CENTRED, batch_size=1, activation="logistic")
    assert _layer(clf, "same_sign_fraction", 0).max() < 0.5
    assert _layer(clf, "sample_same_sign_fraction", 0).max() < 0.5
    np.testing.assert_array_equal(_layer(clf, "sample_same_sign_fraction", 1), 1.0)  # sigmoid > 0


def test_tanh_hidden_outputs_are_not_single_signed():
    clf = _fit(X_CENTRED, batch_size=1, activation="tanh")
    assert _layer(clf, "sample_same_sign_fraction", 1).max() < 0.5


def test_larger_batches_mix_signs_but_not_per_sample():
    clf = _fit(X_POS, batch_size=50, activation="logistic")
    assert _layer(clf, "same_sign_fraction", 0).max() < 1.0
    np.testing.assert_array_equal(_layer(clf, "sample_same_sign_fraction", 0), 1.0)


def test_offsets_centre_the_effective_input():
    plain = _fit(X_POS + 2.0, activation="tanh")
    mean = _fit(X_POS + 2.0, activation="tanh", input_bias="mean", input_bias_layers="first")
    np.testing.assert_allclose(_layer(plain, "input_mean", 0), (X_POS + 2.0).mean())
    np.testing.assert_allclose(_layer(mean, "input_mean", 0), 0.0, atol=1e-12)
    assert _layer(mean, "sample_same_sign_fraction", 0).max() < 0.5


def test_one_epoch_record_equals_the_mean_over_its_steps():
    """Recompute the epoch's values by replaying the same steps independently."""
    clf = _fit(X_POS, batch_size=50, shuffle=False, max_iter=1, learning_rate_init=1e-300,
               momentum=0.0, activation="tanh")
    coefs, intercepts = _network.init_parameters(np.random.RandomState(0), [64, 10, 10], 6.0, np.float64)
    act = clf.activation_
    Ybin = clf._label_binarizer.transform(Y).astype(bool)
    per_step, flips, previous = [], [], None
    net = _network.Network(coefs, intercepts, [None, None], act, "softmax")
    for start in range(0, 150, 50):
        rows = slice(start, start + 50)
        inputs, _ = _network.forward(X_POS[rows], net)
        hidden_delta = ((inputs[-1] - Ybin[rows]) @ coefs[1].T) * (1 - inputs[1] ** 2)  # tanh'
        grad = inputs[0].T @ hidden_delta
        if previous is not None:  # among weights nonzero in both steps, the share that flipped
            both = (grad != 0) & (previous != 0)
            flips.append(np.mean(np.sign(grad[both]) != np.sign(previous[both])))
        previous = grad
        per_step.append([
            np.mean([np.all(col[col != 0] > 0) or np.all(col[col != 0] < 0) for col in grad.T]),
            inputs[0].mean(),
        ])
    expected = np.mean(per_step, axis=0)
    assert _layer(clf, "same_sign_fraction", 0)[0] == pytest.approx(expected[0], rel=1e-12)
    assert _layer(clf, "input_mean", 0)[0] == pytest.approx(expected[1], rel=1e-12)
    # three steps, the first without a predecessor: the flip is the mean of two steps
    assert len(flips) == 2
    assert _layer(clf, "sign_flip_fraction", 0)[0] == pytest.approx(np.mean(flips), rel=1e-12)


def _assert_aligned(clf):
    history = clf.gradient_sign_history_
    assert set(METRICS) <= set(history)
    for metric in METRICS:
        assert history[metric].shape == (len(clf.loss_curve_), clf.n_layers_ - 1)


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_one_record_per_loss_curve_entry(solver):
    clf = _fit(X_POS, solver=solver, max_iter=6)
    _assert_aligned(clf)
    assert np.all(np.isfinite(clf.gradient_sign_history_["same_sign_fraction"]))


def test_lbfgs_records_describe_the_accepted_iterates():
    clf = _fit(X_POS, solver="lbfgs", max_iter=5)
    # first iteration compares with nothing: NaN; later ones compare accepted iterates
    flips = _layer(clf, "sign_flip_fraction", 0)
    assert np.isnan(flips[0]) and np.all(np.isfinite(flips[1:]))


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_warm_start_appends(solver):
    clf = _fit(X_POS, solver=solver, warm_start=True, max_iter=3)
    first = {k: v.copy() for k, v in clf.gradient_sign_history_.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_POS, Y)
    _assert_aligned(clf)
    for metric in METRICS:
        np.testing.assert_array_equal(clf.gradient_sign_history_[metric][: len(first[metric])], first[metric])


def test_partial_fit_appends_one_record_per_call():
    clf = MLPClassifier(hidden_layer_sizes=(10,), random_state=0)
    for chunk in np.array_split(np.arange(150), 3):
        clf.partial_fit(X_POS[chunk], Y[chunk], classes=np.unique(Y))
    _assert_aligned(clf)
    assert clf.gradient_sign_history_["input_mean"].shape[0] == 3


def test_early_stopping_keeps_every_epoch_like_loss_curve():
    clf = _fit(X_POS, early_stopping=True, max_iter=8)
    _assert_aligned(clf)
    assert len(clf.validation_scores_) == len(clf.loss_curve_)


def test_recording_off_leaves_none_and_same_trajectory():
    on, off = _fit(X_POS), _fit(X_POS, record_gradient_signs=False)
    assert off.gradient_sign_history_ is None
    np.testing.assert_array_equal(on.loss_curve_, off.loss_curve_)


def test_switching_recording_on_under_warm_start_pads_with_nan():
    clf = _fit(X_POS, warm_start=True, record_gradient_signs=False, max_iter=2)
    clf.set_params(record_gradient_signs=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_POS, Y)
    _assert_aligned(clf)
    values = clf.gradient_sign_history_["input_mean"]
    assert np.isnan(values[:2]).all() and np.isfinite(values[2:]).all()


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_a_warm_start_without_recording_keeps_the_history_for_the_next_recording_fit(solver):
    """Recording on, off, on under warm_start: the first fit's rows stay, the fit without
    recording gets NaN rows, and the third fit's rows are those of a twin that recorded
    throughout (recording does not change the trajectory); its first flip fraction is
    compared with nothing, as after any gap, so that metric is left out."""
    paused = _fit(X_POS, warm_start=True, max_iter=2, solver=solver)
    first = paused.gradient_sign_history_
    twin = _fit(X_POS, warm_start=True, max_iter=2, solver=solver)
    paused.set_params(record_gradient_signs=False)
    _quiet_fit(paused)
    assert paused.gradient_sign_history_ is None
    _quiet_fit(twin)
    n_first, n_second = len(first["input_mean"]), len(twin.loss_curve_)
    paused.set_params(record_gradient_signs=True)
    _quiet_fit(paused)
    _quiet_fit(twin)
    np.testing.assert_array_equal(paused.loss_curve_, twin.loss_curve_)
    history = paused.gradient_sign_history_
    for metric in METRICS:
        values = history[metric]
        assert values.shape == (len(paused.loss_curve_), 2)
        np.testing.assert_array_equal(values[:n_first], first[metric])
        assert np.isnan(values[n_first:n_second]).all()
        if metric != "sign_flip_fraction":
            np.testing.assert_array_equal(values[n_second:],
                                          twin.gradient_sign_history_[metric][n_second:])
    assert np.isfinite(history["input_mean"][n_second:]).all()


def _quiet_fit(clf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_POS, Y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 epochs: records
@pytest.mark.parametrize("cls", ["MLPClassifier", "MLPRegressor"])
def test_record_gradient_signs_list_records_only_those_metrics(cls):
    import centered_nn

    est_cls = getattr(centered_nn, cls)
    y = Y if cls == "MLPClassifier" else Y / 9.0
    params = dict(hidden_layer_sizes=(6,), solver="sgd", max_iter=3, random_state=0)
    full = est_cls(**params).fit(X_POS, y)
    some = est_cls(record_gradient_signs=["input_mean", "same_sign_fraction"], **params)
    some.fit(X_POS, y)
    assert list(some.gradient_sign_history_) == ["same_sign_fraction", "input_mean"]
    for metric, values in some.gradient_sign_history_.items():
        np.testing.assert_array_equal(values, full.gradient_sign_history_[metric])
    # asking for more under warm_start: the earlier records of a new metric are NaN
    some.set_params(warm_start=True, record_gradient_signs=True, max_iter=2)
    some.fit(X_POS, y)
    flips = some.gradient_sign_history_["sign_flip_fraction"]
    assert flips.shape == (5, 2) and np.isnan(flips[:3]).all() and not np.isnan(flips[3:]).all()
    with pytest.raises(ValueError, match="Unknown gradient-sign metric.*valid names are"):
        est_cls(record_gradient_signs=["zigzag"], **params).fit(X_POS, y)


@pytest.mark.parametrize("solver, batch_size, input_bias", [
    ("sgd", 1, "none"), ("sgd", 1, "mean"), ("adam", 32, "none"), ("adam", 32, "mean"),
    ("sgd", 7, "learned"), ("lbfgs", "auto", "none"), ("lbfgs", "auto", "mean")])
def test_fit_history_equals_loop_definitions_on_the_same_steps(monkeypatch, solver, batch_size,
                                                               input_bias):
    """Every step a fit shows the recorder (``observe``, or on_step's compiled path
    ``_observe_counted``) is also given to the loop-based reference
    recorder of test_diagnostics_fast_paths (copies: the fit reuses its arrays); the
    fit's history, with all its shortcuts (deferred one-row steps, per-fit row
    statistics, in-place buffers, compiled kernels), must equal the reference's exactly
    (input_mean, summed in another order, to the 1e-12 relative the API promises)."""
    from .test_diagnostics_fast_paths import ReferenceRecorder

    refs = []
    observe, end, discard = (GradientSignRecorder.observe, GradientSignRecorder.end_iteration,
                             GradientSignRecorder.discard_steps)

    def ref(rec):
        if not hasattr(rec, "_ref"):
            rec._ref = ReferenceRecorder(rec.n_weight_matrices)
            refs.append(rec._ref)
        return rec._ref

    def spy_observe(self, layer, inputs, delta, grad, offset=None, **kwargs):
        ref(self).observe(layer, inputs.copy(), delta.copy(), grad.copy(),
                          offset=None if offset is None else offset.copy())
        return observe(self, layer, inputs, delta, grad, offset=offset, **kwargs)

    counted = GradientSignRecorder._observe_counted

    def spy_counted(self, layer, inputs, delta, grad, offset, centered, penalty=None):
        # on_step's path for a step every metric takes from the compiled counts; a
        # penalty handed over may carry the data term's pending offset term
        data = grad.copy()
        if penalty is not None and penalty[1] is not None:
            data += np.outer(penalty[1], penalty[2])
        ref(self).observe(layer, inputs.copy(), delta.copy(), data,
                          offset=None if offset is None else offset.copy())
        return counted(self, layer, inputs, delta, grad, offset, centered, penalty)

    def spy_end(self):
        ref(self).end_iteration()
        return end(self)

    def spy_discard(self):
        if hasattr(self, "_ref"):
            self._ref.discard_steps()
        return discard(self)

    monkeypatch.setattr(GradientSignRecorder, "observe", spy_observe)
    monkeypatch.setattr(GradientSignRecorder, "_observe_counted", spy_counted)
    monkeypatch.setattr(GradientSignRecorder, "end_iteration", spy_end)
    monkeypatch.setattr(GradientSignRecorder, "discard_steps", spy_discard)
    # the steps one by one: the compiled batch_size=1 epoch hands the recorder summaries of
    # many steps at once (tests/training/test_row_epoch.py: the same history as this path)
    monkeypatch.setattr(RowEpochs, "plan", classmethod(lambda cls, *args: None))
    clf = _fit(X_POS[:60], Y[:60], solver=solver, batch_size=batch_size, input_bias=input_bias,
               activation="relu", max_iter=3)
    expected = refs[0].history()
    for metric in METRICS:
        got = clf.gradient_sign_history_[metric]
        if metric == "input_mean":  # summed in another order (a + b; the compiled kernels)
            np.testing.assert_allclose(got, expected[metric], rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(got, expected[metric], err_msg=metric)
