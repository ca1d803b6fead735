"""
================================================
Every family of centring remedy, side by side
================================================

Question: on two uncentred problems, how much of the speed of centred training
does each remedy recover, and what do the recorded gradient signs say about why?

The problems (10-class digits, a logistic hidden layer of 64 units, plain SGD
without momentum, batch 200):

* **shifted**: the digits standardised, then +3 on every feature;
* **pixels**: the raw pixel intensities scaled to [0, 1] (all >= 0).

The setups, each a single change to the plain network:

* **raw**: nothing;
* **Centerer**: the data centred by its training mean (``Centerer()``);
* **learned**: offsets ``f = W(a + b) + c`` trained by backpropagation, on every
  layer, started at ``-mean`` (``input_bias='learned'``);
* **mean**: offsets tracking ``-mean`` of every layer's input (``input_bias='mean'``);
* **batch**: offsets at minus the minibatch mean, differentiated through
  (``input_bias='batch'``, mean-only batch normalisation);
* **gc**: gradient centralization (``gradient_centralization=True``);
* **centred act.**: the zero-centred activation ``centered_logistic`` (σ − ½,
  the same slope) in place of ``logistic``, so the output layer's inputs are
  centred, not the data.

Every setup runs at each learning rate of a grid on two cross-validation folds,
with the same initial weights and minibatch order:
:func:`centered_nn.model_selection.centering_study` does the loops, records the
runs that diverge and counts the epochs to a training loss of 0.2.
"""

# %%
# Imports and settings
# --------------------
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from centered_nn import Centerer, MLPClassifier  # noqa: E402
from centered_nn.model_selection import CenteringStudyDisplay, centering_study  # noqa: E402

LOSS_THRESHOLD = 0.2
MAX_ITER = 60
LEARNING_RATES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
# Quick mode: two rates of the same grid, the same data, folds and epochs, so every
# number it prints is one the full run prints too.
QUICK_LEARNING_RATES = (3.0, 10.0)
SETUPS = {
    "raw": {},
    "Centerer": {"center__strategy": "mean"},
    "learned": {"mlp__input_bias": "learned"},
    "mean": {"mlp__input_bias": "mean"},
    "batch": {"mlp__input_bias": "batch"},
    "gc": {"mlp__gradient_centralization": True},
    "centred act.": {"mlp__activation": "centered_logistic"},
}


def problems():
    """The two uncentred inputs: name -> X."""
    X, _ = load_digits(return_X_y=True)
    return {"shifted": StandardScaler().fit_transform(X) + 3.0, "pixels": X / 16.0}


# %%
# One study per problem: every setup at every rate, two folds
# -----------------------------------------------------------


def run_study(X, y, rates):
    mlp = MLPClassifier(hidden_layer_sizes=(64,), activation="logistic", solver="sgd",
                        momentum=0.0, max_iter=MAX_ITER, n_iter_no_change=MAX_ITER,
                        random_state=0)
    pipe = Pipeline([("center", Centerer(strategy="none")), ("mlp", mlp)])
    return centering_study(pipe, X, y, setups=SETUPS, learning_rates=rates, cv=2,
                           target_loss=LOSS_THRESHOLD, verbose=1)


def summarise(study, s, r):
    """One setup at one rate, over the folds: epochs (None unless every fold reached
    the threshold), diverged, and the mean sign and hidden-layer figures."""
    figures = study.figures
    histories = [h for h in study.curves["gradient_sign_history"][s][r] if h is not None]
    return {
        "diverged": bool(figures["diverged"][s, r].any()),
        "epochs": (float(figures["epochs_to_target"][s, r].mean())
                   if figures["reached"][s, r].all() else None),
        "sample_same_sign_l0": float(np.mean(figures["sample_same_sign_fraction"][s, r])),
        # the output layer's mean input: the hidden activations it sees, offsets included
        "hidden_mean": float(np.mean([np.nanmean(h["input_mean"][:, 1]) for h in histories]))
        if histories else np.nan,
    }


def short(entry):
    if entry["diverged"]:
        return "div"
    return "-" if entry["epochs"] is None else f"{entry['epochs']:g}"


