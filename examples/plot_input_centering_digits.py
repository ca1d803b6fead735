"""
==========================================================
Input centring on digits: shifted inputs and input offsets
==========================================================

Question: on the digits data standardised and then shifted by +3 (every
feature has mean 3; tanh hidden layer, plain SGD), how many epochs does each
setup need to reach a training loss of 0.2?

* **centred**: standardised features (mean 0, variance 1);
* **shifted**: the same features + 3;
* **shifted + learned b**: shifted, with per-input offsets ``f = W(x + b) + c``
  trained by backpropagation from ``b = 0`` (``input_bias='learned'``,
  ``input_bias_layers='first'``, ``input_bias_init='zeros'``);
* **shifted + mean b**: shifted, with offsets fixed at ``b = -mean(x)`` of the
  training data (``input_bias='mean'``, ``input_bias_layers='first'``).

Every setup is run at the same few learning rates, with the same initial
weights and the same minibatch order. For the learned offsets we also check
how far ``b`` moved towards ``-mean(x)``: the gradient ``dL/db = W dL/dc`` has
no term that pulls it there, so this is an empirical question.
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

SHIFT = 3.0
LOSS_THRESHOLD = 0.2
MAX_ITER = 100
# Quick mode runs two of the rates on the same data for the same epochs: every
# number it prints is one the full run prints too (the README quotes only those).
QUICK_LEARNING_RATES = (0.1, 1.0)
LEARNING_RATES = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
SETUPS = {
    # name: (shift added to the standardised data, extra MLPClassifier params)
    "centred": (0.0, {}),
    "shifted": (SHIFT, {}),
    "shifted + learned b": (SHIFT, {"input_bias": "learned", "input_bias_layers": "first",
                                    "input_bias_init": "zeros"}),
    "shifted + mean b": (SHIFT, {"input_bias": "mean", "input_bias_layers": "first"}),
}


def fit_mlp(X, y, learning_rate, max_iter, params):
    """Plain SGD with a tanh hidden layer; early stopping off so runs are comparable."""
    mlp = MLPClassifier(
        hidden_layer_sizes=(64,), activation="tanh", solver="sgd", momentum=0.0,
        learning_rate="constant", learning_rate_init=learning_rate, shuffle=True,
        max_iter=max_iter, n_iter_no_change=max_iter, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow if a run diverges
        return mlp.fit(X, y)


# %%
# Train every setup at every learning rate
# ----------------------------------------
# A progress line goes to stderr as each fit ends.


def fit_all(X_centred, y, learning_rates):
    """Fit every setup at every rate; return the fitted estimators by (setup, lr)."""
    fits = {}
    n_fits = len(SETUPS) * len(learning_rates)
    for name, (shift, params) in SETUPS.items():
        for lr in learning_rates:
            start = time.perf_counter()
            mlp = fits[(name, lr)] = fit_mlp(X_centred + shift, y, lr, MAX_ITER, params)
            epochs = epochs_to_loss(mlp.loss_curve_, LOSS_THRESHOLD)
            print(f"[{len(fits)}/{n_fits}] {name}, lr={lr:g}: "
                  f"{'not reached' if epochs is None else epochs} epochs to "
                  f"{LOSS_THRESHOLD} ({time.perf_counter() - start:.1f} s)",
                  file=sys.stderr, flush=True)
    return fits


# %%
# Epochs to the threshold, every setup at every rate
# --------------------------------------------------
# Each setup's best rate is the one with the fewest epochs to the threshold,
# else the lowest final loss.


def best_rate(table, name, learning_rates):
    """The rate with the fewest epochs to the threshold, else the lowest final loss."""
    def key(lr):
        entry = table[(name, lr)]
        epochs = entry["epochs_to_threshold"]
        final = entry["final_loss"] if np.isfinite(entry["final_loss"]) else np.inf
        return (epochs is None, epochs if epochs is not None else 0, final)

    return min(learning_rates, key=key)


def print_epochs_table(fits, learning_rates):
    """Print the epochs table; return it by (setup, lr) and each setup's best rate."""
    print(f"Epochs to reach a training loss of {LOSS_THRESHOLD} "
          f"('-' = not reached in {MAX_ITER}); final loss in brackets")
    header = f"{'setup':<21}" + "".join(f"{'lr=' + format(lr, 'g'):>17}"
                                        for lr in learning_rates)
    print(header)
    print("-" * len(header))
    table, best = {}, {}
    for name in SETUPS:
        cells = []
        for lr in learning_rates:
            mlp = fits[(name, lr)]
            epochs = epochs_to_loss(mlp.loss_curve_, LOSS_THRESHOLD)
            final = float(mlp.loss_curve_[-1])
            table[(name, lr)] = {"epochs_to_threshold": epochs, "final_loss": final}
            cells.append(f"{'-' if epochs is None else epochs:>6} ({final:8.4g})")
        print(f"{name:<21}" + "".join(f"{c:>17}" for c in cells))
        best[name] = best_rate(table, name, learning_rates)
    return table, best


