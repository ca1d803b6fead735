"""
==================================================
Why all-positive inputs make a linear unit zig-zag
==================================================

Question: when every input of a unit is positive, how do its per-sample weight
updates point, and how many SGD steps does it take to reach a target weight
vector that lies in the other direction (one weight up, one down)?

For one sample the gradient of a linear unit ``f = w . x`` is
``dL/dw = (dL/df) x``: when ``x1, x2 > 0`` both components share the sign of
``dL/df``, so every update points north-east or south-west (LeCun et al.,
Efficient BackProp, 1998, section 4.3). We train a unit with two weights
``(w1, w2)`` and the squared loss ``(f - t)^2 / 2`` by plain SGD, one sample per
step, on

* **raw** inputs ``x ~ U(0.5, 1.5)^2`` (all positive, mean ``m = (1, 1)``), and
* the **same inputs mean-centred**, ``x - mean(x)`` (with targets ``t - mean(t)``,
  which is what a free intercept would absorb),

with targets from a teacher ``t = w* . x``, ``w* = (1, -1)``, so both setups
have the same optimum ``w*``. The tiny model is written in numpy here: the
point is the geometry.

Section 5 of the same paper explains the speed: the Hessian of the loss is
``E[x x^T]``; a nonzero input mean adds one large eigenvalue, and for
``x = m 1 + noise`` in ``N`` dimensions ``lambda_max / lambda_min = 1 + N m^2 /
sigma^2`` (here ``1 + 2 * 1 / (1/12) = 25``). A learning rate must stay below
about ``2 / lambda_max`` for stability, while progress along the slow
direction goes with ``lambda_min``. We therefore run a few learning rates for
both setups and print what happens rather than picking one.
"""

# %%
# Imports and data
# ----------------
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from centered_nn.diagnostics import (  # noqa: E402
    sample_same_sign_fraction,
    sign_flip_fraction,
)

W_STAR = np.array([1.0, -1.0])
W_START = np.array([0.0, 0.0])
TOLERANCE = 0.05  # "reached the target": within this Euclidean distance of w*
N_SAMPLES, N_STEPS = 200, 3000
# Quick mode runs a subset of the learning rates on the same data: every number
# it prints is one the full run prints too (the README quotes only those).
QUICK_LEARNING_RATES = (0.1, 0.4, 0.8, 1.5, 3.0)
LEARNING_RATES = (0.03, *QUICK_LEARNING_RATES)


def make_data(n_samples, rng):
    """Raw (all-positive) inputs, their centred copy and the teacher targets."""
    X = rng.uniform(0.5, 1.5, size=(n_samples, 2))
    t = X @ W_STAR
    return {
        "raw": (X, t),
        "centred": (X - X.mean(axis=0), t - t.mean()),
    }


# %%
# Plain SGD on a linear unit
# --------------------------
# One sample per step, a fresh shuffle each epoch. We keep every weight
# vector, every input seen and every ``delta = dL/df``, so the gradient-sign
# statistics can be computed afterwards by :mod:`centered_nn.diagnostics`.


def sgd_linear_unit(X, t, learning_rate, n_steps, rng):
    """Train ``f = w . x`` with the squared loss; return the whole trajectory."""
    w = W_START.copy()
    path = np.empty((n_steps + 1, 2))
    path[0] = w
    inputs = np.empty((n_steps, 2))
    deltas = np.empty(n_steps)
    order = np.array([], dtype=int)
    for step in range(n_steps):
        if order.size == 0:
            order = rng.permutation(X.shape[0])
        i, order = order[0], order[1:]
        delta = w @ X[i] - t[i]  # dL/df for L = (f - t)^2 / 2
        if not np.isfinite(delta) or abs(delta) > 1e6:  # diverged: stop here
            return path[: step + 1], inputs[:step], deltas[:step]
        w = w - learning_rate * delta * X[i]
        path[step + 1] = w
        inputs[step] = X[i]
        deltas[step] = delta
    return path, inputs, deltas


def summarise(path, inputs, deltas, n_steps):
    """Diagnostics of one run: same-sign and flip fractions, steps, distance."""
    distance = np.linalg.norm(path - W_STAR, axis=1)
    reached = np.flatnonzero(distance <= TOLERANCE)
    # Consecutive update steps are  -lr * delta_n * x_n; their signs are those of
    # the per-sample gradients delta_n * x_n.
    grads = deltas[:, None] * inputs
    flips = [sign_flip_fraction(grads[k], grads[k - 1]) for k in range(1, len(grads))]
    diverged = len(path) < n_steps + 1
    return {
        "sample_same_sign_fraction": sample_same_sign_fraction(inputs, deltas[:, None]),
        "sign_flip_fraction": float(np.nanmean(flips)) if flips else float("nan"),
        "steps_to_target": int(reached[0]) if reached.size else None,
        "final_distance": float("inf") if diverged else float(distance[-1]),
        "diverged": diverged,
    }