def main(quick=False, outdir="."):
    """Run the comparison, print the tables, save the figure; return the numbers."""
    _, y = load_digits(return_X_y=True)
    rates = QUICK_LEARNING_RATES if quick else LEARNING_RATES
    studies = {problem: run_study(X, y, rates) for problem, X in problems().items()}
    runs = {(problem, setup, float(lr)): summarise(study, s, r)
            for problem, study in studies.items() for s, setup in enumerate(SETUPS)
            for r, lr in enumerate(study.learning_rates)}
    print(__doc__.strip().splitlines()[1])
    print(f"\n1797 samples, 2 folds, logistic (64,), solver='sgd', momentum=0, batch 200, "
          f"max_iter={MAX_ITER}, random_state=0")
    for problem, study in studies.items():
        print(f"\n{problem}: mean epochs to a training loss of {LOSS_THRESHOLD} over the folds "
              f"('-' not reached in every fold, 'div' diverged)")
        header = f"{'setup':<13}" + "".join(f"{'lr=' + format(lr, 'g'):>9}" for lr in rates)
        print(header + f"{'fastest':>9}{'vs raw':>21}{'sample same-sign L0':>21}")
        print("-" * (len(header) + 51))
        for setup, row in study.summary.items():
            cells = "".join(f"{short(runs[(problem, setup, lr)]):>9}" for lr in rates)
            fastest = "-" if row["fastest_rate"] is None else format(row["fastest_rate"], "g")
            print(f"{setup:<13}{cells}{fastest:>9}{row['vs_reference']:>21}"
                  f"{row['sample_same_sign_fraction_mean']:>21.3f}")
    print("\nfastest: the rate with the fewest epochs to the threshold; vs raw: 'faster' "
          "or 'slower'\nonly when the 95% interval of the paired speedup excludes 1.")

    figure = plot(studies, Path(outdir))
    print(f"\nfigure saved to {figure}")
    result = {"learning_rates": list(rates), "runs": runs, "figure": str(figure),
              "best": {(p, s): st.summary[s]["fastest_rate"] for p, st in studies.items()
                       for s in SETUPS}}
    result["readme"] = readme_summary(result)
    print(f"\nIn the README:\n{result['readme']}")
    return result


# %%
# Figure: the study of each problem
# ---------------------------------


def plot(studies, outdir):
    fig = plt.figure(figsize=(16, 4.4 * len(studies)), layout="constrained")
    for subfigure, (problem, study) in zip(fig.subfigures(len(studies), 1), studies.items()):
        CenteringStudyDisplay.from_study(study, figure=subfigure)
        subfigure.suptitle(f"{problem}: logistic (64,), plain SGD, 2 folds")
    path = outdir / "plot_centering_methods.png"
    fig.savefig(path, dpi=70)
    plt.close(fig)
    return path


def readme_summary(result):
    """The README's sentences about this example, from fits quick mode makes too."""
    runs = result["runs"]

    def epochs(problem, lr):
        return ", ".join(f"{setup} {short(runs[(problem, setup, lr)])}" for setup in SETUPS)

    def figure(key, setups, problem="pixels", lr=3.0):
        return ", ".join(f"{setup} {runs[(problem, setup, lr)][key]:.3f}" for setup in setups
                         if not runs[(problem, setup, lr)]["diverged"])

    return (
        "`plot_centering_methods.py`: every remedy on digits shifted by +3 and on [0, 1] "
        f"pixels, logistic (64,), plain SGD, {MAX_ITER} epochs, learning rates 0.1 to 100, "
        "two folds, through `centering_study`. Mean epochs to a training loss of "
        f"{LOSS_THRESHOLD} ('-' not reached in every fold, 'div' diverged) "
        f"at lr 3, shifted: {epochs('shifted', 3.0)}; at lr 10, shifted: "
        f"{epochs('shifted', 10.0)}; pixels: {epochs('pixels', 10.0)}. Where a remedy "
        "recovers only part of the centred speed, the recorded figures say why. The "
        "first-layer per-sample same-sign fraction (lr 3, pixels: "
        f"{figure('sample_same_sign_l0', SETUPS)}) shows that the zero-centred activation "
        "leaves the data's zig-zag in place. The output layer's mean input (the hidden "
        f"activations, same runs: {figure('hidden_mean', ('Centerer', 'mean', 'batch', 'gc'))}) "
        "shows that gradient centralization and the Centerer mix the first layer's signs "
        "but leave the hidden layer's output uncentred, where the mean and batch offsets "
        "centre it. The trained offsets diverge at the rates where the others are fastest."
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
