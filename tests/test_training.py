"""The training loops as a user meets them: threads, switched settings, failures, Ctrl-C."""


import pytest
from sklearn.datasets import load_digits

from centered_nn import MLPClassifier, MLPRegressor

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:200] / 16.0
Y_DIGITS = Y_DIGITS[:200]
ESTIMATORS = [MLPClassifier, MLPRegressor]

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _target(cls):
    return Y_DIGITS if cls is MLPClassifier else Y_DIGITS / 9.0



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
