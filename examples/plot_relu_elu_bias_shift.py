"""
=================================================
Bias shift in a deep MLP: ReLU versus ELU units
=================================================

Question: in an 8-hidden-layer MLP, how far from zero are the mean hidden
activations of ReLU and ELU units during training, and how do the training
losses compare?

ReLU outputs are never negative, so every layer after the first receives
inputs with a positive mean; Clevert, Unterthiner and Hochreiter (2015) call
this a *bias shift* for the next layer and argue that ELU, whose negative
part saturates at −1, keeps mean activations nearer zero and speeds up
learning. We train ``hidden_layer_sizes=(32,) * 8`` on the standardised
digits with scikit-learn's two stochastic solvers at their default settings
(SGD with Nesterov momentum 0.9 at learning rate 0.01, and Adam at 0.001) and
read ``gradient_sign_history_['input_mean']``: column ``l`` (``l = 1..8``) is
the mean input of weight matrix ``coefs_[l]``, i.e. the mean output of hidden
layer ``l``, averaged over the minibatches of each epoch.
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
from centered_nn.plotting import GradientSignDisplay  # noqa: E402

DEPTH = 8
WIDTH = 32
ACTIVATIONS = ("relu", "elu")
SOLVERS = {
    "sgd": {"solver": "sgd", "learning_rate_init": 0.01, "momentum": 0.9},
    "adam": {"solver": "adam", "learning_rate_init": 0.001},
}
LOSS_THRESHOLD = 0.2
# Quick mode trains the same networks for the first QUICK_MAX_ITER epochs only;
# those epochs are identical in the full run (the README quotes only them).
MAX_ITER, QUICK_MAX_ITER = 100, 10


def load_data():
    """Return the digits, standardised: X (1797, 64) and y."""
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


# %%
# Train both activations with both solvers
# ----------------------------------------
#
# The four networks start from the same weights (``random_state=0``) and see the
# same minibatches; a progress line per network goes to stderr when it is trained.


def fit_network(X, y, activation, params, max_iter):
    """Return a network of ``DEPTH`` hidden layers of ``WIDTH`` units fitted with ``params``."""
    # n_iter_no_change=MAX_ITER in both modes: no early stop, same trajectory
    mlp = MLPClassifier(hidden_layer_sizes=(WIDTH,) * DEPTH, activation=activation,
                        max_iter=max_iter, n_iter_no_change=MAX_ITER,
                        random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return mlp.fit(X, y)


def train_all(X, y, max_iter):
    """Return the fitted network of each (solver, activation)."""
    fits = {}
    n_fits = len(SOLVERS) * len(ACTIVATIONS)
    for solver, params in SOLVERS.items():
        for activation in ACTIVATIONS:
            start = time.perf_counter()
            mlp = fits[(solver, activation)] = fit_network(X, y, activation, params, max_iter)
            print(f"[{len(fits)}/{n_fits}] {solver}, {activation}: final loss "
                  f"{mlp.loss_curve_[-1]:.4f} ({time.perf_counter() - start:.1f} s)",
                  file=sys.stderr, flush=True)
    return fits


def measure(fits):
    """Return, per (solver, activation), the loss curve and the hidden layers' mean inputs."""
    results = {}
    for (solver, activation), mlp in fits.items():
        hidden_mean = mlp.gradient_sign_history_["input_mean"][:, 1:]
        results[(solver, activation)] = {
            "loss_curve": np.asarray(mlp.loss_curve_),
            "input_mean": hidden_mean.copy(),  # (n_epochs, DEPTH), layers 1..8
            "epochs_to_threshold": epochs_to_loss(mlp.loss_curve_, LOSS_THRESHOLD),
            "final_loss": float(mlp.loss_curve_[-1]),
        }
    return results


# %%
# Tables: loss and mean hidden activation, per solver
# ---------------------------------------------------
#
# For each solver, the loss and the mean activation over the hidden layers at a
# few epochs, then the mean activation of each layer at the first and last epoch.


def print_epochs(results, solver, max_iter):
    """Print the losses and mean hidden activations at a few epochs; return nothing."""
    epochs_shown = [e for e in (1, 2, 5, 10, 20, 50, 100) if e <= max_iter]
    header = (f"{'epoch':>5} {'loss relu':>10} {'loss elu':>10} "
              f"{'mean act relu':>14} {'mean act elu':>13}")
    print(header)
    print("-" * len(header))
    relu, elu = results[(solver, "relu")], results[(solver, "elu")]
    for e in epochs_shown:
        print(f"{e:>5} {relu['loss_curve'][e - 1]:>10.4f} "
              f"{elu['loss_curve'][e - 1]:>10.4f} "
              f"{relu['input_mean'][e - 1].mean():>14.3f} "
              f"{elu['input_mean'][e - 1].mean():>13.3f}")
    reached = [results[(solver, a)]["epochs_to_threshold"] for a in ACTIVATIONS]
    print(f"epochs to a training loss of {LOSS_THRESHOLD}: " + ", ".join(
        f"{a} {'not reached' if e is None else e}" for a, e in zip(ACTIVATIONS, reached)))


def print_layers(results, solver, max_iter):
    """Print each hidden layer's mean activation at the first and last epoch; return nothing."""
    print("mean hidden activation per layer:")
    header = f"{'':<14}" + "".join(f"{'layer ' + str(k):>9}" for k in range(1, DEPTH + 1))
    print(header)
    for activation in ACTIVATIONS:
        for e in (1, max_iter):
            values = results[(solver, activation)]["input_mean"][e - 1]
            print(f"{activation + ', ep ' + str(e):<14}"
                  + "".join(f"{v:>9.3f}" for v in values))


