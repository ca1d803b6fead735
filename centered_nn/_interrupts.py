"""Ctrl-C that stops a whole run of fits, although each fit catches it.

The estimators keep scikit-learn's behaviour: a KeyboardInterrupt raised inside the
training loop ends that fit early with a warning, and the fit returns as if it had
converged. A run of many fits (the centring study, ``centered-nn compare``) wants the
opposite: stop everything. This module imports nothing else of the package, so that
both :mod:`centered_nn.model_selection` and :mod:`centered_nn.cli` use the one guard.
"""

import signal


class InterruptGuard:
    """Make Ctrl-C stop the whole run, although each fit catches KeyboardInterrupt.

    While the guard is active (main thread only), SIGINT both raises
    KeyboardInterrupt (to cut the current fit short) and records the request;
    :meth:`check`, called after every fit, raises KeyboardInterrupt again so that
    the run stops there. The record is class state because signal handlers are
    process-wide; worker processes never see the signal (the parent's joblib loop
    raises it there). Entering the guard clears the record; leaving it restores
    the previous handler and, for the outermost guard, clears the record again
    (a nested guard, the study inside the command line, leaves it to the outer one).

    Examples
    --------
    >>> from centered_nn._interrupts import InterruptGuard
    >>> with InterruptGuard():
    ...     InterruptGuard.check()  # no Ctrl-C: nothing happens
    >>> InterruptGuard.requested
    False
    """

    requested = False
    _depth = 0

    def __enter__(self):
        cls = type(self)
        if cls._depth == 0:
            cls.requested = False
        cls._depth += 1
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: signals are not delivered here
            self._previous = None
        return self

    @classmethod
    def _handle(cls, signum, frame):
        cls.requested = True
        raise KeyboardInterrupt

    @classmethod
    def check(cls):
        """Raise KeyboardInterrupt if Ctrl-C was pressed while a guard was active."""
        if cls.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        cls = type(self)
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        cls._depth -= 1
        if cls._depth == 0:
            cls.requested = False
        return False
