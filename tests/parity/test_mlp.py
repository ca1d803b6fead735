"""MLPClassifier against scikit-learn's own, trajectory for trajectory."""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from sklearn.datasets import load_digits, make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkMLP

from centered_nn import MLPClassifier

# scikit-learn's MLPClassifier takes sample_weight from 1.7 on
needs_sklearn_sample_weight = pytest.mark.skipif(
    tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 7),
    reason="scikit-learn < 1.7 has no sample_weight in MLPClassifier.fit",
)

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS[:600] / 16.0
Y_DIGITS = Y_DIGITS[:600]
X_ML, Y_ML = make_multilabel_classification(n_samples=200, n_classes=4, random_state=0)
SW = np.random.RandomState(0).uniform(0.1, 2.0, size=len(Y_DIGITS))


def _fit_both(X, y, fit_params=None, **params):
    params = {"hidden_layer_sizes": (16,), "random_state": 0, **params}
    fit_params = fit_params or {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)  # short fits, as in scikit-learn's
        ours = MLPClassifier(**params).fit(X, y, **fit_params)
        n_ours = len(caught)
        theirs = SkMLP(**params).fit(X, y, **fit_params)
    # any other warning (a batch_size clipped to the data) is scikit-learn's, word for word
    assert [str(w.message) for w in caught[:n_ours]] == [str(w.message)
                                                        for w in caught[n_ours:]]
    return ours, theirs


def _assert_same_model(ours, theirs, X, rtol=1e-6):
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.n_layers_ == theirs.n_layers_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    if hasattr(theirs, "loss_curve_"):
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=rtol)
        assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=rtol)
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(ours, name), getattr(theirs, name)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", max_iter=20),
        dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5, max_iter=15),
        dict(solver="sgd", learning_rate="adaptive", momentum=0.0, learning_rate_init=0.5,
             tol=1e-2, n_iter_no_change=2, max_iter=40),
        dict(solver="sgd", nesterovs_momentum=False, shuffle=False, max_iter=10),
        dict(solver="lbfgs", max_iter=30),
        dict(solver="adam", early_stopping=True, max_iter=40),
        dict(solver="sgd", activation="logistic", hidden_layer_sizes=(12, 8), batch_size=64, max_iter=10),
        dict(solver="adam", activation="tanh", alpha=0.1, batch_size=1000, max_iter=5),
    ],
    ids=["adam", "sgd-nesterov-invscaling", "sgd-adaptive-nomomentum", "sgd-noshuffle",
         "lbfgs", "early-stopping", "logistic-deep", "tanh-clipped-batch"],
)
def test_parity_multiclass(params):
    ours, theirs = _fit_both(X_DIGITS, Y_DIGITS, **params)
    _assert_same_model(ours, theirs, X_DIGITS)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)
        assert ours.best_validation_score_ == theirs.best_validation_score_
        assert ours.best_loss_ is None and theirs.best_loss_ is None


@needs_sklearn_sample_weight
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_parity_sample_weight(solver):
    ours, theirs = _fit_both(X_DIGITS, Y_DIGITS, {"sample_weight": SW}, solver=solver, max_iter=15)
    _assert_same_model(ours, theirs, X_DIGITS)


@needs_sklearn_sample_weight
@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("sw_dtype", [np.float32, np.float64])
def test_parity_float32_input_with_sample_weight(solver, sw_dtype):
    """float32 X: with float32 weights the step runs on one parameter buffer; with
    float64 weights (float64 intercept gradients, as scikit-learn computes them) on
    separate arrays. Both follow scikit-learn."""
    X32 = X_DIGITS.astype(np.float32)
    ours, theirs = _fit_both(X32, Y_DIGITS, {"sample_weight": SW.astype(sw_dtype)},
                             solver=solver, max_iter=10)
    _assert_same_model(ours, theirs, X32)
    assert ours.coefs_[0].dtype == np.float32


