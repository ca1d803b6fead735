"""CenteringStudyDisplay: what each panel holds, and scikit-learn's Display conventions."""

import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from centered_nn import Centerer, MLPClassifier  # noqa: E402
from centered_nn.model_selection import CenteringStudyDisplay, centering_study  # noqa: E402

from .figure_checks import legend_problems  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
SETUPS = {"raw": {}, "mean": {"mlp__input_bias": "mean"}}


def _pipe(mlp=MLPClassifier, **params):
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp(hidden_layer_sizes=(8,), solver="sgd", max_iter=6,
                                 random_state=0, **params))])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def study():
    X, y = load_iris(return_X_y=True)
    return centering_study(_pipe(), X, y, setups=SETUPS, learning_rates=[0.1, 1.0], cv=3)


def _at_fastest(study, s, curve):
    r = list(study.learning_rates).index(study.summary[list(study.setups)[s]]["fastest_rate"])
    return np.array(study.curves[curve][s][r])  # (runs, epochs): every fit ran max_iter


def test_panels_hold_medians_bands_and_means_over_runs(study):
    display = CenteringStudyDisplay.from_study(study)
    assert display.panels_ == ["loss", "epochs", "score", "signs"]
    assert len(display.axes_) == 4 and display.figure_ is display.axes_[0].figure
    assert [ax.get_xscale() for ax in display.axes_] == ["linear", "log", "log", "linear"]
    assert display.axes_[0].get_yscale() == "log"
    for s in range(2):
        for key, curve in (("loss", "loss_curve"), ("signs", "sample_same_sign_fraction")):
            runs = _at_fastest(study, s, curve)
            assert runs.shape == (3, 6)
            np.testing.assert_array_equal(display.lines_[key][s].get_ydata(),
                                          np.median(runs, axis=0))
            # the band spans the lowest to the highest run
            band = display.bands_[key][s].get_paths()[0].vertices[:, 1]
            assert band.min() == runs.min() and band.max() == runs.max()
        f = study.figures
        expected = np.where(f["reached"][s].all(axis=-1),
                            f["epochs_to_target"][s].mean(axis=-1), np.nan)
        np.testing.assert_array_equal(display.lines_["epochs"][s].get_ydata(), expected)
        np.testing.assert_array_equal(display.lines_["score"][s].get_ydata(),
                                      f["test_score"][s].mean(axis=-1))
    target = display.lines_["target"][0]
    assert target.get_ydata()[0] == np.median(study.target_loss)
    assert legend_problems(display.figure_) == []


def test_legend_names_setups_target_and_divergence(study):
    diverging = copy.copy(study)
    diverging.figures = {k: v.copy() for k, v in study.figures.items()}
    diverging.figures["diverged"][1, 1, 0] = True
    legend = CenteringStudyDisplay.from_study(diverging).axes_[-1].get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    rates = [f"{study.summary[n]['fastest_rate']:g}" for n in study.setups]
    assert texts == [f"raw, reference ({rates[0]})", f"mean ({rates[1]})",
                     "target loss (median over runs)", "a run diverged at this rate"]
    assert legend.legend_handles[-1].get_marker() == "x"
    assert legend.legend_handles[-2].get_linestyle() == "--"
    # without a divergence there is no divergence entry
    texts = [t.get_text() for t in CenteringStudyDisplay.from_study(study).axes_[-1]
             .get_legend().get_texts()]
    assert texts[-1] == "target loss (median over runs)"


def test_a_diverged_score_neither_enters_the_mean_nor_sets_the_axis(study):
    """A diverged fit's R² of -1.7e131 once put the score axis at 1e130."""
    diverging = copy.copy(study)
    diverging.figures = {k: v.copy() for k, v in study.figures.items()}
    diverging.figures["diverged"][1, 1, 0] = True
    diverging.figures["test_score"][1, 1, 0] = -1.7e131
    display = CenteringStudyDisplay.from_study(diverging)
    line = display.lines_["score"][1]
    assert line.get_ydata()[1] == study.figures["test_score"][1, 1, 1:].mean()
    low, high = display.axes_[2].get_ylim()
    finite = np.concatenate([ln.get_ydata() for ln in display.lines_["score"]])
    assert finite.min() - 0.1 < low < finite.min() and finite.max() < high < finite.max() + 0.1
    # the crosses mark the rate, at the bottom of the epochs and score panels
    crosses = display.lines_["diverged"]
    assert len(crosses) == 2 and all(list(c.get_xdata()) == [1.0] for c in crosses)


