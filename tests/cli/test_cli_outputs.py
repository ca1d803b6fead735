"""``centered-nn compare``'s output files: atomic, truthful about what was written
(issue 18, item 9)."""

import errno
import json
import os
import resource
import signal
import stat
import subprocess
import sys

import pytest

from centered_nn.cli import main
from centered_nn.cli import outputs

IRIS = ["--dataset", "iris", "--max-iter", "3", "--cv", "2", "--activations", "relu",
        "--setups", "raw"]


@pytest.fixture
def old_files(tmp_path):
    """An existing JSON and SVG, as left by an earlier run."""
    json_path, svg_path = tmp_path / "ok.json", tmp_path / "ok.svg"
    json_path.write_text('{"old": true}\n')
    svg_path.write_text("<old/>")
    return json_path, svg_path


def _argv(json_path, svg_path):
    return ["compare", *IRIS, "--json", str(json_path), "--plot", str(svg_path)]


def _failing_temp_for(suffix, monkeypatch):
    real = outputs._write_temp

    def write_temp(path, data):
        if str(path).endswith(suffix):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(path, data)

    monkeypatch.setattr(outputs, "_write_temp", write_temp)


def test_a_failed_write_leaves_every_old_file(capsys, tmp_path, old_files, monkeypatch):
    pytest.importorskip("matplotlib")
    json_path, svg_path = old_files
    _failing_temp_for(".svg", monkeypatch)  # the JSON's temporary file is already complete
    with pytest.raises(SystemExit) as exc:
        main(_argv(json_path, svg_path))
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out.startswith("1 setup against raw")
    assert err.splitlines()[-1] == (
        f"centered-nn: error: --plot: cannot write '{svg_path}': No space left on device; "
        "the table was printed; no file written")
    assert json_path.read_text() == '{"old": true}\n' and svg_path.read_text() == "<old/>"
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok.svg"]  # no temporary file


def test_a_file_size_limit_leaves_the_old_json(tmp_path, old_files):
    """`ulimit -f 1` in a subprocess: the JSON (over 1 KiB) cannot be written."""
    json_path, _ = old_files

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))

    proc = subprocess.run([sys.executable, "-m", "centered_nn", "compare", *IRIS, "--json",
                           str(json_path)], capture_output=True, text=True, timeout=120,
                          preexec_fn=limit, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (
        f"centered-nn: error: --json: cannot write '{json_path}': File too large; "
        "the table was printed; no file written")
    assert json_path.read_text() == '{"old": true}\n'
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok.svg"]


def test_success_replaces_both_and_keeps_their_permissions(capsys, tmp_path, old_files):
    pytest.importorskip("matplotlib")
    json_path, svg_path = old_files
    json_path.chmod(0o640)
    assert main(_argv(json_path, svg_path)) == 0
    assert capsys.readouterr().err.endswith(f"wrote {json_path}\nwrote {svg_path}\n")
    assert json.loads(json_path.read_text())["command"] == "compare"
    assert svg_path.read_bytes().startswith(b"<?xml")
    assert stat.S_IMODE(json_path.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok.svg"]


def test_a_new_file_gets_the_usual_permissions(capsys, tmp_path):
    umask = os.umask(0o027)
    try:
        assert main(["compare", *IRIS, "--json", str(tmp_path / "new.json")]) == 0
    finally:
        os.umask(umask)
    capsys.readouterr()
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o666 & ~0o027


def test_ctrl_c_while_writing_keeps_the_old_files_and_says_so(capsys, tmp_path, old_files,
                                                             monkeypatch):
    pytest.importorskip("matplotlib")
    json_path, svg_path = old_files
    real = outputs._write_temp

    def write_temp(path, data):
        if str(path).endswith(".svg"):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, handled before this returns
        return real(path, data)

    monkeypatch.setattr(outputs, "_write_temp", write_temp)
    with pytest.raises(SystemExit) as exc:
        main(_argv(json_path, svg_path))
    assert exc.value.code == 130
    out, err = capsys.readouterr()
    assert out.startswith("1 setup against raw")  # the table came before the files
    assert err.splitlines()[-1] == ("centered-nn: interrupted: the table was printed; "
                                    "no file written")
    assert json_path.read_text() == '{"old": true}\n' and svg_path.read_text() == "<old/>"
    assert sorted(os.listdir(tmp_path)) == ["ok.json", "ok.svg"]


def test_ctrl_c_while_renaming_waits_for_every_rename(capsys, tmp_path, old_files,
                                                     monkeypatch):
    pytest.importorskip("matplotlib")
    json_path, svg_path = old_files
    real = os.replace

    def replace(src, dst):
        if str(dst).endswith(".json"):
            os.kill(os.getpid(), signal.SIGINT)
        return real(src, dst)

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(SystemExit) as exc:
        main(_argv(json_path, svg_path))
    assert exc.value.code == 130
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"centered-nn: interrupted: the table was printed; wrote {json_path}, {svg_path}")
    assert json.loads(json_path.read_text())["command"] == "compare"
    assert svg_path.read_bytes().startswith(b"<?xml")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_log_summary():
    log = outputs.OutputLog()
    assert log.summary() == "the table was not printed; no file written"
    log.table_printed = True
    log.written += ["a.json", "b.png"]
    assert log.summary() == "the table was printed; wrote a.json, b.png"


# Issue 25, item 12: SIGTERM (kill) while the files are written cleans up as Ctrl-C does

SIGNAL_WHILE_WRITING = """
import os, signal, sys
real = os.fsync
def fsync(fd):
    os.kill(os.getpid(), signal.{signal})  # while the JSON's temporary file is written
    return real(fd)
os.fsync = fsync
from centered_nn.cli import main
sys.exit(main({argv!r}))
"""


@pytest.mark.parametrize("name, status, said", [("SIGTERM", 143, "terminated"),
                                                ("SIGINT", 130, "interrupted")])
def test_a_signal_while_writing_leaves_no_temporary_file(tmp_path, name, status, said):
    json_path = tmp_path / "ok.json"
    json_path.write_text('{"old": true}\n')
    code = SIGNAL_WHILE_WRITING.format(signal=name,
                                       argv=["compare", *IRIS, "--json", str(json_path)])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, timeout=120)
    assert proc.returncode == status  # before: -15, killed with '.ok.json.XXXX.tmp' left
    assert proc.stderr.splitlines()[-1] == (f"centered-nn: {said}: the table was printed; "
                                            "no file written")
    assert os.listdir(tmp_path) == ["ok.json"]
    assert json_path.read_text() == '{"old": true}\n'


