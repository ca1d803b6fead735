"""scikit-learn's estimator checks on every estimator and transformer of the package."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from centered_nn import Centerer, MLPClassifier, MLPRegressor, SampleCenterer
from centered_nn.activations import LeakyReLU

# Small networks keep the checks fast; max_iter is high enough for the checks that
# expect a reasonable fit.
_SMALL = dict(hidden_layer_sizes=(32,), max_iter=300)

ESTIMATORS = [
    MLPClassifier(**_SMALL),
    MLPClassifier(activation="tanh", solver="sgd", **_SMALL),
    # A little L2 keeps lbfgs from saturating the sigmoid outputs at exactly 1.0,
    # which check_classifiers_multilabel_output_format_predict_proba forbids.
    MLPClassifier(activation=LeakyReLU(alpha=0.1), solver="lbfgs", alpha=1.0, **_SMALL),
    MLPClassifier(input_bias="learned", **_SMALL),
    MLPClassifier(input_bias="mean", activation="elu", **_SMALL),
    MLPClassifier(input_bias="mean", solver="lbfgs", alpha=1.0, **_SMALL),
    MLPClassifier(input_bias="learned", input_bias_layers="first", solver="sgd",
                  record_gradient_signs=False, **_SMALL),
    MLPRegressor(**_SMALL),
    MLPRegressor(activation="tanh", solver="sgd", input_bias="mean", **_SMALL),
    MLPRegressor(activation=LeakyReLU(alpha=0.1), solver="lbfgs", input_bias="learned",
                 input_bias_layers="first", **_SMALL),
    MLPRegressor(activation="elu", input_bias="learned", record_gradient_signs=False, **_SMALL),
    MLPClassifier(input_bias="batch", **_SMALL),
    MLPClassifier(gradient_centralization=True, solver="sgd", activation="tanh", **_SMALL),
    MLPRegressor(input_bias="batch", input_bias_layers="first", solver="lbfgs", **_SMALL),
    MLPRegressor(gradient_centralization=True, solver="lbfgs", **_SMALL),
    MLPClassifier(class_weight="balanced", **_SMALL),
    Centerer(),
    Centerer(strategy="median"),
    Centerer(strategy="min", shift=1.0),
    Centerer(strategy="none"),
    SampleCenterer(),
]


def _expected_failed_checks(estimator):
    """As SGDClassifier, a first partial_fit refuses class_weight='balanced' (by design)."""
    if getattr(estimator, "class_weight", None) == "balanced":
        reason = "a first partial_fit call refuses class_weight='balanced', as SGDClassifier's"
        return {"check_n_features_in_after_fitting": reason,
                "check_estimators_partial_fit_n_features": reason}
    return {}


# As scikit-learn's own test_common: the checks fit small random data for a fixed
# max_iter to test the API, not the optimisation, so a fit that stops short is no news
# (a check that expects a warning records it itself). scikit-learn's checks pass a DOK
# matrix, which its validation says it cannot scan for NaN.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore:Can't check dok sparse matrix for nan or inf:UserWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