def _steps_text(summary, n_steps):
    """The steps to the target as text, or why there is no number."""
    steps = summary["steps_to_target"]
    if steps is not None:
        return str(steps)
    return "diverged" if summary["diverged"] else f"> {n_steps}"


def hessian_condition(X):
    """lambda_max / lambda_min of the sample second-moment matrix E[x x^T]."""
    eigenvalues = np.linalg.eigvalsh(X.T @ X / X.shape[0])
    return float(eigenvalues[-1] / eigenvalues[0]), eigenvalues


# %%
# The Hessian's condition number, measured and from LeCun's formula
# ------------------------------------------------------------------
# The eigenvalues of ``E[x x^T]`` for both setups, and the formula's value
# with the sample mean and variance of the raw inputs.


def print_conditions(data):
    """Print the eigenvalues; return the condition numbers and the formula's value."""
    conditions = {}
    print(f"{'setup':<8} {'eig(E[xx^T])':>22} {'lambda_max/lambda_min':>22}")
    for setup, (X, _) in data.items():
        cond, eig = hessian_condition(X)
        conditions[setup] = cond
        print(f"{setup:<8} {eig[0]:>10.4f} {eig[1]:>10.4f} {cond:>22.2f}")
    X_raw = data["raw"][0]
    m2 = float(np.mean(X_raw.mean(axis=0) ** 2))
    sigma2 = float(X_raw.var(axis=0).mean())
    formula = 1 + X_raw.shape[1] * m2 / sigma2
    print(f"LeCun's 1 + N m^2 / sigma^2 with the sample m, sigma: {formula:.2f} "
          "(population value 25)\n")
    return conditions, formula


# %%
# Run both setups over a few learning rates
# -----------------------------------------
# Every run starts from the same weights and sees the samples in the same
# order; a progress line goes to stderr as each run ends.


def run_all(data, learning_rates, n_steps):
    """Train every setup at every rate; return the summaries and the paths by (setup, lr)."""
    runs, paths = {}, {}
    n_runs = len(data) * len(learning_rates)
    for setup, (X, t) in data.items():
        for lr in learning_rates:
            start = time.perf_counter()
            path, inputs, deltas = sgd_linear_unit(X, t, lr, n_steps,
                                                   np.random.default_rng(1))
            summary = summarise(path, inputs, deltas, n_steps)
            runs[(setup, lr)] = summary
            paths[(setup, lr)] = path
            print(f"[{len(runs)}/{n_runs}] {setup}, lr={lr:g}: steps to the target: "
                  f"{_steps_text(summary, n_steps)} ({time.perf_counter() - start:.2f} s)",
                  file=sys.stderr, flush=True)
    return runs, paths


# %%
# Tabulate the runs
# -----------------
# One row per run, then the fewest steps each setup needed over the rates.


def print_runs(runs, n_steps):
    """Print one row per run; return None."""
    header = (f"{'setup':<8} {'lr':>6} {'same-sign':>10} {'flip':>6} "
              f"{'steps to <' + str(TOLERANCE):>13} {'final dist':>11}")
    lines = [f"{setup:<8} {lr:>6g} {summary['sample_same_sign_fraction']:>10.3f} "
             f"{summary['sign_flip_fraction']:>6.3f} {_steps_text(summary, n_steps):>13} "
             f"{summary['final_distance']:>11.4f}" for (setup, lr), summary in runs.items()]
    print("\n".join([header, "-" * len(header), *lines]))


def best_runs(runs, setups, learning_rates):
    """Print and return, per setup, (fewest steps to the target, its rate) or (None, None)."""
    best = {}
    for setup in setups:
        reached = [(runs[(setup, lr)]["steps_to_target"], lr) for lr in learning_rates
                   if runs[(setup, lr)]["steps_to_target"] is not None]
        best[setup] = min(reached) if reached else (None, None)
    print("\nfewest steps to the target over the learning rates tried: "
          + "; ".join(f"{setup} {steps} (lr={lr:g})" if steps is not None
                      else f"{setup} not reached" for setup, (steps, lr) in best.items()))
    print("\nsame-sign: fraction of per-sample updates whose (dw1, dw2) share one "
          "sign (sample_same_sign_fraction);\nflip: fraction of weights whose "
          "update sign flips from one step to the next (sign_flip_fraction).")
    return best


# %%
# Figure: the trajectories in the (w1, w2) plane
# ----------------------------------------------
# Left and middle: both setups at the same learning rate, over the contours
# of their mean loss. Right: distance to w* against the step, every rate.


