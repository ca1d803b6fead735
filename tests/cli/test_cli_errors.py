"""``centered-nn compare``: inputs, streams and signals that used to end in a traceback,
a hang or a silent wrong number (issue 18, items 8, 10 and 11)."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from centered_nn.cli import compare as cli
from centered_nn.cli import parser
from centered_nn.cli import main

QUICK = ["--max-iter", "3", "--cv", "2", "--activations", "relu", "--repeats", "1"]
IRIS = ["--dataset", "iris", *QUICK, "--setups", "raw"]
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def _csv(path, y, x=None):
    x = np.linspace(0.0, 1.0, len(y)) if x is None else x
    path.write_text("x,y\n" + "".join(f"{a!r},{b}\n" for a, b in zip(x.tolist(), y)))
    return path


def _rows(capsys, tmp_path, argv):
    """Run compare with --json; return the rows without their fit times."""
    out = tmp_path / "rows.json"
    assert main(["compare", *argv, "--json", str(out)]) == 0
    capsys.readouterr()
    return [{k: v for k, v in row.items()
             if k not in ("fit_time_mean", "score_time_mean", "seconds_to_target_mean")}
            for row in json.loads(out.read_text())["rows"]]


def _cli(*args, stdout=subprocess.PIPE):
    return subprocess.run([sys.executable, "-m", "centered_nn", "compare", *args],
                          stdout=stdout, stderr=subprocess.PIPE, text=True, env=ENV,
                          timeout=120)


# Item 8: a large regression target


def test_a_huge_regression_target_gives_the_rows_of_the_target_scaled_down(capsys, tmp_path):
    """y * 2**660 overflowed y.std() (the table said R² 0.000): scaling by a power of two
    is exact, so the rows must equal those of y itself, bit for bit."""
    y = np.linspace(1.0, 2.0, 40)
    argv = ["--task", "regression", *QUICK, "--setups", "raw,mean"]
    small = _rows(capsys, tmp_path, [str(_csv(tmp_path / "small.csv", y.tolist())), "--target",
                                     "y", *argv])
    huge = y * 2.0**660
    with np.errstate(over="ignore"):
        assert not np.isfinite(huge.std())  # what overflowed
    big = _rows(capsys, tmp_path, [str(_csv(tmp_path / "big.csv", huge.tolist())), "--target",
                                   "y", *argv])
    assert big == small
    assert all(row["test_score_mean"] != 0.0 for row in big)


def test_a_target_at_the_float64_limit_is_standardised(capsys, tmp_path):
    """±1.7e308 was 'Input y contains NaN'; it is the same problem as ±1."""
    signs = np.where(np.arange(40) % 3 == 0, 1.0, -1.0)
    argv = ["--task", "regression", *QUICK, "--setups", "raw"]
    unit = _rows(capsys, tmp_path, [str(_csv(tmp_path / "unit.csv", signs.tolist())),
                                    "--target", "y", *argv])
    limit = _rows(capsys, tmp_path, [str(_csv(tmp_path / "limit.csv", (signs * 1.7e308).tolist())),
                                     "--target", "y", *argv])
    for a, b in zip(limit, unit):
        assert a.keys() == b.keys()
        for key, value in a.items():
            assert value == (b[key] if isinstance(value, str) else pytest.approx(b[key], rel=1e-9))


def test_standardising_by_a_power_of_two_first_changes_no_bit():
    """Regular targets (diabetes) keep the exact standardisation (y - mean) / std."""
    from sklearn.datasets import load_diabetes

    class Args:
        cv, target = 3, "y"

    y = load_diabetes(return_X_y=True)[1]
    np.testing.assert_array_equal(parser._standardised_target(y, Args),
                                  (y - y.mean()) / y.std())


# Item 10: tracebacks


def test_a_label_written_nan_is_a_missing_value(capsys, tmp_path):
    path = _csv(tmp_path / "d.csv", ["nan" if i % 2 else "a" for i in range(40)])
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(path), "--target", "y", *QUICK])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "centered-nn: error: target column 'y' has missing values (not supported: impute "
        "first): 'nan' at line 3\n")


def test_nan_labels_spelled_two_ways_are_named_not_a_key_error():
    class Args:
        cv, target = 2, "y"

    y = np.array(["nan", "NaN", "a", "a", "nan", "NaN"], dtype=object)
    with pytest.raises(parser.CLIError, match="labels 'NaN' and 'nan' of --target 'y' are the "
                                           "same number written differently"):
        parser._class_labels(y, Args)


def test_a_dollar_in_the_csv_name_is_not_mathtext(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = _csv(tmp_path / "a$_$b.csv", [i % 2 for i in range(40)])
    plot = tmp_path / "p.svg"
    assert main(["compare", str(path), "--target", "y", *QUICK, "--setups", "raw",
                 "--plot", str(plot)]) == 0
    assert plot.read_bytes().startswith(b"<?xml")
    assert f"wrote {plot}" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [[], ["--batch-size", "2"]])
def test_more_folds_than_regression_samples_is_named(capsys, tmp_path, extra):
    path = tmp_path / "four.csv"
    path.write_text("x,y\n1,2\n2,3\n3,1\n4,5\n")
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(path), "--target", "y", "--task", "regression", "--cv", "10",
              "--quick", *extra])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("centered-nn: error: --cv 10 needs at least 10 samples; "
                                       "the data has 4\n")


def test_stdout_on_a_full_disk_is_one_line_and_the_json_is_written(tmp_path):
    out = tmp_path / "rows.json"
    with open("/dev/full", "w") as full:
        proc = _cli(*IRIS, "--json", str(out), stdout=full)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-2:] == [
        f"wrote {out}",
        "centered-nn: error: cannot print the table on standard output: No space left on "
        f"device; the table was not printed; wrote {out}"]
    assert json.loads(out.read_text())["rows"][0]["setup"] == "raw"


def test_a_closed_pipe_ends_quietly_after_writing_the_files(tmp_path):
    """`centered-nn compare ... | head -0`: no BrokenPipeError traceback, status 141."""
    out = tmp_path / "rows.json"
    proc = subprocess.Popen([sys.executable, "-m", "centered_nn", "compare", *IRIS, "--json",
                             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=ENV)
    proc.stdout.close()  # the reader is gone before the table comes
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.endswith(f"wrote {out}\n")
    assert json.loads(out.read_text())["command"] == "compare"


INTERRUPT_IMPORT = """
import os, signal, sys

