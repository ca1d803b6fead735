"""cli/interrupt.py on its own: what a held-back Ctrl-C leaves for the interrupt guard."""

import signal

import pytest

from centered_nn._interrupts import InterruptGuard
from centered_nn.cli.interrupt import deferred_interrupts


def test_a_deferred_ctrl_c_is_recorded_for_the_guard_not_only_reraised():
    """Ctrl-C held back by deferred_interrupts is raised when the block ends and also
    recorded, so that the guard's next check stops the run there too (a fit that caught
    the re-raised KeyboardInterrupt must not let the run go on)."""
    finished = []
    try:
        with InterruptGuard():
            assert not InterruptGuard.requested
            with pytest.raises(KeyboardInterrupt):
                with deferred_interrupts():
                    signal.raise_signal(signal.SIGINT)
                    finished.append("the block ran to its end")
            assert finished == ["the block ran to its end"]
            assert InterruptGuard.requested
            with pytest.raises(KeyboardInterrupt):
                InterruptGuard.check()
    finally:
        InterruptGuard.requested = False


def test_a_nested_guard_leaves_the_record_to_the_outer_one():
    """The study's guard inside the command line's: a Ctrl-C recorded inside is still
    there for the outer guard's check once the inner one exits; the outermost exit
    clears it and restores the handler found."""
    before = signal.getsignal(signal.SIGINT)
    with InterruptGuard():
        with InterruptGuard():
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)
        assert InterruptGuard.requested
        with pytest.raises(KeyboardInterrupt):
            InterruptGuard.check()
    assert not InterruptGuard.requested
    assert signal.getsignal(signal.SIGINT) is before
