"""
=====================================================
Comparing centring setups with GridSearchCV scorers
=====================================================

Question: on all-positive inputs (digits pixel intensities scaled to [0, 1]),
how do the centring setups compare in cross-validated accuracy, and what do
the gradient-sign diagnostics, the number of epochs and the final training
loss report for each?

The pipeline is ``MinMaxScaler -> center -> MLPClassifier`` and the grid
crosses

* ``center``: ``Centerer(strategy='none')`` (no centring) or ``Centerer()``
  (subtract the training mean of each feature);
* ``mlp__input_bias``: ``'none'``, ``'learned'`` (offsets trained by
  backpropagation, starting at ``-mean``, the default
  ``input_bias_init='center'``) or ``'mean'`` (offsets fixed at / tracking
  ``-mean``);
* ``mlp__activation``: ``'relu'`` or ``'tanh'``.

No combination is skipped, although some are redundant by construction:
with ``input_bias='mean'`` or ``'learned'`` (starting at ``-mean``) the first
layer sees ``x - mean`` whether or not a ``Centerer`` ran before it, so the
``Centerer`` step should change nothing in those rows; we keep them as a
consistency check and print the largest difference. ``Centerer() +
input_bias='mean'`` is not redundant with ``Centerer() + input_bias='none'``:
with the default ``input_bias_layers='all'`` the offsets also centre the
hidden layer's input.

The diagnostic scorers read the fitted network's training history (they
ignore the test fold), so their ``mean_test_*`` entries are the training
diagnostics of each fold's fit, averaged over folds. The figure shows the
same-sign fraction curves of a few setups refit on the full data.
"""

# %%
# Imports and the pipeline
# ------------------------
import sys
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import MinMaxScaler  # noqa: E402

from centered_nn import Centerer, MLPClassifier  # noqa: E402
from centered_nn.metrics import (  # noqa: E402
    final_loss_scorer,
    gradient_sign_scorer,
    n_iter_scorer,
)
from centered_nn.plotting import GradientSignDisplay  # noqa: E402

SCORING = {
    "accuracy": "accuracy",
    "same_sign": gradient_sign_scorer("same_sign_fraction"),
    "sample_same_sign": gradient_sign_scorer("sample_same_sign_fraction"),
    # the same for coefs_[1], whose input is the hidden layer's output
    "sample_same_sign_L1": gradient_sign_scorer("sample_same_sign_fraction", layer=1),
    "n_iter": n_iter_scorer,
    "final_loss": final_loss_scorer,
}
# Setups refit on all the data for the figure: (label, centerer strategy, input_bias)
SHOWN = (("raw", "none", "none"), ("Centerer", "mean", "none"),
         ("raw + learned b", "none", "learned"), ("raw + mean b", "none", "mean"))


def make_pipeline(max_iter):
    """MinMaxScaler, a switchable Centerer and the MLP (Adam, the default)."""
    return Pipeline([
        ("scale", MinMaxScaler()),
        ("center", Centerer(strategy="none")),
        ("mlp", MLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter,
                              random_state=0)),
    ])


# %%
# Run the grid search
# -------------------
# Every combination is fitted on three folds; ``verbose=2`` prints one
# progress line per fit ("[CV 1/3] END ...") as they finish.


def make_param_grid():
    """The grid: no centring or a Centerer, three input_bias values, two activations."""
    return {
        "center": [Centerer(strategy="none"), Centerer()],
        "mlp__input_bias": ["none", "learned", "mean"],
        "mlp__activation": ["relu", "tanh"],
    }