@needs_sklearn_sample_weight
def test_parity_sample_weight_early_stopping():
    ours, theirs = _fit_both(X_DIGITS, Y_DIGITS, {"sample_weight": SW}, early_stopping=True,
                             learning_rate_init=0.03, max_iter=40)
    # a run whose last epoch scores below its best: both restore the best epoch's weights
    assert ours.validation_scores_[-1] < max(ours.validation_scores_)
    _assert_same_model(ours, theirs, X_DIGITS)
    np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_parity_binary(solver):
    y = np.where(Y_DIGITS > 4, "big", "small")
    ours, theirs = _fit_both(X_DIGITS, y, solver=solver, max_iter=15)
    _assert_same_model(ours, theirs, X_DIGITS)
    assert ours.predict_proba(X_DIGITS).shape == (len(y), 2)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_parity_multilabel(early_stopping):
    ours, theirs = _fit_both(X_ML, Y_ML, early_stopping=early_stopping, max_iter=20)
    _assert_same_model(ours, theirs, X_ML)
    assert ours.predict(X_ML).shape == Y_ML.shape


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_parity_sparse(fmt, solver):
    X = sp.random(300, 40, density=0.2, format=fmt, random_state=0)
    y = np.arange(300) % 3
    ours, theirs = _fit_both(X, y, solver=solver, max_iter=15)
    _assert_same_model(ours, theirs, X)
    dense, _ = _fit_both(X.toarray(), y, solver=solver, max_iter=15)
    np.testing.assert_allclose(ours.loss_curve_, dense.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_float32_stays_float32(solver):
    X32 = X_DIGITS.astype(np.float32)
    ours, theirs = _fit_both(X32, Y_DIGITS, solver=solver, max_iter=10)
    assert ours.coefs_[0].dtype == np.float32 and ours.intercepts_[0].dtype == np.float32
    assert ours.predict_proba(X32).dtype == np.float32
    # scikit-learn's lbfgs returns float64 weights: compare values only, to float32 accuracy
    _assert_same_model(ours, theirs, X32, rtol=1e-3)


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_warm_start_appends_like_scikit_learn(solver):
    params = dict(hidden_layer_sizes=(16,), random_state=0, warm_start=True, max_iter=4, solver=solver)
    ours, theirs = MLPClassifier(**params), SkMLP(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(3):
            ours.fit(X_DIGITS, Y_DIGITS)
            theirs.fit(X_DIGITS, Y_DIGITS)
    assert ours.n_iter_ == theirs.n_iter_ == 4  # reset at each call
    assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-6, atol=1e-9)
    if solver == "adam":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    else:  # scikit-learn keeps no lbfgs curve; ours appends one value per iteration
        assert len(ours.loss_curve_) == 12
        np.testing.assert_allclose(ours.loss_curve_[-1], theirs.loss_, rtol=1e-6)


def test_partial_fit_parity():
    ours, theirs = MLPClassifier(hidden_layer_sizes=(16,), random_state=0), SkMLP(hidden_layer_sizes=(16,), random_state=0)
    classes = np.unique(Y_DIGITS)
    for chunk in np.array_split(np.arange(len(Y_DIGITS)), 4):
        ours.partial_fit(X_DIGITS[chunk], Y_DIGITS[chunk], classes=classes)
        theirs.partial_fit(X_DIGITS[chunk], Y_DIGITS[chunk], classes=classes)
    assert ours.n_iter_ == theirs.n_iter_ == 1
    assert ours.t_ == theirs.t_ == len(Y_DIGITS)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)
    np.testing.assert_allclose(ours.coefs_[1], theirs.coefs_[1], rtol=1e-6, atol=1e-9)


def test_partial_fit_errors():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X_DIGITS, Y_DIGITS)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    clf = MLPClassifier(hidden_layer_sizes=(4,)).partial_fit(X_DIGITS, Y_DIGITS % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit(X_DIGITS, Y_DIGITS)


def test_warm_start_with_new_classes_is_refused():
    clf = MLPClassifier(hidden_layer_sizes=(4,), warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_DIGITS, Y_DIGITS % 3)
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
            clf.fit(X_DIGITS, Y_DIGITS)


def test_convergence_warning_and_verbose(capsys):
    msg = "Stochastic Optimizer: Maximum iterations (3) reached and the optimization hasn't converged yet."
    with pytest.warns(ConvergenceWarning, match=re.escape(msg)):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, verbose=True, random_state=0).fit(X_DIGITS, Y_DIGITS)
    out = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in out] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert re.fullmatch(r"Iteration 1, loss = \d\.\d{8}", out[0])
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 2 iteration"):
        MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=2).fit(X_DIGITS, Y_DIGITS)