def test_no_sign_panel_without_recorded_signs():
    X, y = load_iris(return_X_y=True)
    study = centering_study(_pipe(record_gradient_signs=False), X, y, setups=SETUPS,
                            learning_rates=[0.3], cv=2)
    display = CenteringStudyDisplay.from_study(study)
    assert display.panels_ == ["loss", "epochs", "score"] and len(display.axes_) == 3
    assert display.lines_["signs"] == []


def test_ax_takes_one_axes_per_panel(study):
    fig, axes = plt.subplots(2, 2)
    display = CenteringStudyDisplay(study).plot(ax=axes)
    assert list(display.axes_) == list(axes.ravel()) and display.figure_ is fig
    assert axes[0, 0].get_title() == "loss at each setup's fastest rate"
    assert axes[1, 0].get_title() == "CV score against the rate"


@pytest.mark.parametrize("n", [1, 3, 5])
def test_ax_of_the_wrong_length_is_refused(study, n):
    _, axes = plt.subplots(1, n, squeeze=False)
    message = ("ax must be an array-like of 4 matplotlib Axes, one per panel (loss, epochs, "
               f"score, signs); got {n} object(s)")
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CenteringStudyDisplay(study).plot(ax=axes)


def test_a_figure_with_axes_is_not_drawn_over(study):
    fig = plt.figure()
    fig.add_subplot()
    with pytest.raises(ValueError, match="figure already holds 1 Axes: pass an empty figure, "
                                         "or ax= with 4 Axes, one per panel"):
        CenteringStudyDisplay.from_study(study, figure=fig)
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="Pass either ax or figure, not both"):
        CenteringStudyDisplay.from_study(study, figure=plt.figure(), ax=plt.subplots(1, 4)[1])
    # an empty figure (or subfigure) is drawn in
    sub = plt.figure().subfigures(1, 2)[0]
    assert CenteringStudyDisplay.from_study(study, figure=sub).figure_ is sub


def test_style_keyword_dicts(study):
    display = CenteringStudyDisplay.from_study(
        study, line_kwargs={"linewidth": 3}, band_kwargs={"alpha": 0.5},
        target_kwargs={"color": "red"})
    assert {ln.get_linewidth() for ln in display.lines_["loss"] + display.lines_["epochs"]} \
        == {3}
    assert {band.get_alpha() for band in display.bands_["loss"]} == {0.5}
    assert to_rgba(display.lines_["target"][0].get_color()) == to_rgba("red")
    with pytest.raises(TypeError, match="band_kwargs must be a dict"):
        CenteringStudyDisplay.from_study(study, band_kwargs=0.5)


def test_sign_metric_is_validated(study):
    with pytest.raises(ValueError, match="sign_metric must be one of "
                                         "'sample_same_sign_fraction', 'same_sign_fraction'"):
        CenteringStudyDisplay(study, sign_metric="input_mean").plot()


class _WithValidation(MLPClassifier):
    """An MLP that also records a validation loss curve (twice its training loss)."""

    def fit(self, X, y):
        super().fit(X, y)
        self.validation_loss_curve_ = [2 * v for v in self.loss_curve_]
        return self


def test_validation_loss_median_is_dotted_when_recorded():
    X, y = load_iris(return_X_y=True)
    study = centering_study(_pipe(_WithValidation), X, y, setups={"raw": {}},
                            learning_rates=[0.1], cv=2)
    display = CenteringStudyDisplay.from_study(study)
    (line,) = display.lines_["validation"]
    assert line.get_linestyle() == ":"
    np.testing.assert_array_equal(line.get_ydata(),
                                  2 * np.median(_at_fastest(study, 0, "loss_curve"), axis=0))
    assert display.lines_["loss"][0].get_linestyle() == "-"
