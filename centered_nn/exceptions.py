"""Warnings raised by the estimators of :mod:`centered_nn`, and the divergence rule behind
:class:`DivergenceWarning` (shared by the estimators and the command line)."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["DivergenceWarning"]

#: A run "diverged" when its last loss exceeds this multiple of its first.
DIVERGENCE_FACTOR = 10.0


def diverged(losses):
    """Whether a run's losses (at least two) end above ``DIVERGENCE_FACTOR`` times the first."""
    return len(losses) >= 2 and losses[-1] > DIVERGENCE_FACTOR * abs(losses[0])


class DivergenceWarning(ConvergenceWarning):
    """The training loss ended far above where it started: the run diverged.

    Raised after a fit whose last recorded loss (``loss_curve_``) exceeds
    ``centered_nn.exceptions.DIVERGENCE_FACTOR`` (10) times the first one of that
    call, with at least two records. The trajectory is not changed; a smaller
    ``learning_rate_init`` is the usual remedy. A subclass of
    :class:`~sklearn.exceptions.ConvergenceWarning`, so filters on that
    warning also catch this one.

    Examples
    --------
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from centered_nn.exceptions import DivergenceWarning
    >>> issubclass(DivergenceWarning, ConvergenceWarning)
    True
    """
