"""Tests for the ``centered-nn`` command line (centered_nn.cli)."""

import contextlib
import csv
import io
import json
import re
import subprocess
import sys
import time
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
from centered_nn.cli.csv_data import read_csv
from centered_nn.model_selection import STUDY_FIGURES

from .report_text import sentences, table_lines, table_rows

SETUPS = ["raw", "centerer", "learned", "mean", "batch", "gc"]
HEADERS = ["setup", "fastest rate", "epochs to target", "speedup [95% interval]", "vs reference",
           "trainable up to", "diverged or stalled", "cv accuracy", "L0 sample same-sign"]
QUICK = ["--max-iter", "3", "--cv", "2", "--learning-rates", "0.3,3", "--repeats", "2"]
#: the columns' time-dependent figures, left out when two runs are compared
TIMES = ("fit_time_mean", "score_time_mean", "seconds_to_target_mean")


def _run(capsys, argv):
    assert main(["compare", *argv]) == 0
    return capsys.readouterr()


def _table_rows(out):
    """The table's rows as dicts {header: cell}; the header checked."""
    rows = table_rows(out)
    assert list(rows[0])[1:] == HEADERS
    return rows


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
    assert [(r["setup"], r["activation"]) for r in rows] == [(s, a) for a in ("relu", "tanh")
                                                             for s in SETUPS]
    for row in rows:
        assert row["fastest rate"] in ("0.3", "3")  # a rate of the grid
        assert 0 <= float(row["cv accuracy"]) <= 1
        assert 0 <= float(row["L0 sample same-sign"]) <= 1
    raw_rows = [r for r in rows if r["setup"] == "raw"]
    # all-positive inputs: every per-sample first-layer gradient has one sign
    assert all(r["L0 sample same-sign"] == "1.000" for r in raw_rows)
    assert all(r["vs reference"] == "reference" and r["speedup [95% interval]"] == "-"
               for r in raw_rows)
    assert all(float(r["L0 sample same-sign"]) < 0.5 for r in rows if r["setup"] == "centerer")
    # the first layer's input curvature per setup, under the targets: the pixels' mean
    # makes raw's (and gc's, which leaves the input alone) far larger than centred inputs'
    for activation in ("relu", "tanh"):
        line = re.search(rf"^L0 input λ_max / mean λ, {activation}: (.*)$", out, re.M)[1]
        ratio = dict(item.split() for item in line.split(", "))
        assert list(ratio) == SETUPS
        assert float(ratio["raw"]) == float(ratio["gc"]) > 3 * float(ratio["centerer"])
        assert float(ratio["mean"]) == float(ratio["centerer"])
    # a title, the targets per run (2 repeats x 2 folds) and the rules are stated
    assert out.startswith("6 setups against raw, each at 2 rates x 2 repeats x 2 folds = 4 "
                          "paired runs per rate\n")
    assert re.search(r"^target training loss per run, relu: (\S+, ){3}\S+$", out, re.M)
    assert "target: per run, the final training loss of the reference setup" in out
    assert set(sentences(out)) == {"relu", "tanh"}
    # progress: a line per activation, then one per setup, on stderr
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 12 and progress[0].startswith("[1/6] setup=raw: 8 fits")
    assert err.splitlines()[0] == ("activation=relu (1/2): 6 setups x 2 rates x 2 repeats x "
                                   "2 folds = 48 fits")
    assert "Warning" not in err


def test_every_printed_line_fits_120_columns(default_run):
    out = default_run[1]
    assert max(len(line) for line in out.splitlines()) <= 120
    assert len(table_lines(out)[0]) > 100  # the table uses the width


def test_json_matches_table(default_run):
    _, out, _, json_path, _ = default_run
    document = json.loads(json_path.read_text())
    data = document["rows"]
    keys = {"setup", "activation", "fastest_rate", "highest_trainable_rate", "diverged_rates",
            "stalled_rates", "speedup", "speedup_interval", "vs_reference"}
    keys |= {f"{name}_{statistic}" for name, figure in STUDY_FIGURES.items()
             for statistic in figure.summary}
    assert len(data) == 12 and all(set(obj) == keys for obj in data)
    assert {"test_score_mean", "epochs_to_target_std", "seconds_to_target_mean",
            "input_eigenvalue_ratio_mean"} <= keys
    for activation in ("relu", "tanh"):  # the curvature line prints the JSON's figures
        line = re.search(rf"^L0 input λ_max / mean λ, {activation}: (.*)$", out, re.M)[1]
        assert line == ", ".join(f"{obj['setup']} {obj['input_eigenvalue_ratio_mean']:.1f}"
                                 for obj in data if obj["activation"] == activation)

    def number(value, fmt, std=None):
        text = "-" if value is None else format(value, fmt)
        return text + (f" ± {std:{fmt}}" if value is not None and std is not None else "")

    def rates(values):
        return ", ".join(f"{r:g}" for r in values)

    for obj, row in zip(data, _table_rows(out)):
        assert [obj["setup"], obj["activation"]] == [row["setup"], row["activation"]]
        assert row["fastest rate"] == number(obj["fastest_rate"], "g")
        assert row["epochs to target"] == number(obj["epochs_to_target_mean"], ".1f",
                                                 obj["epochs_to_target_std"])
        assert row["vs reference"] == obj["vs_reference"]
        if obj["vs_reference"] not in ("reference", "not reached"):
            low, high = obj["speedup_interval"]
            assert row["speedup [95% interval]"] == (f"{obj['speedup']:.2f} [{low:.2f}–"
                                                     f"{high:.2f}]")
        assert row["trainable up to"] == number(obj["highest_trainable_rate"], "g")
        outcomes = "; ".join(f"{what} at {rates(obj[key])}" for what, key in (
            ("diverged", "diverged_rates"), ("stalled", "stalled_rates")) if obj[key])
        assert row["diverged or stalled"] == (outcomes or "-")
        assert row["cv accuracy"] == number(obj["test_score_mean"], ".3f")
        assert row["L0 sample same-sign"] == number(obj["sample_same_sign_fraction_mean"],
                                                    ".3f")
    # every fit's record carries its run, repeat and fold; the rules are in the JSON
    study = document["studies"]["relu"]
    assert (study["reference"], study["n_repeats"], study["n_splits"]) == ("raw", 2, 2)
    assert len(study["target_loss"]) == 4 and len(study["seeds"]) == 2
    assert study["target_rule"].startswith("per run, the final training loss of the reference")
    assert "geometric mean" in study["speedup_rule"]
    assert set(study["figures"]) == set(STUDY_FIGURES)
    assert [(f["run"], f["repeat"], f["fold"]) for f in study["fits"][:4]] == [
        (0, 0, 0), (1, 0, 1), (2, 1, 0), (3, 1, 1)]
    assert (document["n_repeats"], document["reference"]) == (2, "raw")


