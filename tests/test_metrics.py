import math
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from centered_nn import Centerer, MLPClassifier
from centered_nn.diagnostics import GradientSignRecorder
from centered_nn.metrics import final_loss_scorer, gradient_sign_scorer, n_iter_scorer

METRICS = GradientSignRecorder.METRICS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data():
    X, y = make_classification(n_samples=90, n_features=6, n_informative=4,
                               random_state=0)
    return np.abs(X), y  # all-positive inputs: the uncentred case


def _mlp(**params):
    defaults = dict(hidden_layer_sizes=(4, 3), solver="lbfgs", max_iter=15,
                    random_state=0)
    return MLPClassifier(**{**defaults, **params})


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def fitted(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return _mlp().fit(*data)


class _Stub:
    """A fitted-MLP stand-in with a hand-written history."""

    def __init__(self, column):
        self.loss_curve_ = [3.0, 2.0, 1.0, 0.5]
        self.n_iter_ = 4
        values = np.column_stack([column, np.zeros(len(column))])
        self.gradient_sign_history_ = dict.fromkeys(METRICS, values)


# --- values -------------------------------------------------------------------


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_scorer_matches_history(fitted, data, metric, layer):
    column = fitted.gradient_sign_history_[metric][:, layer]
    assert column.shape == (fitted.n_iter_,)
    expected_mean = np.nanmean(column)
    expected_last = column[~np.isnan(column)][-1]
    mean = gradient_sign_scorer(metric, layer=layer, reduce="mean")(fitted, *data)
    last = gradient_sign_scorer(metric, layer=layer, reduce="last")(fitted, *data)
    assert isinstance(mean, float) and isinstance(last, float)
    assert mean == pytest.approx(expected_mean, rel=1e-12)
    assert last == expected_last


def test_history_has_nan_that_mean_ignores(fitted):
    # The first L-BFGS record of sign_flip_fraction has no previous step.
    column = fitted.gradient_sign_history_["sign_flip_fraction"][:, 0]
    assert math.isnan(column[0])
    score = gradient_sign_scorer("sign_flip_fraction")(fitted, None, None)
    assert not math.isnan(score)
    assert score == pytest.approx(column[1:].mean(), rel=1e-12)


def test_reduce_on_hand_written_history():
    stub = _Stub([0.2, np.nan, 0.6, np.nan])
    assert gradient_sign_scorer(reduce="mean")(stub, None, None) == pytest.approx(0.4)
    assert gradient_sign_scorer(reduce="last")(stub, None, None) == 0.6
    assert gradient_sign_scorer(layer=1, reduce="last")(stub, None, None) == 0.0


def test_all_nan_column_scores_nan_silently():
    stub = _Stub([np.nan, np.nan])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(gradient_sign_scorer(reduce="mean")(stub, None, None))
        assert math.isnan(gradient_sign_scorer(reduce="last")(stub, None, None))


def test_negative_layer_counts_from_end(fitted):
    last = gradient_sign_scorer("input_mean", layer=-1)(fitted, None, None)
    assert last == gradient_sign_scorer("input_mean", layer=2)(fitted, None, None)
    first = gradient_sign_scorer("input_mean", layer=-3)(fitted, None, None)
    assert first == gradient_sign_scorer("input_mean", layer=0)(fitted, None, None)


def test_uncentred_inputs_have_same_sign_per_sample_gradients(data):
    # batch_size=1 on all-positive X: every per-sample gradient of layer 0 is
    # single-signed; centring the inputs breaks that.
    X, y = data
    mlp = MLPClassifier(hidden_layer_sizes=(3,), solver="sgd", batch_size=1,
                        max_iter=2, random_state=0)
    scorer = gradient_sign_scorer("sample_same_sign_fraction")
    assert scorer(clone(mlp).fit(X, y), X, y) == 1.0
    assert scorer(make_pipeline(Centerer(), clone(mlp)).fit(X, y), X, y) < 0.9


def test_n_iter_and_final_loss(fitted, data):
    n_iter = n_iter_scorer(fitted, *data)
    loss = final_loss_scorer(fitted, *data)
    assert type(n_iter) is float and type(loss) is float
    assert n_iter == fitted.n_iter_ == len(fitted.loss_curve_)
    assert loss == fitted.loss_curve_[-1]
    assert final_loss_scorer(_Stub([0.0]), None, None) == 0.5
    assert n_iter_scorer(_Stub([0.0]), None, None) == 4.0


def test_scorers_accept_scikit_learn_mlp(data):
    # n_iter / loss are duck-typed; the gradient-sign history is not there.
    sk = SkMLPClassifier(hidden_layer_sizes=(3,), max_iter=4, random_state=0).fit(*data)
    assert n_iter_scorer(sk, *data) == 4.0
    assert final_loss_scorer(sk, *data) == sk.loss_curve_[-1]
    with pytest.raises(ValueError, match="record_gradient_signs=True"):
        gradient_sign_scorer()(sk, *data)


# --- finding the MLP ----------------------------------------------------------


@pytest.mark.parametrize("first", [Centerer(), StandardScaler()])
def test_scorers_find_mlp_in_pipeline(data, first):
    pipe = make_pipeline(clone(first), _mlp()).fit(*data)
    mlp = pipe[-1]
    scorer = gradient_sign_scorer("positive_input_fraction", reduce="last")
    expected = mlp.gradient_sign_history_["positive_input_fraction"][-1, 0]
    assert scorer(pipe, *data) == expected
    # centred inputs: roughly half the entries are positive, not all of them
    assert 0.2 < expected < 0.8
    assert n_iter_scorer(pipe, *data) == mlp.n_iter_
    assert final_loss_scorer(pipe, *data) == mlp.loss_curve_[-1]


def test_scorers_find_mlp_in_nested_pipeline(data):
    inner = Pipeline([("scale", StandardScaler()), ("mlp", _mlp())])
    outer = Pipeline([("center", Centerer()), ("model", inner)]).fit(*data)
    mlp = outer["model"]["mlp"]
    expected = np.nanmean(mlp.gradient_sign_history_["same_sign_fraction"][:, 1])
    assert gradient_sign_scorer(layer=1)(outer, *data) == pytest.approx(expected)
    assert n_iter_scorer(outer, *data) == mlp.n_iter_


# --- GridSearchCV -------------------------------------------------------------


def test_grid_search_scoring_dict(data):
    X, y = data
    pipe = Pipeline([("center", Centerer()),
                     ("mlp", _mlp(hidden_layer_sizes=(4,), max_iter=30))])
    grid = {"center__strategy": ["none", "mean"]}
    cv = StratifiedKFold(n_splits=3)
    scoring = {"accuracy": "accuracy", "same_sign": gradient_sign_scorer(),
               "n_iter": n_iter_scorer, "loss": final_loss_scorer}
    search = GridSearchCV(pipe, grid, scoring=scoring, refit="accuracy", cv=cv,
                          n_jobs=2).fit(X, y)
    res = search.cv_results_
    assert search.best_index_ == np.argmax(res["mean_test_accuracy"])

    splits = list(cv.split(X, y))
    for i, params in enumerate(res["params"]):
        expected = {"same_sign": [], "n_iter": [], "loss": []}
        for train, _ in splits:
            est = clone(pipe).set_params(**params).fit(X[train], y[train])
            mlp = est[-1]
            expected["same_sign"].append(
                np.nanmean(mlp.gradient_sign_history_["same_sign_fraction"][:, 0]))
            expected["n_iter"].append(mlp.n_iter_)
            expected["loss"].append(mlp.loss_curve_[-1])
        for name, values in expected.items():
            got = [res[f"split{k}_test_{name}"][i] for k in range(len(splits))]
            assert_allclose(got, values, rtol=1e-10)
            assert res[f"mean_test_{name}"][i] == pytest.approx(np.mean(values))
        same_sign = np.asarray(expected["same_sign"])
        assert np.all((same_sign >= 0) & (same_sign <= 1))
    # all-positive inputs give more single-signed weight gradients than centred ones
    strategies = [params["center__strategy"] for params in res["params"]]
    mean_same_sign = dict(zip(strategies, res["mean_test_same_sign"]))
    assert mean_same_sign["none"] > mean_same_sign["mean"]


def test_scorer_pickle_round_trip(fitted):
    scorer = gradient_sign_scorer("sign_flip_fraction", layer=1, reduce="last")
    restored = pickle.loads(pickle.dumps(scorer))
    assert restored is not scorer
    assert repr(restored) == repr(scorer) == (
        "gradient_sign_scorer(metric='sign_flip_fraction', layer=1, reduce='last')")
    assert restored(fitted, None, None) == scorer(fitted, None, None)
    assert pickle.loads(pickle.dumps(n_iter_scorer)) is n_iter_scorer


# --- errors -------------------------------------------------------------------


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match="metric must be one of.*'same_sign_fraction'.*"
                                         "'input_eigenvalue_ratio' or a StepMetric; "
                                         "got 'accuracy'"):
        gradient_sign_scorer("accuracy")


