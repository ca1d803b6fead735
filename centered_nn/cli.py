"""The ``centered-nn`` command: compare centring setups by cross-validation.

``centered-nn compare`` runs :func:`sklearn.model_selection.cross_validate` on
one pipeline per (setup, activation) pair and reads the training diagnostics
(``n_iter_``, ``loss_curve_``, ``gradient_sign_history_``) straight from the
fitted estimators. See ``centered-nn compare --help``.
"""

import argparse
import csv
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from ._classifier import MLPClassifier
from .activations import ACTIVATIONS
from .preprocessing import Centerer

PROG = "centered-nn"
DATASETS = ("digits", "iris", "wine", "breast_cancer")
#: setup name -> (Centerer strategy, MLPClassifier input_bias, description)
SETUPS = {
    "raw": ("none", "none", "no centring: the [0, 1]-scaled, all-positive features"),
    "centerer": ("mean", "none", "Centerer() subtracts each feature's training mean"),
    "learned": ("none", "learned", "input_bias='learned': offsets b trained by backprop"),
    "mean": ("none", "mean", "input_bias='mean': offsets b track -mean of each layer's input"),
}
DEFAULT_ACTIVATIONS = ("relu", "tanh", "logistic")
HIDDEN_LAYER_SIZES = (32,)
#: (JSON key, table header, number format); the first two columns are text.
COLUMNS = (
    ("setup", "setup", None), ("activation", "activation", None),
    ("cv_accuracy_mean", "cv accuracy", ".3f"),
    ("n_iter", "iterations", ".1f"),
    ("final_loss", "final loss", ".4f"),
    ("same_sign_fraction", "same-sign L0", ".3f"),
    ("sample_same_sign_fraction", "sample same-sign L0", ".3f"),
    ("fit_time", "fit time (s)", ".2f"),
)

EPILOG = f"""\
setups (each crossed with every activation):
{chr(10).join(f"  {name:<9} {desc}" for name, (_, _, desc) in SETUPS.items())}
  ('learned' and 'mean' put offsets on every layer: input_bias_layers='all')

Each pipeline is MinMaxScaler() -> Centerer(strategy) -> MLPClassifier(
hidden_layer_sizes={HIDDEN_LAYER_SIZES}, solver='sgd' with Nesterov momentum 0.9).
The min-max step, fitted in each training fold, maps features to [0, 1] like pixel
intensities: all-positive inputs (the textbook uncentred case) on a scale SGD
handles; centring, if any, comes after it.

Each pair is run through sklearn's cross_validate (stratified folds, --n-jobs
workers), with a progress line on stderr after it. Figures are means over folds:
held-out accuracy (± std), iterations, final training loss, fit seconds per fold,
and the first-layer (L0) gradient_sign_history_ averaged over iterations:
'same-sign' = fraction of units whose minibatch weight gradient has one sign,
'sample same-sign' = the same for per-sample gradients. ConvergenceWarnings are
silenced; a one-line note counts fits that hit --max-iter.

--plot refits each pair on the full data and draws those two first-layer figures
per iteration, one panel per activation (needs: pip install "centered_nn[plot]").

examples:
  centered-nn compare --dataset iris --activations tanh,relu --json out.json
  centered-nn compare data.csv --target label --cv 5 --plot signs.png
"""


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _checked(convert, ok, what):
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_cv = _checked(int, lambda v: v >= 2, "an integer >= 2")
_positive_int = _checked(int, lambda v: v >= 1, "an integer >= 1")
_n_jobs = _checked(int, lambda v: v != 0, "a nonzero integer")
_learning_rate = _checked(float, lambda v: 0 < v < math.inf, "a positive number")
_batch_size = _checked(lambda t: t if t == "auto" else int(t),
                       lambda v: v == "auto" or v >= 1, "an integer >= 1 or 'auto'")


def _names(kind, registry):
    def parse(text):
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in registry]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {', '.join(map(repr, unknown)) or repr(text)}; "
                f"choose from {', '.join(registry)}"
            )
        return tuple(dict.fromkeys(names))

    return parse