def test_json_equals_direct_cross_validate(default_run):
    """The 'centerer'/'tanh' fits at its fastest rate recomputed independently with
    scikit-learn, one cross_validate per repeat with that repeat's seed."""
    document = json.loads(default_run[3].read_text())
    row = next(r for r in document["rows"] if (r["setup"], r["activation"]) == ("centerer",
                                                                                  "tanh"))
    saved = document["studies"]["tanh"]
    targets = saved["target_loss"]
    fits = [f for f in saved["fits"]
            if f["setup"] == "centerer" and f["learning_rate"] == row["fastest_rate"]]
    X, y = load_digits(return_X_y=True)
    for repeat, seed in enumerate(saved["seeds"]):
        pipeline = Pipeline([
            ("scale", MinMaxScaler()), ("center", Centerer(strategy="mean")),
            ("mlp", MLPClassifier(hidden_layer_sizes=(32,), activation="tanh", solver="sgd",
                                  learning_rate_init=row["fastest_rate"], max_iter=3,
                                  random_state=seed)),
        ])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            result = cross_validate(pipeline, X, y, cv=2, return_estimator=True)
        mine = fits[2 * repeat: 2 * repeat + 2]
        assert [f["test_score"] for f in mine] == list(result["test_score"])
        for fit, pipe in zip(mine, result["estimator"]):
            mlp = pipe[-1]
            assert fit["curves"]["loss_curve"] == list(mlp.loss_curve_)
            hit = next((i + 1 for i, v in enumerate(mlp.loss_curve_)
                        if v <= targets[fit["run"]]), None)
            assert fit["epochs_to_target"] == hit
            assert fit["sample_same_sign_fraction"] == pytest.approx(
                mlp.gradient_sign_history_["sample_same_sign_fraction"][:, 0].mean(), rel=1e-12)
    assert saved["seeds"][0] == 0  # the first repeat is the --random-state itself
    assert row["test_score_mean"] == pytest.approx(np.mean([f["test_score"] for f in fits]),
                                                   abs=1e-12)
    assert row["epochs_to_target_mean"] == np.mean([f["epochs_to_target"] for f in fits])


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
                        "--activations", "tanh", "--max-iter", "20", "--cv", "3",
                        "--learning-rates", "0.1,1"]).out
    rows = _table_rows(out)
    assert [(r["setup"], r["activation"]) for r in rows] == [("raw", "tanh"), ("mean", "tanh")]
    assert all(float(r["cv accuracy"]) > 0.5 for r in rows)  # 3 classes: chance is 1/3


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


# --- issue 10: every case found by a new user, reproduced ---------------------------

import os  # noqa: E402
import signal  # noqa: E402

import matplotlib  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import centered_nn  # noqa: E402
from centered_nn.cli import compare as cli  # noqa: E402
from centered_nn.cli import parser  # noqa: E402
from centered_nn.activations import ACTIVATIONS  # noqa: E402

from ..figure_checks import legend_problems  # noqa: E402

matplotlib.use("Agg")

INTERRUPTED = ("centered-nn: interrupted: stopped without printing the table or writing "
               "any file\n")
IRIS = ["--dataset", "iris", "--max-iter", "2", "--cv", "2", "--activations", "relu",
        "--repeats", "1"]


def _json_run(capsys, tmp_path, argv):
    """Run compare with --json; return (stdout, stderr, the JSON document)."""
    path = tmp_path / "run.json"
    out = _run(capsys, [*argv, "--json", str(path)])
    return out.out, out.err, json.loads(path.read_text())


def _rows_without_time(document):
    return [{k: v for k, v in row.items() if k not in TIMES} for row in document["rows"]]


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"centered-nn {centered_nn.__version__}\n"


# Case 1: Ctrl-C. The estimator's fit catches KeyboardInterrupt (scikit-learn's
# behaviour) and returns; the run must stop anyway.

from ..harness import CtrlC as _CtrlC  # noqa: E402


def _count_forward_passes(capsys, tmp_path, monkeypatch, argv):
    monkeypatch.setitem(ACTIVATIONS, "ctrl_c", _CtrlC)
    monkeypatch.setattr(_CtrlC, "calls", 0)
    monkeypatch.setattr(_CtrlC, "at", None)
    _run(capsys, [*argv, "--json", str(tmp_path / "calibrate.json")])
    return _CtrlC.calls