class CtrlCAtImport:
    def find_spec(self, name, path=None, target=None):
        if name == "sklearn":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while scikit-learn loads
        return None

sys.meta_path.insert(0, CtrlCAtImport())
from centered_nn.cli import main  # the console script's import
sys.exit(main(["compare", "--quick"]))
"""


def test_ctrl_c_during_the_imports_is_one_line_and_status_130():
    proc = subprocess.run([sys.executable, "-c", INTERRUPT_IMPORT], capture_output=True,
                          text=True, env=ENV, timeout=120)
    assert proc.returncode == 130
    assert proc.stderr == "centered-nn: interrupted while starting\n"
    assert proc.stdout == ""


def test_importing_the_command_line_loads_no_scikit_learn():
    """What makes the above possible: the entry point's module imports nothing heavy."""
    code = "import sys, centered_nn.cli; print('sklearn' in sys.modules, 'numpy' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert proc.stdout.split() == ["False", "False"]


# Issue 25, item 9: --help answers at once; an option typo gets a suggestion

HELP_IMPORTS = """
import sys
from centered_nn.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print([name for name in ("numpy", "scipy", "sklearn", "centered_nn.activations")
       if name in sys.modules], file=sys.stderr)
"""


@pytest.mark.parametrize("argv", [["--help"], ["compare", "--help"], ["--version"],
                                  ["compare", "--jsn", "x"]])
