"""
=====================================================
Logistic versus centred logistic versus tanh by depth
=====================================================

Question: does the mean of a hidden activation matter, apart from its slope,
and does that depend on depth?

``logistic`` is σ(z), with outputs in (0, 1) and mean near 1/2;
``centered_logistic`` is σ(z) − 1/2: exactly the same slope σ'(z) and the same
initial weights (same Glorot factor, same ``random_state``), but outputs in
(−1/2, 1/2). With logistic units every deeper layer gets all-positive inputs,
so the per-sample gradients of its units are one-signed (LeCun et al., 1998,
section 4.3; Raiko, Valpola and LeCun, 2012). ``tanh`` = 2σ(2z) − 1 is zero
centred too, with a four times larger slope at 0.

We train 1, 2 and 4 hidden layers of width 32 on the standardised digits
with plain SGD (no momentum, batch 200) at three learning rates, and print
per (activation, depth, learning rate): epochs to a training loss of 0.2,
final loss, mean hidden activation, and the same-sign fractions of the
first layer and of the deeper layers (whose inputs are hidden activations).
"""

# %%
# Imports and settings
# --------------------
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from centered_nn import MLPClassifier  # noqa: E402
from centered_nn.metrics import epochs_to_loss  # noqa: E402

ACTIVATIONS = ("logistic", "centered_logistic", "tanh")
WIDTH = 32
LOSS_THRESHOLD = 0.2
MAX_ITER = 200
DEPTHS = (1, 2, 4)
LEARNING_RATES = (0.1, 0.3, 1.0)
# Quick mode runs the deepest logistic networks at the largest rate, on the same
# data for the same epochs: its numbers are the full run's (the README quotes
# only those).
QUICK_DEPTHS, QUICK_LEARNING_RATES = (4,), (1.0,)
QUICK_ACTIVATIONS = ("logistic", "centered_logistic")


def load_data():
    """Return the digits, standardised: X (1797, 64) and y."""
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def grid(quick):
    """Return the activations, depths and learning rates to run (quick mode: a subset)."""
    if quick:
        return QUICK_ACTIVATIONS, QUICK_DEPTHS, QUICK_LEARNING_RATES
    return ACTIVATIONS, DEPTHS, LEARNING_RATES


# %%
# One network and its headline numbers
# ------------------------------------
#
# Every network has the same width, solver, epochs and initial weights; only the
# activation, the depth and the learning rate change. Early stopping is off.


