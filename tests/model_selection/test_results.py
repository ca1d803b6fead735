"""The study's results: cv_results_ as GridSearchCV's, the tidy frame, the registry."""

import numpy as np
import pytest
from scipy.stats import rankdata
from sklearn.model_selection import GridSearchCV

from centered_nn.model_selection import STUDY_FIGURES, StudyFigure, centering_study

from . import make_pipe

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SETUPS = {"raw": {}, "mean": {"mlp__input_bias": "mean", "mlp__alpha": 1e-3}}
RATES = [0.1, 0.3, 1.0]


@pytest.fixture(scope="module")
def study(iris):
    X, y = iris
    return centering_study(make_pipe(), X, y, setups=SETUPS, learning_rates=RATES, cv=2,
                           n_repeats=2)


def test_cv_results_has_gridsearchs_keys_and_values(iris, study):
    X, y = iris
    results = study.cv_results_
    grid = GridSearchCV(make_pipe(), [{"mlp__learning_rate_init": RATES}], cv=2).fit(X, y)
    expected_keys = {k for k in grid.cv_results_ if not k.startswith("split")}
    assert expected_keys - {"param_mlp__learning_rate_init"} <= set(results) - {
        "param_mlp__learning_rate_init"}
    assert study.setups == SETUPS
    assert results["params"] == [{**SETUPS[name], "mlp__learning_rate_init": rate}
                                 for name in SETUPS for rate in RATES]
    rate = results["param_mlp__learning_rate_init"]
    assert list(rate) == RATES * 2 and not rate.mask.any()
    bias = results["param_mlp__input_bias"]
    assert list(bias.mask) == [True] * 3 + [False] * 3 and list(bias[3:]) == ["mean"] * 3
    assert bias.dtype == object and results["param_mlp__alpha"].dtype == float
    scores = study.figures["test_score"].reshape(6, 4)
    for k in range(4):  # runs, repeat-major
        np.testing.assert_array_equal(results[f"split{k}_test_score"], scores[:, k])
    np.testing.assert_array_equal(results["mean_test_score"], scores.mean(axis=1))
    np.testing.assert_array_equal(results["std_test_score"], scores.std(axis=1))
    np.testing.assert_array_equal(results["rank_test_score"],
                                  rankdata(-scores.mean(axis=1), method="min"))
    assert results["rank_test_score"].dtype == grid.cv_results_["rank_test_score"].dtype
    for name in ("fit_time", "score_time"):
        values = study.figures[name].reshape(6, 4)
        np.testing.assert_array_equal(results[f"mean_{name}"], values.mean(axis=1))
        np.testing.assert_array_equal(results[f"std_{name}"], values.std(axis=1))


def test_rank_puts_nan_scores_last(iris):
    from centered_nn.model_selection._results import _rank

    np.testing.assert_array_equal(_rank(np.array([0.5, np.nan, 0.9, 0.5])), [2, 4, 1, 2])
    np.testing.assert_array_equal(_rank(np.array([np.nan, np.nan])), [1, 1])


def test_cv_results_and_frame_are_tables(study):
    pd = pytest.importorskip("pandas")
    table = pd.DataFrame(study.cv_results_)
    assert len(table) == 6 and table.loc[4, "param_mlp__input_bias"] == "mean"
    frame = study.to_frame()  # 2 setups x 3 rates x (2 repeats x 2 folds)
    assert len(frame) == 2 * 3 * 4
    assert list(frame.columns[:6]) == ["setup", "learning_rate", "repeat", "fold", "run",
                                       "target_loss"]
    row = frame[(frame.setup == "mean") & (frame.learning_rate == 1.0) & (frame.run == 3)]
    assert (row["repeat"].item(), row["fold"].item()) == (1, 1)
    assert row["target_loss"].item() == study.target_loss[3]
    assert row["final_loss"].item() == study.figures["final_loss"][1, 2, 3]
    assert set(STUDY_FIGURES) <= set(frame.columns)


def test_every_registered_figure_is_an_array_of_its_type(study):
    assert list(study.figures) == list(STUDY_FIGURES)
    for name, figure in STUDY_FIGURES.items():
        assert isinstance(figure, StudyFigure) and figure.name == name
        assert study.figures[name].shape == (2, 3, 4)
        assert study.figures[name].dtype == np.dtype(figure.dtype)
        for statistic in figure.summary:
            assert f"{name}_{statistic}" in study.summary["mean"]


def test_a_new_figure_is_one_registry_entry(iris, monkeypatch):
    """Registered once, a figure reaches the arrays, the summary, cv_results_ and the frame."""
    pytest.importorskip("pandas")
    X, y = iris
    monkeypatch.setitem(STUDY_FIGURES, "first_loss", StudyFigure(
        "first_loss", lambda record, run: record.loss_curve[0], summary=("mean",)))
    study = centering_study(make_pipe(), X, y, setups={"raw": {}}, learning_rates=[0.3],
                            cv=2)
    first = [study.curves["loss_curve"][0][0][k][0] for k in range(2)]
    np.testing.assert_array_equal(study.figures["first_loss"][0, 0], first)
    assert study.summary["raw"]["first_loss_mean"] == np.mean(first)
    np.testing.assert_array_equal(study.cv_results_["split1_first_loss"], first[1:])
    assert list(study.to_frame()["first_loss"]) == first


def test_first_layer_figures_read_the_recorded_history(iris):
    """A recorded metric's study figure is its first-layer column's mean over epochs; one
    not recorded is NaN. The curvature ratio tells raw inputs from centred ones."""
    from centered_nn.diagnostics import InputEigenvalueRatio

    X, y = iris
    pipe = make_pipe()
    pipe.set_params(mlp__record_gradient_signs=["same_sign_fraction",
                                                InputEigenvalueRatio(layers=[0])])
    setups = {"raw": {}, "centerer": {"center__strategy": "mean"}}
    study = centering_study(pipe, X, y, setups=setups, learning_rates=[0.3], cv=2)
    for s in range(2):
        for k in range(2):
            history = study.curves["gradient_sign_history"][s][0][k]
            assert study.figures["input_eigenvalue_ratio"][s, 0, k] == pytest.approx(
                np.nanmean(history["input_eigenvalue_ratio"][:, 0]), rel=1e-12)
    assert np.isnan(study.figures["sample_same_sign_fraction"]).all()
    raw, centred = study.summary["raw"], study.summary["centerer"]
    # iris has 4 features, nearly collinear: the ratio's ceiling is 4, and centring
    # lowers it only a little (digits' 64 pixels: 44 against 10, tests/cli)
    assert 4 >= raw["input_eigenvalue_ratio_mean"] > centred["input_eigenvalue_ratio_mean"]
