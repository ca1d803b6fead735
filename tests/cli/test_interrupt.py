"""cli/interrupt.py on its own: what a held-back Ctrl-C leaves for the interrupt guard."""

import signal

import pytest

from centered_nn.cli.interrupt import InterruptGuard, deferred_interrupts


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