def fit_network(X, y, activation, depth, lr):
    """Return a fitted network: ``depth`` hidden layers of ``WIDTH`` units, plain SGD."""
    mlp = MLPClassifier(
        hidden_layer_sizes=(WIDTH,) * depth, activation=activation,
        solver="sgd", momentum=0.0, learning_rate_init=lr,
        max_iter=MAX_ITER, n_iter_no_change=MAX_ITER, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(X, y)
    return mlp


def describe(mlp):
    """Return the headline numbers of one fitted network, as a dict."""
    history = mlp.gradient_sign_history_
    # Column l of the history describes coefs_[l]; the input of coefs_[l] for
    # l >= 1 is the output of hidden layer l.
    deeper = slice(1, None)
    return {
        "epochs_to_threshold": epochs_to_loss(mlp.loss_curve_, LOSS_THRESHOLD),
        "final_loss": float(mlp.loss_curve_[-1]),
        # last epoch, averaged over the hidden layers
        "mean_hidden_activation": float(np.mean(history["input_mean"][-1, deeper])),
        "hidden_activation_by_layer": history["input_mean"][-1, deeper].copy(),
        # averaged over epochs (and over the deeper layers)
        "same_sign_first": float(np.nanmean(history["same_sign_fraction"][:, 0])),
        "same_sign_deeper": float(np.nanmean(history["same_sign_fraction"][:, deeper])),
        "sample_same_sign_deeper": float(
            np.nanmean(history["sample_same_sign_fraction"][:, deeper])),
    }


# %%
# Train every (activation, depth, learning rate)
# ----------------------------------------------
#
# A progress line per network goes to stderr as soon as it is trained.


def train_all(X, y, activations, depths, learning_rates):
    """Return the headline numbers and the loss curve of each (activation, depth, lr)."""
    results, curves = {}, {}
    n_fits = len(learning_rates) * len(depths) * len(activations)
    for lr in learning_rates:
        for depth in depths:
            for activation in activations:
                start = time.perf_counter()
                mlp = fit_network(X, y, activation, depth, lr)
                results[(activation, depth, lr)] = describe(mlp)
                curves[(activation, depth, lr)] = np.asarray(mlp.loss_curve_)
                print(f"[{len(results)}/{n_fits}] lr={lr:g}, depth {depth}, {activation}: "
                      f"final loss {results[(activation, depth, lr)]['final_loss']:.4f} "
                      f"({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return results, curves


# %%
# Tables: the headline numbers, and the final-loss gap
# ----------------------------------------------------
#
# The first table has a row per network; the second subtracts the centred
# logistic's final loss from the logistic's at each depth and rate.


def print_table(results, n_samples):
    """Print a row of headline numbers per network; return nothing."""
    print(__doc__.strip().splitlines()[1])
    print(f"\n{n_samples} samples, width {WIDTH}, solver='sgd', momentum=0, "
          f"batch 200, max_iter={MAX_ITER}, random_state=0\n")
    header = (f"{'lr':>5} {'depth':>5} {'activation':<18} {'epochs<0.2':>10} "
              f"{'final loss':>10} {'mean act':>9} {'same L0':>8} {'same L>=1':>9} "
              f"{'sample L>=1':>11}")
    print(header)
    print("-" * len(header))
    for (activation, depth, lr), r in results.items():
        epochs = r["epochs_to_threshold"]
        print(f"{lr:>5g} {depth:>5} {activation:<18} {'-' if epochs is None else epochs:>10} "
              f"{r['final_loss']:>10.4f} {r['mean_hidden_activation']:>9.3f} "
              f"{r['same_sign_first']:>8.3f} {r['same_sign_deeper']:>9.3f} "
              f"{r['sample_same_sign_deeper']:>11.3f}")
    print(f"epochs<0.2: first epoch with training loss <= {LOSS_THRESHOLD} ('-' = not "
          f"within {MAX_ITER});\nmean act: mean hidden activation at the last epoch "
          "(input_mean of layers >= 1, averaged);\nsame L0 / same L>=1: minibatch "
          "same_sign_fraction of the first / deeper weight matrices, mean over "
          "epochs;\nsample L>=1: per-sample sample_same_sign_fraction of the deeper "
          "weight matrices.")


def final_loss_gaps(results, depths, learning_rates):
    """Print and return the final loss of logistic minus centered_logistic per (depth, lr)."""
    print("\nFinal loss, logistic minus centered_logistic (positive: the centred "
          "version is lower):")
    print(f"{'lr':>5}" + "".join(f"{'depth ' + str(d):>10}" for d in depths))
    gaps = {}
    for lr in learning_rates:
        row = []
        for depth in depths:
            gap = (results[("logistic", depth, lr)]["final_loss"]
                   - results[("centered_logistic", depth, lr)]["final_loss"])
            gaps[(depth, lr)] = gap
            row.append(f"{gap:>10.4f}")
        print(f"{lr:>5g}" + "".join(row))
    return gaps


# %%
# Figure: final loss against depth, and the deepest loss curves
# -------------------------------------------------------------
#
# Left, the final training loss of every network against its depth; right, the
# loss curves of the deepest networks at the largest rate.

MARKERS = {"logistic": "o", "centered_logistic": "s", "tanh": "^"}


def plot_final_losses(ax, results, activations, depths, learning_rates):
    """Draw the final loss against depth, a line per (activation, lr); return nothing."""
    for k, activation in enumerate(activations):
        for lr, style in zip(learning_rates, ("-", "--", ":")):
            final = [results[(activation, d, lr)]["final_loss"] for d in depths]
            ax.semilogy(depths, final, style, marker=MARKERS[activation],
                        color=f"C{k}", label=f"{activation}, lr={lr:g}")
    ax.set(xlabel="hidden layers", ylabel=f"training loss after {MAX_ITER} epochs",
           xticks=depths, title="final loss against depth")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def plot_deepest_curves(ax, curves, activations, depth, lr):
    """Draw the loss curve of each activation at one depth and rate; return nothing."""
    for k, activation in enumerate(activations):
        curve = curves[(activation, depth, lr)]
        ax.semilogy(np.arange(1, curve.size + 1), curve, color=f"C{k}",
                    marker=MARKERS[activation], markevery=(k * 8, 25), label=activation)
    ax.axhline(LOSS_THRESHOLD, color="k", lw=0.6)
    ax.set(xlabel="epoch", ylabel="training loss", title=f"{depth} hidden layers, lr={lr:g}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def plot(results, curves, activations, depths, learning_rates, outdir):
    """Save the two panels as ``plot_centered_logistic_depth.png``; return its path."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), layout="constrained")
    plot_final_losses(axes[0], results, activations, depths, learning_rates)
    plot_deepest_curves(axes[1], curves, activations, depths[-1], learning_rates[-1])
    figure_path = Path(outdir) / "plot_centered_logistic_depth.png"
    fig.savefig(figure_path, dpi=90)
    plt.close(fig)
    print(f"\nfigure saved to {figure_path}")
    return figure_path


# %%
# The README's sentence
# ---------------------
#
# Built from the deepest logistic networks at the largest rate, which quick mode
# trains too.


def readme_summary(result):
    """The README's sentences about this example, from fits quick mode makes too."""
    (depth,), (lr,) = QUICK_DEPTHS, QUICK_LEARNING_RATES
    runs = {a: result["results"][(a, depth, lr)] for a in QUICK_ACTIVATIONS}
    losses = ", ".join(f"{runs[a]['final_loss']:.4f} ({a})" for a in QUICK_ACTIVATIONS)
    epochs = ", ".join(f"{runs[a]['epochs_to_threshold'] or 'never'} ({a})"
                       for a in QUICK_ACTIVATIONS)
    return (
        "`plot_centered_logistic_depth.py`: logistic versus `centered_logistic` versus tanh "
        f"at depths 1, 2, 4 (width {WIDTH}, plain SGD, {result['max_iter']} epochs, rates "
        f"0.1, 0.3, 1). With {depth} hidden layers at lr {lr:g} the final training losses "
        f"are {losses}; epochs to a loss of {LOSS_THRESHOLD}: {epochs}. The script's "
        "table has tanh, the shallower networks and the smaller rates."
    )



# %%
# Run everything
# --------------
#
# Load, train, tabulate, plot, then return the numbers (the tests read them).


def main(quick=False, outdir="."):
    """Run the comparison, print the tables, save the figure; return the numbers."""
    X, y = load_data()
    activations, depths, learning_rates = grid(quick)
    results, curves = train_all(X, y, activations, depths, learning_rates)
    print_table(results, X.shape[0])
    gaps = final_loss_gaps(results, depths, learning_rates)
    figure_path = plot(results, curves, activations, depths, learning_rates, outdir)
    result = {"activations": list(activations), "depths": list(depths),
              "learning_rates": list(learning_rates), "max_iter": MAX_ITER,
              "results": results, "final_loss_gap": gaps, "figure": str(figure_path)}
    result["readme"] = readme_summary(result)
    print(f"\nIn the README:\n{result['readme']}")
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
