"""Run every example in quick mode and check its numbers and its figure."""

import contextlib
import importlib.util
import io
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from centered_nn import MLPClassifier  # noqa: E402

from .figure_checks import legend_problems  # noqa: E402
from .harness import assert_numbers_as_shown  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
README = EXAMPLES.parent / "README.md"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))


def load_example(name):
    """Import ``examples/<name>.py`` as a module, by path."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: what each example calls once per run, to see when its progress lines appear
FIT_FUNCTIONS = {"plot_zigzag_linear_unit": "sgd_linear_unit"}
PROGRESS = re.compile(r"^\[(\d+/\d+|CV)\]")


class _Lines(io.StringIO):
    """A text stream that counts its progress lines as they are written."""

    def __init__(self, counter):
        super().__init__()
        self.counter = counter

    def write(self, text):
        self.counter["progress"] += sum(bool(PROGRESS.match(line))
                                        for line in text.splitlines())
        return super().write(text)


_RUNS = {}


def quick_run(name, tmp_path_factory):
    """Run an example once in quick mode (cached for the module), recording:
    its stdout and stderr, how many progress lines had appeared when each fit
    started, and what the legend check found in each saved figure."""
    if name in _RUNS:
        return _RUNS[name]
    outdir = tmp_path_factory.mktemp(name)
    module = load_example(name)
    counter = {"progress": 0}
    at_fit_start, figure_problems = [], []

    def watch(fit):
        def watched(*args, **kwargs):
            at_fit_start.append(counter["progress"])
            return fit(*args, **kwargs)
        return watched

    real_savefig = Figure.savefig

    def checked_savefig(fig, *args, **kwargs):
        figure_problems.extend(legend_problems(fig))
        return real_savefig(fig, *args, **kwargs)

    out, err = _Lines(counter), _Lines(counter)
    with pytest.MonkeyPatch.context() as mp:
        if name in FIT_FUNCTIONS:
            mp.setattr(module, FIT_FUNCTIONS[name], watch(getattr(module, FIT_FUNCTIONS[name])))
        else:
            mp.setattr(MLPClassifier, "fit", watch(MLPClassifier.fit))
        mp.setattr(Figure, "savefig", checked_savefig)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            result = module.main(quick=True, outdir=outdir)
    figure = Path(outdir) / f"{name}.png"
    assert Path(result["figure"]) == figure
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _RUNS[name] = SimpleNamespace(result=result, out=out.getvalue(), err=err.getvalue(),
                                  at_fit_start=at_fit_start, n_progress=counter["progress"],
                                  figure_problems=figure_problems)
    return _RUNS[name]


def run_example(name, tmp_path_factory):
    return quick_run(name, tmp_path_factory).result


def test_all_examples_are_tested():
    tested = {"plot_zigzag_linear_unit", "plot_grid_search_centering",
              "plot_input_centering_digits", "plot_centered_logistic_depth",
              "plot_relu_elu_bias_shift", "plot_centering_methods"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_zigzag_linear_unit(tmp_path_factory):
    run = quick_run("plot_zigzag_linear_unit", tmp_path_factory)
    result = run.result
    lrs = result["learning_rates"]
    assert set(result["runs"]) == {(s, lr) for s in ("raw", "centred") for lr in lrs}
    for lr in lrs:
        raw, centred = result["runs"][("raw", lr)], result["runs"][("centred", lr)]
        # all-positive inputs: every per-sample update has one sign, exactly
        assert raw["sample_same_sign_fraction"] == 1.0
        assert 0.2 < centred["sample_same_sign_fraction"] < 0.8
        assert not centred["diverged"] and np.isfinite(centred["final_distance"])
    # LeCun section 5: E[xx^T] of U(0.5, 1.5)^2 has condition 25 in population
    cond = result["condition_number"]
    assert 15 < cond["raw"] < 40 and 1 <= cond["centred"] < 2
    assert 20 < result["condition_number_formula"] < 32
    assert "lambda_max/lambda_min" in run.out


def test_zigzag_update_is_parallel_to_the_input():
    """Independent check of the script's SGD: dw = -lr * (w.x - t) x."""
    module = load_example("plot_zigzag_linear_unit")
    rng = np.random.default_rng(3)
    X = rng.uniform(0.5, 1.5, size=(7, 2))
    t = X @ np.array([1.0, -1.0])
    path, inputs, deltas = module.sgd_linear_unit(X, t, 0.1, 20, np.random.default_rng(0))
    assert path.shape == (21, 2) and inputs.shape == (20, 2)
    steps = np.diff(path, axis=0)
    w = path[:-1]
    expected_delta = np.einsum("ij,ij->i", w, inputs) - inputs @ np.array([1.0, -1.0])
    np.testing.assert_allclose(deltas, expected_delta)
    np.testing.assert_allclose(steps, -0.1 * expected_delta[:, None] * inputs)
    # positive inputs: both weights of every step move in the same direction
    assert np.all(np.sign(steps[:, 0]) == np.sign(steps[:, 1]))