def plot_path(ax, data, setup, path, title):
    """Draw one setup's path over the contours of its mean loss; return None."""
    g1, g2 = np.meshgrid(np.linspace(-0.6, 1.6, 200), np.linspace(-1.6, 0.6, 200))
    grid = np.stack([g1.ravel(), g2.ravel()], axis=1)
    X, t = data[setup]
    loss = 0.5 * np.mean((grid @ X.T - t) ** 2, axis=1).reshape(g1.shape)
    ax.contour(g1, g2, loss, levels=np.geomspace(1e-3, loss.max(), 12),
               colors="0.75", linewidths=0.7)
    ax.plot(path[:, 0], path[:, 1], "-", color="C0" if setup == "raw" else "C1",
            lw=0.8, marker=".", ms=2)
    ax.plot(*W_START, "ks", label="start")
    ax.plot(*W_STAR, "r*", ms=14, label="target w*")
    ax.set(xlabel="w1", ylabel="w2", aspect="equal",
           xlim=(-0.6, 1.6), ylim=(-1.6, 0.6), title=title)
    ax.legend(loc="upper right")  # the path runs from (0, 0) down to (1, -1)


def plot_distances(ax, paths, learning_rates):
    """Draw the distance to w* against the step for every run; return None."""
    for k, lr in enumerate(learning_rates):
        for setup, style in (("raw", "-"), ("centred", "--")):
            distance = np.linalg.norm(paths[(setup, lr)] - W_STAR, axis=1)
            ax.loglog(np.arange(1, distance.size + 1), distance, style, color=f"C{k}",
                      label=f"{setup}, lr={lr:g}")
    ax.axhline(TOLERANCE, color="k", lw=0.6)
    ax.set(xlabel="SGD step (log scale)", ylabel="||w - w*||", ylim=(1e-4, 1e2),
           title="distance to the target")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def plot(data, paths, conditions, learning_rates, outdir):
    """Save the three-panel figure; return its path."""
    lr_show = learning_rates[1] if len(learning_rates) > 1 else learning_rates[0]
    fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.8))
    for ax, setup in zip(axes[:2], ("raw", "centred")):
        plot_path(ax, data, setup, paths[(setup, lr_show)],
                  title=f"{setup} inputs, lr={lr_show:g}, cond={conditions[setup]:.1f}")
    plot_distances(axes[2], paths, learning_rates)
    fig.tight_layout()
    figure_path = Path(outdir) / "plot_zigzag_linear_unit.png"
    fig.savefig(figure_path, dpi=90)
    plt.close(fig)
    return figure_path


# %%
# The README's sentence
# ---------------------
# Built from the quick-mode rates only, so the quick run reproduces it.


def readme_summary(result):
    """The README's sentences about this example, from runs quick mode makes too."""
    runs, condition = result["runs"], result["condition_number"]
    n_steps = result["n_steps"]
    pairs = "; ".join(
        f"lr {lr:g}: {_steps_text(runs[('raw', lr)], n_steps)} / "
        f"{_steps_text(runs[('centred', lr)], n_steps)}" for lr in QUICK_LEARNING_RATES)
    return (
        "`plot_zigzag_linear_unit.py`: a two-weight linear unit, SGD with batch size 1. "
        "On inputs in [0.5, 1.5]² every per-sample update has one sign (fraction "
        f"{runs[('raw', 0.1)]['sample_same_sign_fraction']:.3f}) and the path zig-zags; "
        f"centred, the fraction is {runs[('centred', 0.1)]['sample_same_sign_fraction']:.3f} "
        f"(lr 0.1). The Hessian condition number drops from {condition['raw']:.1f} to "
        f"{condition['centred']:.1f}. Steps to get within {TOLERANCE} of the target, "
        f"raw / centred: {pairs}."
    )


# %%
# Run everything
# --------------
# ``main`` ties the stages together and returns the headline numbers.


def main(quick=False, outdir="."):
    """Run the comparison, print the tables, save the figure; return the numbers."""
    learning_rates = QUICK_LEARNING_RATES if quick else LEARNING_RATES
    data = make_data(N_SAMPLES, np.random.default_rng(0))
    print(__doc__.strip().splitlines()[1])
    print(f"\nSGD, batch_size=1, {N_STEPS} steps over {N_SAMPLES} samples, "
          f"w start = {W_START.tolist()}, target w* = {W_STAR.tolist()}\n")
    conditions, formula = print_conditions(data)
    runs, paths = run_all(data, learning_rates, N_STEPS)
    print_runs(runs, N_STEPS)
    best = best_runs(runs, data, learning_rates)
    figure_path = plot(data, paths, conditions, learning_rates, outdir)
    print(f"\nfigure saved to {figure_path}")
    result = {"learning_rates": list(learning_rates), "n_steps": N_STEPS,
              "condition_number": conditions, "condition_number_formula": formula,
              "runs": runs, "best": best, "figure": str(figure_path)}
    result["readme"] = readme_summary(result)
    print(f"\nIn the README:\n{result['readme']}")
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