@pytest.mark.parametrize("where", ["first epoch of the first fold", "mid cross-validation"])
def test_ctrl_c_inside_a_fit_stops_the_whole_run(capsys, tmp_path, monkeypatch, where):
    argv = ["--dataset", "iris", "--max-iter", "3", "--cv", "2", "--activations", "ctrl_c",
            "--setups", "raw,centerer,mean", "--learning-rates", "0.1,0.3"]
    n_cv = _count_forward_passes(capsys, tmp_path, monkeypatch, argv)
    assert n_cv > 6
    at = {"first epoch of the first fold": 1, "mid cross-validation": n_cv // 2}[where]
    monkeypatch.setattr(_CtrlC, "calls", 0)
    monkeypatch.setattr(_CtrlC, "at", at)
    json_path, png_path = tmp_path / "out.json", tmp_path / "out.png"
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit) as exc:
        main(["compare", *argv, "--json", str(json_path), "--plot", str(png_path)])
    assert exc.value.code == 130
    out, err = capsys.readouterr()
    assert out == ""  # no table
    assert err.endswith(INTERRUPTED) and "Warning" not in err
    assert not json_path.exists() and not png_path.exists()
    assert _CtrlC.calls == at  # not one forward pass after the interrupted one
    assert signal.getsignal(signal.SIGINT) is before  # the handler is restored