def _build_parser():
    parser = _Parser(prog=PROG, description="Measure how zero-centring affects MLP training.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmp = commands.add_parser(
        "compare",
        help="cross-validate centring setups and print a table",
        description="Cross-validate centring setups x activations on a dataset and print\n"
        "accuracy, iterations, final loss, gradient-sign figures and fit time.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cmp.add_argument("csv", nargs="?", metavar="CSV",
                     help="CSV file with a header row; numeric features and a label column")
    cmp.add_argument("--target", metavar="COLUMN", help="label column of CSV (required with CSV)")
    cmp.add_argument("--dataset", choices=DATASETS,
                     help="built-in scikit-learn dataset when no CSV is given (default: digits)")
    cmp.add_argument("--cv", type=_cv, metavar="K",
                     help="number of stratified CV folds (default: 3; 2 with --quick)")
    cmp.add_argument("--activations", type=_names("activation", ACTIVATIONS), metavar="A,B",
                     help=f"comma-separated hidden activations from {', '.join(ACTIVATIONS)} "
                     f"(default: {','.join(DEFAULT_ACTIVATIONS)}; relu with --quick)")
    cmp.add_argument("--setups", type=_names("setup", SETUPS), default=tuple(SETUPS),
                     metavar="S,T", help=f"comma-separated subset of {', '.join(SETUPS)}")
    cmp.add_argument("--max-iter", type=_positive_int, metavar="N",
                     help="maximum SGD epochs per fit (default: 50; 5 with --quick)")
    cmp.add_argument("--learning-rate", type=_learning_rate, default=0.1, metavar="LR",
                     help="SGD learning_rate_init (default: 0.1)")
    cmp.add_argument("--batch-size", type=_batch_size, default="auto", metavar="B",
                     help="minibatch size or 'auto' = min(200, n_samples) (default: auto)")
    cmp.add_argument("--random-state", type=int, default=0, metavar="SEED",
                     help="seed for weights and minibatch order (default: 0)")
    cmp.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                     help="parallel CV fits, -1 for all cores (default: 1)")
    cmp.add_argument("--quick", action="store_true",
                     help="tiny settings for smoke tests (explicit options still win)")
    cmp.add_argument("--json", type=Path, metavar="PATH", help="also write the rows as JSON")
    cmp.add_argument("--plot", type=Path, metavar="PATH", help="also write a PNG of the curves")
    return parser


def _load_csv(path, target):
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except OSError as exc:
        raise CLIError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CLIError(f"cannot parse {str(path)!r} as a UTF-8 CSV file: {exc}") from None
    if len(rows) < 2:
        raise CLIError(f"{str(path)!r} needs a header row and at least one data row")
    header = [name.strip() for name in rows[0][1]]
    if target not in header:
        raise CLIError(f"no column {target!r} in {str(path)!r}; columns: {', '.join(header)}")
    t = header.index(target)
    for line, row in rows[1:]:
        if len(row) != len(header):
            raise CLIError(f"line {line} has {len(row)} fields, the header {len(header)}")
        if not row[t].strip():
            raise CLIError(f"empty {target!r} label at line {line}")
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise CLIError(f"{str(path)!r} has no feature columns besides {target!r}")
    X = np.empty((len(rows) - 1, len(features)))
    for k, j in enumerate(features):
        for i, (line, row) in enumerate(rows[1:]):
            try:
                X[i, k] = float(row[j])
            except ValueError:
                X[i, k] = math.nan
            if not math.isfinite(X[i, k]):
                raise CLIError(f"feature column {header[j]!r} is not numeric: "
                               f"{row[j].strip()!r} at line {line}")
    return X, np.array([row[t].strip() for _, row in rows[1:]])


def _load_data(args):
    if args.csv is not None:
        if args.dataset is not None:
            raise CLIError("give either a CSV file or --dataset, not both")
        if args.target is None:
            raise CLIError("--target COLUMN is required with a CSV file")
        X, y = _load_csv(args.csv, args.target)
    else:
        if args.target is not None:
            raise CLIError("--target is only used with a CSV file")
        X, y = getattr(datasets, f"load_{args.dataset or 'digits'}")(return_X_y=True)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise CLIError(f"the labels hold a single class ({str(classes[0])!r}); need at least two")
    if counts.min() < args.cv:
        raise CLIError(f"--cv {args.cv} needs at least {args.cv} samples of every class; "
                       f"class {str(classes[counts.argmin()])!r} has {counts.min()}")
    return X, y


def _make_pipeline(setup, activation, args):
    strategy, input_bias, _ = SETUPS[setup]
    mlp = MLPClassifier(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES, activation=activation, solver="sgd",
        learning_rate_init=args.learning_rate, batch_size=args.batch_size,
        max_iter=args.max_iter, input_bias=input_bias, random_state=args.random_state,
    )
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy=strategy)),
                     ("mlp", mlp)])


def _summarise(setup, activation, result):
    mlps = [pipeline[-1] for pipeline in result["estimator"]]
    signs = {metric: np.mean([np.nanmean(m.gradient_sign_history_[metric][:, 0]) for m in mlps])
             for metric in ("same_sign_fraction", "sample_same_sign_fraction")}
    values = {
        "cv_accuracy_mean": np.mean(result["test_score"]),
        "cv_accuracy_std": np.std(result["test_score"]),
        "n_iter": np.mean([m.n_iter_ for m in mlps]),
        "final_loss": np.mean([m.loss_curve_[-1] for m in mlps]),
        **signs,
        "fit_time": np.mean(result["fit_time"]),
    }
    return {"setup": setup, "activation": activation,
            **{k: float(v) if np.isfinite(v) else None for k, v in values.items()}}


def _cell(row, key, fmt):
    if fmt is None:
        return row[key]
    text = {k: "nan" if row[k] is None else format(row[k], fmt) for k in (key, "cv_accuracy_std")}
    return text[key] + (" ± " + text["cv_accuracy_std"] if key == "cv_accuracy_mean" else "")


