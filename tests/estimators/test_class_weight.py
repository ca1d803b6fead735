"""MLPClassifier's class_weight: scikit-learn linear models' meaning, bit for bit."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.class_weight import compute_sample_weight

from centered_nn import MLPClassifier, MLPRegressor

_SMALL = dict(hidden_layer_sizes=(8,), max_iter=15, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(n_classes=2, dtype=np.float64):
    X, y = make_classification(n_samples=90, n_features=6, n_informative=4,
                               n_classes=n_classes, weights=None if n_classes > 2 else [0.75],
                               random_state=1)
    return X.astype(dtype), np.array(["a", "b", "c"])[y]


def assert_same_fit(a, b):
    for name in ("coefs_", "intercepts_"):
        for p, q in zip(getattr(a, name), getattr(b, name)):
            np.testing.assert_array_equal(p, q)
    assert a.loss_curve_ == b.loss_curve_
    for metric, values in a.gradient_sign_history_.items():
        np.testing.assert_array_equal(values, b.gradient_sign_history_[metric])


@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_dict_class_weight_equals_equivalent_sample_weight(solver, n_classes, dtype,
                                                           with_sample_weight):
    X, y = _data(n_classes, dtype)
    class_weight = {"a": 0.5, "b": 3.0, "c": 1.5}
    sw = np.random.RandomState(0).uniform(0.5, 2.0, len(y)) if with_sample_weight else None
    equivalent = np.array([class_weight[label] for label in y])
    if sw is not None:
        equivalent = sw * equivalent
    weighted = MLPClassifier(solver=solver, class_weight=class_weight, **_SMALL)
    weighted.fit(X, y, sample_weight=sw)
    plain = MLPClassifier(solver=solver, **_SMALL).fit(X, y, sample_weight=equivalent)
    assert_same_fit(weighted, plain)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_balanced_equals_compute_sample_weight(solver):
    X, y = _data(3)
    y = y[:-25]  # unequal class sizes
    X = X[:-25]
    balanced = MLPClassifier(solver=solver, class_weight="balanced", **_SMALL).fit(X, y)
    counts = {c: np.sum(y == c) for c in np.unique(y)}
    by_hand = np.array([len(y) / (len(counts) * counts[label]) for label in y])
    np.testing.assert_allclose(compute_sample_weight("balanced", y), by_hand, rtol=1e-15)
    plain = MLPClassifier(solver=solver, **_SMALL).fit(
        X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_fit(balanced, plain)


def test_class_weight_with_early_stopping_equals_sample_weight():
    X, y = _data(2)
    options = dict(_SMALL, early_stopping=True, validation_fraction=0.2)
    weighted = MLPClassifier(class_weight="balanced", **options).fit(X, y)
    plain = MLPClassifier(**options).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_fit(weighted, plain)
    assert weighted.validation_scores_ == plain.validation_scores_


def test_class_weight_changes_the_fit_and_leaves_inputs_alone():
    X, y = _data(2)
    sw = np.linspace(0.5, 1.5, len(y))
    sw_before, class_weight = sw.copy(), {"a": 1.0, "b": 4.0}
    weighted = MLPClassifier(class_weight=class_weight, **_SMALL).fit(X, y, sample_weight=sw)
    plain = MLPClassifier(**_SMALL).fit(X, y, sample_weight=sw)
    assert weighted.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(sw, sw_before)
    assert class_weight == {"a": 1.0, "b": 4.0} and weighted.class_weight is class_weight


def test_partial_fit_refuses_balanced_on_the_first_call_as_sgdclassifier():
    X, y = _data(2)
    clf = MLPClassifier(class_weight="balanced", **_SMALL)
    with pytest.raises(ValueError, match="class_weight 'balanced' is not supported for "
                                         "partial_fit"):
        clf.partial_fit(X, y, classes=["a", "b"])
    assert not hasattr(clf, "coefs_")
    # after fit, a later call takes the balanced weights from that call's y
    clf.fit(X, y)
    other = MLPClassifier(**_SMALL).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    clf.partial_fit(X[:40], y[:40])
    other.partial_fit(X[:40], y[:40], sample_weight=compute_sample_weight("balanced", y[:40]))
    assert_same_fit(clf, other)


def test_partial_fit_with_a_dict_equals_sample_weight():
    X, y = _data(3)
    class_weight = {"a": 2.0, "b": 0.5, "c": 1.0}
    weighted = MLPClassifier(class_weight=class_weight, **_SMALL)
    plain = MLPClassifier(**_SMALL)
    for rows in (slice(0, 45), slice(45, None)):
        weighted.partial_fit(X[rows], y[rows], classes=["a", "b", "c"])
        sw = np.array([class_weight[label] for label in y[rows]])
        plain.partial_fit(X[rows], y[rows], classes=["a", "b", "c"], sample_weight=sw)
    assert_same_fit(weighted, plain)


def test_multilabel_balanced_is_scikit_learns_multi_output_product():
    X, Y = make_multilabel_classification(n_samples=80, n_features=5, n_classes=3,
                                          random_state=0)
    weighted = MLPClassifier(class_weight="balanced", **_SMALL).fit(X, Y)
    expected = np.ones(len(Y))
    for column in Y.T:  # the product of each label column's balanced weights
        counts = np.bincount(column, minlength=2)
        expected *= len(column) / (np.count_nonzero(counts) * counts[column])
    np.testing.assert_allclose(compute_sample_weight("balanced", Y), expected, rtol=1e-14)
    plain = MLPClassifier(**_SMALL).fit(X, Y, sample_weight=compute_sample_weight("balanced", Y))
    assert_same_fit(weighted, plain)


def test_multilabel_refuses_a_dict():
    X, Y = make_multilabel_classification(n_samples=40, n_features=5, n_classes=3,
                                          random_state=0)
    clf = MLPClassifier(class_weight={0: 1.0, 1: 2.0}, **_SMALL)
    with pytest.raises(ValueError, match="class_weight as a dict is not supported for "
                                         "multilabel y"):
        clf.fit(X, Y)
    assert not hasattr(clf, "coefs_")


def test_bad_class_weight_values():
    X, y = _data(2)
    with pytest.raises(InvalidParameterError, match="The 'class_weight' parameter of "
                                                    "MLPClassifier must be"):
        MLPClassifier(class_weight="uniform", **_SMALL).fit(X, y)
    # scikit-learn's rule: a label the data lacks is an error (then naming the others)
    with pytest.raises(ValueError, match=r"The classes, \['b'\], are not in class_weight"):
        MLPClassifier(class_weight={"a": 1.0, "z": 2.0}, **_SMALL).fit(X, y)
    assert "class_weight" not in MLPRegressor().get_params()


def test_balanced_counts_classes_by_sample_weight_as_logistic_regression():
    X, y = _data(2)
    sw = np.random.RandomState(3).randint(1, 4, len(y)).astype(float)
    weighted = MLPClassifier(solver="lbfgs", class_weight="balanced", **_SMALL)
    weighted.fit(X, y, sample_weight=sw)
    totals = {c: sw[y == c].sum() for c in ("a", "b")}  # class sizes counted by weight
    per_class = {c: sw.sum() / (2 * totals[c]) for c in totals}
    equivalent = sw * np.array([per_class[label] for label in y])
    plain = MLPClassifier(solver="lbfgs", **_SMALL).fit(X, y, sample_weight=equivalent)
    np.testing.assert_allclose(weighted.loss_curve_, plain.loss_curve_, rtol=1e-12)
    # integer weights and repeated rows are one and the same data set
    repeated = np.repeat(np.arange(len(y)), sw.astype(int))
    by_rows = MLPClassifier(solver="lbfgs", class_weight="balanced", **_SMALL)
    by_rows.fit(X[repeated], y[repeated])
    np.testing.assert_allclose(by_rows.loss_curve_[:3], weighted.loss_curve_[:3], rtol=1e-9)


def test_balanced_refuses_a_class_whose_samples_all_weigh_zero():
    X, y = _data(2)
    sw = (y == "a").astype(float)
    clf = MLPClassifier(class_weight="balanced", **_SMALL)
    with pytest.raises(ValueError, match=r"every sample of class\(es\) \['b'\] has zero weight"):
        clf.fit(X, y, sample_weight=sw)
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (None, "None"), (np.inf, "inf"),
                                        ("2", "'2'")])
def test_a_class_weight_that_is_not_a_finite_number_is_named(bad, shown):
    X, y = _data(2)
    clf = MLPClassifier(class_weight={"a": bad, "b": 1.0}, **_SMALL)
    message = (f"class_weight gives class(es) ['a'] the weight(s) [{shown}]: every class "
               "weight must be a finite number.")
    with pytest.raises(ValueError) as info:
        clf.fit(X, y)
    assert str(info.value) == message
    assert not hasattr(clf, "coefs_")


@pytest.mark.parametrize("sample_weight", [None, "positive"])
def test_negative_class_weights_with_no_positive_total_are_named(sample_weight):
    X, y = _data(2)
    sw = None if sample_weight is None else np.full(len(y), 2.0)
    counts = {label: int(np.sum(y == label)) for label in ("a", "b")}
    total = -(counts["a"] + 2 * counts["b"]) * (1.0 if sw is None else 2.0)
    clf = MLPClassifier(class_weight={"a": -1.0, "b": -2.0}, **_SMALL)
    with pytest.raises(ValueError) as info:
        clf.fit(X, y, sample_weight=sw)
    assert str(info.value) == (
        f"class_weight={{'a': -1.0, 'b': -2.0}} gives negative weights, and the "
        f"class-weighted sample weights sum to {total}; class weights must be non-negative, "
        "with a positive total, for the loss to be defined.")
    # negative user weights under positive class weights still name sample_weight
    with pytest.raises(ValueError, match=r"^sample_weight has negative values"):
        MLPClassifier(class_weight={"a": 1.0, "b": 2.0}, **_SMALL).fit(
            X, y, sample_weight=np.full(len(y), -1.0))
