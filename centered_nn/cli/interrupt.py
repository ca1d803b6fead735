"""Ctrl-C for ``centered-nn compare``: stop the whole run, although each fit catches it.

The estimators keep scikit-learn's behaviour: a KeyboardInterrupt raised inside
the training loop ends that fit early with a warning, and the fit returns as if
it had converged. The command line wants the opposite: stop everything, print
no table and write no file. While output files are renamed into place,
:func:`deferred_interrupts` holds Ctrl-C back until all are in place.
"""

import signal
from contextlib import contextmanager

from sklearn.metrics import get_scorer


class InterruptGuard:
    """Make Ctrl-C stop the whole run, although each fit catches KeyboardInterrupt.

    While the guard is active, SIGINT both raises KeyboardInterrupt (to cut the
    current fit short) and records the request; :meth:`check`, called after
    every fit, raises KeyboardInterrupt again so that the run stops there. The
    record is class state because signal handlers are process-wide; entering
    the guard clears it and leaving restores the previous handler.
    """

    requested = False

    def __enter__(self):
        type(self).requested = False
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: plain KeyboardInterrupt handling
            self._previous = None
        return self

    @classmethod
    def _handle(cls, signum, frame):
        cls.requested = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls):
        """Raise KeyboardInterrupt if Ctrl-C was pressed during the run."""
        if cls.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


class CheckedScorer:
    """The task's scorer, called by cross_validate right after each fit: checks Ctrl-C first.

    It holds only the scoring name, so it pickles to joblib workers, where no
    interrupt is ever recorded (the parent process handles Ctrl-C).
    """

    def __init__(self, scoring):
        self.scoring = scoring

    def __call__(self, estimator, X, y):
        InterruptGuard.check()
        return get_scorer(self.scoring)(estimator, X, y)


@contextmanager
def deferred_interrupts():
    """Hold Ctrl-C back for a short critical section, then raise it.

    Inside the block SIGINT only records the request (also for
    :class:`InterruptGuard`); leaving the block raises KeyboardInterrupt if
    one came. Used where an interruption would leave files half-replaced or
    temporary files behind. Outside the main thread it does nothing.
    """
    requested = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: requested.append(signum))
    except ValueError:  # not the main thread: signals are not delivered here
        yield
        return
    try:
        yield
    finally:
        # None: a handler installed outside Python; Python's own is the closest
        signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    if requested:
        InterruptGuard.requested = True
        raise KeyboardInterrupt
