"""The study's failures and bad input: each refused or handled as cross_validate would."""

import signal

import numpy as np
import pytest
from scipy import sparse
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GroupKFold

from centered_nn import MLPClassifier, MLPRegressor
from centered_nn.activations import Tanh
from centered_nn.model_selection import centering_study

from ..harness import CtrlC as _CtrlC
from . import make_pipe

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _study(X, y, pipe=None, **kwargs):
    arguments = {"setups": {"raw": {}}, "learning_rates": [0.3], "cv": 2, **kwargs}
    return centering_study(make_pipe() if pipe is None else pipe, X, y, **arguments)


@pytest.mark.parametrize("case", ["continuous y", "sparse X"])
def test_every_fit_failing_raises_as_cross_validate_does(iris, case):
    X, y = iris
    if case == "continuous y":
        y = y + 0.5 * np.linspace(0, 1, y.size)
    else:
        X = sparse.csr_matrix(X)
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError,
                                                       match="All the 2 fits failed"):
        _study(X, y)


def test_a_huge_max_iter_allocates_no_epoch_budget_array(iris):
    """max_iter=10**11 once meant a padded array of 10**11 losses per fit."""
    X, y = iris
    study = _study(X, y, make_pipe(max_iter=10**11, n_iter_no_change=3))
    for k in range(2):
        curve = study.curves["loss_curve"][0][0][k]
        expected = (curve.sum() + (10**11 - curve.size) * curve[-1]) / 10**11
        assert study.figures["mean_relative_loss"][0, 0, k] == pytest.approx(
            expected / study.reference_loss[k], rel=1e-12)


@pytest.mark.parametrize("fraction", [0.1, 0.6])
def test_ctrl_c_in_a_serial_study_propagates(iris, monkeypatch, fraction):
    X, y = iris
    pipe = make_pipe(activation=_CtrlC())
    monkeypatch.setattr(_CtrlC, "calls", 0)
    _study(X, y, pipe, learning_rates=[0.1, 0.3])
    total = _CtrlC.calls
    monkeypatch.setattr(_CtrlC, "calls", 0)
    monkeypatch.setattr(_CtrlC, "at", int(fraction * total))
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        _study(X, y, pipe, learning_rates=[0.1, 0.3])
    assert _CtrlC.calls == int(fraction * total)  # no forward pass after the interrupt
    assert signal.getsignal(signal.SIGINT) is before


@pytest.mark.parametrize("scoring", [{"a": "accuracy"}, ["accuracy", "f1_macro"]])
def test_several_metrics_are_refused_before_any_fit(iris, scoring):
    X, y = iris
    with pytest.raises(ValueError, match="scoring must be None, a str or a callable"):
        _study(X, y, make_pipe(activation=_CtrlC()), scoring=scoring)


def _fragile_scorer(estimator, X, y):
    if estimator[-1].learning_rate_init > 0.5:
        raise ZeroDivisionError("scorer broke")
    return estimator.score(X, y)


def test_scorer_exceptions_follow_error_score(iris):
    X, y = iris
    with pytest.warns(FitFailedWarning, match="scorer broke"):
        study = _study(X, y, learning_rates=[0.3, 1.0], scoring=_fragile_scorer,
                       error_score=-2.0)
    assert (study.figures["test_score"][0, 1] == -2.0).all()
    assert study.figures["failed"][0, 1].all() and not study.figures["failed"][0, 0].any()
    with pytest.raises(ZeroDivisionError, match="scorer broke"):
        _study(X, y, learning_rates=[0.3, 1.0], scoring=_fragile_scorer, error_score="raise")


class _NaNAboveThree(Tanh):
    """tanh returning NaN for inputs above 3: the activation's fault, not the steps'."""

    def value(self, z):
        return np.where(z > 3, np.nan, np.tanh(z))