# %%
# Each setup at its best rate, with its gradient signs
# ----------------------------------------------------
# The first layer's same-sign fractions, minibatch and per-sample, averaged
# over the epochs.


def print_best(fits, table, best, learning_rates):
    """Print each setup's figures at its best rate; return them by setup."""
    print("\nAt each setup's best learning rate (fewest epochs; else lowest final loss):")
    header = (f"{'setup':<21} {'best lr':>8} {'epochs':>7} {'final loss':>11} "
              f"{'same-sign L0':>13} {'sample same-sign L0':>20}")
    print(header)
    print("-" * len(header))
    summary = {}
    for name, lr in best.items():
        history = fits[(name, lr)].gradient_sign_history_
        entry = dict(table[(name, lr)], learning_rate=lr,
                     same_sign_fraction=float(np.nanmean(history["same_sign_fraction"][:, 0])),
                     sample_same_sign_fraction=float(
                         np.nanmean(history["sample_same_sign_fraction"][:, 0])))
        summary[name] = entry
        epochs = entry["epochs_to_threshold"]
        print(f"{name:<21} {lr:>8g} {'-' if epochs is None else epochs:>7} "
              f"{entry['final_loss']:>11.4g} {entry['same_sign_fraction']:>13.3f} "
              f"{entry['sample_same_sign_fraction']:>20.3f}")
    at_edge = [name for name, lr in best.items() if lr == max(learning_rates)]
    if at_edge:
        print(f"note: best lr at the top of the grid for {', '.join(at_edge)}; a larger "
              "rate was not tried, so their epochs are an upper bound.")
    print("same-sign L0: mean over epochs of the first layer's same_sign_fraction "
          "(minibatch gradients);\nsample same-sign L0: the same for per-sample "
          "gradients (sample_same_sign_fraction).")
    return summary


# %%
# Did the gradient-trained offsets move towards -mean(x)?
# -------------------------------------------------------
# After standardising, every feature has mean 0, so -mean(x) of the shifted
# data is the constant vector -3: a correlation between b and -mean(x)
# across features is undefined here, and we report the mean of b relative
# to -3 and the remaining relative gap ||b + mean(x)|| / ||mean(x)||
# (1 = b did not move towards -mean(x), 0 = it got there).


def print_offsets(fits, X_centred, best, learning_rates):
    """Print the learned offsets against -mean(x); return them, the mean offsets and -mean(x)."""
    target = -(X_centred + SHIFT).mean(axis=0)
    print(f"\nLearned offsets (init zeros) vs -mean(x) (mean over features: "
          f"{target.mean():.3f}):")
    header = (f"{'lr':>6} {'mean(b)':>9} {'std(b)':>8} {'min(b)':>8} {'max(b)':>8} "
              f"{'mean(b)/mean(-x)':>17} {'rel. gap':>9}")
    print(header)
    print("-" * len(header))
    offsets = {}
    for lr in learning_rates:
        b = fits[("shifted + learned b", lr)].input_biases_[0]
        ratio = float(b.mean() / target.mean())
        gap = float(np.linalg.norm(b - target) / np.linalg.norm(target))
        offsets[lr] = {"mean_b": float(b.mean()), "ratio": ratio, "relative_gap": gap}
        print(f"{lr:>6g} {b.mean():>9.4f} {b.std():>8.4f} {b.min():>8.4f} {b.max():>8.4f} "
              f"{ratio:>17.4f} {gap:>9.4f}")
    b_mean = fits[("shifted + mean b", best["shifted + mean b"])].input_biases_[0]
    print("mean-tracking offsets: max |b + mean(x)| = "
          f"{np.max(np.abs(b_mean - target)):.2e}")
    return offsets, b_mean, target


# %%
# Figure: loss curves and first-layer same-sign fractions
# -------------------------------------------------------