def test_grid_search_centering(tmp_path_factory):
    result = run_example("plot_grid_search_centering", tmp_path_factory)
    rows = result["rows"]
    assert len(rows) == 12
    assert {(r["activation"], r["centerer"], r["input_bias"]) for r in rows} == {
        (a, c, b) for a in ("relu", "tanh") for c in ("none", "mean")
        for b in ("none", "learned", "mean")}
    for r in rows:
        assert 0 <= r["accuracy"] <= 1
        assert r["n_iter"] == 5  # quick mode: max_iter=5 < n_iter_no_change
        assert np.isfinite(r["final_loss"]) and r["final_loss"] > 0
        for key in ("same_sign_fraction", "sample_same_sign_fraction",
                    "sample_same_sign_fraction_L1"):
            assert 0 <= r[key] <= 1
    by_key = {(r["activation"], r["centerer"], r["input_bias"]): r for r in rows}
    for activation in ("relu", "tanh"):
        # MinMax-scaled pixels are >= 0: per-sample first-layer gradients are one-signed
        assert by_key[(activation, "none", "none")]["sample_same_sign_fraction"] == 1.0
        assert by_key[(activation, "mean", "none")]["sample_same_sign_fraction"] < 0.5
    # ReLU outputs are >= 0, so the hidden->output per-sample gradients are one-signed
    assert by_key[("relu", "none", "none")]["sample_same_sign_fraction_L1"] == 1.0
    # offsets at -mean make the Centerer a no-op
    assert max(result["centerer_differences"].values()) < 1e-8
    for history in result["refit_same_sign"].values():
        assert history.shape == (5, 2)


def test_input_centering_digits(tmp_path_factory):
    result = run_example("plot_input_centering_digits", tmp_path_factory)
    lrs = result["learning_rates"]
    setups = ("centred", "shifted", "shifted + learned b", "shifted + mean b")
    assert set(result["table"]) == {(s, lr) for s in setups for lr in lrs}
    for entry in result["table"].values():
        assert np.isfinite(entry["final_loss"])
        epochs = entry["epochs_to_threshold"]
        assert epochs is None or 1 <= epochs <= result["max_iter"]
    assert set(result["best"]) == set(setups)
    # The 'mean' offset is -mean of the shifted training data (independent computation).
    X, _ = load_digits(return_X_y=True)
    X_shifted = StandardScaler().fit_transform(X) + 3.0
    np.testing.assert_allclose(result["mean_offset"], -X_shifted.mean(axis=0), atol=1e-12)
    # Centred data and shifted data with b = -mean are the same network function.
    for lr in lrs:
        np.testing.assert_allclose(result["table"][("shifted + mean b", lr)]["final_loss"],
                                   result["table"][("centred", lr)]["final_loss"], rtol=1e-6)
    for offsets in result["learned_offsets"].values():
        assert np.isfinite(offsets["ratio"]) and 0 <= offsets["relative_gap"] <= 1.5


def test_centered_logistic_depth(tmp_path_factory):
    result = run_example("plot_centered_logistic_depth", tmp_path_factory)
    assert result["activations"] == ["logistic", "centered_logistic"]  # quick: the README's
    keys = {(a, d, lr) for a in result["activations"]
            for d in result["depths"] for lr in result["learning_rates"]}
    assert set(result["results"]) == keys
    for (activation, depth, _), r in result["results"].items():
        assert np.isfinite(r["final_loss"])
        assert r["hidden_activation_by_layer"].shape == (depth,)
        lo, hi = {"logistic": (0, 1), "centered_logistic": (-0.5, 0.5),
                  "tanh": (-1, 1)}[activation]
        assert np.all((lo < r["hidden_activation_by_layer"])
                      & (r["hidden_activation_by_layer"] < hi))
        if activation == "logistic":
            # sigma(z) > 0: every deeper per-sample gradient is one-signed
            assert r["sample_same_sign_deeper"] == 1.0
        else:
            assert r["sample_same_sign_deeper"] < 1.0
    assert set(result["final_loss_gap"]) == {(d, lr) for d in result["depths"]
                                             for lr in result["learning_rates"]}


