"""The study's verdict: the reference's target, training, paired speedups, repeats."""

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from centered_nn import MLPClassifier
from centered_nn.metrics import epochs_to_loss
from centered_nn.model_selection import DEFAULT_TARGET_RULE, centering_study
from centered_nn.model_selection._summary import paired_speedup, verdict

from . import make_pipe

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

CLOCKS = ("fit_time", "score_time", "seconds_to_target")


@pytest.mark.parametrize("reference, epochs, expected", [
    ([5, 5, 5], [4, 4, 4], "no clear difference"),  # a one-epoch gap: exactly on the bound
    ([6, 6, 6], [4, 4, 4], "faster"),
    ([4, 4, 4], [5, 5, 5], "no clear difference"),
    ([4, 4, 4], [6, 6, 6], "slower"),
    ([1, 1, 1], [1, 1, 1], "no clear difference"),
    ([9, 9], [2, 1], "no clear difference"),  # 4.5x and 9x, but two runs only
])
def test_verdict_needs_more_than_the_one_epoch_resolution(reference, epochs, expected):
    assert verdict(paired_speedup(reference, epochs)[1]) == expected


def test_one_epoch_gap_sits_exactly_on_the_interval_end():
    """With zero spread the interval is the resolution alone: 5 vs 4 epochs gives a low
    end of (5 - 1) / 4 = 1 exactly (not above 1), 4 vs 5 a high end of 4 / (5 - 1) = 1."""
    speedup, interval = paired_speedup([5, 5, 5], [4, 4, 4])
    assert speedup == pytest.approx(1.25, rel=1e-15) and interval[0] == 1.0
    assert paired_speedup([4, 4, 4], [5, 5, 5])[1][1] == 1.0
    assert paired_speedup([1, 3], [2, 1])[1] == (0.0, np.inf)  # an epoch count of 1


def test_speedup_interval_is_scipys_t_interval_on_the_shifted_log_ratios():
    reference, epochs = np.array([14.0, 12.0, 15.0, 13.0]), np.array([5.0, 4.0, 6.0, 4.0])
    speedup, (low, high) = paired_speedup(reference, epochs)
    assert speedup == pytest.approx(stats.gmean(reference / epochs), rel=1e-12)
    low_ci = stats.ttest_1samp(np.log((reference - 1) / epochs), 0).confidence_interval(0.95)
    high_ci = stats.ttest_1samp(np.log(reference / (epochs - 1)), 0).confidence_interval(0.95)
    assert low == pytest.approx(np.exp(low_ci.low), rel=1e-12)
    assert high == pytest.approx(np.exp(high_ci.high), rel=1e-12)
    assert low < speedup < high


def test_one_run_has_no_interval():
    speedup, interval = paired_speedup([9.0], [3.0])
    assert speedup == pytest.approx(3.0) and np.isnan(interval).all()
    assert verdict(interval) == "no clear difference"


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400], y[:400]


def _digits_study(X, y, setups, rates=(0.1, 1.0), **kwargs):
    pipe = make_pipe(max_iter=10)
    return centering_study(pipe, X, y, setups=setups, learning_rates=list(rates), cv=2,
                           **kwargs)


def test_other_setups_change_no_target_and_none_of_the_references_figures(digits):
    X, y = digits
    alone = _digits_study(X, y, {"raw": {}})
    crowd = _digits_study(X, y, {"mean": {"mlp__input_bias": "mean"}, "raw": {},
                                 "centerer": {"center__strategy": "mean"}}, reference="raw")
    assert crowd.reference == "raw" and crowd.target_rule == DEFAULT_TARGET_RULE
    np.testing.assert_array_equal(crowd.target_loss, alone.target_loss)
    np.testing.assert_array_equal(crowd.reference_loss, alone.reference_loss)
    for name, values in alone.figures.items():
        if name not in CLOCKS:
            np.testing.assert_array_equal(crowd.figures[name][1], values[0])
    keep = [k for k in alone.summary["raw"] if not k.startswith(CLOCKS)]
    # assert_equal: a figure not recorded is NaN in both, and NaN equals NaN there
    np.testing.assert_equal({k: crowd.summary["raw"][k] for k in keep},
                            {k: alone.summary["raw"][k] for k in keep})
    # the other setups are compared with that target, run by run
    mean = crowd.summary["mean"]
    r_ref = list(crowd.learning_rates).index(crowd.summary["raw"]["fastest_rate"])
    r = list(crowd.learning_rates).index(mean["fastest_rate"])
    ratios = crowd.figures["epochs_to_target"][1, r_ref] / crowd.figures["epochs_to_target"][
        0, r]
    assert mean["speedup"] == pytest.approx(stats.gmean(ratios), rel=1e-12)
    assert mean["vs_reference"] == verdict(mean["speedup_interval"])