def run_search(X, y, max_iter, quick):
    """Return the GridSearchCV fitted on X, y with every scorer."""
    search = GridSearchCV(make_pipeline(max_iter), make_param_grid(), scoring=SCORING,
                          refit="accuracy", cv=3, n_jobs=1 if quick else 2, verbose=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    return search


# %%
# One row per combination
# -----------------------
# Sorted by activation, then centerer, then input_bias.


def table_rows(cv):
    """Return one dict per combination of the grid, from ``cv_results_``, in table order."""
    order = sorted(range(len(cv["params"])), key=lambda i: (
        cv["param_mlp__activation"][i], cv["params"][i]["center"].strategy,
        ["none", "learned", "mean"].index(cv["param_mlp__input_bias"][i])))
    return [{
        "activation": cv["params"][i]["mlp__activation"],
        "centerer": cv["params"][i]["center"].strategy,
        "input_bias": cv["params"][i]["mlp__input_bias"],
        "accuracy": float(cv["mean_test_accuracy"][i]),
        "accuracy_std": float(cv["std_test_accuracy"][i]),
        "same_sign_fraction": float(cv["mean_test_same_sign"][i]),
        "sample_same_sign_fraction": float(cv["mean_test_sample_same_sign"][i]),
        "sample_same_sign_fraction_L1": float(cv["mean_test_sample_same_sign_L1"][i]),
        "n_iter": float(cv["mean_test_n_iter"][i]),
        "final_loss": float(cv["mean_test_final_loss"][i]),
        "fit_time": float(cv["mean_fit_time"][i]),
        "rank": int(cv["rank_test_accuracy"][i]),
    } for i in order]


def print_rows(rows):
    """Print the table of rows and its legend; return None."""
    header = (f"{'activation':<10} {'centerer':<8} {'input_bias':<10} {'accuracy':>15} "
              f"{'same-sign':>9} {'sample same-sign':>16} {'sample L1':>9} {'n_iter':>6} "
              f"{'final loss':>10} {'fit s':>6} {'rank':>4}")
    print(header)
    print("-" * len(header))
    for row in rows:
        accuracy = f"{row['accuracy']:.4f} ± {row['accuracy_std']:.4f}"
        print(f"{row['activation']:<10} {row['centerer']:<8} {row['input_bias']:<10} "
              f"{accuracy:>15} {row['same_sign_fraction']:>9.3f} "
              f"{row['sample_same_sign_fraction']:>16.3f} "
              f"{row['sample_same_sign_fraction_L1']:>9.3f} {row['n_iter']:>6.1f} "
              f"{row['final_loss']:>10.4f} {row['fit_time']:>6.2f} {row['rank']:>4}")
    print("same-sign / sample same-sign: first layer, mean over epochs and folds of "
          "same_sign_fraction (minibatch gradients) / sample_same_sign_fraction "
          "(per-sample gradients);\nsample L1: sample_same_sign_fraction of coefs_[1] "
          "(input: the hidden layer's output);\nn_iter, final loss: epochs run and last training "
          "loss, mean over folds; centerer 'none' = Centerer(strategy='none'), "
          "'mean' = Centerer().")


# %%
# Consistency check: the Centerer is a no-op behind offsets at -mean
# ------------------------------------------------------------------


def centerer_differences(rows):
    """Print and return the Centerer's largest effect by (activation, input_bias) with offsets."""
    differences = {}
    for input_bias in ("learned", "mean"):
        for activation in make_param_grid()["mlp__activation"]:
            pair = [r for r in rows if r["input_bias"] == input_bias
                    and r["activation"] == activation]
            differences[(activation, input_bias)] = max(
                abs(pair[0][key] - pair[1][key]) for key in ("accuracy", "final_loss"))
    print("largest |difference| in accuracy or final loss between centerer 'none' and "
          "'mean' when input_bias is 'learned' or 'mean': "
          f"{max(differences.values()):.2e}")
    return differences



def best_params(search):
    """Print and return the combination with the best accuracy, by parameter."""
    best = search.best_params_
    print(f"\nbest by accuracy: activation={best['mlp__activation']}, centerer="
          f"{best['center'].strategy}, input_bias={best['mlp__input_bias']} "
          f"({search.best_score_:.4f})")
    return {"activation": best["mlp__activation"], "centerer": best["center"].strategy,
            "input_bias": best["mlp__input_bias"]}

# %%
# Figure: same-sign fraction curves of a few setups refit on all the data
# -----------------------------------------------------------------------


def refit_shown(X, y, max_iter):
    """Refit the SHOWN setups (relu) on all of X, y; return the pipelines and their labels."""
    refits, labels = [], []
    for k, (label, strategy, input_bias) in enumerate(SHOWN, start=1):
        start = time.perf_counter()
        pipe = clone(make_pipeline(max_iter)).set_params(
            center=Centerer(strategy=strategy), mlp__input_bias=input_bias,
            mlp__activation="relu")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            refits.append(pipe.fit(X, y))
        labels.append(f"relu, {label}")
        print(f"[{k}/{len(SHOWN)}] refit for the figure: relu, {label} "
              f"({time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return refits, labels


def plot(refits, labels, outdir):
    """Save the three same-sign panels of the refits; return the figure's path."""
    fig, axes = plt.subplots(1, 3, figsize=(18, 4.8), layout="constrained")
    panels = (("same_sign_fraction", 0, "same-sign fraction of coefs_[0] (pixels -> hidden)"),
              ("same_sign_fraction", 1, "same-sign fraction of coefs_[1] (hidden -> output)"),
              ("sample_same_sign_fraction", 1, "per-sample same-sign fraction of coefs_[1]"))
    for ax, (metric, layer, title) in zip(axes, panels):
        # one colour and marker per setup; the markers are staggered so that
        # identical curves (several setups sit at 0) all stay visible
        GradientSignDisplay.from_estimator(refits, metric=metric, layers=layer,
                                           name=labels, ax=ax)
        ax.set(title=title, xlabel="epoch", ylim=(-0.02, 1.02))
    for ax in axes[:-1]:
        ax.get_legend().remove()  # the same setups: one legend, outside the last panel
    figure_path = Path(outdir) / "plot_grid_search_centering.png"
    fig.savefig(figure_path, dpi=90)
    plt.close(fig)
    return figure_path


# %%
# Run everything
# --------------
# ``main`` ties the stages together and returns the headline numbers.


def main(quick=False, outdir="."):
    """Run the grid search, print the table, save the figure; return the numbers."""
    X, y = load_digits(return_X_y=True)
    if quick:
        X, y = X[:240], y[:240]
    max_iter = 5 if quick else 100
    search = run_search(X, y, max_iter, quick)
    print(__doc__.strip().splitlines()[1])
    print(f"\n{X.shape[0]} samples, MinMaxScaler -> center -> MLPClassifier((64,), "
          f"solver='adam', max_iter={max_iter}, random_state=0), cv=3\n")
    rows = table_rows(search.cv_results_)
    print_rows(rows)
    differences = centerer_differences(rows)
    best = best_params(search)
    refits, labels = refit_shown(X, y, max_iter)
    figure_path = plot(refits, labels, outdir)
    print(f"\nfigure saved to {figure_path}")
    return {
        "rows": rows,
        "best_params": best,
        "best_score": float(search.best_score_),
        "centerer_differences": differences,
        "refit_same_sign": {label: np.asarray(
            pipe[-1].gradient_sign_history_["same_sign_fraction"]) for label, pipe
            in zip(labels, refits)},
        "figure": str(figure_path),
    }


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
