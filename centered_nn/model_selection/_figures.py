"""The study's per-fit figures: one registry, the target rule, and the computation.

A new figure is one :class:`StudyFigure` entry in :data:`STUDY_FIGURES`: the arrays of
:attr:`CenteringStudy.figures`, the summary's ``<name>_mean``/``_std``, ``cv_results_``,
the tidy frame and the command line's JSON and table columns are all built from it.
"""

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..metrics import epochs_to_loss

#: how the default target loss is chosen, as stated in every output
DEFAULT_TARGET_RULE = (
    "per run, the final training loss of the reference setup at its rate with the lowest "
    "final loss (geometric mean over the runs, among rates where every run trained: no "
    "divergence, final loss below the first epoch's), after the same epoch budget")


@dataclass(frozen=True)
class RunTarget:
    """What a fit's figures are measured against in its run."""

    target: float  #: the training loss counted to
    start: float  #: the divisor of the speed figure (the reference's first-epoch loss)
    max_iter: int  #: the epoch budget


@dataclass(frozen=True)
class StudyFigure:
    """One per-fit figure of a centring study.

    Attributes
    ----------
    name : str
        The key in ``study.figures`` and the frame's column.
    compute : callable
        ``compute(record, run) -> value`` from a FitRecord and a RunTarget.
    dtype : type
        ``float`` (NaN where undefined) or ``bool``.
    summary : tuple of str
        The statistics over the runs that ``summary[setup]`` carries at the
        fastest rate, from ``('mean', 'std')``: keys ``<name>_mean`` and
        ``<name>_std``.
    table : bool
        Whether the command line's default table shows it (the JSON holds all).
    description : str
        One line for documentation and column help.

    Examples
    --------
    >>> from centered_nn.model_selection import STUDY_FIGURES
    >>> figure = STUDY_FIGURES["epochs_to_target"]
    >>> figure.dtype, figure.summary, figure.table
    (<class 'float'>, ('mean', 'std'), True)
    >>> [name for name, f in STUDY_FIGURES.items() if f.table]
    ['test_score', 'epochs_to_target', 'seconds_to_target', 'sample_same_sign_fraction']
    """

    name: str
    compute: Callable
    dtype: type = float
    summary: tuple = ()
    table: bool = False
    description: str = ""


def trained(curve):
    """Whether a loss curve ended below its first epoch's loss."""
    return curve.size >= 2 and curve[-1] < curve[0]


def _epochs(record, run):
    """Epochs to the target (1-based), or None: only an 'ok' fit that trained reaches it."""
    curve = record.loss_curve
    if record.status != "ok" or not np.isfinite(run.target) or not trained(curve):
        return None
    return epochs_to_loss(curve, run.target)


def _ok(compute):
    """`compute` for an 'ok' fit, NaN otherwise."""
    return lambda record, run: compute(record, run) if record.status == "ok" else np.nan


def _epochs_to_target(record, run):
    epochs = _epochs(record, run)
    return np.nan if epochs is None else float(epochs)


def _seconds_to_target(record, run):
    epochs = _epochs(record, run)
    if epochs is None:
        return np.nan
    return record.fit_time * epochs / record.loss_curve.size


def mean_relative_loss(curve, max_iter, start):
    """The loss curve's mean over `max_iter` epochs, over `start`; a curve that stopped
    early holds its last value (counted, not padded). Lower is faster."""
    if curve.size == 0:
        return np.nan
    kept = curve[:max_iter]
    total = kept.sum() + (max_iter - kept.size) * curve[-1]
    return float(total / max_iter / start)


def _first_layer_mean(metric):
    """The fit's recorded `metric` of the first weight matrix, mean over its epochs (NaN
    where it was not recorded)."""
    def compute(record, run):
        history = record.gradient_sign_history or {}
        if metric not in history:
            return np.nan
        values = np.asarray(history[metric], float)[:, 0]
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else np.nan
    return _ok(compute)