def plot(fits, best, outdir):
    """Save the loss curves and same-sign fractions at each setup's best rate; return the path."""
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.8), layout="constrained")
    best_fits = [fits[(name, lr)] for name, lr in best.items()]
    labels = [f"{name} (lr={lr:g})" for name, lr in best.items()]
    # Identical curves (the 'mean' offsets reproduce the centred run) stay
    # visible: each setup has its own marker, placed at different epochs.
    step = max(len(best_fits), MAX_ITER // 8)
    for k, (mlp, label) in enumerate(zip(best_fits, labels)):
        axes[0].semilogy(np.arange(1, len(mlp.loss_curve_) + 1), mlp.loss_curve_,
                         color=f"C{k}", marker="os^v"[k], markersize=5,
                         markevery=(k * step // len(best_fits), step), label=label)
    axes[0].axhline(LOSS_THRESHOLD, color="k", lw=0.6)
    axes[0].set(xlabel="epoch", ylabel="training loss",
                title="loss at each setup's best learning rate")
    # The display gives each estimator a colour and a marker of its own, in
    # the same order, and puts its legend outside the axes.
    GradientSignDisplay.from_estimator(best_fits, metric="same_sign_fraction", layers=0,
                                       name=labels, ax=axes[1])
    axes[1].set_title("first-layer same-sign fraction (minibatch gradients)")
    axes[1].set_xlabel("epoch")
    figure_path = Path(outdir) / "plot_input_centering_digits.png"
    fig.savefig(figure_path, dpi=90)
    plt.close(fig)
    return figure_path


# %%
# The README's sentence
# ---------------------
# Built from the quick-mode rates only, so the quick run reproduces it.


def readme_summary(result):
    """The README's sentences about this example, from fits quick mode makes too."""
    table, offsets = result["table"], result["learned_offsets"]

    def epochs(name, lr):
        entry = table[(name, lr)]
        if entry["epochs_to_threshold"] is not None:
            return str(entry["epochs_to_threshold"])
        if entry["final_loss"] > 10:  # blown up: how far is chaos, and CPUs round it apart
            return "not reached (final loss above 10)"
        return f"not reached (final loss {entry['final_loss']:.3g})"

    names = {"centred": "centred", "shifted": "shifted",
             "shifted + learned b": "shifted with learned offsets (from zero)",
             "shifted + mean b": "shifted with mean-tracking offsets"}
    at = {lr: ", ".join(f"{label} {epochs(name, lr)}" for name, label in names.items())
          for lr in QUICK_LEARNING_RATES}
    gap = np.max(np.abs(result["mean_offset"] - result["mean_offset_target"]))
    return (
        "`plot_input_centering_digits.py`: digits standardised then shifted by +3, tanh "
        f"(64,), plain SGD, {result['max_iter']} epochs. Epochs to a training loss of "
        f"{LOSS_THRESHOLD} at lr 0.1: {at[0.1]}; at lr 1: {at[1.0]}. After "
        f"{result['max_iter']} epochs at lr 0.1 the learned offsets had moved "
        f"{100 * offsets[0.1]['ratio']:.1f}% of the way to −mean(x) (mean(b) = "
        f"{offsets[0.1]['mean_b']:.3f}, −mean(x) = {result['mean_offset_target'].mean():.3f}); "
        f"the mean-tracking offsets equal −mean(x) (largest difference {gap:.1e})."
    )


# %%
# Run everything
# --------------
# ``main`` ties the stages together and returns the headline numbers.


def main(quick=False, outdir="."):
    """Run the comparison, print the tables, save the figure; return the numbers."""
    X, y = load_digits(return_X_y=True)
    X_centred = StandardScaler().fit_transform(X)
    learning_rates = QUICK_LEARNING_RATES if quick else LEARNING_RATES
    fits = fit_all(X_centred, y, learning_rates)
    print(__doc__.strip().splitlines()[1])
    print(f"\n{X.shape[0]} samples, tanh (64,), solver='sgd', momentum=0, batch 200, "
          f"max_iter={MAX_ITER}, random_state=0\n")
    table, best = print_epochs_table(fits, learning_rates)
    summary = print_best(fits, table, best, learning_rates)
    offsets, b_mean, target = print_offsets(fits, X_centred, best, learning_rates)
    figure_path = plot(fits, best, outdir)
    print(f"\nfigure saved to {figure_path}")
    result = {"learning_rates": list(learning_rates), "max_iter": MAX_ITER, "table": table,
              "best": summary, "learned_offsets": offsets, "mean_offset": b_mean,
              "mean_offset_target": target, "figure": str(figure_path)}
    result["readme"] = readme_summary(result)
    print(f"\nIn the README:\n{result['readme']}")
    return result


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
