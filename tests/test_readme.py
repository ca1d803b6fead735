"""The README's usage example runs and shows what it claims."""

import re
import warnings
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), namespace)
    search = namespace["search"]
    strategies = [p["centerer__strategy"] for p in search.cv_results_["params"]]
    per_sample = search.cv_results_["mean_test_same_sign"]
    raw = [v for s, v in zip(strategies, per_sample) if s == "none"]
    centred = [v for s, v in zip(strategies, per_sample) if s == "mean"]
    # min-max scaled pixels are >= 0: every per-sample gradient is single-signed
    np.testing.assert_array_equal(raw, 1.0)
    assert max(centred) < 0.01
    assert "sample_same_sign_fraction" in capsys.readouterr().out


def test_readme_starts_with_the_two_commands():
    lines = [line for line in README.read_text().splitlines() if line.strip()]
    assert lines[2] == "python -m pip install . && centered-nn compare --dataset digits"
    assert lines[3] == 'python -m pip install ".[test]" && python -m pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[3] in ci.splitlines()


def test_readme_regressor_example_runs(capsys):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                 if "MLPRegressor(" in b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, str(README), "exec"), {})
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    r2_none, same_none = map(float, lines["none"].split())
    r2_mean, same_mean = map(float, lines["mean"].split())
    assert same_none == 1.0 and same_mean < 0.05  # [0, 1]-scaled inputs are all >= 0
    assert r2_none > 0.2 and r2_mean > 0.2


def test_readme_scaling_out_example_runs_on_a_local_cluster(capsys):
    """The "Scaling out" block, run as a script (it starts and closes its own cluster)."""
    section = README.read_text().split("## Scaling out", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {"__name__": "__main__"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), namespace)
    assert namespace["cluster"].status.name == "closed"
    search, X = namespace["search"], namespace["X"]
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_ == search.cv_results_["params"][search.best_index_]
    model = namespace["stream"].estimator_
    n_blocks = len(namespace["X_blocks"].chunks[0])
    assert n_blocks > 1 and len(model.loss_curve_) == n_blocks  # one partial_fit per block
    np.testing.assert_allclose(model.input_biases_[0], -X.mean(axis=0), rtol=1e-12, atol=1e-12)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == str(search.best_params_)
    assert float(printed[1]) < 1e-12


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
