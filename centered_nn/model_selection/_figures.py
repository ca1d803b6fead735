"""The study's figures from the fit records: the target loss, epochs to it, the speed
figure, and the per-setup choice of rate. Plain numpy on plain records."""

import numpy as np

from ..metrics import epochs_to_loss

#: how the default target loss is chosen, as stated in every output
DEFAULT_TARGET_RULE = (
    "per fold, halfway on a log scale between the first-epoch loss at the lowest rate "
    "(median over setups) and the lowest loss any setup reached at any rate: "
    "sqrt(start * best)")


def reference_losses(records, setups, n_rates, n_splits):
    """Per fold: the first-epoch loss at the lowest rate that trained (median over setups)."""
    start = np.full(n_splits, np.nan)
    for k in range(n_splits):
        for r in range(n_rates):
            firsts = [records[(s, r, k)]["loss_curve"][0] for s in setups
                      if records[(s, r, k)]["status"] == "ok"
                      and records[(s, r, k)]["loss_curve"].size]
            if firsts:
                start[k] = np.median(firsts)
                break
    return start


def default_targets(records, setups, n_rates, start):
    """The default target per fold: sqrt(start * lowest loss of any fit that did not diverge)."""
    targets = np.full(start.shape, np.nan)
    for k in range(start.size):
        lows = [np.nanmin(records[(s, r, k)]["loss_curve"]) for s in setups
                for r in range(n_rates) if records[(s, r, k)]["status"] == "ok"
                and records[(s, r, k)]["loss_curve"].size]
        if lows:
            targets[k] = np.sqrt(start[k] * max(min(lows), 0.0))
    return targets


def mean_relative_loss(loss_curve, max_iter, start):
    """The loss curve's mean over `max_iter` epochs, over `start`; a curve that stopped
    early holds its last value. Lower is faster; no threshold involved."""
    if loss_curve.size == 0:
        return np.nan
    padded = np.full(max_iter, loss_curve[-1])
    padded[:min(loss_curve.size, max_iter)] = loss_curve[:max_iter]
    return float(padded.mean() / start)


def fit_figures(record, target, max_iter, start):
    """Per-fit numbers: final loss, epochs to target (NaN not reached or diverged), speed."""
    ok = record["status"] == "ok"
    curve = record["loss_curve"]
    epochs = epochs_to_loss(curve, target) if ok and np.isfinite(target) else None
    return {
        "test_score": record["test_score"],
        "final_loss": float(curve[-1]) if ok else np.nan,
        "epochs_to_target": np.nan if epochs is None else float(epochs),
        "reached": epochs is not None,
        "diverged": record["status"] == "diverged",
        "failed": record["status"] == "failed",
        "n_iter": record["n_iter"],
        "fit_time": record["fit_time"],
        "mean_relative_loss": mean_relative_loss(curve, max_iter, start) if ok else np.nan,
        **{m: float(np.nanmean(record[m])) if ok and np.isfinite(record[m]).any() else np.nan
           for m in ("same_sign_fraction", "sample_same_sign_fraction")},
    }


def _nanmean(values):
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else np.nan


def choose_rates(figures, rates):
    """Per setup (first axis): (index of the fastest rate or None, of the highest that trains).

    A rate trains when every fold reached the target. The fastest is the one with the
    fewest mean epochs to the target, ties broken by the mean relative loss; when no rate
    trains, the rate with the lowest mean relative loss among rates where no fold diverged
    or failed (None if every rate did). Never the CV score.
    """
    choices = []
    for s in range(figures["reached"].shape[0]):
        trains = figures["reached"][s].all(axis=1)
        speed = np.array([_nanmean(v) for v in figures["mean_relative_loss"][s]])
        if trains.any():
            epochs = figures["epochs_to_target"][s].mean(axis=1)
            order = sorted(np.flatnonzero(trains), key=lambda r: (epochs[r], speed[r]))
            choices.append((int(order[0]), int(np.flatnonzero(trains).max())))
            continue
        clean = ~(figures["diverged"][s] | figures["failed"][s]).any(axis=1)
        clean &= np.isfinite(speed)
        fastest = int(np.flatnonzero(clean)[np.argmin(speed[clean])]) if clean.any() else None
        choices.append((fastest, None))
    return choices


def compare_epochs(epochs, reference):
    """'faster', 'slower' or 'within spread': per-fold epochs against the reference's."""
    reached, ref_reached = np.isfinite(epochs).all(), np.isfinite(reference).all()
    if not (reached or ref_reached):
        return "neither reached"
    if reached != ref_reached:
        return "faster" if reached else "slower"
    difference = epochs.mean() - reference.mean()
    if difference == 0 or abs(difference) <= epochs.std() + reference.std():
        return "within spread"
    return "faster" if difference < 0 else "slower"