def test_non_finite_losses_that_are_not_divergence_follow_error_score(iris):
    """A NaN from the activation or a loss overflowing on huge targets is a ValueError but
    not a DivergenceError: it raises with error_score='raise' and is 'failed' otherwise."""
    X, y = iris
    nan_pipe = make_pipe(activation=_NaNAboveThree())
    with pytest.raises(ValueError, match="activation _NaNAboveThree returned non-finite"):
        _study(X, y, nan_pipe, learning_rates=[0.01, 30.0], error_score="raise")
    with pytest.raises(ValueError, match="targets are as large as"):
        _study(X, y * 1e200, make_pipe(MLPRegressor), error_score="raise")
    with pytest.warns(FitFailedWarning, match="non-finite"):
        study = _study(X, y, nan_pipe, learning_rates=[0.01, 30.0])
    assert study.figures["failed"][0, 1].all() and not study.figures["failed"][0, 0].any()
    assert not study.figures["diverged"].any()


def test_groups_reach_the_splitter(iris):
    X, y = iris
    groups = np.arange(y.size) % 3
    study = _study(X, y, cv=GroupKFold(3), groups=groups)
    assert study.n_splits == 3 and np.isfinite(study.figures["test_score"]).all()


def _rates():
    yield 0.1


@pytest.mark.parametrize("kwargs, message", [
    ({"cv": []}, "cv is empty"),
    ({"learning_rates": _rates()}, "learning_rates must be a non-empty list or array"),
    ({"learning_rates": {0.1, 0.3}}, "learning_rates must be a non-empty list or array"),
    ({"learning_rates": ["0.1"]}, "learning_rates must be a non-empty list or array"),
    ({"learning_rates": [True]}, "learning_rates must be a non-empty list or array"),
    ({"setups": {"big": {"mlp": MLPClassifier(max_iter=1000)}}},
     "setup 'big' replaces the MLP step 'mlp'"),
    ({"setups": {"x": {"mlp__solver": "adam"}}}, "sets 'mlp__solver'"),
    ({"reference": "nope"}, "reference must be None or one of the setup names"),
    ({"n_repeats": 0}, "n_repeats must be an int >= 1"),
    ({"random_state": -1}, r"random_state must be None, a RandomState instance or an int"),
    ({"random_state": 2**32}, r"random_state must be None, a RandomState instance or an int"),
])
def test_bad_arguments_are_refused_naming_them(iris, kwargs, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        _study(X, y, make_pipe(activation=_CtrlC()), **kwargs)


def test_lbfgs_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="solver='lbfgs' does not use"):
        _study(X, y, make_pipe().set_params(mlp__solver="lbfgs"))


def test_a_setup_that_cannot_run_is_refused_before_the_study(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(_CtrlC, "calls", 0)
    pipe = make_pipe(batch_size=1, activation=_CtrlC())
    with pytest.raises(ValueError, match=r"setups: 'batch' cannot run with this estimator.*"
                                         r"input_bias='batch' expected more than 1 value"):
        _study(X, y, pipe, setups={"raw": {}, "batch": {"mlp__input_bias": "batch"}},
               learning_rates=[0.1, 0.3])
    # only the one-epoch trial fits ran: raw's (75 samples, one at a time, plus the
    # activation check) and none of batch's minibatches
    assert _CtrlC.calls < 2 * 75


def test_divergence_is_known_by_its_type():
    """The loops raise DivergenceError for a step-caused non-finite loss only, and it
    survives pickling (the way it leaves a joblib worker)."""
    import pickle

    from centered_nn._training.failures import nonfinite_loss
    from centered_nn.exceptions import DivergenceError

    step = pickle.loads(pickle.dumps(nonfinite_loss("step", "a cause", "in epoch 2")))
    assert isinstance(step, DivergenceError) and step.where == "in epoch 2"
    for kind in ("activation", "target"):
        error = nonfinite_loss(kind, "a cause", "in epoch 2")
        assert isinstance(error, ValueError) and not isinstance(error, DivergenceError)


def test_non_finite_weights_after_training_raise_divergence_error(iris):
    """The final parameter check raises DivergenceError with scikit-learn's message."""
    from centered_nn.exceptions import DivergenceError

    X, y = iris
    mlp = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    mlp.coefs_[0][0, 0] = np.nan  # as a step that overflowed would leave it
    with pytest.raises(DivergenceError, match="Solver produced non-finite parameter weights"):
        mlp._check_finite_parameters()