def test_a_loss_that_rises_never_trains(iris):
    """The issue's example: loss 1.13 -> 6.8 -> 1.2 is not training at rate 3."""
    X, y = iris
    pipe = make_pipeline(MinMaxScaler(), MLPClassifier((32,), solver="sgd", max_iter=5,
                                                       random_state=0))
    for train, _ in StratifiedKFold(2).split(X, y):  # the premise, on a direct fit
        curve = clone(pipe).set_params(mlpclassifier__learning_rate_init=3.0).fit(
            X[train], y[train])[-1].loss_curve_
        assert curve[-1] > curve[0] and max(curve) < 10 * curve[0]
    with pytest.raises(ValueError, match="The reference setup 'raw' never trained"):
        centering_study(pipe, X, y, setups={"raw": {}}, learning_rates=[3.0], cv=2)
    # with a given target the study goes on: raw reaches it nowhere
    study = centering_study(pipe, X, y, setups={"raw": {}}, learning_rates=[3.0], cv=2,
                            target_loss=1.5)
    assert not study.figures["reached"].any() and study.summary["raw"]["stalled_rates"] == [3.0]
    # with a rate that trains, rate 3 reaches no target and does not count as trainable
    study = centering_study(pipe, X, y, setups={"raw": {}}, learning_rates=[0.3, 3.0], cv=2)
    assert not study.figures["reached"][0, 1].any() and not study.figures["trained"][0, 1].any()
    assert study.summary["raw"]["highest_trainable_rate"] == 0.3
    assert study.summary["raw"]["stalled_rates"] == [3.0]


def test_a_reference_missing_a_given_target_counts_as_more_than_max_iter():
    """Reference not reached in 2 of 3 runs (budget 20): its epochs there are > 20."""
    nan = np.nan
    speedup, (low, high) = paired_speedup([nan, 18, nan], [5, 6, 4], max_iter=20)
    assert np.isnan(speedup) and high == np.inf
    logs = np.log(np.array([20, 17, 20]) / np.array([5, 6, 4]))
    expected = stats.ttest_1samp(logs, 0).confidence_interval(0.95).low
    assert low == pytest.approx(np.exp(expected), rel=1e-12)
    assert verdict((low, high)) == "faster"


def test_a_given_target_the_reference_misses_is_a_bound_not_an_error(iris):
    X, y = iris
    study = centering_study(make_pipe(), X, y, learning_rates=[0.3], cv=2, target_loss=0.5,
                            setups={"slow": {"mlp__alpha": 1.0}, "raw": {}})
    assert not study.figures["reached"][0].any() and study.figures["reached"][1].all()
    row = study.summary["raw"]
    epochs = study.figures["epochs_to_target"][1, 0]
    assert np.isnan(row["speedup"]) and row["speedup_interval"] == paired_speedup(
        [np.nan, np.nan], epochs, max_iter=8)[1]


def test_setup_that_never_reaches_the_target_is_not_reached(iris):
    X, y = iris
    study = centering_study(make_pipe(), X, y, learning_rates=[0.3], cv=2, setups={
        "raw": {}, "frozen": {"mlp__alpha": 10.0}})  # the penalty holds the loss up
    assert not study.figures["reached"][1].any()
    row = study.summary["frozen"]
    assert row["vs_reference"] == "not reached" and np.isnan(row["speedup"])
    assert row["highest_trainable_rate"] is None