@pytest.mark.parametrize("reduce", ["median", None, "MEAN"])
def test_bad_reduce(reduce):
    with pytest.raises(ValueError, match=r"reduce must be one of 'mean', 'last'"):
        gradient_sign_scorer(reduce=reduce)


@pytest.mark.parametrize("layer", [0.0, "0", True, None])
def test_layer_must_be_int(layer):
    with pytest.raises(ValueError, match="layer must be an int"):
        gradient_sign_scorer(layer=layer)


def test_int_like_layer_accepted(fitted):
    assert (gradient_sign_scorer(layer=np.int64(1))(fitted, None, None)
            == gradient_sign_scorer(layer=1)(fitted, None, None))


@pytest.mark.parametrize("layer", [3, -4])
def test_layer_out_of_range_at_scoring_time(fitted, layer):
    scorer = gradient_sign_scorer(layer=layer)  # not checked yet: no estimator
    with pytest.raises(ValueError, match=rf"layer={layer} is out of range: the "
                                         r"estimator has 3 weight matrices"):
        scorer(fitted, None, None)


def test_history_none(data):
    mlp = _mlp(record_gradient_signs=False).fit(*data)
    assert mlp.gradient_sign_history_ is None
    with pytest.raises(ValueError, match="record_gradient_signs=True"):
        gradient_sign_scorer()(make_pipeline(StandardScaler(), mlp), *data)


