"""Tests for the ``centered-nn`` command line (centered_nn.cli)."""

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from centered_nn import Centerer, MLPClassifier
from centered_nn.cli import main

SETUPS = ["raw", "centerer", "learned", "mean"]
HEADER = ("setup", "activation", "cv accuracy", "iterations", "final loss",
          "same-sign L0", "sample same-sign L0", "fit time (s)")
QUICK = ["--max-iter", "3", "--cv", "2"]


def _run(capsys, argv):
    assert main(["compare", *argv]) == 0
    return capsys.readouterr()


def _table_rows(out):
    """Parse the table on stdout into lists of cells (split on 2+ spaces)."""
    lines = out.strip().splitlines()
    assert lines[0].split() == " ".join(HEADER).split()
    assert set(lines[1]) == {"-", " "}
    return [re.split(r" {2,}", line.strip()) for line in lines[2:]]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    """One quick run on digits with two activations, --json and --plot.

    Module-scoped to be run once, so it captures output itself (capsys is
    function-scoped).
    """
    tmp = tmp_path_factory.mktemp("cli")
    json_path, png_path = tmp / "rows.json", tmp / "signs.png"
    argv = ["compare", *QUICK, "--activations", "relu,tanh", "--json", str(json_path),
            "--plot", str(png_path)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    return status, out.getvalue(), err.getvalue(), json_path, png_path


def test_default_dataset_table(default_run):
    status, out, err, _, _ = default_run
    assert status == 0
    rows = _table_rows(out)
    assert [(r[0], r[1]) for r in rows] == [(s, a) for a in ("relu", "tanh") for s in SETUPS]
    for row in rows:
        mean, std = (float(v) for v in row[2].split(" ± "))
        assert 0 <= mean <= 1 and 0 <= std <= 0.5
        assert float(row[3]) == 3.0  # --max-iter 3 on digits never converges earlier
        assert 0 <= float(row[5]) <= 1 and 0 <= float(row[6]) <= 1
    raw_rows = [r for r in rows if r[0] == "raw"]
    # all-positive inputs: every per-sample first-layer gradient has one sign
    assert all(r[6] == "1.000" for r in raw_rows)
    assert all(float(r[6]) < 0.5 for r in rows if r[0] == "centerer")
    # progress: one line per pair on stderr, and a convergence note
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 8 and progress[0].startswith("[1/8] setup=raw activation=relu")
    assert "note: 16 of 16 fits stopped at --max-iter 3" in err
    assert "ConvergenceWarning" not in err


def test_json_matches_table(default_run):
    _, out, _, json_path, _ = default_run
    data = json.loads(json_path.read_text())["rows"]
    keys = {"setup", "activation", "cv_accuracy_mean", "cv_accuracy_std", "n_iter",
            "final_loss", "same_sign_fraction", "sample_same_sign_fraction", "fit_time"}
    assert len(data) == 8 and all(set(obj) == keys for obj in data)
    for obj, row in zip(data, _table_rows(out)):
        assert [obj["setup"], obj["activation"]] == row[:2]
        assert row[2] == f"{obj['cv_accuracy_mean']:.3f} ± {obj['cv_accuracy_std']:.3f}"
        assert row[3:] == [f"{obj['n_iter']:.1f}", f"{obj['final_loss']:.4f}",
                           f"{obj['same_sign_fraction']:.3f}",
                           f"{obj['sample_same_sign_fraction']:.3f}", f"{obj['fit_time']:.2f}"]


def test_json_equals_direct_cross_validate(default_run):
    """The 'centerer'/'tanh' row recomputed independently with scikit-learn."""
    data = json.loads(default_run[3].read_text())["rows"]
    row = next(r for r in data if (r["setup"], r["activation"]) == ("centerer", "tanh"))
    pipeline = Pipeline([
        ("scale", MinMaxScaler()), ("center", Centerer(strategy="mean")),
        ("mlp", MLPClassifier(hidden_layer_sizes=(32,), activation="tanh", solver="sgd",
                              learning_rate_init=0.1, max_iter=3, random_state=0)),
    ])
    X, y = load_digits(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = cross_validate(pipeline, X, y, cv=2, return_estimator=True)
    mlps = [p[-1] for p in result["estimator"]]
    assert row["cv_accuracy_mean"] == pytest.approx(result["test_score"].mean(), abs=1e-12)
    assert row["cv_accuracy_std"] == pytest.approx(result["test_score"].std(), abs=1e-12)
    assert row["n_iter"] == np.mean([m.n_iter_ for m in mlps])
    assert row["final_loss"] == pytest.approx(np.mean([m.loss_curve_[-1] for m in mlps]),
                                              rel=1e-12)
    expected = np.mean([m.gradient_sign_history_["sample_same_sign_fraction"][:, 0].mean()
                        for m in mlps])
    assert row["sample_same_sign_fraction"] == pytest.approx(expected, rel=1e-12)


def test_plot_writes_png(default_run):
    png = default_run[4].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_csv_round_trip_with_string_labels(tmp_path, capsys):
    iris = load_iris()
    path = tmp_path / "iris.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*iris.feature_names, "species"])
        for x, label in zip(iris.data, iris.target_names[iris.target]):
            writer.writerow([*x, label])
    out = _run(capsys, [str(path), "--target", "species", "--setups", "raw,mean",
                        "--activations", "tanh", "--max-iter", "20", "--cv", "3"]).out
    rows = _table_rows(out)
    assert [r[:2] for r in rows] == [["raw", "tanh"], ["mean", "tanh"]]
    assert all(float(r[2].split(" ± ")[0]) > 0.5 for r in rows)  # 3 classes: chance is 1/3


def test_module_help_subprocess():
    proc = subprocess.run([sys.executable, "-m", "centered_nn", "compare", "--help"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert proc.stdout.startswith("usage: centered-nn compare")
    assert "MinMaxScaler()" in proc.stdout and "--activations" in proc.stdout


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("argv, message", [
    (["{tmp}/missing.csv", "--target", "y"], "cannot read"),
    (["{csv}", "--target", "nope"], "no column 'nope'"),
    (["{csv}"], "--target COLUMN is required"),
    (["{csv}", "--target", "y", "--dataset", "iris"], "not both"),
    (["{bad}", "--target", "y"], "feature column 'b' is not numeric: 'oops' at line 3"),
    (["--dataset", "mnist"], "argument --dataset: invalid choice: 'mnist'"),
    (["--cv", "1"], "argument --cv: expected an integer >= 2, got '1'"),
    (["--cv", "x"], "argument --cv: expected an integer >= 2, got 'x'"),
    (["--activations", "relu,swish"], "unknown activation 'swish'"),
    (["--target", "y"], "--target is only used with a CSV file"),
    (["--dataset", "iris", "--cv", "60"], "--cv 60 needs at least 60 samples of every class"),
])
def test_errors_one_line_exit_2(tmp_path, capsys, argv, message):
    good = _write(tmp_path / "good.csv", "a,b,y\n1,2,u\n3,4,v\n5,6,u\n7,8,v\n")
    bad = _write(tmp_path / "bad.csv", "a,b,y\n1,2,u\n3,oops,v\n")
    argv = [a.format(tmp=tmp_path, csv=good, bad=bad) for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--quick", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("centered-nn: error: ")
    assert message in err and "Traceback" not in err


def test_missing_matplotlib_is_a_clean_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes the import fail
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--quick", "--plot", str(tmp_path / "p.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == ('centered-nn: error: --plot needs matplotlib: pip install matplotlib '
                   '(in a centered_nn checkout: pip install ".[plot]")\n')
    assert not (tmp_path / "p.png").exists()
