import re
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from numpy.testing import assert_array_equal  # noqa: E402
from sklearn.datasets import make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from centered_nn import Centerer, MLPClassifier  # noqa: E402
from centered_nn._plot_style import check_matplotlib  # noqa: E402
from centered_nn.plotting import GradientSignDisplay  # noqa: E402

N_LAYERS = 3  # hidden_layer_sizes=(4, 3): three weight matrices

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=60, n_features=5, random_state=0)
    return np.abs(X), y


def _mlp(max_iter, **params):
    return MLPClassifier(hidden_layer_sizes=(4, 3), solver="lbfgs", max_iter=max_iter,
                         random_state=0, **params)


@pytest.fixture(scope="module")
def estimators(data):
    """A bare MLP and a Pipeline ending in one, with different iteration counts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        raw = _mlp(6).fit(*data)
        centred = make_pipeline(Centerer(), _mlp(9)).fit(*data)
    assert (raw.n_iter_, centred[-1].n_iter_) == (6, 9)
    return raw, centred


def _legend(display):
    return [text.get_text() for text in display.ax_.get_legend().get_texts()]


def test_single_estimator_lines_match_history(estimators):
    raw, _ = estimators
    display = GradientSignDisplay.from_estimator(raw, metric="sign_flip_fraction")
    assert len(display.lines_) == N_LAYERS
    history = raw.gradient_sign_history_["sign_flip_fraction"]
    for layer, line in enumerate(display.lines_):
        assert_array_equal(line.get_xdata(), np.arange(1, raw.n_iter_ + 1))
        # NaN records (first L-BFGS step) are kept as gaps
        assert_array_equal(line.get_ydata(), history[:, layer])
    assert np.isnan(display.lines_[0].get_ydata()[0])
    assert _legend(display) == ["layer 0", "layer 1", "layer 2"]
    assert display.ax_.get_xlabel() == "iteration"
    assert display.ax_.get_ylabel() == "sign flip fraction"
    assert isinstance(display.ax_, Axes)
    assert isinstance(display.figure_, Figure)
    assert display.figure_ is display.ax_.figure


def test_several_estimators(estimators):
    raw, centred = estimators
    display = GradientSignDisplay.from_estimator(
        [raw, centred], metric="positive_input_fraction", name=["raw", "centred"])
    assert len(display.lines_) == 2 * N_LAYERS
    assert len(display.ax_.get_lines()) == 2 * N_LAYERS
    assert _legend(display) == [f"{name}, layer {layer}" for name in ("raw", "centred")
                                for layer in range(N_LAYERS)]
    centred_history = centred[-1].gradient_sign_history_["positive_input_fraction"]
    for layer in range(N_LAYERS):
        line = display.lines_[N_LAYERS + layer]
        assert_array_equal(line.get_xdata(), np.arange(1, 10))
        assert_array_equal(line.get_ydata(), centred_history[:, layer])
    # raw inputs are all positive, centred ones are not
    assert np.all(display.lines_[0].get_ydata() == 1.0)
    assert np.all(display.lines_[N_LAYERS].get_ydata() < 0.8)
    # default style: one colour per estimator, one line style per layer
    colors = [to_rgba(line.get_color()) for line in display.lines_]
    assert colors[0] == colors[1] == colors[2] != colors[3] == colors[4] == colors[5]
    styles = [line.get_linestyle() for line in display.lines_]
    assert styles[:N_LAYERS] == styles[N_LAYERS:]
    assert len(set(styles[:N_LAYERS])) == N_LAYERS


def test_unlabelled_estimators_are_numbered(estimators):
    display = GradientSignDisplay.from_estimator(list(estimators), layers=0)
    assert _legend(display) == ["estimator 0, layer 0", "estimator 1, layer 0"]


def test_layers_selection(estimators):
    raw, _ = estimators
    history = raw.gradient_sign_history_["input_mean"]
    display = GradientSignDisplay.from_estimator(raw, metric="input_mean",
                                                 layers=[-1, 0])
    assert _legend(display) == ["layer 2", "layer 0"]
    assert_array_equal(display.lines_[0].get_ydata(), history[:, 2])
    assert_array_equal(display.lines_[1].get_ydata(), history[:, 0])
    display = GradientSignDisplay.from_estimator(raw, name="raw", layers=1)
    assert _legend(display) == ["raw, layer 1"]


def test_existing_ax_and_kwargs(estimators):
    raw, centred = estimators
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    display = GradientSignDisplay.from_estimator(
        [raw, centred], layers=0, ax=ax, c="k", lw=3.5)
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert len(ax.get_lines()) == 3
    for line in display.lines_:
        assert line.get_linewidth() == 3.5
        assert to_rgba(line.get_color()) == to_rgba("k")


def test_from_history_and_constructor_agree(estimators):
    raw, _ = estimators
    history = raw.gradient_sign_history_
    a = GradientSignDisplay.from_history(history, metric="same_sign_fraction")
    b = GradientSignDisplay([history]).plot()
    c = GradientSignDisplay.from_estimator(raw)
    assert a.ax_ is not b.ax_
    for la, lb, lc in zip(a.lines_, b.lines_, c.lines_, strict=True):
        assert_array_equal(la.get_ydata(), lb.get_ydata())
        assert_array_equal(la.get_ydata(), lc.get_ydata())
        assert la.get_label() == lb.get_label() == lc.get_label()
    # the display stores its parameters and can be re-plotted elsewhere
    assert b.histories == [history] and b.metric == "same_sign_fraction"
    _, ax = plt.subplots()
    assert b.plot(ax=ax).ax_ is ax
    assert len(ax.get_lines()) == N_LAYERS


def test_hand_written_history():
    history = {"same_sign_fraction": np.array([[1.0, 0.5], [0.75, 0.25], [0.5, 0.0]])}
    display = GradientSignDisplay.from_history([history, history], name=["a", "b"],
                                               layers=1)
    assert _legend(display) == ["a, layer 1", "b, layer 1"]
    assert_array_equal(display.lines_[1].get_xdata(), [1, 2, 3])
    assert_array_equal(display.lines_[1].get_ydata(), [0.5, 0.25, 0.0])


# --- errors -------------------------------------------------------------------


def test_bad_metric(estimators):
    with pytest.raises(ValueError, match="metric must be one of.*got 'loss'"):
        GradientSignDisplay.from_estimator(estimators[0], metric="loss")


@pytest.mark.parametrize("layers", [3, [0, -4]])
def test_layer_out_of_range(estimators, layers):
    with pytest.raises(ValueError, match="the estimator has 3 weight matrices"):
        GradientSignDisplay.from_estimator(estimators[0], layers=layers)
    assert plt.get_fignums() == []  # nothing drawn before the error


def test_layer_not_int(estimators):
    with pytest.raises(ValueError, match="layer must be an int"):
        GradientSignDisplay.from_estimator(estimators[0], layers=[0, 1.5])


def test_label_count_mismatch(estimators):
    with pytest.raises(ValueError, match="Got 1 names for 2 estimator"):
        GradientSignDisplay.from_estimator(list(estimators), name="one")


def test_history_none(data):
    mlp = _mlp(3, record_gradient_signs=False).fit(*data)
    with pytest.raises(ValueError, match="record_gradient_signs=True"):
        GradientSignDisplay.from_estimator(mlp)


def test_not_an_mlp(data):
    pipe = make_pipeline(Centerer(), LogisticRegression()).fit(*data)
    with pytest.raises(TypeError, match="found LogisticRegression at the end of Pipeline"):
        GradientSignDisplay.from_estimator(pipe)


def test_missing_matplotlib(monkeypatch, estimators):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    message = r'requires matplotlib.*pip install "centered_nn\[plot\]"'
    with pytest.raises(ImportError, match="GradientSignDisplay.from_estimator " + message):
        GradientSignDisplay.from_estimator(estimators[0])
    with pytest.raises(ImportError, match="GradientSignDisplay.plot " + message):
        GradientSignDisplay([estimators[0].gradient_sign_history_]).plot()
    with pytest.raises(ImportError, match="centered_nn.plotting " + message):
        check_matplotlib("centered_nn.plotting")


# --- issue 10: legends on data, identical curves hiding each other ----------------

from .figure_checks import legend_problems  # noqa: E402


def _flat_histories(n_estimators, n_records, value=0.0):
    """Histories whose curves coincide exactly (the centred setups' zeros)."""
    return [{"same_sign_fraction": np.full((n_records, 2), value)} for _ in range(n_estimators)]


@pytest.mark.parametrize("n_records", [5, 40, 300])
def test_several_estimators_legend_covers_no_data(n_records):
    rng = np.random.default_rng(0)
    # curves filling the whole axes: no inside location is free of data
    histories = [{"same_sign_fraction": rng.uniform(size=(n_records, 2))} for _ in range(4)]
    display = GradientSignDisplay(histories, name=list("abcd")).plot()
    assert legend_problems(display.figure_) == []
    legend_box = display.ax_.get_legend().get_window_extent()
    assert legend_box.x0 >= display.ax_.bbox.x1  # to the right of the axes


def test_legend_outside_on_a_users_subplot_grid():
    """In a row of panels with a layout engine, a legend covers no neighbour."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5), layout="constrained")
    for ax in axes:
        GradientSignDisplay(_flat_histories(4, 20, 0.5), name=list("abcd")).plot(ax=ax)
    assert legend_problems(fig) == []


@pytest.mark.parametrize("n_records", [3, 5, 40, 300])
def test_identical_curves_stay_distinguishable(n_records):
    display = GradientSignDisplay(_flat_histories(4, n_records), name=list("abcd"),
                                  layers=0).plot()
    markers = [line.get_marker() for line in display.lines_]
    assert len(set(markers)) == 4 and "None" not in markers
    shown = []
    for line in display.lines_:
        start, step = line.get_markevery()
        shown.append(set(range(start, n_records, step)))
    # every curve shows at least one marker, and no two at the same iteration
    # (unless there are fewer iterations than curves)
    assert all(shown)
    if n_records >= 4:
        assert sum(map(len, shown)) == len(set().union(*shown))
    # each curve has its own colour too
    assert len({to_rgba(line.get_color()) for line in display.lines_}) == 4


def test_user_style_still_overrides_markers():
    display = GradientSignDisplay(_flat_histories(2, 10), name=["a", "b"]).plot(
        marker="x", markevery=None)
    assert {line.get_marker() for line in display.lines_} == {"x"}
    assert {line.get_markevery() for line in display.lines_} == {None}


def test_display_from_a_regressor(data):
    from centered_nn import MLPRegressor

    X, y = data
    reg = MLPRegressor(hidden_layer_sizes=(4, 3), solver="lbfgs", max_iter=5,
                       random_state=0).fit(X, y.astype(float))
    display = GradientSignDisplay.from_estimator(reg, metric="input_mean")
    lines = display.ax_.get_lines()
    assert len(lines) == N_LAYERS
    assert_array_equal(lines[0].get_ydata(), reg.gradient_sign_history_["input_mean"][:, 0])


# --- issue 25 item 5: scikit-learn's Display conventions -----------------------------


def test_one_axes_per_layer(estimators):
    """An array of Axes draws each weight matrix on its own Axes, every estimator on each."""
    raw, centred = estimators
    fig, axes = plt.subplots(1, 2)
    display = GradientSignDisplay.from_estimator([raw, centred], layers=[2, 0],
                                                 name=["raw", "centred"], ax=axes)
    assert display.ax_ is None and list(display.axes_) == list(axes)
    assert display.figure_ is fig
    for ax, layer in zip(axes, [2, 0]):
        assert [line.get_label() for line in ax.get_lines()] == [f"raw, layer {layer}",
                                                                  f"centred, layer {layer}"]
        assert_array_equal(ax.get_lines()[0].get_ydata(),
                           raw.gradient_sign_history_["same_sign_fraction"][:, layer])
        assert ax.get_title() == f"same sign fraction, layer {layer}"
    assert axes[0].get_legend() is None and axes[1].get_legend() is not None


@pytest.mark.parametrize("make_ax, message", [
    (lambda: plt.subplots(1, 2)[1], "got 2 object(s) of type Axes."),
    (lambda: [plt.subplots()[1], "not an axes", None], "got 3 object(s) of type Axes, "
     "NoneType, str."),
    (lambda: np.array([[plt.subplots()[1]]] * 4), "got 4 object(s) of type Axes."),
])
def test_ax_of_the_wrong_count_or_kind_is_refused(estimators, make_ax, message):
    with pytest.raises(ValueError, match=re.escape(
            "ax must be an array-like of 3 matplotlib Axes, one per drawn weight matrix; "
            + message)):
        GradientSignDisplay.from_estimator(estimators[0], ax=make_ax())


def test_an_array_of_one_axes_takes_one_layer(estimators):
    _, ax = plt.subplots()
    display = GradientSignDisplay.from_estimator(estimators[0], layers=1, ax=np.array([ax]))
    assert list(display.axes_) == [ax] and len(ax.get_lines()) == 1


def test_line_kwargs_per_estimator_then_kwargs(estimators):
    display = GradientSignDisplay.from_estimator(
        list(estimators), layers=0, line_kwargs=[{"lw": 4, "c": "r"}, {"lw": 1}], c="k")
    assert [line.get_linewidth() for line in display.lines_] == [4, 1]
    assert {to_rgba(line.get_color()) for line in display.lines_} == {to_rgba("k")}
    display = GradientSignDisplay.from_estimator(list(estimators), layers=0,
                                                 line_kwargs={"alpha": 0.5})
    assert [line.get_alpha() for line in display.lines_] == [0.5, 0.5]


@pytest.mark.parametrize("line_kwargs, error, message", [
    ([{}], ValueError, "Got 1 dicts in line_kwargs for 2 estimator"),
    ("red", TypeError, "line_kwargs must be a dict of matplotlib keyword arguments or None; "
     "got str"),
])
def test_bad_line_kwargs(estimators, line_kwargs, error, message):
    with pytest.raises(error, match=message):
        GradientSignDisplay.from_estimator(list(estimators), line_kwargs=line_kwargs)


def test_label_is_the_deprecated_spelling_of_name(estimators):
    with pytest.warns(FutureWarning, match="label was renamed name"):
        old = GradientSignDisplay.from_estimator(estimators[0], label="raw", layers=0)
    with pytest.warns(FutureWarning, match="labels was renamed name"):
        older = GradientSignDisplay([estimators[0].gradient_sign_history_],
                                    labels=["raw"], layers=0).plot()
    new = GradientSignDisplay.from_estimator(estimators[0], name="raw", layers=0)
    assert old.lines_[0].get_label() == older.lines_[0].get_label() == \
        new.lines_[0].get_label() == "raw, layer 0"
    with pytest.raises(TypeError, match="Pass name only"):
        GradientSignDisplay.from_estimator(estimators[0], label="a", name="b")


def test_a_title_is_set_unless_the_axes_has_one(estimators):
    display = GradientSignDisplay.from_estimator(estimators[0], metric="input_mean")
    assert display.ax_.get_title() == "input mean per iteration"
    _, ax = plt.subplots()
    ax.set_title("mine")
    GradientSignDisplay.from_estimator(estimators[0], ax=ax)
    assert ax.get_title() == "mine"
