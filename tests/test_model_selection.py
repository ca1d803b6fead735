"""The centring study (centered_nn.model_selection) against hand-written loops."""

import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from centered_nn import Centerer, MLPClassifier, MLPRegressor
from centered_nn.metrics import epochs_to_loss
from centered_nn.model_selection import centering_study
from centered_nn.model_selection._summary import choose_rates

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SETUPS = {"raw": {}, "centerer": {"center__strategy": "mean"},
          "mean": {"mlp__input_bias": "mean"}}
RATES = [0.1, 1.0]


def _pipe(estimator=MLPClassifier, max_iter=8, **params):
    mlp = estimator(hidden_layer_sizes=(8,), solver="sgd", max_iter=max_iter, random_state=0,
                    **params)
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp)])


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def study(iris):
    X, y = iris
    return centering_study(_pipe(), X, y, setups=SETUPS, learning_rates=RATES, cv=2)


def _by_hand(X, y, pipe, setups, rates, splits):
    """The study written as plain loops: {(setup, rate, fold): fitted pipeline, score}."""
    fits = {}
    for name, params in setups.items():
        for rate in rates:
            for k, (train, test) in enumerate(splits):
                model = clone(pipe).set_params(mlp__learning_rate_init=rate, **params)
                model.fit(X[train], y[train])
                fits[(name, rate, k)] = (model, model.score(X[test], y[test]))
    return fits


def test_study_equals_hand_written_loops(iris, study):
    X, y = iris
    splits = list(StratifiedKFold(2).split(X, y))
    fits = _by_hand(X, y, _pipe(), SETUPS, RATES, splits)
    curves = {key: np.asarray(fit[0][-1].loss_curve_) for key, fit in fits.items()}
    # the default target, by its documented rule: raw's final loss at its rate with the
    # lowest geometric-mean final loss, among rates where every run ended below its start
    trained = [r for r in RATES if all(curves[("raw", r, k)][-1] < curves[("raw", r, k)][0]
                                       for k in range(2))]
    best = min(trained, key=lambda r: np.prod([curves[("raw", r, k)][-1] for k in range(2)]))
    target = [curves[("raw", best, k)][-1] for k in range(2)]
    start = [curves[("raw", RATES[0], k)][0] for k in range(2)]  # raw's lowest rate
    np.testing.assert_array_equal(study.target_loss, target)
    np.testing.assert_array_equal(study.reference_loss, start)
    for s, name in enumerate(SETUPS):
        for r, rate in enumerate(RATES):
            for k in range(2):
                model, score = fits[(name, rate, k)]
                mlp = model[-1]
                curve = curves[(name, rate, k)]
                assert study.figures["test_score"][s, r, k] == score
                np.testing.assert_array_equal(study.curves["loss_curve"][s][r][k], curve)
                assert study.figures["final_loss"][s, r, k] == curve[-1]
                epochs = epochs_to_loss(curve, target[k])
                reached = epochs is not None and curve[-1] < curve[0]
                assert study.figures["reached"][s, r, k] == reached
                if reached:
                    assert study.figures["epochs_to_target"][s, r, k] == epochs
                padded = np.concatenate([curve, np.full(8 - curve.size, curve[-1])])
                assert study.figures["mean_relative_loss"][s, r, k] == pytest.approx(
                    padded.mean() / start[k], rel=1e-12)
                signs = mlp.gradient_sign_history_["sample_same_sign_fraction"][:, 0]
                assert study.figures["sample_same_sign_fraction"][s, r, k] == pytest.approx(
                    signs.mean(), rel=1e-12)
    assert not study.figures["diverged"].any()


def test_summary_picks_the_rate_with_fewest_epochs_not_the_best_score(study):
    for s, name in enumerate(study.setups):
        row = study.summary[name]
        trains = study.figures["reached"][s].all(axis=1)
        if not trains.any():
            assert row["highest_trainable_rate"] is None
            continue
        epochs = study.figures["epochs_to_target"][s].mean(axis=1)
        speed = study.figures["mean_relative_loss"][s].mean(axis=1)
        best = min(np.flatnonzero(trains), key=lambda r: (epochs[r], speed[r]))
        assert row["fastest_rate"] == study.learning_rates[best]
        assert row["highest_trainable_rate"] == study.learning_rates[trains].max()
        assert row["epochs_to_target_mean"] == epochs[best]
        assert row["test_score_mean"] == study.figures["test_score"][s, best].mean()