def test_repeats_are_paired_runs_with_documented_seeds(iris):
    X, y = iris
    setups = {"a": {}, "b": {"mlp__input_bias": "mean"}}
    study = centering_study(make_pipe(), X, y, setups=setups, learning_rates=[0.3], cv=2,
                            n_repeats=3, random_state=7)
    seeds = [7] + list(np.random.SeedSequence(7).generate_state(2))
    assert study.seeds == seeds and study.n_runs == 6
    assert study.figures["test_score"].shape == (2, 1, 6) and study.target_loss.shape == (6,)
    splits = list(StratifiedKFold(2).split(X, y))  # an int cv does not shuffle: same folds
    for run in range(6):
        train, _ = splits[run % 2]
        for s, params in enumerate(setups.values()):
            direct = clone(make_pipe()).set_params(mlp__learning_rate_init=0.3,
                                                   mlp__random_state=seeds[run // 2], **params)
            np.testing.assert_array_equal(study.curves["loss_curve"][s][0][run],
                                          direct.fit(X[train], y[train])[-1].loss_curve_)
    # an int seed reproduces, and the first repeat is the one-repeat study
    again = centering_study(make_pipe(), X, y, setups=setups, learning_rates=[0.3], cv=2,
                            n_repeats=3, random_state=7)
    np.testing.assert_array_equal(again.figures["final_loss"], study.figures["final_loss"])
    one = centering_study(make_pipe(), X, y, setups=setups, learning_rates=[0.3], cv=2,
                          random_state=7)
    np.testing.assert_array_equal(one.figures["final_loss"], study.figures["final_loss"][..., :2])


def test_a_shuffling_splitter_is_reseeded_per_repeat(iris):
    X, y = iris
    cv = KFold(2, shuffle=True, random_state=0)
    study = centering_study(make_pipe(), X, y, setups={"a": {}}, learning_rates=[0.3], cv=cv,
                            n_repeats=2, random_state=3)
    second = KFold(2, shuffle=True, random_state=study.seeds[1])
    for run, (train, _) in enumerate([*cv.split(X), *second.split(X)]):
        direct = clone(make_pipe()).set_params(mlp__learning_rate_init=0.3,
                                               mlp__random_state=study.seeds[run // 2])
        np.testing.assert_array_equal(study.curves["loss_curve"][0][0][run],
                                      direct.fit(X[train], y[train])[-1].loss_curve_)
    assert cv.random_state == 0  # the caller's splitter is not modified


def test_seconds_to_target_is_the_fit_time_share_of_the_epochs_to_target(iris):
    X, y = iris
    study = centering_study(make_pipe(), X, y, setups={"a": {}}, learning_rates=[0.1, 0.3],
                            cv=2, n_repeats=2)
    f = study.figures
    for r in range(2):
        for k in range(4):
            curve = study.curves["loss_curve"][0][r][k]
            epochs = epochs_to_loss(curve, study.target_loss[k])
            expected = (f["fit_time"][0, r, k] * epochs / curve.size
                        if f["reached"][0, r, k] else np.nan)
            np.testing.assert_equal(f["seconds_to_target"][0, r, k], expected)
    r = list(study.learning_rates).index(study.summary["a"]["fastest_rate"])
    assert study.summary["a"]["seconds_to_target_mean"] == np.mean(f["seconds_to_target"][0, r])


def test_a_curve_flagged_by_the_ten_times_rule_keeps_its_curve(iris):
    X, y = iris
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        study = centering_study(make_pipe(max_iter=6), X, y, setups={"raw": {}},
                                learning_rates=[0.1, 30.0], cv=2)
    for k in np.flatnonzero(study.figures["diverged"][0, 1]):
        curve = study.curves["loss_curve"][0][1][k]
        assert curve[-1] > 10 * curve[0]  # kept, and it is why the fit counts as diverged
        assert not study.figures["reached"][0, 1, k]
    assert study.figures["diverged"][0, 1].any()