def print_tables(results, n_samples, max_iter):
    """Print the title, the settings and both tables of each solver; return nothing."""
    print(__doc__.strip().splitlines()[1])
    print(f"\n{n_samples} samples, hidden_layer_sizes=({WIDTH},)*{DEPTH}, batch 200, "
          f"max_iter={max_iter}, random_state=0")
    for solver, params in SOLVERS.items():
        settings = ", ".join(f"{k}={v}" for k, v in params.items() if k != "solver")
        print(f"\n{solver} ({settings}): per epoch, training loss and the mean hidden "
              f"activation (averaged over the {DEPTH} hidden layers)")
        print_epochs(results, solver, max_iter)
        print_layers(results, solver, max_iter)


# %%
# Figure: mean hidden activation per layer over the epochs, and the losses
# ------------------------------------------------------------------------
#
# A row per solver: the mean output of each hidden layer for ReLU and for ELU (on
# a shared vertical scale), then both training losses.


def plot_input_means(axes, fits, results, solver):
    """Draw each activation's per-layer mean inputs on one axis each; return nothing."""
    for ax, activation in zip(axes, ACTIVATIONS):
        GradientSignDisplay.from_estimator(fits[(solver, activation)],
                                           metric="input_mean",
                                           layers=list(range(1, DEPTH + 1)), ax=ax)
        ax.axhline(0, color="k", lw=0.6)
        ax.set(xlabel="epoch", ylabel="mean input of coefs_[l] (hidden layer l)",
               title=f"{activation}, {solver}")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  borderaxespad=0)
    top = max(results[(solver, a)]["input_mean"].max() for a in ACTIVATIONS)
    bottom = min(results[(solver, a)]["input_mean"].min() for a in ACTIVATIONS)
    margin = 0.05 * (top - bottom + 1e-12)
    for ax in axes:
        ax.set_ylim(min(bottom, 0) - margin, top + margin)


def plot_losses(ax, results, solver):
    """Draw both activations' training losses against the epoch; return nothing."""
    for k, activation in enumerate(ACTIVATIONS):
        curve = results[(solver, activation)]["loss_curve"]
        ax.semilogy(np.arange(1, curve.size + 1), curve, color=f"C{k}",
                    label=activation)
    ax.axhline(LOSS_THRESHOLD, color="k", lw=0.6)
    ax.set(xlabel="epoch", ylabel="training loss", title=f"loss, {solver}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def plot(fits, results, outdir):
    """Save the figure as ``plot_relu_elu_bias_shift.png``; return its path."""
    fig, axes = plt.subplots(len(SOLVERS), 3, figsize=(18, 4.4 * len(SOLVERS)),
                             squeeze=False)
    for row, solver in enumerate(SOLVERS):
        plot_input_means(axes[row, :len(ACTIVATIONS)], fits, results, solver)
        plot_losses(axes[row, -1], results, solver)
    fig.tight_layout()
    figure_path = Path(outdir) / "plot_relu_elu_bias_shift.png"
    fig.savefig(figure_path, dpi=80)
    plt.close(fig)
    print(f"\nfigure saved to {figure_path}")
    return figure_path


# %%
# The README's sentence
# ---------------------
#
# Built from the first ``QUICK_MAX_ITER`` epochs, which quick mode trains too.


def readme_summary(result):
    """The README's sentences about this example, from epochs quick mode runs too."""
    runs = result["results"]

    def losses(solver):
        return ", ".join(f"{a} {runs[(solver, a)]['loss_curve'][QUICK_MAX_ITER - 1]:.3f}"
                         for a in ACTIVATIONS)

    def means(solver, activation):
        layer_means = runs[(solver, activation)]["input_mean"].mean(axis=1)
        return f"{activation} {layer_means[0]:.3f} → {layer_means[QUICK_MAX_ITER - 1]:.3f}"

    return (
        f"`plot_relu_elu_bias_shift.py`: ReLU versus ELU with {DEPTH} hidden layers of "
        f"{WIDTH}, scikit-learn's default SGD (Nesterov momentum 0.9, lr 0.01) and Adam "
        "(lr 0.001), mean hidden activation per layer and epoch from "
        f"`gradient_sign_history_[\"input_mean\"]`. Training loss after {QUICK_MAX_ITER} "
        f"epochs: SGD {losses('sgd')}; Adam {losses('adam')}. Mean hidden activation "
        f"(over the {DEPTH} layers) at epochs 1 and {QUICK_MAX_ITER}: SGD "
        f"{means('sgd', 'relu')}, {means('sgd', 'elu')}; Adam {means('adam', 'relu')}, "
        f"{means('adam', 'elu')}. The script's table follows them to epoch {MAX_ITER}."
    )



# %%
# Run everything
# --------------
#
# Load, train, measure, tabulate, plot, then return the numbers (the tests read them).


def main(quick=False, outdir="."):
    """Run the comparison, print the tables, save the figure; return the numbers."""
    X, y = load_data()
    max_iter = QUICK_MAX_ITER if quick else MAX_ITER
    fits = train_all(X, y, max_iter)
    results = measure(fits)
    print_tables(results, X.shape[0], max_iter)
    figure_path = plot(fits, results, outdir)
    result = {"max_iter": max_iter, "results": results, "figure": str(figure_path)}
    result["readme"] = readme_summary(result)
    print(f"\nIn the README:\n{result['readme']}")
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