def test_lbfgs_loss_curve_has_one_value_per_iteration():
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500, random_state=0)
    clf.fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert len(clf.loss_curve_) == clf.n_iter_ > 5
    assert clf.loss_curve_[-1] == pytest.approx(clf.loss_, rel=1e-12)
    assert all(np.diff(clf.loss_curve_) <= 1e-12)  # L-BFGS decreases the loss monotonically


def test_batch_size_clipping_warns():
    clf = MLPClassifier(hidden_layer_sizes=(4,), batch_size=10_000, max_iter=1)
    with pytest.warns(UserWarning, match="It is going to be clipped"):
        with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(1\) reached"):
            clf.fit(X_DIGITS, Y_DIGITS)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_layer_sizes=(4, 0)), re.escape("hidden_layer_sizes must be > 0, got [4, 0].")),
        (dict(solver="newton"), "The 'solver' parameter of MLPClassifier must be a str among"),
        (dict(input_bias="median"), "The 'input_bias' parameter of MLPClassifier must be a str among"),
        (dict(momentum=1.5), "The 'momentum' parameter of MLPClassifier must be a float in the range"),
        (dict(input_bias_rate=0.0), "The 'input_bias_rate' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X_DIGITS[:20], Y_DIGITS[:20])


def test_bad_input_is_rejected_and_never_modified():
    X = X_DIGITS[:50].copy()
    X_before, y = X.copy(), Y_DIGITS[:50].copy()
    sw = SW[:50].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, input_bias="mean").fit(X, y, sample_weight=sw)
        clf.predict_proba(X)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(sw, SW[:50])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        MLPClassifier().fit(X_nan, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 64"):
        clf.predict(X[:, :3])


def test_pickle_round_trip_keeps_predictions():
    clf, _ = _fit_both(X_DIGITS, Y_DIGITS, max_iter=5)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X_DIGITS), clf.predict_proba(X_DIGITS))


def test_same_constructor_signature_as_scikit_learn():
    ours, theirs = MLPClassifier().get_params(), SkMLP().get_params()
    for name, value in theirs.items():
        assert ours[name] == value, name
    added = set(ours) - set(theirs)
    assert added == {"input_bias", "input_bias_layers", "input_bias_init", "input_bias_rate",
                     "gradient_centralization", "record_gradient_signs", "class_weight"}


def test_partial_fit_with_warm_start_checks_classes_like_scikit_learn():
    params = dict(hidden_layer_sizes=(4,), warm_start=True, random_state=0)
    for cls in (MLPClassifier, SkMLP):
        clf = cls(**params).partial_fit(X_DIGITS, Y_DIGITS, classes=np.arange(10))
        with pytest.raises(ValueError, match="warm_start can only be used where `y` has the same"):
            clf.partial_fit(X_DIGITS[Y_DIGITS < 5], Y_DIGITS[Y_DIGITS < 5])


def test_failed_fit_leaves_the_estimator_unfitted():
    X_nan = X_DIGITS.copy()
    X_nan[0, 0] = np.nan
    clf = MLPClassifier()
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.fit(X_nan, Y_DIGITS)
    assert not hasattr(clf, "activation_")
    with pytest.raises(NotFittedError):
        clf.predict(X_DIGITS)


def test_divergence_raises_instead_of_returning_nan_weights():
    params = dict(solver="sgd", activation="identity", learning_rate_init=100.0, max_iter=20,
                  random_state=0, hidden_layer_sizes=(16,))
    msg = "Solver produced non-finite parameter weights"
    for cls in (MLPClassifier, SkMLP):  # the same behaviour as scikit-learn's
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match=msg):
                cls(**params).fit(X_DIGITS * 100, Y_DIGITS)


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
@pytest.mark.parametrize("batch_size", [1, 50, 200])
def test_sgd_weights_are_bitwise_scikit_learns(activation, batch_size):
    """sgd (Nesterov momentum) with scikit-learn's own activations: not a bit of difference
    in the weights (the reported losses agree to rounding: see the parity tests)."""
    ours, theirs = _fit_both(X_DIGITS[:300], Y_DIGITS[:300], activation=activation,
                             solver="sgd", batch_size=batch_size, max_iter=3)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("y", [np.array([3, 1, 2, 3, 1]), np.array(["b", "a", "c", "a", "b"]),
                               np.array([1.0, -2.0, 7.0, 1.0, 7.0])])