# Issue 25, item 11: the command's own standard output or error as an output file


def _run_to(json_path, **streams):
    return subprocess.run([sys.executable, "-m", "centered_nn", "compare", *IRIS, "--json",
                           json_path], text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"}, **streams)


def test_dev_stdout_redirected_to_a_file_is_refused_not_renamed_over(tmp_path):
    out = tmp_path / "out.txt"
    with open(out, "w") as stdout:
        proc = _run_to("/dev/stdout", stdout=stdout, stderr=subprocess.PIPE)
    assert proc.returncode == 2  # before: 0, and out.txt replaced by the JSON
    assert proc.stderr == (f"centered-nn: error: --json: '/dev/stdout' is this command's "
                           f"standard output (the file '{out}'), where the table is printed; "
                           "name another file\n")
    assert out.read_text() == ""
    assert os.listdir(tmp_path) == ["out.txt"]


def test_dev_stdout_as_a_pipe_is_named_a_pipe():
    proc = _run_to("/dev/stdout", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 2  # before: "cannot write in directory '/proc/<pid>/fd'"
    assert proc.stderr == ("centered-nn: error: --json: '/dev/stdout' is this command's "
                           "standard output (a pipe), where the table is printed; name "
                           "another file\n")
    assert proc.stdout == ""


def test_dev_stderr_is_refused_too():
    proc = _run_to("/dev/stderr", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.returncode == 2
    assert proc.stderr == ("centered-nn: error: --json: '/dev/stderr' is this command's "
                           "standard error (a pipe), where progress is printed; name "
                           "another file\n")


def test_another_pipe_is_refused_as_a_fifo_not_as_a_directory():
    read, write = os.pipe()
    try:
        proc = _run_to(f"/dev/fd/{write}", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, pass_fds=(write,))
    finally:
        os.close(read)
        os.close(write)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"centered-nn: error: --json: '/dev/fd/{write}' (-> ")
    assert proc.stderr.endswith(") is a FIFO (named pipe), not a regular file; outputs are "
                                "written to a temporary file and renamed into place\n")
