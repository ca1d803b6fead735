"""Warnings and errors raised by the estimators of :mod:`centered_nn`, and the divergence
rule behind :class:`DivergenceWarning` (shared by the estimators and the command line)."""

from sklearn.exceptions import ConvergenceWarning

__all__ = ["DivergenceError", "DivergenceWarning"]

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


class DivergenceError(ValueError):
    """The fit diverged: its parameters or its training loss became non-finite.

    Raised by the solvers when a step makes the training loss non-finite
    (usually a learning rate too large for the data's scale), and after
    training when a parameter is not finite. Other non-finite failures (an
    activation returning NaN for finite input, targets too large for the
    loss) raise a plain :class:`ValueError`: they are not the training's
    fault. A subclass of :class:`ValueError`, so code catching that still
    catches this one; :func:`~centered_nn.model_selection.centering_study`
    records a fit ending in this error as diverged.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.exceptions import DivergenceError
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]) * 1e150
    >>> clf = MLPClassifier(solver="sgd", learning_rate_init=1.0, max_iter=5)
    >>> try:
    ...     with np.errstate(over="ignore"):  # numpy's overflow warning: the error says it
    ...         clf.fit(X, [0, 1, 0, 1])
    ... except DivergenceError as exc:
    ...     print("diverged; a ValueError:", isinstance(exc, ValueError))
    diverged; a ValueError: True
    """