#: every per-fit figure, in the order of ``study.figures``
STUDY_FIGURES = {f.name: f for f in (
    StudyFigure("test_score", lambda record, run: record.test_score, summary=("mean", "std"),
                table=True, description="CV score on the held-out fold"),
    StudyFigure("final_loss", _ok(lambda record, run: float(record.loss_curve[-1])),
                summary=("mean",), description="training loss at the last epoch"),
    StudyFigure("epochs_to_target", _epochs_to_target, summary=("mean", "std"), table=True,
                description="first epoch at or below the target (NaN: not reached)"),
    StudyFigure("seconds_to_target", _seconds_to_target, summary=("mean",), table=True,
                description="fit time x epochs to the target / epochs run"),
    StudyFigure("reached", lambda record, run: _epochs(record, run) is not None, dtype=bool,
                description="reached the target, having trained"),
    StudyFigure("trained", lambda record, run: record.status == "ok"
                and trained(record.loss_curve), dtype=bool,
                description="final loss below the first epoch's, no divergence"),
    StudyFigure("diverged", lambda record, run: record.status == "diverged", dtype=bool,
                description="non-finite, or a loss ending above 10x its start"),
    StudyFigure("failed", lambda record, run: record.status == "failed", dtype=bool,
                description="another error, scored error_score"),
    StudyFigure("n_iter", lambda record, run: record.n_iter,
                description="epochs run (the MLP's n_iter_)"),
    StudyFigure("fit_time", lambda record, run: record.fit_time, summary=("mean",),
                description="seconds to fit"),
    StudyFigure("score_time", lambda record, run: record.score_time, summary=("mean",),
                description="seconds to score"),
    StudyFigure("mean_relative_loss",
                _ok(lambda record, run: mean_relative_loss(record.loss_curve, run.max_iter,
                                                           run.start)),
                summary=("mean",), description="mean loss over max_iter epochs / start"),
    StudyFigure("same_sign_fraction", _first_layer_mean("same_sign_fraction"),
                summary=("mean",), description="first weight matrix, mean over epochs"),
    StudyFigure("sample_same_sign_fraction", _first_layer_mean("sample_same_sign_fraction"),
                summary=("mean",), table=True,
                description="first weight matrix, mean over epochs"),
    StudyFigure("input_eigenvalue_ratio", _first_layer_mean("input_eigenvalue_ratio"),
                summary=("mean",),
                description="first layer's input curvature, lambda_max / mean eigenvalue of "
                            "its second moment, mean over epochs (where recorded)"),
)}


def fit_figures(record, run):
    """Every figure of :data:`STUDY_FIGURES` for one fit, as {name: value}."""
    return {name: figure.compute(record, run) for name, figure in STUDY_FIGURES.items()}


def reference_rate(records, reference, n_rates, n_runs):
    """The index of the reference's rate with the lowest final loss (geometric mean over
    runs), among rates where every run trained; None if there is none.

    One rate for all runs, not each run's own best: the runs' minima can fall at
    different rates (0.3 in some folds, 1 in others), and then no rate of the reference
    would reach every run's target, leaving it nothing to be compared at.
    """
    best, best_loss = None, np.inf
    for r in range(n_rates):
        fits = [records[(reference, r, k)] for k in range(n_runs)]
        if not all(f.status == "ok" and trained(f.loss_curve) for f in fits):
            continue
        with np.errstate(divide="ignore"):  # a loss of 0 gives a geometric mean of 0
            loss = np.exp(np.mean(np.log([f.loss_curve[-1] for f in fits])))
        if loss < best_loss:
            best, best_loss = r, loss
    return best


def reference_starts(records, reference, n_rates, n_runs):
    """Per run, the reference's first-epoch loss at its lowest rate where every run has a
    loss curve (NaN if none has): the divisor of the speed figure."""
    for r in range(n_rates):
        curves = [records[(reference, r, k)].loss_curve for k in range(n_runs)]
        if all(c.size for c in curves):
            return np.array([c[0] for c in curves])
    return np.full(n_runs, np.nan)


def reference_finals(records, reference, rate, n_runs):
    """Per run, the reference's final loss at rate index `rate`: the default target."""
    return np.array([records[(reference, rate, k)].loss_curve[-1] for k in range(n_runs)])
