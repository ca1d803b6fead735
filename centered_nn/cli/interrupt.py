"""Ctrl-C for ``centered-nn compare``: stop the whole run, although each fit catches it.

The estimators keep scikit-learn's behaviour: a KeyboardInterrupt raised inside
the training loop ends that fit early with a warning, and the fit returns as if
it had converged. The command line wants the opposite: stop everything, print
no table and write no file (:class:`InterruptGuard`, the study's own guard,
which checks after every fit, before it is scored). While output files are written,
:func:`terminated_like_interrupts` makes SIGTERM (``kill``) raise like Ctrl-C,
so that the same clean-up runs; while they are renamed into place,
:func:`deferred_interrupts` holds both back until all are in place.
"""

import signal
from contextlib import contextmanager

from .._interrupts import InterruptGuard


class Terminated(KeyboardInterrupt):
    """SIGTERM inside :func:`terminated_like_interrupts`: handled as Ctrl-C is, exit status 143."""

    terminated = True


def _raise_terminated(signum, frame):
    raise Terminated


#: signal -> the handler to restore when the one found was installed outside Python
_OUTSIDE_PYTHON = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}


@contextmanager
def _handling(handlers):
    """Install `handlers` (signal -> handler) for the block, then restore those found.

    Outside the main thread, where signals are not delivered, nothing is installed.
    """
    try:
        previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, _OUTSIDE_PYTHON[signum] if handler is None else handler)


@contextmanager
def terminated_like_interrupts():
    """Within the block SIGTERM raises :class:`Terminated` instead of ending the process.

    Its default action ends the process at once, skipping the ``finally``
    clauses that remove temporary files. Outside the main thread it does nothing.
    """
    with _handling({signal.SIGTERM: _raise_terminated}):
        yield


@contextmanager
def deferred_interrupts():
    """Hold Ctrl-C and SIGTERM back for a short critical section, then raise them.

    Inside the block SIGINT and SIGTERM only record the request (SIGINT also
    for :class:`InterruptGuard`); leaving the block raises
    :class:`Terminated` if SIGTERM came, else KeyboardInterrupt if SIGINT did.
    Used where an interruption would leave files half-replaced or temporary
    files behind. Outside the main thread it does nothing.
    """
    requested = []
    with _handling({signum: lambda got, frame: requested.append(got)
                    for signum in _OUTSIDE_PYTHON}):
        yield
    if signal.SIGINT in requested:
        InterruptGuard.requested = True
    if signal.SIGTERM in requested:
        raise Terminated
    if requested:
        raise KeyboardInterrupt
