"""The README's examples run quietly and print what the README shows under them."""

import re
import warnings
from pathlib import Path

import numpy as np

from .harness import assert_numbers_as_shown

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
    """Same lines and words, each number as :func:`assert_numbers_as_shown` allows."""
    printed, shown = printed.strip().splitlines(), shown.strip().splitlines()
    assert len(printed) == len(shown), (printed, shown)
    for got, want in zip(printed, shown):
        assert_numbers_as_shown(got, want)


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


def _compare_section():
    """The README's section on ``centered-nn compare``: (its text, the default run's block)."""
    section = README.read_text().split("## `centered-nn compare`", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"```\n(\d+ setups against .*?)```", section, re.S)
    return section, shown


def test_readme_default_compare_report_is_a_real_run(capsys):
    """The relu part of the README's default digits report, rerun (each activation's study
    is independent of the others): the same title, rows, sentence and targets; and what
    the prose under it says about relu, from the run itself."""
    from centered_nn.cli import main

    from .cli.report_text import sentences, table_rows

    assert main(["compare", "--activations", "relu"]) == 0
    out = capsys.readouterr().out
    section, (shown, regression) = _compare_section()
    assert max(len(line) for block in (shown, regression) for line in block.splitlines()) \
        <= 120
    assert out.splitlines()[0] == shown.splitlines()[0]
    rows = table_rows(out)
    assert [r for r in table_rows(shown) if r["activation"] == "relu"] == rows
    assert sentences(out)["relu"] == sentences(shown)["relu"]
    target = next(line for line in out.splitlines() if line.startswith("target training"))
    assert target in shown.splitlines()
    assert out.split("\ntarget: ", 1)[1] in shown  # the rules, word for word
    # what the prose says about relu
    row = {r["setup"]: r for r in rows}
    prose = " ".join(section.split())
    assert row["raw"]["epochs to target"] == "30.0 ± 0.0" and "all 30 epochs" in prose
    assert row["raw"]["trainable up to"] == "0.3" and "only up to 0.3" in prose
    for name in ("centerer", "mean", "batch"):
        speedup, low = (float(v) for v in re.findall(r"[\d.]+", row[name]["speedup [95% "
                                                                       "interval]"])[:2])
        assert row[name]["vs reference"] == "faster" and 3.5 <= speedup <= 6.3 and low > 3
        assert row[name]["trainable up to"] in ("1", "3")
    assert row["gc"]["speedup [95% interval]"].startswith("3.4")
    assert row["gc"]["trainable up to"] == "1"
    assert row["learned"]["diverged or stalled"].startswith("diverged at 1, 3")
    assert row["learned"]["speedup [95% interval]"] == "1.11 [1.01–1.23]"
    assert "barely faster (1.11, interval 1.01 to 1.23)" in prose
    scores = [float(r["cv accuracy"]) for r in rows]
    assert max(scores) - min(scores) < 0.01 and "all setups score alike" in prose


def test_readme_study_example_runs(capsys):
    """The centering_study block: it prints each setup's summary, and the display has its
    four panels (gradient signs are recorded by default)."""
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
    display = namespace["display"]
    assert display.panels_ == ["loss", "epochs", "score", "signs"] and len(display.axes_) == 4
