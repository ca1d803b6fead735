"""The study's verdict per setup: its rates, and its paired speedup over the reference."""

import numpy as np
from scipy import stats

from ._figures import STUDY_FIGURES

#: the coverage of ``speedup_interval``
CONFIDENCE = 0.95


def _nanmean(values):
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else np.nan


def choose_rates(figures, s):
    """(index of the fastest rate or None, of the highest trainable rate or None) of setup `s`.

    A rate trains when every run reached the target. The fastest is the one with the
    fewest mean epochs to the target, ties broken by the mean relative loss; when no rate
    trains, the rate with the lowest mean relative loss among rates where no run diverged
    or failed (None if every rate did). Never the CV score.
    """
    trains = figures["reached"][s].all(axis=1)
    speed = np.array([_nanmean(v) for v in figures["mean_relative_loss"][s]])
    if trains.any():
        epochs = figures["epochs_to_target"][s].mean(axis=1)
        order = sorted(np.flatnonzero(trains), key=lambda r: (epochs[r], speed[r]))
        return int(order[0]), int(np.flatnonzero(trains).max())
    clean = ~(figures["diverged"][s] | figures["failed"][s]).any(axis=1) & np.isfinite(speed)
    return (int(np.flatnonzero(clean)[np.argmin(speed[clean])]) if clean.any() else None), None


def _interval_end(logs, side):
    """One end of the t interval of the mean of `logs`; unbounded when a log is infinite."""
    if not np.isfinite(logs).all():  # an epoch count of 1: no bound on that side
        return 0.0 if side < 0 else np.inf
    n = logs.size
    half = stats.t.ppf((1 + CONFIDENCE) / 2, n - 1) * logs.std(ddof=1) / np.sqrt(n)
    return float(np.exp(logs.mean() + side * half))


def paired_speedup(reference, epochs, max_iter=None):
    """The speedup over the reference from per-run epochs to the target, and its interval.

    Parameters
    ----------
    reference, epochs : array-like of shape (n_runs,)
        Epochs to the target of the reference and of the setup, each at its fastest
        rate, run by run. NaN in `reference`: not reached within `max_iter` epochs
        (possible with a given target only).
    max_iter : int, default=None
        The epoch budget, needed when `reference` holds NaN.

    Returns
    -------
    speedup : float
        The geometric mean over runs of ``reference / epochs``; NaN when the reference
        did not reach the target in some run.
    interval : tuple of float
        A 95% t interval of the mean log ratio, widened by the epochs' resolution:
        the target was crossed somewhere within the counted epoch, so the low end is
        computed from ``(reference - 1) / epochs`` and the high end from
        ``reference / (epochs - 1)``. A gap of one epoch in every run thus never
        excludes 1. A reference that did not reach the target counts as ``max_iter +
        1`` epochs at the low end (it needed more than ``max_iter``), and leaves the
        high end unbounded. ``(nan, nan)`` with one run.
    """
    reference, epochs = np.asarray(reference, float), np.asarray(epochs, float)
    censored = np.isnan(reference)
    if censored.any():
        reference = np.where(censored, max_iter + 1, reference)
    speedup = np.nan if censored.any() else float(np.exp(np.mean(np.log(reference / epochs))))
    if reference.size < 2:
        return speedup, (np.nan, np.nan)
    with np.errstate(divide="ignore"):
        low = _interval_end(np.log((reference - 1) / epochs), -1)
        high = (np.inf if censored.any()
                else _interval_end(np.log(reference / (epochs - 1)), +1))
    return speedup, (low, high)


def verdict(interval):
    """'faster' when the interval lies above 1, 'slower' below 1, else 'no clear difference'."""
    low, high = interval
    if low > 1:
        return "faster"
    if high < 1:
        return "slower"
    return "no clear difference"


#: the statistics over runs a figure's ``summary`` may ask for
STATISTICS = {"mean": np.mean, "std": np.std}


def _rates_row(figures, s, rates, fastest, highest):
    not_trainable = ~figures["reached"][s].all(axis=1)
    diverged = figures["diverged"][s].any(axis=1)
    return {"fastest_rate": None if fastest is None else float(rates[fastest]),
            "highest_trainable_rate": None if highest is None else float(rates[highest]),
            "diverged_rates": [float(r) for r in rates[diverged]],
            "stalled_rates": [float(r) for r in rates[not_trainable & ~diverged]]}


def _figures_row(figures, s, fastest):
    """``<figure>_<statistic>`` over the runs at the fastest rate (NaN without one)."""
    row = {}
    for key, figure in STUDY_FIGURES.items():
        at = figures[key][s, fastest] if fastest is not None else np.full(
            figures[key].shape[2], np.nan)
        row.update({f"{key}_{statistic}": float(STATISTICS[statistic](at))
                    for statistic in figure.summary})
    return row


def summarise(figures, setups, reference, rates, max_iter):
    """``summary[name]`` for every setup (see :class:`CenteringStudy`)."""
    names = list(setups)
    choices = [choose_rates(figures, s) for s in range(len(names))]
    ref = names.index(reference)
    ref_fastest = choices[ref][0]
    ref_epochs = (figures["epochs_to_target"][ref, ref_fastest] if ref_fastest is not None
                  else np.full(figures["reached"].shape[2], np.nan))  # every rate raised
    summary = {}
    for s, name in enumerate(names):
        fastest, highest = choices[s]
        row = _rates_row(figures, s, rates, fastest, highest)
        if s == ref:
            row.update(speedup=1.0, speedup_interval=(1.0, 1.0), vs_reference="reference")
        elif highest is None:
            row.update(speedup=np.nan, speedup_interval=(np.nan, np.nan),
                       vs_reference="not reached")
        else:
            speedup, interval = paired_speedup(
                ref_epochs, figures["epochs_to_target"][s, fastest], max_iter)
            row.update(speedup=speedup, speedup_interval=interval,
                       vs_reference=verdict(interval))
        summary[name] = {**row, **_figures_row(figures, s, fastest)}
    return summary