def test_help_and_usage_errors_import_no_numpy_or_scikit_learn(argv):
    """Before: over a second of imports (scikit-learn, the estimators) before --help."""
    proc = subprocess.run([sys.executable, "-c", HELP_IMPORTS.format(argv=argv)],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.stderr.splitlines()[-1] == "[]"
    assert (proc.stdout + proc.stderr).startswith(("usage: centered-nn", "centered-nn"))


def test_the_help_lists_the_activation_registry():
    """The names are written out in the parser (no import for --help): kept equal here."""
    from centered_nn.activations import ACTIVATIONS
    from centered_nn.cli.parser import ACTIVATION_NAMES

    assert ACTIVATION_NAMES == tuple(ACTIVATIONS)


@pytest.mark.parametrize("typo, meant", [("--jsn", "--json"),
                                         ("--learning_rate", "--learning-rate"),
                                         ("--setpus=raw", "--setups"), ("--n_jobs", "--n-jobs")])
def test_an_option_typo_suggests_the_closest_option(typo, meant):
    proc = subprocess.run([sys.executable, "-m", "centered_nn", "compare", "--quick", typo],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == (f"centered-nn: error: unrecognized arguments: {typo}; did you mean "
                           f"{meant}? (see 'centered-nn compare --help')\n")


def test_an_unknown_option_far_from_all_gets_no_suggestion():
    proc = subprocess.run([sys.executable, "-m", "centered_nn", "compare", "--zzz"],
                          capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.stderr == ("centered-nn: error: unrecognized arguments: --zzz "
                           "(see 'centered-nn compare --help')\n")


# Item 11: special files as outputs


def test_a_fifo_as_json_is_refused_before_any_work(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = _cli("--quick", "--json", str(fifo))  # before: blocked forever opening the FIFO
    assert proc.returncode == 2
    assert proc.stderr == (f"centered-nn: error: --json: '{fifo}' is a FIFO (named pipe), not "
                           "a regular file; outputs are written to a temporary file and "
                           "renamed into place\n")


def test_a_character_device_is_refused_but_dev_null_is_accepted(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["compare", *IRIS, "--json", "/dev/zero"])
    assert exc.value.code == 2
    assert "'/dev/zero' is a character device, not a regular file" in capsys.readouterr().err
    assert main(["compare", *IRIS, "--json", os.devnull]) == 0
    assert capsys.readouterr().err.endswith(f"wrote {os.devnull}\n")


def test_a_dangling_symlink_leaves_no_file_when_the_run_fails(capsys, tmp_path):
    link = tmp_path / "out.json"
    link.symlink_to(tmp_path / "target.json")
    with pytest.raises(SystemExit):
        main(["compare", *IRIS, "--cv", "200", "--json", str(link)])
    assert "--cv 200 needs at least 200 samples" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["out.json"] and not link.exists()


def test_a_symlink_is_written_through(capsys, tmp_path):
    """The file the link names is replaced; the link stays a link."""
    link = tmp_path / "out.json"
    link.symlink_to("target.json")
    assert main(["compare", *IRIS, "--json", str(link)]) == 0
    assert link.is_symlink() and json.loads((tmp_path / "target.json").read_text())["rows"]
    assert sorted(os.listdir(tmp_path)) == ["out.json", "target.json"]


def test_a_read_only_output_file_is_refused(capsys, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root may write a read-only file")
    path = tmp_path / "old.json"
    path.write_text("keep")
    path.chmod(0o444)
    with pytest.raises(SystemExit):
        main(["compare", *IRIS, "--json", str(path)])
    assert "the file is read-only" in capsys.readouterr().err
    assert path.read_text() == "keep"


def test_the_probe_opens_no_output_file(capsys, tmp_path, monkeypatch):
    """The check creates and removes a temporary file in the directory, nothing else."""
    import builtins

    opened = []
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda f, *a, **k: opened.append(str(f)) or
                        real_open(f, *a, **k))
    monkeypatch.setattr(cli, "_load_data", lambda args, task: (_ for _ in ()).throw(
        parser.CLIError("stop after the output checks")))
    with pytest.raises(SystemExit):
        main(["compare", "--quick", "--json", str(tmp_path / "a.json")])
    assert str(tmp_path / "a.json") not in opened
    assert os.listdir(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