def _format_table(rows):
    """Plain-text table: text columns left-aligned, numbers right-aligned."""
    cells = [[header for _, header, _ in COLUMNS]]
    cells += [[_cell(row, key, fmt) for key, _, fmt in COLUMNS] for row in rows]
    widths = [max(len(line[c]) for line in cells) for c in range(len(COLUMNS))]
    lines = [
        "  ".join(text.ljust(w) if fmt is None else text.rjust(w)
                  for text, w, (_, _, fmt) in zip(line, widths, COLUMNS)).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _write_plot(path, X, y, args, Figure):
    fig = Figure(figsize=(4.2 * len(args.activations), 3.8), layout="constrained")
    axes = fig.subplots(1, len(args.activations), sharey=True, squeeze=False)[0]
    for ax, activation in zip(axes, args.activations):
        for k, setup in enumerate(args.setups):
            history = _make_pipeline(setup, activation, args).fit(X, y)[-1].gradient_sign_history_
            epochs = np.arange(1, len(history["same_sign_fraction"]) + 1)
            ax.plot(epochs, history["same_sign_fraction"][:, 0], color=f"C{k}", label=setup)
            ax.plot(epochs, history["sample_same_sign_fraction"][:, 0], color=f"C{k}", ls="--")
        ax.set(title=f"activation={activation}", xlabel="iteration (epoch)", ylim=(-0.03, 1.03))
    axes[0].set_ylabel("first-layer same-sign fraction\n(solid: minibatch, dashed: per sample)")
    axes[-1].legend(title="setup")
    fig.savefig(path, format="png", dpi=100)


def _compare(args):
    args.cv = args.cv or (2 if args.quick else 3)
    args.max_iter = args.max_iter or (5 if args.quick else 50)
    args.activations = args.activations or (("relu",) if args.quick else DEFAULT_ACTIVATIONS)
    for option in ("json", "plot"):
        path = getattr(args, option)
        if path is not None and not path.parent.is_dir():
            raise CLIError(f"--{option}: directory {str(path.parent)!r} does not exist")
    if args.plot is not None:
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise CLIError('--plot needs matplotlib: pip install "centered_nn[plot]"') from None
    X, y = _load_data(args)
    pairs = [(s, a) for a in args.activations for s in args.setups]
    rows, n_capped = [], 0
    with warnings.catch_warnings():  # sklearn forwards the filter to joblib workers
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i, (setup, activation) in enumerate(pairs, start=1):
            start = time.perf_counter()
            result = cross_validate(_make_pipeline(setup, activation, args), X, y,
                                    cv=args.cv, n_jobs=args.n_jobs, return_estimator=True,
                                    error_score="raise")
            n_capped += sum(p[-1].n_iter_ >= args.max_iter for p in result["estimator"])
            rows.append(_summarise(setup, activation, result))
            print(f"[{i}/{len(pairs)}] setup={setup} activation={activation}: accuracy "
                  f"{_cell(rows[-1], 'cv_accuracy_mean', '.3f')} over {args.cv} folds "
                  f"in {time.perf_counter() - start:.2f} s", file=sys.stderr, flush=True)
        if n_capped:
            print(f"note: {n_capped} of {len(pairs) * args.cv} fits stopped at --max-iter "
                  f"{args.max_iter} before converging", file=sys.stderr)
        print(_format_table(rows))
        try:
            if args.json is not None:
                args.json.write_text(json.dumps(rows, indent=2, allow_nan=False) + "\n")
                print(f"wrote {args.json}", file=sys.stderr)
            if args.plot is not None:
                _write_plot(args.plot, X, y, args, Figure)
                print(f"wrote {args.plot}", file=sys.stderr)
        except OSError as exc:
            raise CLIError(f"cannot write {exc.filename!r}: {exc.strerror or exc}") from None
    return 0


def main(argv=None):
    """Run the ``centered-nn`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; None reads ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success. Bad arguments and user errors (unreadable file, unknown
        column or dataset, non-numeric feature) print one line
        ``centered-nn: error: ...`` on stderr and raise ``SystemExit(2)``, as
        :mod:`argparse` does; ``--help`` raises ``SystemExit(0)``.

    Examples
    --------
    >>> from centered_nn.cli import main
    >>> status = main(["compare", "--dataset", "iris", "--quick", "--setups", "raw,mean"])
    setup  activation    cv accuracy  iterations  final loss  same-sign L0 ...
    -----  ----------  -------------  ----------  ----------  ------------ ...
    raw    relu        0... ± 0...            5.0 ...
    mean   relu        0... ± 0...            5.0 ...
    >>> status
    0
    """
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        return _compare(args)
    except CLIError as exc:
        parser.exit(2, f"{PROG}: error: {exc}\n")
    except KeyboardInterrupt:  # pragma: no cover
        parser.exit(130, f"{PROG}: interrupted\n")