def test_choose_rates_on_hand_made_figures():
    """Two rates reach the target in 5 epochs: the lower relative loss wins; the score
    never enters; a rate where one run missed does not train."""
    nan = np.nan
    figures = {
        "reached": np.array([[[True, True], [True, True], [True, True], [True, False]]]),
        "epochs_to_target": np.array([[[9, 9], [5, 5], [5, 5], [2, nan]]]),
        "mean_relative_loss": np.array([[[0.5, 0.5], [0.3, 0.3], [0.2, 0.2], [0.1, 0.1]]]),
        "diverged": np.zeros((1, 4, 2), bool), "failed": np.zeros((1, 4, 2), bool),
    }
    assert choose_rates(figures, 0) == (2, 2)
    figures["reached"][:] = False
    figures["diverged"][0, 2:] = True
    assert choose_rates(figures, 0) == (1, None)


def test_diverging_setup_is_recorded_not_raised(iris):
    """Non-finite weights (a ValueError inside fit) and a loss that ends above 10x its
    start are both 'diverged', even with error_score='raise'."""
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        study = centering_study(_pipe(max_iter=6), X, y, setups={"raw": {}},
                                learning_rates=[0.1, 30.0, 1e308], cv=2, error_score="raise")
    diverged = study.figures["diverged"][0]
    assert diverged[2].all()  # 1e308: non-finite weights
    assert study.curves["loss_curve"][0][2][0].size == 0
    assert np.isnan(study.figures["test_score"][0, 2]).all()
    # lr 30: the estimators' rule, checked by hand on a direct fit
    splits = list(StratifiedKFold(2).split(X, y))
    for k, (train, _) in enumerate(splits):
        curve = clone(_pipe(max_iter=6)).set_params(mlp__learning_rate_init=30.0).fit(
            X[train], y[train])[-1].loss_curve_
        assert diverged[1, k] == (curve[-1] > 10 * curve[0])
    assert not diverged[0].any()
    assert study.summary["raw"]["diverged_rates"] == [float(r) for r in study.learning_rates
                                                       if diverged[list(
                                                           study.learning_rates).index(r)].any()]
    assert np.isnan(study.figures["epochs_to_target"][0][diverged]).all()


class _FailsAtHighRates(MLPClassifier):
    """An MLP whose fit raises (not a divergence) above a learning rate of 0.5."""

    def fit(self, X, y):
        if self.learning_rate_init > 0.5:
            raise RuntimeError("no fit above 0.5")
        return super().fit(X, y)


def test_other_fit_failures_follow_error_score(iris):
    X, y = iris
    pipe = _pipe(_FailsAtHighRates)
    with pytest.warns(FitFailedWarning, match="A fit failed; its score is set to -1"):
        study = centering_study(pipe, X, y, setups={"raw": {}}, learning_rates=[0.1, 1.0],
                                cv=2, error_score=-1)
    assert study.figures["failed"][0, 1].all() and not study.figures["failed"][0, 0].any()
    assert (study.figures["test_score"][0, 1] == -1).all()
    assert not study.figures["diverged"].any()
    with pytest.raises(RuntimeError, match="no fit above 0.5"):
        centering_study(pipe, X, y, setups={"raw": {}}, learning_rates=[0.1, 1.0], cv=2,
                        error_score="raise")


def test_every_setup_starts_from_the_same_weights(iris):
    """Two identical setups give identical curves, even without a seed on the MLP."""
    X, y = iris
    pipe = _pipe().set_params(mlp__random_state=None)
    study = centering_study(pipe, X, y, setups={"a": {}, "b": {}}, learning_rates=[0.3], cv=2)
    for k in range(2):
        np.testing.assert_array_equal(study.curves["loss_curve"][0][0][k],
                                      study.curves["loss_curve"][1][0][k])
    # an int random_state is the seed of every fit: equal to a direct fit with it
    study = centering_study(_pipe(), X, y, setups={"a": {}}, learning_rates=[0.3], cv=2,
                            random_state=5)
    train, _ = next(StratifiedKFold(2).split(X, y))
    direct = clone(_pipe()).set_params(mlp__learning_rate_init=0.3, mlp__random_state=5)
    np.testing.assert_array_equal(study.curves["loss_curve"][0][0][0],
                                  direct.fit(X[train], y[train])[-1].loss_curve_)


def test_random_state_instance_is_not_advanced(iris):
    X, y = iris
    rng = np.random.RandomState(3)
    before = rng.get_state()[1].copy()
    centering_study(_pipe(), X, y, setups={"a": {}}, learning_rates=[0.3], cv=2,
                    random_state=rng)
    np.testing.assert_array_equal(rng.get_state()[1], before)


def test_parallel_equals_serial(iris, study):
    X, y = iris
    parallel = centering_study(_pipe(), X, y, setups=SETUPS, learning_rates=RATES, cv=2,
                               n_jobs=2)
    for name in study.figures:
        if name not in ("fit_time", "score_time", "seconds_to_target"):  # clock readings
            np.testing.assert_array_equal(parallel.figures[name], study.figures[name])
    np.testing.assert_array_equal(parallel.target_loss, study.target_loss)


