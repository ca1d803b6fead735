"""The output files of ``centered-nn compare``: checked before any work, written atomically.

:func:`check_output` runs before the first fit. It never opens or creates the
named file: a FIFO would block the probe and a dangling symlink would leave an
empty file behind a failed run. It refuses the command's own standard output
or error (``/dev/stdout``, even redirected to a file: renaming would replace
that file), existing files that are not regular (a FIFO, a directory, a device
other than ``/dev/null``) and read-only files, and probes the directory by
creating and removing a temporary file in it.

:func:`write_outputs` writes every output to a temporary file beside its
target, then renames all of them into place: a failed write leaves every old
file as it was and no temporary file behind. Renaming is not interrupted by
Ctrl-C (it takes microseconds); a request made meanwhile is raised once all
files are in place, so the message can say truthfully what was written.
SIGTERM is handled as Ctrl-C is (with exit status 143): no temporary file stays.
"""

import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .interrupt import Terminated, deferred_interrupts, terminated_like_interrupts

#: the one non-regular file accepted as an output: written directly (discarded)
DISCARD = os.devnull


class OutputError(OSError):
    """An output file cannot be written; ``str()`` is the one-line message."""


class OutputLog:
    """What the output phase has done so far: for truthful messages on failure or Ctrl-C."""

    def __init__(self):
        self.table_printed = False
        self.written = []

    def summary(self):
        """One clause: 'the table was printed; wrote a.json' or 'nothing ... written'."""
        parts = ["the table was printed" if self.table_printed else "the table was not printed"]
        parts.append(f"wrote {', '.join(map(str, self.written))}" if self.written
                     else "no file written")
        return "; ".join(parts)


def _resolved(text):
    """The file the name ``text`` writes to: symlinks followed, even a dangling one."""
    return Path(os.path.realpath(text))


def _is_discard(text):
    try:
        return os.path.samefile(text, DISCARD)
    except OSError:
        return False


def check_output(option, text):
    """Check that ``--option text`` can be written, without touching ``text`` itself.

    Raises :class:`OutputError` naming the problem.
    """
    if _is_discard(text):
        return
    _refuse_own_stream(option, text)
    target = _resolved(text)
    shown = repr(text) if str(target) == os.path.abspath(text) else f"{text!r} (-> {target})"
    try:
        # the name itself, not `target`: /dev/stdout resolves to 'pipe:[...]', no path
        mode = os.stat(text).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"--{option}: cannot use {shown}: {exc.strerror or exc}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"--{option}: {shown} is a directory, not a file name")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"--{option}: {shown} is a {_kind(mode)}, not a regular file; "
                          "outputs are written to a temporary file and renamed into place")
    if mode is not None and not os.access(target, os.W_OK):
        raise OutputError(f"--{option}: cannot write {shown}: the file is read-only")
    directory = target.parent
    if not directory.is_dir():
        named = str(directory) if os.path.islink(text) else (os.path.dirname(text) or ".")
        raise OutputError(f"--{option}: directory {named!r} does not exist")
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"--{option}: cannot write in directory {str(directory)!r}: "
                          f"{exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def _refuse_own_stream(option, text):
    """Raise :class:`OutputError` if ``text`` is this process's standard output or error."""
    try:
        named = os.stat(text)
    except OSError:
        return
    for fd, stream, content in ((1, "output", "the table"), (2, "error", "progress")):
        try:
            same = os.path.samestat(named, os.fstat(fd))
        except OSError:  # the stream is closed
            continue
        if same:
            kind = ("a pipe" if stat.S_ISFIFO(named.st_mode) else "a terminal" if os.isatty(fd)
                    else f"the file {str(_resolved(text))!r}" if stat.S_ISREG(named.st_mode)
                    else f"a {_kind(named.st_mode)}")
            raise OutputError(f"--{option}: {text!r} is this command's standard {stream} "
                              f"({kind}), where {content} is printed; name another file")


def _kind(mode):
    for test, kind in ((stat.S_ISFIFO, "FIFO (named pipe)"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device")):
        if test(mode):
            return kind
    return "special file"  # pragma: no cover


def _new_file_mode():
    """The permissions open() would give a new file (0o666 less the umask)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _write_temp(path, data):
    """Write ``data`` to a new temporary file beside ``path``'s target; return its name."""
    target = _resolved(path)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            mode = _new_file_mode()
        os.chmod(temp, mode)
    except BaseException:
        with deferred_interrupts():
            os.unlink(temp)
        raise
    return temp


@contextmanager
def _reported(option, path):
    try:
        yield
    except OSError as exc:
        raise OutputError(f"--{option}: cannot write {str(path)!r}: "
                          f"{exc.strerror or exc}") from None


def write_outputs(outputs, log):
    """Write ``{option: (path, bytes)}`` atomically, all or (barring rename errors) none.

    Each file is written to a temporary file in its target's directory; only
    when every one is complete are they renamed into place, in order, each
    appended to ``log.written``. On an error or Ctrl-C while writing, the
    temporary files are removed and no target is changed. Raises
    :class:`OutputError` with a one-line message.
    """
    temps = {}
    try:
        for option, (path, data) in outputs.items():
            with _reported(option, path):
                if _is_discard(path):
                    temps[option] = None
                    continue
                temps[option] = _write_temp(path, data)
        with deferred_interrupts():
            for option, (path, data) in outputs.items():
                with _reported(option, path):
                    if temps[option] is None:
                        Path(path).write_bytes(data)
                    else:
                        os.replace(temps[option], _resolved(path))
                del temps[option]
                log.written.append(path)
    finally:
        with deferred_interrupts():
            for temp in temps.values():
                if temp is not None:
                    os.unlink(temp)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during the output phase; ``args[0]`` says what had been done.

    ``terminated`` is True for SIGTERM.
    """

    def __init__(self, done, terminated=False):
        super().__init__(done)
        self.terminated = terminated


class BrokenStdout(Exception):
    """Standard output closed by its reader (``| head``): stop quietly once files are written."""


def _silence_stdout():
    """Point standard output at /dev/null, so that the exit's final flush cannot fail again."""
    try:
        fileno = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing is flushed at exit
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)


def print_and_write(table, outputs):
    """The output phase: print ``table`` on stdout, then write ``{option: (path, bytes)}``.

    The files are written even when standard output fails (a full disk, or a
    reader such as ``head`` that closed the pipe), since they do not depend on
    it. Raises :class:`OutputError` (a one-line message that says what was
    done), :class:`Interrupted` on Ctrl-C or SIGTERM, or :class:`BrokenStdout`.
    """
    log, stdout_error = OutputLog(), None
    try:
        with terminated_like_interrupts():
            try:
                print(table, flush=True)
                log.table_printed = True
            except OSError as exc:
                _silence_stdout()
                stdout_error = exc
            write_outputs(outputs, log)
    except OutputError as exc:
        raise OutputError(f"{exc}; {log.summary()}") from None
    except KeyboardInterrupt as exc:
        raise Interrupted(log.summary(), isinstance(exc, Terminated)) from None
    for path in log.written:
        print(f"wrote {path}", file=sys.stderr)
    if isinstance(stdout_error, BrokenPipeError):
        raise BrokenStdout
    if stdout_error is not None:
        raise OutputError(f"cannot print the table on standard output: "
                          f"{stdout_error.strerror or stdout_error}; {log.summary()}")