def test_relu_elu_bias_shift(tmp_path_factory):
    result = run_example("plot_relu_elu_bias_shift", tmp_path_factory)
    n = result["max_iter"]
    assert set(result["results"]) == {(s, a) for s in ("sgd", "adam")
                                      for a in ("relu", "elu")}
    for (_, activation), r in result["results"].items():
        assert r["loss_curve"].shape == (n,) and np.all(np.isfinite(r["loss_curve"]))
        assert r["input_mean"].shape == (n, 8)
        if activation == "relu":
            assert np.all(r["input_mean"] >= 0)  # ReLU outputs are non-negative
        else:
            assert np.all(r["input_mean"] > -1)  # ELU (alpha=1) outputs exceed -1
    # same weights at the start, different activations: ELU's first-epoch mean is lower
    for solver in ("sgd", "adam"):
        relu = result["results"][(solver, "relu")]["input_mean"][0]
        elu = result["results"][(solver, "elu")]["input_mean"][0]
        assert elu.mean() < relu.mean()


def test_centering_methods(tmp_path_factory):
    result = run_example("plot_centering_methods", tmp_path_factory)
    module = load_example("plot_centering_methods")
    rates = result["learning_rates"]
    assert rates == list(module.QUICK_LEARNING_RATES)
    assert set(result["runs"]) == {(p, s, lr) for p in ("shifted", "pixels")
                                   for s in module.SETUPS for lr in rates}
    for (problem, setup, lr), run in result["runs"].items():
        if run["diverged"]:
            continue
        same = run["sample_same_sign_l0"]
        if setup in ("raw", "centred act.") and problem == "pixels":
            assert same == 1.0  # pixels >= 0: every per-sample first-layer gradient one-signed
        elif setup in ("Centerer", "mean", "batch", "learned", "gc"):
            assert same < 0.05  # centred inputs, or centred gradients, mix the signs
        if setup in ("mean", "batch"):  # the offsets centre the output layer's input
            assert abs(run["hidden_mean"]) < 0.05
    # the zero-centred activation centres the hidden outputs, not the data
    assert abs(result["runs"][("pixels", "centred act.", 3.0)]["hidden_mean"]) < 0.05
    assert result["runs"][("pixels", "raw", 3.0)]["hidden_mean"] > 0.1


@pytest.mark.parametrize("name", NAMES)
def test_example_reports_progress_as_it_goes(name, tmp_path_factory):
    """A progress line per setup, printed when that setup is done, not at the end."""
    run = quick_run(name, tmp_path_factory)
    counts = run.at_fit_start
    assert len(counts) >= 2 and run.n_progress >= 2
    assert counts == sorted(counts) and counts[0] == 0
    # when the last fit starts, every progress line but its own has been printed
    assert counts[-1] == run.n_progress - 1


@pytest.mark.parametrize("name", NAMES)
def test_example_figure_legends_cover_no_data(name, tmp_path_factory):
    assert quick_run(name, tmp_path_factory).figure_problems == []


@pytest.mark.parametrize("name", [n for n in NAMES if hasattr(load_example(n), "readme_summary")])
def test_readme_sentences_match_the_quick_run(name, tmp_path_factory):
    """Quick mode runs the settings the README quotes: every number there must match, as
    closely as another CPU's rounding allows (:func:`.harness.assert_numbers_as_shown`)."""
    run = quick_run(name, tmp_path_factory)
    summary = load_example(name).readme_summary(run.result)
    assert summary == run.result["readme"] and summary in run.out
    readme = README.read_text()
    bullet = re.split(r"\n\n|\n- ", readme[readme.index(f"- `{name}.py`") + 2:])[0]
    assert_numbers_as_shown(summary, bullet)


def test_every_readme_example_bullet_is_generated():
    """The README's numbered example sentences all come from readme_summary."""
    section = README.read_text().split("## Examples", 1)[1]
    bullets = [b for b in re.split(r"\n- ", section)[1:]]
    with_numbers = [b.split("\n\n")[0] for b in bullets if re.search(r"\d\.\d", b)]
    names = [re.match(r"`(\w+)\.py`", b).group(1) for b in with_numbers]
    assert names and all(hasattr(load_example(n), "readme_summary") for n in names)
    for image in re.findall(r"\]\((docs/images/[^)]+)\)", section):
        assert (README.parent / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", NAMES)
def test_example_is_a_script_with_quick_mode(name):
    """The scripts expose main(quick, outdir) and guard their entry point."""
    source = (EXAMPLES / f"{name}.py").read_text()
    assert 'if __name__ == "__main__":' in source
    assert 'main(quick="--quick" in sys.argv)' in source
    assert 'matplotlib.use("Agg")' in source
    assert load_example(name).__doc__.strip()  # states the question it answers
