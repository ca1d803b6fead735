"""The divergence rule's boundary: a loss ending exactly at 10 times its start has not
diverged; the next float above it has (issue 25 item 13)."""

import numpy as np
import pytest

from centered_nn.exceptions import DIVERGENCE_FACTOR, diverged


@pytest.mark.parametrize("start", [1.0, 0.25, 3.0])
def test_a_loss_ending_at_exactly_the_factor_has_not_diverged(start):
    end = DIVERGENCE_FACTOR * start  # exact in binary for these starts
    assert end / start == DIVERGENCE_FACTOR
    assert not diverged([start, 0.5 * start, end])
    assert diverged([start, 0.5 * start, np.nextafter(end, np.inf)])


def test_the_rule_needs_two_losses_and_reads_the_last_one():
    assert DIVERGENCE_FACTOR == 10
    assert not diverged([1.0])  # one loss: nothing to compare
    # a spike in the middle that recovers is not divergence; only the end counts
    assert not diverged([1.0, 1e6, 1.0])
    assert diverged([1.0, 0.1, 10.5])
