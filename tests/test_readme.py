"""The README's examples run quietly and print what the README shows under them."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
NUMBER = re.compile(r"-?\d+\.\d+")


def _snippet(containing):
    """(code, the text block shown after it) of the README's python block holding `containing`."""
    # a code block holds no ``` (so a python block without output never swallows the next)
    pairs = re.findall(r"```python\n((?:(?!```).)*?)```\n\n[^`]*?```text\n(.*?)```",
                       README.read_text(), re.S)
    return next((code, shown) for code, shown in pairs if containing in code)


def _run_quietly(code, namespace=None):
    """Run a snippet; return its namespace. It may silence warnings itself, nothing else does."""
    namespace = {} if namespace is None else namespace
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, str(README), "exec"), namespace)
    return namespace, [w for w in caught if "centered_nn" in w.filename or
                       issubclass(w.category, (UserWarning, RuntimeWarning))]


def _assert_printed_as_shown(printed, shown):
    """Same lines and words; each number within one unit of its last printed digit."""
    printed, shown = printed.strip().splitlines(), shown.strip().splitlines()
    assert len(printed) == len(shown), (printed, shown)
    for got, want in zip(printed, shown):
        assert NUMBER.sub("#", got) == NUMBER.sub("#", want)
        for a, b in zip(NUMBER.findall(got), NUMBER.findall(want)):
            digits = len(b.split(".")[1])
            assert float(a) == pytest.approx(float(b), abs=1.01 * 10.0 ** -digits), (got, want)


def test_readme_usage_example_prints_what_is_shown(capsys):
    code, shown = _snippet("GridSearchCV(pipe")
    namespace, warned = _run_quietly(code)
    assert warned == []
    printed = capsys.readouterr().out
    _assert_printed_as_shown(printed, shown)
    search = namespace["search"]
    strategies = [p["centerer__strategy"] for p in search.cv_results_["params"]]
    per_sample = search.cv_results_["mean_test_same_sign"]
    raw = [v for s, v in zip(strategies, per_sample) if s == "none"]
    centred = [v for s, v in zip(strategies, per_sample) if s == "mean"]
    # min-max scaled pixels are >= 0: every per-sample gradient is single-signed
    np.testing.assert_array_equal(raw, 1.0)
    assert max(centred) < 0.01
    assert printed.splitlines()[-1] == str(sorted(
        search.best_estimator_[-1].gradient_sign_history_))


def test_readme_starts_with_the_two_commands():
    lines = [line for line in README.read_text().splitlines() if line.strip()]
    assert lines[2] == "python -m pip install . && centered-nn compare --dataset digits"
    assert lines[3] == 'python -m pip install ".[test]" && python -m pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[3] in ci.splitlines()


def test_readme_regressor_example_prints_what_is_shown(capsys):
    code, shown = _snippet("MLPRegressor(")
    _, warned = _run_quietly(code)
    assert warned == []
    printed = capsys.readouterr().out
    _assert_printed_as_shown(printed, shown)
    rows = {line.split()[0]: [float(v) for v in NUMBER.findall(line)]
            for line in printed.splitlines()}
    (test_none, train_none, same_none), (test_mean, train_mean, same_mean) = (
        rows["none"], rows["mean"])
    assert same_none == 1.0 and same_mean < 0.05  # [0, 1]-scaled inputs are all >= 0
    # what the text under the block says: the offsets fit the training folds further,
    # and score lower on the held-out ones
    assert train_mean > train_none and test_mean < test_none


def test_readme_scaling_out_example_runs_on_a_local_cluster(capsys):
    """The "Scaling out" block, run as a script (it starts and closes its own cluster)."""
    code, shown = _snippet("LocalCluster(")
    namespace, warned = _run_quietly(code, {"__name__": "__main__"})
    assert not [w for w in warned if "Convergence" in w.category.__name__]
    assert namespace["cluster"].status.name == "closed"
    search, X = namespace["search"], namespace["X"]
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    model = namespace["stream"].estimator_
    n_blocks = len(namespace["X_blocks"].chunks[0])
    assert n_blocks > 1 and len(model.loss_curve_) == n_blocks  # one partial_fit per block
    np.testing.assert_allclose(model.input_biases_[0], -X.mean(axis=0), rtol=1e-12, atol=1e-12)
    printed = capsys.readouterr().out
    _assert_printed_as_shown(printed, shown)
    assert printed.splitlines() == [str(search.best_params_), "True"]


def _compare_rows(text):
    """Table lines of a ``centered-nn compare`` output, as lists of cells."""
    return [re.split(r" {2,}", line.strip()) for line in text.strip().splitlines()
            if line.strip() and not line.startswith(("setup", "---", "target", "("))]


def default_run_sentence(rows):
    """The README's sentence about the default digits run, from its relu rows."""
    row = {r[0]: r for r in rows if r[1] == "relu"}

    def setup(name, label):
        return f"{label} {row[name][4]} at {row[name][2]} (up to {row[name][7]})"

    return (f"With relu, raw needs {row['raw'][4]} epochs to the target at its fastest rate "
            f"{row['raw'][2]} and trains up to {row['raw'][7]}; "
            f"{setup('mean', 'the mean offsets need')}, {setup('batch', 'the batch offsets')}, "
            f"{setup('centerer', 'the Centerer')}: every one faster by more than the fold "
            "spread, at a higher rate.")


def test_readme_default_compare_table_is_a_real_run(capsys):
    """The relu rows of the README's default digits table, rerun (each activation's study
    is independent of the others): the same cells but the fit time, and the sentence."""
    from centered_nn.cli import main

    assert main(["compare", "--activations", "relu"]) == 0
    out = capsys.readouterr().out
    section = README.read_text().split("## `centered-nn compare`", 1)[1]
    shown = re.findall(r"```\n(setup .*?)```", section, re.S)[0]
    readme_rows = [r for r in _compare_rows(shown) if r[1] == "relu"]
    rows = _compare_rows(out)
    assert [r[:-1] for r in readme_rows] == [r[:-1] for r in rows]
    target = next(line for line in out.splitlines() if line.startswith("target"))
    assert target in shown
    sentence = default_run_sentence(rows)
    assert " ".join(sentence.split()) in " ".join(section.split())
    # what the sentence claims, from the run itself
    row = {r[0]: r for r in rows}
    raw_epochs, raw_spread = map(float, row["raw"][4].split(" ± "))
    for name in ("mean", "batch", "centerer"):
        epochs, spread = map(float, row[name][4].split(" ± "))
        assert raw_epochs - epochs > raw_spread + spread and row[name][5] == "faster"
        assert float(row[name][2]) > float(row["raw"][2])
        assert float(row[name][7]) > float(row["raw"][7])
    assert row["learned"][5] == "within spread" and row["learned"][8] == "1,3"
    assert "The `learned` offsets are no faster than raw and diverge at 1 and 3." in " ".join(
        section.split())


def test_readme_study_example_runs(capsys):
    """The centering_study block: it prints each setup's summary, and the display has its
    three panels."""
    import matplotlib

    matplotlib.use("Agg")
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                 if "centering_study(" in b)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, str(README), "exec"), namespace)
    study = namespace["study"]
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == ["raw", "centerer", "batch"]
    for line, (name, row) in zip(printed, study.summary.items()):
        assert line == (f"{name} {row['fastest_rate']} {row['epochs_to_target_mean']} "
                        f"{row['highest_trainable_rate']} {row['vs_reference']}")
    assert len(namespace["display"].axes_) == 3