@pytest.mark.parametrize("kwargs, message", [
    ({"setups": {}}, "setups must be a non-empty dict"),
    ({"setups": {"a": {"mlp__learning_rate_init": 1.0}}}, "sets 'mlp__learning_rate_init'"),
    ({"setups": {"a": {"mlp__max_iter": 7}}}, r"sets 'mlp__max_iter'.*max_iter, solver: set them on "),
    ({"setups": {"a": {"mlp__nope": 1}}}, "Invalid parameter 'nope'"),
    ({"learning_rates": [0.1, -1]}, "learning_rates must be a non-empty list or array of"),
    ({"learning_rates": []}, "learning_rates must be a non-empty list or array of"),
    ({"error_score": "ignore"}, "error_score must be 'raise' or a number"),
    ({"target_loss": -1.0}, "target_loss must be None or a finite number >= 0; got -1.0"),
    ({"target_loss": "0.1"}, "target_loss must be None or a finite number"),
])
def test_bad_arguments_are_named_before_any_fit(iris, kwargs, message):
    X, y = iris
    arguments = {"setups": {"raw": {}}, "learning_rates": [0.1], **kwargs}
    with pytest.raises(ValueError, match=message):
        centering_study(_pipe(), X, y, **arguments)


def test_estimator_without_an_mlp_is_refused(iris):
    X, y = iris
    with pytest.raises(ValueError, match="exactly one step with a learning_rate_init"):
        centering_study(MinMaxScaler(), X, y, setups={"a": {}}, learning_rates=[0.1])


def test_given_target_loss_is_used_for_every_fold(iris):
    X, y = iris
    study = centering_study(_pipe(), X, y, setups={"a": {}}, learning_rates=[0.3], cv=2,
                            target_loss=0.9)
    assert study.target_rule == "given" and list(study.target_loss) == [0.9, 0.9]
    for k in range(2):
        expected = epochs_to_loss(study.curves["loss_curve"][0][0][k], 0.9)
        assert study.figures["epochs_to_target"][0, 0, k] == expected


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_default_target_separates_fast_from_slow_setups(task):
    """On a classification and a regression task, the default target lies between the
    reference's start and the best loss of any fit (equal to it where the reference is
    best), and it is reached at some rates and not at others."""
    if task == "classification":
        X, y = load_digits(return_X_y=True)
        X, y, pipe, cv = X[:500], y[:500], _pipe(max_iter=15), 3
    else:
        X, y = load_diabetes(return_X_y=True)
        y = (y - y.mean()) / y.std()
        pipe, cv = _pipe(MLPRegressor, max_iter=15), KFold(3)
    study = centering_study(pipe, X, y, setups=SETUPS, learning_rates=[0.01, 0.1, 1.0], cv=cv)
    best = [min(np.min(c) for row in study.curves["loss_curve"] for rate in row
                for c in [rate[k]] if c.size) for k in range(3)]
    assert (study.target_loss >= best).all() and (study.target_loss < study.reference_loss).all()
    reached = study.figures["reached"].all(axis=2)
    assert reached.any() and not reached.all()


def test_cv_results_and_frame_hold_the_figures(study):
    pd = pytest.importorskip("pandas")
    results = study.cv_results_
    assert list(results["setup"]) == ["raw", "raw", "centerer", "centerer", "mean", "mean"]
    assert list(results["param_mlp__learning_rate_init"]) == RATES * 3
    np.testing.assert_array_equal(results["split1_test_score"],
                                  study.figures["test_score"][:, :, 1].ravel())
    np.testing.assert_array_equal(results["n_reached"],
                                  study.figures["reached"].sum(axis=2).ravel())
    frame = study.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3 * 2 * 2
    row = frame[(frame.setup == "mean") & (frame.learning_rate == 1.0) & (frame.fold == 1)]
    assert row["final_loss"].item() == study.figures["final_loss"][2, 1, 1]
    assert row["target_loss"].item() == study.target_loss[1]


def test_to_frame_without_pandas_names_the_extra(study, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r'pip install "centered_nn\[pandas\]"'):
        study.to_frame()


def test_scorer_is_used(iris):
    """A scoring string is applied to the held-out fold, as in cross_validate."""
    X, y = iris
    study = centering_study(_pipe(), X, y, setups={"a": {}}, learning_rates=[0.3], cv=2,
                            scoring="balanced_accuracy")
    train, test = next(StratifiedKFold(2).split(X, y))
    model = clone(_pipe()).set_params(mlp__learning_rate_init=0.3).fit(X[train], y[train])
    expected = get_scorer("balanced_accuracy")(model, X[test], y[test])
    assert study.figures["test_score"][0, 0, 0] == expected
