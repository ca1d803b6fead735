"""validation_loss_curve_: the held-out split's loss after each epoch, recomputed by hand."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, r2_score
from sklearn.model_selection import train_test_split

from centered_nn import MLPClassifier, MLPRegressor

pytest.importorskip("sklearn.callback")

X_CLF, Y_CLF = make_classification(n_samples=100, n_features=6, random_state=3)
X_REG, Y_REG = make_regression(n_samples=100, n_features=5, noise=5.0, random_state=3)
HIDDEN = 7


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


class EpochModels:
    """Keeps the model a callback gets at the end of each epoch."""

    def __init__(self):
        self.models = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name == "epoch":
            self.models.append(fitted_estimator)


def _held_out_split(X, y, seed, validation_fraction, stratify):
    """The estimator's split, reproduced: the same generator after the same initial draws."""
    rng = np.random.RandomState(seed)
    n_outputs = 1
    for fan_in, fan_out in [(X.shape[1], HIDDEN), (HIDDEN, n_outputs)]:
        rng.uniform(size=(fan_in, fan_out))  # the weights
        rng.uniform(size=fan_out)  # the intercepts
    split = train_test_split(X, y, random_state=rng, test_size=validation_fraction,
                             stratify=y if stratify else None)
    return split[1], split[3]


def _penalty(model, alpha, n):
    return 0.5 * alpha * sum(np.sum(c ** 2) for c in model.coefs_) / n


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("input_bias", ["none", "batch"])
def test_classifier_validation_loss_is_the_log_loss_on_the_held_out_split(solver, input_bias):
    alpha = 0.3
    epochs = EpochModels()
    clf = MLPClassifier((HIDDEN,), solver=solver, alpha=alpha, early_stopping=True,
                        validation_fraction=0.2, input_bias=input_bias, max_iter=5,
                        learning_rate_init=0.01, random_state=0)
    clf.set_callbacks(epochs).fit(X_CLF, Y_CLF)
    X_val, y_val = _held_out_split(X_CLF, Y_CLF, 0, 0.2, stratify=True)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_ == 5
    for model, loss, score in zip(epochs.models, clf.validation_loss_curve_,
                                  clf.validation_scores_):
        # the split is the estimator's: its score is the accuracy on it
        assert score == accuracy_score(y_val, model.predict(X_val))
        by_hand = log_loss(y_val, model.predict_proba(X_val)) + _penalty(model, alpha, len(y_val))
        np.testing.assert_allclose(loss, by_hand, rtol=1e-12)


def test_regressor_validation_loss_is_half_the_mean_squared_error_plus_penalty():
    alpha = 0.5
    epochs = EpochModels()
    reg = MLPRegressor(hidden_layer_sizes=(HIDDEN,), alpha=alpha, early_stopping=True,
                       validation_fraction=0.25, max_iter=4, learning_rate_init=0.05,
                       random_state=1)
    reg.set_callbacks(epochs).fit(X_REG, Y_REG)
    X_val, y_val = _held_out_split(X_REG, Y_REG, 1, 0.25, stratify=False)
    assert len(reg.validation_loss_curve_) == reg.n_iter_ == 4
    for model, loss, score in zip(epochs.models, reg.validation_loss_curve_,
                                  reg.validation_scores_):
        pred = model.predict(X_val)
        assert score == r2_score(y_val, pred)
        by_hand = 0.5 * np.mean((y_val - pred) ** 2) + _penalty(model, alpha, len(y_val))
        np.testing.assert_allclose(loss, by_hand, rtol=1e-12)


def test_weighted_validation_loss_uses_the_held_out_weights():
    sw = np.random.RandomState(0).uniform(0.2, 3.0, len(Y_REG))
    epochs = EpochModels()
    reg = MLPRegressor(hidden_layer_sizes=(HIDDEN,), alpha=0.1, early_stopping=True,
                       max_iter=2, learning_rate_init=0.05, random_state=1)
    reg.set_callbacks(epochs).fit(X_REG, Y_REG, sample_weight=sw)
    rng = np.random.RandomState(1)
    for fan_in, fan_out in [(X_REG.shape[1], HIDDEN), (HIDDEN, 1)]:
        rng.uniform(size=(fan_in, fan_out))
        rng.uniform(size=fan_out)
    _, X_val, _, y_val, _, sw_val = train_test_split(X_REG, Y_REG, sw, random_state=rng,
                                                     test_size=0.1)
    for model, loss in zip(epochs.models, reg.validation_loss_curve_):
        pred = model.predict(X_val)
        by_hand = (0.5 * np.average((y_val - pred) ** 2, weights=sw_val)
                   + _penalty(model, 0.1, sw_val.sum()))
        np.testing.assert_allclose(loss, by_hand, rtol=1e-12)


def test_none_without_early_stopping_and_appended_across_warm_start():
    assert MLPClassifier((HIDDEN,), max_iter=2).fit(X_CLF, Y_CLF).validation_loss_curve_ is None
    clf = MLPClassifier((HIDDEN,), early_stopping=True, warm_start=True, max_iter=3,
                        random_state=0).fit(X_CLF, Y_CLF)
    first = list(clf.validation_loss_curve_)
    clf.set_params(max_iter=2).fit(X_CLF, Y_CLF)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == 5
    assert clf.validation_loss_curve_[:3] == first
    lbfgs = MLPClassifier((HIDDEN,), solver="lbfgs", max_iter=2).fit(X_CLF, Y_CLF)
    assert not hasattr(lbfgs, "validation_scores_")  # as scikit-learn's: sgd/adam only
    assert not hasattr(lbfgs, "validation_loss_curve_")


@pytest.mark.parametrize("cls, X, y", [(MLPClassifier, X_CLF, Y_CLF), (MLPRegressor, X_REG, Y_REG)])
def test_an_lbfgs_fit_after_early_stopping_epochs_keeps_the_curves_aligned(cls, X, y):
    """Warm-started L-BFGS after 5 validated Adam epochs: 10 loss entries, and both
    validation lists hold the 5 epochs' values followed by NaN for the 5 iterations that
    had no validation split; a later validated epoch appends after them."""
    est = cls(hidden_layer_sizes=(HIDDEN,), solver="adam", early_stopping=True, warm_start=True, max_iter=5,
              n_iter_no_change=100, random_state=0).fit(X, y)
    scores, losses = list(est.validation_scores_), list(est.validation_loss_curve_)
    est.set_params(solver="lbfgs", max_iter=5).fit(X, y)
    assert len(est.loss_curve_) == 10
    for name, before in (("validation_scores_", scores), ("validation_loss_curve_", losses)):
        values = getattr(est, name)
        assert len(values) == 10, name
        assert values[:5] == before and np.isnan(values[5:]).all(), name
    est.set_params(solver="adam", max_iter=1).fit(X, y)
    assert len(est.loss_curve_) == len(est.validation_scores_) == 11
    assert len(est.validation_loss_curve_) == 11 and np.isfinite(est.validation_loss_curve_[-1])