@pytest.mark.parametrize("scorer", [gradient_sign_scorer(), n_iter_scorer,
                                    final_loss_scorer])
def test_not_an_mlp(data, scorer):
    logreg = LogisticRegression().fit(*data)
    with pytest.raises(TypeError, match="found LogisticRegression.$"):
        scorer(logreg, *data)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(*data)
    with pytest.raises(TypeError, match="found LogisticRegression at the end of Pipeline"):
        scorer(pipe, *data)


def test_unfitted_mlp(data):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        n_iter_scorer(make_pipeline(StandardScaler(), _mlp()), *data)


# --- the regressor --------------------------------------------------------------


def test_scorers_read_a_regressor_in_a_grid_search(data):
    """Scorers work for MLPRegressor in a Pipeline: each CV score is the refit's own figure."""
    from centered_nn import MLPRegressor

    X, y = data
    target = X @ np.arange(1.0, X.shape[1] + 1)
    pipe = make_pipeline(Centerer(strategy="none"), MLPRegressor(
        hidden_layer_sizes=(4,), solver="lbfgs", max_iter=8, random_state=0))
    scoring = {"same": gradient_sign_scorer("sample_same_sign_fraction"), "iters": n_iter_scorer,
               "loss": final_loss_scorer}
    search = GridSearchCV(pipe, {"centerer__strategy": ["none", "mean"]}, scoring=scoring,
                          refit="same", cv=2).fit(X, target)
    assert search.cv_results_["mean_test_iters"].tolist() == [8.0, 8.0]
    same = search.cv_results_["mean_test_same"]
    assert same[0] == 1.0 and same[1] < 0.5  # all-positive X: single-signed per sample
    reg = search.best_estimator_[-1]
    assert gradient_sign_scorer("sample_same_sign_fraction")(search.best_estimator_) == \
        pytest.approx(np.nanmean(reg.gradient_sign_history_["sample_same_sign_fraction"][:, 0]))
    assert final_loss_scorer(reg) == reg.loss_curve_[-1]


def test_unfitted_regressor_is_named(data):
    from centered_nn import MLPRegressor

    with pytest.raises(NotFittedError, match="This MLPRegressor instance is not fitted yet"):
        n_iter_scorer(make_pipeline(StandardScaler(), MLPRegressor()), *data)


# --- epochs to a training loss (issue 16) ---------------------------------------

from centered_nn.metrics import epochs_to_loss, epochs_to_loss_scorer  # noqa: E402


@pytest.mark.parametrize("curve, target, expected", [
    ([2.0, 1.0, 0.5, 0.25], 0.5, 3),  # at or below: the first epoch equal to it counts
    ([2.0, 1.0, 0.5, 0.25], 0.49, 4),
    ([2.0, 1.0], 0.5, None),
    ([0.1, 0.2], 0.5, 1),
    ([2.0, np.nan, 0.4], 0.5, 3),  # NaN never reaches
    ([], 0.5, None),
])
def test_epochs_to_loss_by_hand(curve, target, expected):
    assert epochs_to_loss(curve, target) == expected


@pytest.mark.parametrize("target, message", [
    (np.nan, "target must be finite"), ("0.5", "target must be a number"),
    (True, "target must be a number")])
def test_epochs_to_loss_checks_the_target(target, message):
    with pytest.raises(ValueError, match=message):
        epochs_to_loss([1.0], target)


def test_epochs_to_loss_needs_a_1d_curve():
    with pytest.raises(ValueError, match=r"loss_curve must be 1-D; got an array of shape"):
        epochs_to_loss([[1.0, 0.5]], 0.5)


def test_epochs_to_loss_scorer_pickles_and_reads_the_pipeline():
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(6,), solver="sgd", learning_rate_init=0.1, max_iter=40,
        random_state=0)).fit(X, y)
    curve = pipe[-1].loss_curve_
    target = curve[len(curve) // 2]
    scorer = pickle.loads(pickle.dumps(epochs_to_loss_scorer(target)))
    expected = next(i + 1 for i, v in enumerate(curve) if v <= target)
    assert scorer(pipe, X, y) == float(expected)
    never = epochs_to_loss_scorer(min(curve) / 2, not_reached=41)
    assert never(pipe, X, y) == 41.0
    assert math.isnan(epochs_to_loss_scorer(min(curve) / 2)(pipe, X, y))
    with pytest.raises(ValueError, match="not_reached must be a number"):
        epochs_to_loss_scorer(0.1, not_reached="never")