def test_ctrl_c_in_a_subprocess_exits_130_writing_nothing(tmp_path):
    """A real SIGINT sent after the first progress line, as a terminal's Ctrl-C would."""
    json_path, png_path = tmp_path / "out.json", tmp_path / "out.png"
    proc = subprocess.Popen(
        [sys.executable, "-m", "centered_nn", "compare", "--max-iter", "100", "--cv", "2",
         "--activations", "relu,tanh", "--json", str(json_path), "--plot", str(png_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stderr.readline()  # the run is under way, its handler installed
        assert first.startswith("activation=relu (1/2)")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert out == "" and err.endswith(INTERRUPTED) and "Traceback" not in err
    assert not json_path.exists() and not png_path.exists()


# Cases 2 and 4: every option checked before any fit; one line, exit status 2.

@pytest.mark.parametrize("argv, message", [
    (["--random-state", "-1"],
     "argument --random-state: expected an integer from 0 to 4294967295, got '-1'"),
    (["--random-state", "99999999999"],
     "argument --random-state: expected an integer from 0 to 4294967295, got '99999999999'"),
    (["--learning-rate", "inf"], "argument --learning-rate: expected a positive number"),
    (["--learning-rate", "nan"], "argument --learning-rate: expected a positive number"),
    (["--learning-rate", "1e999"], "argument --learning-rate: expected a positive number"),
    (["--learning-rates", "0.1,x"],
     "argument --learning-rates: expected comma-separated positive numbers, got '0.1,x'"),
    (["--learning-rates", "0.1,-1"], "argument --learning-rates: expected comma-separated"),
    (["--learning-rate", "0.1", "--learning-rates", "1,2"],
     "give either --learning-rate or --learning-rates, not both"),
    (["--target-loss", "0"], "argument --target-loss: expected a positive number"),
    (["--max-iter", "1e3"], "argument --max-iter: expected an integer >= 1, got '1e3'"),
    (["--batch-size", "100000"], "--batch-size 100000 is larger than the smallest training "
     "fold (75 of 150 samples with --cv 2); use at most 75, or 'auto'"),
    (["--batch-size", "76"], "--batch-size 76 is larger than the smallest training fold"),
    (["--json", "{tmp}/x", "--plot", "{tmp}/x"], "--json and --plot name the same file"),
    (["--json", "{tmp}/x.svg", "--plot", "{tmp}/./x.svg"],
     "--json and --plot name the same file"),
    (["--json", "{tmp}"], "--json: '{tmp}' is a directory, not a file name"),
    (["--plot", "{tmp}"], "--plot: '{tmp}' is a directory, not a file name"),
    (["--json", ""], "--json: the file name is empty"),
    (["--json", "{tmp}/" + "n" * 300 + ".json"], "File name too long"),
    (["--json", "{tmp}/missing/x.json"], "--json: directory '{tmp}/missing' does not exist"),
    (["--plot", "{tmp}/p.jpg"], "--plot: '{tmp}/p.jpg' has unsupported file type '.jpg'; "
     "end the file name in .png, .pdf or .svg"),
    (["--plot", "{tmp}/p"], "--plot: '{tmp}/p' has no file type"),
    (["--dataset", "iris", "--setups", "raw,bogus"], "unknown setup 'bogus'"),
    (["--task", "ranking"], "argument --task: invalid choice: 'ranking'"),
    (["--repeats", "0"], "argument --repeats: expected an integer >= 1, got '0'"),
    (["--setups", "raw,mean", "--reference", "centerer"],
     "--reference centerer is not among --setups raw,mean"),
    (["--reference", "bogus"], "--reference bogus is not among --setups raw,centerer,learned,"
     "mean,batch,gc"),
])
def test_invalid_options_fail_before_any_fit(tmp_path, capsys, monkeypatch, argv, message):
    def no_fit(*args, **kwargs):
        raise AssertionError("a fit started before the options were checked")

    monkeypatch.setattr(cli, "centering_study", no_fit)
    argv = [a.format(tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--dataset", "iris", "--quick", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("centered-nn: error: ")
    assert message.format(tmp=tmp_path) in err
    assert sorted(os.listdir(tmp_path)) == []  # the write probes leave nothing behind


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_outputs_never_overwrite_the_input_csv(tmp_path, capsys, monkeypatch, option):
    monkeypatch.setattr(cli, "centering_study", None)  # never reached
    data = tmp_path / "data.svg"  # an odd name, so that --plot's type check passes
    data.write_text("a,b,y\n1,2,u\n3,4,v\n5,6,u\n7,8,v\n")
    link = tmp_path / "link.svg"
    os.link(data, link)
    for target in (str(data), str(link)):
        with pytest.raises(SystemExit) as exc:
            main(["compare", str(data), "--target", "y", "--quick", option, target])
        assert exc.value.code == 2
        assert (f"centered-nn: error: {option} '{target}' would overwrite the input CSV "
                "file") in capsys.readouterr().err
    assert data.read_text().startswith("a,b,y")


def test_output_probe_leaves_an_existing_file_unchanged(tmp_path, capsys, monkeypatch):
    existing = tmp_path / "old.json"
    existing.write_text("keep me")
    monkeypatch.setattr(cli, "_load_data", lambda args, task: (_ for _ in ()).throw(
        parser.CLIError("stop after the output checks")))
    with pytest.raises(SystemExit):
        main(["compare", "--quick", "--json", str(existing)])
    assert "stop after the output checks" in capsys.readouterr().err
    assert existing.read_text() == "keep me"


def test_unwritable_output_fails_before_any_fit(tmp_path, capsys, monkeypatch):
    if os.geteuid() == 0:
        pytest.skip("root can write into a read-only directory")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    monkeypatch.setattr(cli, "centering_study", None)
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--quick", "--json", str(locked / "x.json")])
    assert exc.value.code == 2
    assert "Permission denied" in capsys.readouterr().err


def test_diverging_learning_rate_is_a_row_not_an_error(capsys, tmp_path):
    """Non-finite weights at one rate: that rate is listed as diverged; the run goes on."""
    out, err, doc = _json_run(capsys, tmp_path, [*IRIS, "--learning-rates", "0.1,1e308"])
    rows = _table_rows(out)
    assert [r["setup"] for r in rows] == SETUPS
    for row, obj in zip(rows, doc["rows"]):
        assert obj["diverged_rates"] == [1e308]
        assert row["diverged or stalled"].startswith("diverged at 1e+308")
        assert row["fastest rate"] == "0.1"  # the rate that trains is the fastest
    fits = doc["studies"]["relu"]["fits"]
    assert all(f["diverged"] and f["curves"]["loss_curve"] == [] for f in fits
               if f["learning_rate"] > 1)
    assert "note: 12 of 24 fits diverged" in err and "Traceback" not in err


def test_no_raw_warning_reaches_the_user(capsys):
    """Fits that overflow (RuntimeWarnings) and end non-finite: rows, and no warning shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")  # make any escaping warning visible
        out = _run(capsys, [*IRIS, "--learning-rates", "0.1,3", "--batch-size", "10",
                            "--setups", "raw,learned"])
    assert "Warning" not in out.err and "warn" not in out.err
    rows = _table_rows(out.out)
    assert [r["setup"] for r in rows] == ["raw", "learned"]
    assert rows[1]["diverged or stalled"].startswith("diverged at 3")


def test_a_reference_that_never_trains_is_one_line_exit_2(capsys):
    """Raw at rate 3 ends above its first loss in every run: nothing to compare with."""
    with pytest.raises(SystemExit) as exc:
        main(["compare", *IRIS, "--learning-rate", "3", "--batch-size", "10",
              "--setups", "raw,learned"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    last = err.splitlines()[-1]
    assert err.endswith(last + "\n") and last.startswith(
        "centered-nn: error: activation=relu: The reference setup 'raw' never trained: at "
        "every learning rate some run diverged")


def _diverged_by_hand(X, y, setups, rate, max_iter):
    """Count fits that raise on non-finite weights or end 10x above their first loss."""
    from sklearn.model_selection import StratifiedKFold
    count = 0
    for params in setups:
        for train, _ in StratifiedKFold(2).split(X, y):
            pipe = Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                             ("mlp", MLPClassifier(hidden_layer_sizes=(32,), solver="sgd",
                                                   learning_rate_init=rate, max_iter=max_iter,
                                                   random_state=0))]).set_params(**params)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    curve = pipe.fit(X[train], y[train])[-1].loss_curve_
                except ValueError:
                    count += 1
                    continue
            count += curve[-1] > 10 * curve[0]
    return count


def test_diverged_fits_are_counted_in_a_note(capsys):
    """Rate 30 diverges (rate 0.1 trains the reference): the note counts by hand."""
    err = _run(capsys, [*IRIS, "--max-iter", "6", "--learning-rates", "0.1,30", "--setups",
                        "raw,learned,mean"]).err
    X, y = load_iris(return_X_y=True)
    params = [parser.SETUPS[s].params for s in ("raw", "learned", "mean")]
    diverged = sum(_diverged_by_hand(X, y, params, rate, 6) for rate in (0.1, 30.0))
    assert diverged >= 1
    assert (f"note: {diverged} of 12 fits diverged: non-finite weights, or a training loss "
            "ending more than 10x above its first epoch's (see 'diverged or stalled')") in \
        " ".join(err.split())
    assert max(len(line) for line in err.splitlines()) <= 120


# Case 3: silent wrong results.

def _write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


@pytest.fixture
def iris_rows():
    """Iris sorted by class (as load_iris is): an index column would leak the label."""
    iris = load_iris()
    header = [*iris.feature_names, "species"]
    rows = [[*x, name] for x, name in zip(iris.data, iris.target_names[iris.target])]
    return header, rows


CSV_ARGS = ["--target", "species", "--max-iter", "3", "--cv", "2", "--activations", "relu",
            "--setups", "raw,mean"]


def test_unnamed_index_column_is_dropped_with_a_note(capsys, tmp_path, iris_rows):
    header, rows = iris_rows
    plain = _write_csv(tmp_path / "plain.csv", header, rows)
    indexed = _write_csv(tmp_path / "indexed.csv", ["", *header],
                         [[i, *row] for i, row in enumerate(rows)])
    _, err_plain, doc_plain = _json_run(capsys, tmp_path, [plain, *CSV_ARGS])
    _, err, doc = _json_run(capsys, tmp_path, [indexed, *CSV_ARGS])
    assert "note: dropped the unnamed first column of" in err and "dropped" not in err_plain
    assert doc["n_features"] == doc_plain["n_features"] == 4
    assert _rows_without_time(doc) == _rows_without_time(doc_plain)


def test_pandas_to_csv_with_index_reads_like_without(capsys, tmp_path):
    pytest.importorskip("pandas")  # load_iris(as_frame=True)
    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "with_index.csv")
    frame.to_csv(tmp_path / "no_index.csv", index=False)
    args = ["--target", "target", "--max-iter", "3", "--cv", "2", "--activations", "relu",
            "--setups", "raw"]
    _, err, doc = _json_run(capsys, tmp_path, [str(tmp_path / "with_index.csv"), *args])
    _, _, doc_plain = _json_run(capsys, tmp_path, [str(tmp_path / "no_index.csv"), *args])
    assert "dropped the unnamed first column" in err
    assert doc["n_features"] == frame.shape[1] - 1
    assert _rows_without_time(doc) == _rows_without_time(doc_plain)
    # the index column is dropped, not read as a feature: the features are the frame's
    read = read_csv(tmp_path / "with_index.csv", "target")
    features = frame.drop(columns="target")
    assert read.feature_names == list(features.columns)
    np.testing.assert_array_equal(read.X, features.to_numpy())  # to_csv writes exact floats
    assert list(read.y) == [str(t) for t in frame["target"]]


def test_plot_and_json_never_overwrite_each_other(capsys, tmp_path):
    """--json X --plot X is refused; distinct names give a JSON and a PNG."""
    same = str(tmp_path / "x.png")
    with pytest.raises(SystemExit):
        main(["compare", *IRIS, "--json", same, "--plot", same])
    assert "--json and --plot name the same file" in capsys.readouterr().err
    assert not os.path.exists(same)


@pytest.mark.parametrize("suffix, magic", [
    (".png", b"\x89PNG\r\n\x1a\n"), (".pdf", b"%PDF-"), (".SVG", b"<?xml")])
def test_plot_format_follows_the_extension(capsys, tmp_path, monkeypatch, suffix, magic):
    figures = []
    real_savefig = Figure.savefig

    def keep(fig, *args, **kwargs):
        figures.append(fig)
        return real_savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    path = tmp_path / f"signs{suffix}"
    _run(capsys, [*IRIS, "--setups", "raw,centerer,mean", "--activations", "relu,tanh",
                  "--max-iter", "6", "--learning-rates", "0.1,0.3", "--plot", str(path)])
    data = path.read_bytes()
    assert data.startswith(magic)
    if suffix == ".SVG":
        assert b"<svg" in data[:2000]
    (fig,) = figures
    title = fig._suptitle.get_text()
    assert title.startswith("iris: ") and "rates 0.1, 0.3" in title
    assert legend_problems(fig) == []
    # identical curves stay distinguishable: one marker shape per setup, staggered
    assert len(fig.axes) == 2 * 4  # per activation: four panels
    ax = fig.axes[3]  # first-layer signs: raw at 1.0, the centred setups near 0
    labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert len({line.get_marker() for line in labelled}) == 3
    assert len({str(line.get_markevery()) for line in labelled}) == 3


def test_json_is_an_object_with_the_run_settings(capsys, tmp_path):
    _, _, doc = _json_run(capsys, tmp_path, [*IRIS, "--random-state", "7", "--learning-rate",
                                             "0.05", "--setups", "raw,learned"])
    assert doc["centered_nn_version"] == centered_nn.__version__
    assert (doc["task"], doc["dataset"], doc["csv"], doc["target"]) == (
        "classification", "iris", None, None)
    assert (doc["cv"], doc["random_state"], doc["n_samples"], doc["n_features"]) == (2, 7, 150, 4)
    expected = MLPClassifier(hidden_layer_sizes=(32,), solver="sgd",
                             max_iter=2, random_state=7).get_params()
    del expected["activation"], expected["learning_rate_init"]
    assert doc["learning_rates"] == [0.05] and doc["target_loss"] is None
    expected["hidden_layer_sizes"] = [32]
    # what the table, the figure and the curvature line read, the last at layer 0 only
    expected["record_gradient_signs"] = ["same_sign_fraction", "sample_same_sign_fraction",
                                         "InputEigenvalueRatio(layers=[0])"]
    assert doc["model_parameters"] == expected
    assert doc["setups"] == {"raw": {}, "learned": {"mlp__input_bias": "learned"}}
    assert doc["pipeline"] == [["scale", "MinMaxScaler"], ["center", "Centerer"],
                               ["mlp", "MLPClassifier"]]
    assert [(r["setup"], r["activation"]) for r in doc["rows"]] == [("raw", "relu"),
                                                                    ("learned", "relu")]


def test_json_names_the_csv_and_target(capsys, tmp_path, iris_rows):
    path = _write_csv(tmp_path / "iris.csv", *iris_rows)
    _, _, doc = _json_run(capsys, tmp_path, [path, *CSV_ARGS])
    assert (doc["dataset"], doc["csv"], doc["target"]) == (None, path, "species")


# Case 5: unclear messages, and the CSV problems.

@pytest.mark.parametrize("text, message", [
    ("a,b,y\n1,,u\n3,4,v\n", "feature column 'b' has missing values (not supported: impute "
     "first): an empty cell at line 2"),
    ("a,b,y\n1,2,u\n3,NA,v\n", "feature column 'b' has missing values (not supported: impute "
     "first): 'NA' at line 3"),
    ("a,b,y\n1,2,u\n3,nan,v\n", "feature column 'b' has missing values"),
    ("a,b,y\n1,2,u\n3,4,\n", "target column 'y' has missing values (not supported: impute "
     "first): an empty cell at line 3"),
    ("a,b,y\n1,inf,u\n", "feature column 'b' is not finite: 'inf' at line 2"),
    ("y,a,y\n1,2,u\n", "duplicated column name 'y' in the header of"),
    ("a,a,y\n1,2,u\n", "duplicated column name 'a'"),
    ("a,,y\n1,2,u\n", "column 2 of"),
    ("a;b;y\n1,5;2;u\n", "feature column 'a' is not numeric: '1,5' (decimal commas are not "
     "supported) at line 2"),
    ("a b y\n1 2 u\n", "cannot find the delimiter of"),
    ("", "is empty"),
    ("a,b,y\n", "has a header row but no data rows"),
    ("a,b,y\n1,2,0\n3,4,0.0\n5,6,1\n7,8,1\n", "labels '0' and '0.0' of --target 'y' are the "
     "same number written differently: make them identical"),
    ("a,b,y\n1,2,1\n3,4,01\n5,6,0\n7,8,0\n", "labels '01' and '1' of --target 'y'"),
    ("a,b,y\n1,2,u\n3,4\n", "line 3 of"),
    ("a,b,y\n" + "".join(f"{i},{i},{i / 7}\n" for i in range(20)),
     "is the target continuous?"),
])
def test_csv_problems_are_named(tmp_path, capsys, monkeypatch, text, message):
    monkeypatch.setattr(cli, "centering_study", None)  # never reached
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(path), "--target", "y", "--quick"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_dev_zero_fails_fast(capsys):
    start = time.perf_counter()
    with pytest.raises(SystemExit) as exc:
        main(["compare", "/dev/zero", "--target", "y"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("centered-nn: error: '/dev/zero' holds NUL bytes "
                                       "(line 1): not a text CSV file\n")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("delimiter, shown", [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_other_delimiters_are_detected(capsys, tmp_path, iris_rows, delimiter, shown):
    comma = _write_csv(tmp_path / "comma.csv", *iris_rows)
    other = _write_csv(tmp_path / "other.csv", *iris_rows, delimiter=delimiter)
    _, _, doc_comma = _json_run(capsys, tmp_path, [comma, *CSV_ARGS])
    _, err, doc = _json_run(capsys, tmp_path, [other, *CSV_ARGS])
    assert f"note: reading '{other}' with the delimiter {shown} (detected)" in err
    assert _rows_without_time(doc) == _rows_without_time(doc_comma)


def test_setups_and_tasks_are_one_entry_each(capsys, tmp_path, monkeypatch):
    """A new setup and a new task need one entry; help, table and JSON follow."""
    monkeypatch.setitem(parser.SETUPS, "strong_l2", parser.Setup({"mlp__alpha": 1.0},
                                                                 "alpha=1: a test setup"))
    monkeypatch.setitem(parser.TASKS, "macro_f1", parser.Task(
        estimator=MLPClassifier, scoring="f1_macro", score_label="cv macro F1",
        default_dataset="wine", datasets=("wine",), prepare_target=parser._class_labels))
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    assert "  strong_l2 alpha=1: a test setup" in capsys.readouterr().out
    out, _, doc = _json_run(capsys, tmp_path, ["--task", "macro_f1", "--setups", "raw,strong_l2",
                                               "--max-iter", "2", "--cv", "2",
                                               "--activations", "relu", "--learning-rate",
                                               "0.1", "--repeats", "1"])
    assert list(table_rows(out)[0])[1:] == [*HEADERS[:7], "cv macro F1", HEADERS[-1]]
    assert doc["dataset"] == "wine" and doc["scoring"] == "f1_macro"
    assert doc["setups"]["strong_l2"] == {"mlp__alpha": 1.0}
    assert {"test_score_mean", "test_score_std"} <= set(doc["rows"][1])
    # the row equals an independent cross_validate of the same pipeline
    from sklearn.datasets import load_wine
    X, y = load_wine(return_X_y=True)
    pipe = Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", MLPClassifier(hidden_layer_sizes=(32,), solver="sgd",
                                           learning_rate_init=0.1, max_iter=2,
                                           random_state=0, alpha=1.0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        expected = cross_validate(pipe, X, y, cv=2, scoring="f1_macro")["test_score"]
    assert doc["rows"][1]["test_score_mean"] == pytest.approx(expected.mean(), abs=1e-12)
    with pytest.raises(SystemExit):
        main(["compare", "--task", "macro_f1", "--dataset", "iris"])
    assert "--dataset iris is not a macro_f1 dataset; choose from wine" in capsys.readouterr().err


def test_estimator_warns_when_a_run_diverges():
    X, y = load_iris(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    mlp = MLPClassifier(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=30.0,
                        max_iter=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mlp.fit(X, y)
    assert mlp.loss_curve_[-1] > 10 * mlp.loss_curve_[0]  # it did diverge
    assert any(issubclass(w.category, ConvergenceWarning) and "diverg" in str(w.message)
               for w in caught)


def test_regression_task_on_diabetes_equals_direct_cross_validate(capsys, tmp_path):
    """--task regression: R² on the standardised diabetes target, as scikit-learn computes it."""
    out, _, doc = _json_run(capsys, tmp_path, ["--task", "regression", "--setups", "raw,batch,gc",
                                               "--max-iter", "3", "--cv", "2",
                                               "--activations", "tanh", "--learning-rate",
                                               "0.1", "--repeats", "1"])
    assert list(table_rows(out)[0])[1:] == [*HEADERS[:7], "cv R²", HEADERS[-1]]
    assert doc["dataset"] == "diabetes" and doc["task"] == "regression"
    from sklearn.datasets import load_diabetes

    from centered_nn import MLPRegressor
    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    for row, params in zip(doc["rows"], [{}, {"input_bias": "batch"},
                                         {"gradient_centralization": True}]):
        pipe = Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                         ("mlp", MLPRegressor(hidden_layer_sizes=(32,), activation="tanh",
                                              solver="sgd", learning_rate_init=0.1,
                                              max_iter=3, random_state=0, **params))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            expected = cross_validate(pipe, X, y, cv=2, scoring="r2")["test_score"]
        assert row["test_score_mean"] == pytest.approx(expected.mean(), abs=1e-12)
    # gradient centralization: every minibatch weight column has both signs
    assert doc["rows"][2]["same_sign_fraction_mean"] == 0.0


def test_regression_needs_a_numeric_target(capsys, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("a,b,y\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n")
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(path), "--target", "y", "--task", "regression"])
    assert exc.value.code == 2
    assert ("--task regression needs a numeric target; --target 'y' holds 'x'"
            in capsys.readouterr().err)


def test_batch_setup_with_batch_size_one_is_refused_before_any_fit(capsys, monkeypatch):
    """Issue 18 item 1, issue 22: --batch-size 1 cannot run the 'batch' setup; the command
    says so in one line (exit 2) before the first fit, as --help promises (it used to fit
    until the library refused)."""
    def no_fit(*args, **kwargs):
        raise AssertionError("a fit started before the options were checked")

    monkeypatch.setattr(cli, "centering_study", no_fit)
    with pytest.raises(SystemExit) as exc:
        main(["compare", *IRIS, "--setups", "raw,batch", "--batch-size", "1"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "centered-nn: error: --batch-size 1 cannot run the setup 'batch', which needs "
        "minibatches of at least 2 samples (input_bias='batch': b = -(minibatch mean), "
        "differentiated through, every layer); use --batch-size 2 or more, or leave batch "
        "out of --setups\n")
    # the installed command, in a subprocess: the same line, no traceback, no table
    proc = subprocess.run(
        [sys.executable, "-m", "centered_nn", "compare", *IRIS, "--setups", "raw,batch",
         "--batch-size", "1"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("centered-nn: error: --batch-size 1 cannot run the setup")
    assert proc.stderr.count("\n") == 1


# --- issue 16: the comparison is a study of speed and stability --------------------


@pytest.mark.parametrize("loader, index", [("load_breast_cancer", True), ("load_wine", False)])
def test_pandas_csv_defaults_give_best_rates_and_divergence_rows(capsys, tmp_path, loader,
                                                                 index):
    """Default grid on CSVs written by pandas: exit 0, a best rate and epochs per setup,
    and the setup that diverges (learned, at the high rates) is a row like the others."""
    pytest.importorskip("pandas")
    from sklearn import datasets
    path = tmp_path / "data.csv"
    getattr(datasets, loader)(as_frame=True).frame.to_csv(path, index=index)
    out, err, doc = _json_run(capsys, tmp_path, [str(path), "--target", "target",
                                                 "--activations", "relu"])
    rows = _table_rows(out)
    assert [r["setup"] for r in rows] == SETUPS and len(doc["rows"]) == 6
    assert doc["learning_rates"] == list(parser.DEFAULT_LEARNING_RATES)
    assert doc["n_repeats"] == parser.DEFAULT_REPEATS
    learned = doc["rows"][SETUPS.index("learned")]
    assert learned["diverged_rates"], "learned no longer diverges at the default rates"
    fits = doc["studies"]["relu"]["fits"]
    for obj in doc["rows"]:
        assert obj["fastest_rate"] in parser.DEFAULT_LEARNING_RATES
        mine = [f for f in fits if f["setup"] == obj["setup"]]
        # 'diverged at' lists exactly the rates where a fold diverged
        assert obj["diverged_rates"] == sorted({f["learning_rate"] for f in mine
                                                if f["diverged"]})
        reached = [f for f in mine if f["learning_rate"] == obj["fastest_rate"]]
        if all(f["reached"] for f in reached):
            assert obj["epochs_to_target_mean"] == np.mean([f["epochs_to_target"]
                                                            for f in reached])
    assert any(r["epochs to target"] != "-" for r in rows if r["setup"] != "raw")
    assert ("dropped the unnamed first column" in err) == index


def test_json_round_trips_the_study(default_run):
    """Every per-fit figure of the JSON equals the study recomputed in Python."""
    from centered_nn.model_selection import centering_study
    document = json.loads(default_run[3].read_text())
    X, y = load_digits(return_X_y=True)
    pipe = Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", MLPClassifier(hidden_layer_sizes=(32,), activation="relu",
                                           solver="sgd", max_iter=3, random_state=0))])
    study = centering_study(pipe, X, y, setups={s: parser.SETUPS[s].params for s in SETUPS},
                            learning_rates=[0.3, 3], n_repeats=2, cv=2, random_state=0)
    saved = document["studies"]["relu"]
    assert saved["target_loss"] == list(study.target_loss)
    assert saved["seeds"] == [int(seed) for seed in study.seeds]
    for fit in saved["fits"]:
        s, r, k = SETUPS.index(fit["setup"]), [0.3, 3].index(fit["learning_rate"]), fit["run"]
        for name in ("test_score", "final_loss", "epochs_to_target", "mean_relative_loss"):
            value = study.figures[name][s, r, k]
            assert fit[name] == (None if np.isnan(value) else value)
        assert fit["curves"]["loss_curve"] == list(study.curves["loss_curve"][s][r][k])
    for name, row in study.summary.items():
        obj = next(o for o in document["rows"] if (o["setup"], o["activation"]) == (name,
                                                                                 "relu"))
        assert obj["speedup"] == (None if np.isnan(row["speedup"]) else row["speedup"])
        assert obj["vs_reference"] == row["vs_reference"]


# --- issue 22: the reference, the repeats, the wide table, a huge epoch budget -----------


def test_reference_and_repeats_reach_the_study(capsys, tmp_path, monkeypatch):
    from centered_nn.model_selection import centering_study

    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return centering_study(*args, **kwargs)

    monkeypatch.setattr(cli, "centering_study", spy)
    out, _, doc = _json_run(capsys, tmp_path, [*IRIS, "--setups", "raw,mean", "--reference",
                                               "mean", "--repeats", "3", "--learning-rate",
                                               "0.3", "--max-iter", "4"])
    assert (seen["reference"], seen["n_repeats"]) == ("mean", 3)
    assert out.startswith("2 setups against mean, each at 1 rate x 3 repeats x 2 folds = 6 "
                          "paired runs per rate\n")
    rows = _table_rows(out)
    assert [r["vs reference"] == "reference" for r in rows] == [False, True]
    assert doc["studies"]["relu"]["reference"] == "mean"
    assert len(doc["studies"]["relu"]["target_loss"]) == 6
    # the sentences name the reference
    assert sentences(out)["relu"].startswith("relu (mean trains at rates up to 0.3): raw ")


def test_wide_table_holds_every_summarised_figure(capsys):
    argv = [*IRIS, "--setups", "raw,mean", "--learning-rates", "0.3,1", "--max-iter", "4"]
    narrow = table_rows(_run(capsys, argv).out)
    wide = table_rows(_run(capsys, [*argv, "--wide"]).out)
    assert "seconds to target" not in narrow[0] and "seconds to target" in wide[0]
    expected = {name.replace("_", " ") for name, figure in STUDY_FIGURES.items()
                if "mean" in figure.summary and name != "test_score"}
    assert expected <= set(wide[0]) and "cv accuracy" in wide[0]
    assert {"diverged at", "stalled at"} <= set(wide[0])
    assert [r["setup"] for r in wide] == [r["setup"] for r in narrow]
    assert [r["speedup [95% interval]"] for r in wide] == [r["speedup [95% interval]"]
                                                           for r in narrow]


def test_an_epoch_budget_of_1e11_is_no_traceback(capsys, tmp_path):
    """max_iter=10**11 once allocated an array that long per fit (MemoryError)."""
    out, err, doc = _json_run(capsys, tmp_path, [*IRIS, "--setups", "raw,mean", "--max-iter",
                                                 str(10**11), "--learning-rate", "0.3"])
    assert doc["model_parameters"]["max_iter"] == 10**11
    assert doc["studies"]["relu"]["max_iter"] == 10**11
    assert [r["setup"] for r in _table_rows(out)] == ["raw", "mean"]
    assert "Traceback" not in err and "error" not in err


def test_a_given_target_the_reference_misses_is_a_bound(capsys, tmp_path):
    """--target-loss 0.3: raw never gets there in 10 epochs, mean does; the speedup is only
    bounded below, and the report says so rather than a number."""
    out, _, doc = _json_run(capsys, tmp_path, [
        "--dataset", "iris", "--setups", "raw,mean", "--activations", "relu", "--max-iter",
        "10", "--learning-rates", "0.1,1", "--repeats", "2", "--target-loss", "0.3"])
    mean = doc["rows"][1]
    assert mean["vs_reference"] == "faster" and mean["speedup"] is None
    low, high = mean["speedup_interval"]
    assert low > 1 and high is None  # JSON has no infinity: null is the unbounded end
    row = _table_rows(out)[1]
    assert row["speedup [95% interval]"] == f"- [{low:.2f}–∞]"
    assert sentences(out)["relu"].startswith(
        f"relu (raw reaches the target loss at no rate): mean reaches the target loss faster "
        f"(95% interval {low:.2f}–∞)")
    assert "target: --target-loss 0.3 in every run." in out