def test_multiclass_targets_encoded_as_label_binarizer_does(y):
    from sklearn.preprocessing import LabelBinarizer

    clf = MLPClassifier()
    Y = clf._encode_targets(y, incremental=False)
    expected = LabelBinarizer().fit(y).transform(y).astype(bool)
    assert Y.dtype == bool
    np.testing.assert_array_equal(Y, expected)
    np.testing.assert_array_equal(clf.classes_, np.unique(y))


# ---------------------------- partial_fit keeps sample_weight (issue 18, item 15)
@needs_sklearn_sample_weight
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_sample_weight_parity(solver):
    params = dict(hidden_layer_sizes=(16,), solver=solver, random_state=0)
    ours, theirs = MLPClassifier(**params), SkMLP(**params)
    classes = np.unique(Y_DIGITS)
    for chunk in np.array_split(np.arange(len(Y_DIGITS)), 3):
        ours.partial_fit(X_DIGITS[chunk], Y_DIGITS[chunk], sample_weight=SW[chunk],
                         classes=classes)
        theirs.partial_fit(X_DIGITS[chunk], Y_DIGITS[chunk], sample_weight=SW[chunk],
                           classes=classes)
    _assert_same_model(ours, theirs, X_DIGITS)
    unweighted = MLPClassifier(**params).partial_fit(X_DIGITS, Y_DIGITS, classes=classes)
    assert not np.allclose(unweighted.loss_curve_, ours.loss_curve_[:1], rtol=1e-3)


@pytest.mark.parametrize("input_bias", ["none", "learned", "mean", "batch"])
def test_partial_fit_zero_one_weights_equal_the_weighted_rows_alone(input_bias):
    """One minibatch per call (batch_size auto: 200 >= a chunk), no shuffling: weight 0
    drops a row, weight 1 keeps it."""
    keep = np.random.RandomState(5).rand(len(Y_DIGITS)) < 0.6
    params = dict(hidden_layer_sizes=(16, 8), solver="sgd", batch_size="auto",
                  shuffle=False, alpha=1e-2, input_bias=input_bias, random_state=0)
    weighted, alone = MLPClassifier(**params), MLPClassifier(**params)
    classes = np.unique(Y_DIGITS)
    for chunk in np.array_split(np.arange(len(Y_DIGITS)), 3):
        weighted.partial_fit(X_DIGITS[chunk], Y_DIGITS[chunk],
                             sample_weight=keep[chunk].astype(float), classes=classes)
        kept = chunk[keep[chunk]]
        alone.partial_fit(X_DIGITS[kept], Y_DIGITS[kept], classes=classes)
    np.testing.assert_allclose(weighted.loss_curve_, alone.loss_curve_, rtol=1e-12)
    for name in ("coefs_", "intercepts_", "input_biases_"):
        for a, b in zip(getattr(weighted, name), getattr(alone, name)):
            if b is None:
                assert a is None
            else:
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_float32_inputs_with_float64_sample_weights_follow_scikit_learn(solver):
    """float64 sample weights make the intercepts' gradients float64 on float32 X: their
    optimiser state turns float64 at the first step, as scikit-learn's does."""
    X, y = load_digits(return_X_y=True)
    X, y = (X[:300] / 16).astype(np.float32), y[:300]
    sample_weight = np.linspace(0.5, 1.5, 300)
    params = dict(hidden_layer_sizes=(8,), solver=solver, batch_size=50, max_iter=2,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**params).fit(X, y, sample_weight=sample_weight)
        theirs = SkMLP(**params).fit(X, y, sample_weight=sample_weight)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert ours.loss_curve_ == theirs.loss_curve_
