"""The ``centered-nn`` command: compare centring setups by their training speed and stability.

``centered-nn compare`` runs :func:`centered_nn.model_selection.centering_study` once
per activation (every setup × learning rate × CV fold from one seed) and prints, per
(setup, activation), the fastest rate, the epochs to the target loss there, the rates
that diverged, the CV score and the gradient-sign figures. See
``centered-nn compare --help``.

The command is table-driven: :data:`SETUPS` maps a setup name to the pipeline
parameters it sets, :data:`TASKS` a task name to its estimator, score and
datasets. Adding a setup or a task is one entry there.
"""

import argparse
import math
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from .. import __version__
from .. import MLPClassifier, MLPRegressor
from .interrupt import CheckedScorer, InterruptGuard
from .report import columns, format_table, json_bytes, jsonable, plot_bytes, study_json
from .csv_data import CSVError, read_csv
from .outputs import BrokenStdout, Interrupted, OutputError, check_output, print_and_write
from ..activations import ACTIVATIONS
from ..exceptions import DIVERGENCE_FACTOR
from ..model_selection import centering_study
from ..preprocessing import Centerer

PROG = "centered-nn"


@dataclass(frozen=True)
class Setup:
    """A centring setup: parameters set on the base pipeline, and a one-line description."""

    params: dict
    description: str


@dataclass(frozen=True)
class Task:
    """What is predicted: the estimator, how it is scored, which datasets fit it.

    ``prepare_target(y, args)`` checks (and may convert) the target column and
    returns it; it raises :class:`CLIError` for a target the task cannot use.
    """

    estimator: type
    scoring: str
    score_label: str
    default_dataset: str
    datasets: tuple
    prepare_target: object


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit status 2."""


def _class_labels(y, args):
    """Check classification labels: two classes or more, enough of each for the folds."""
    if y.dtype == object:
        by_value = {}
        for label in np.unique(y):
            try:
                value = float(label)
            except ValueError:
                continue
            # NaN != NaN: every spelling of it ('nan', 'NaN') shares one key
            same = by_value.setdefault("nan" if math.isnan(value) else value, [])
            same.append(label)
            if len(same) > 1:
                a, b = same[:2]
                raise CLIError(f"labels {a!r} and {b!r} of --target {args.target!r} are the "
                               "same number written differently: make them identical")
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2:
        raise CLIError(f"the labels hold a single class ({str(classes[0])!r}); need at least two")
    if counts.min() < args.cv:
        hint = ""
        if len(classes) > y.shape[0] / 2:
            hint = (f" ({len(classes)} distinct labels in {y.shape[0]} rows: "
                    "is the target continuous? classification needs class labels)")
        raise CLIError(f"--cv {args.cv} needs at least {args.cv} samples of every class; "
                       f"class {str(classes[counts.argmin()])!r} has {counts.min()}{hint}")
    return y


def _standardised_target(y, args):
    """A numeric regression target, standardised (R² does not change under that).

    Scaled by max|y| first, a power of two: exact, and no overflow in ``y.std()``
    for targets near the float64 limit.
    """
    try:
        y = np.asarray(y, dtype=np.float64)
    except ValueError:
        example = next(v for v in np.asarray(y).ravel() if not _is_number(v))
        raise CLIError(f"--task regression needs a numeric target; --target "
                       f"{args.target!r} holds {str(example)!r}") from None
    if not np.isfinite(y).all():
        raise CLIError("the regression target holds non-finite values")
    if y.shape[0] < args.cv:
        raise CLIError(f"--cv {args.cv} needs at least {args.cv} samples; the data has "
                       f"{y.shape[0]}")
    peak = np.abs(y).max()
    if peak > 0:
        y = np.ldexp(y, -np.frexp(peak)[1])  # |y| < 1, exactly
    scale = y.std()
    if scale == 0:
        raise CLIError("the regression target is constant: there is nothing to predict")
    return (y - y.mean()) / scale


def _is_number(value):
    try:
        float(value)
    except ValueError:
        return False
    return True


#: setup name -> Setup; each is applied to the base pipeline MinMaxScaler ->
#: Centerer(strategy='none') -> estimator, and crossed with every activation.
SETUPS = {
    "raw": Setup({}, "no centring: the [0, 1]-scaled, all-positive features"),
    "centerer": Setup({"center__strategy": "mean"},
                      "Centerer() subtracts each feature's training mean"),
    "learned": Setup({"mlp__input_bias": "learned"},
                     "input_bias='learned': offsets b trained by backprop, every layer"),
    "mean": Setup({"mlp__input_bias": "mean"},
                  "input_bias='mean': offsets b track -mean of every layer's input"),
    "batch": Setup({"mlp__input_bias": "batch"},
                   "input_bias='batch': b = -(minibatch mean), differentiated through, "
                   "every layer"),
    "gc": Setup({"mlp__gradient_centralization": True},
                "gradient_centralization=True: each unit's weight gradient made zero-mean"),
}
#: task name -> Task
TASKS = {
    "classification": Task(
        estimator=MLPClassifier, scoring="accuracy", score_label="cv accuracy",
        default_dataset="digits", datasets=("digits", "iris", "wine", "breast_cancer"),
        prepare_target=_class_labels,
    ),
    "regression": Task(
        estimator=MLPRegressor, scoring="r2", score_label="cv R²",
        default_dataset="diabetes", datasets=("diabetes",),
        prepare_target=_standardised_target,
    ),
}
DEFAULT_ACTIVATIONS = ("relu", "tanh")
DEFAULT_LEARNING_RATES = (0.03, 0.1, 0.3, 1.0, 3.0)
QUICK_LEARNING_RATES = (0.1, 1.0)
HIDDEN_LAYER_SIZES = (32,)
PLOT_FORMATS = ("png", "pdf", "svg")
MAX_SEED = 2**32 - 1
PLOT_HINT = 'pip install matplotlib (in a centered_nn checkout: pip install ".[plot]")'


def _epilog():
    """The --help text after the options, built from SETUPS so it cannot drift."""
    setups = "\n".join(f"  {name:<9} {setup.description}" for name, setup in SETUPS.items())
    return f"""\
setups (each crossed with every activation):
{setups}

Each pipeline is MinMaxScaler() -> Centerer(strategy) -> the task's estimator
(hidden_layer_sizes={HIDDEN_LAYER_SIZES}, solver='sgd' with Nesterov momentum 0.9).
The min-max step, fitted in each training fold, maps features to [0, 1] like pixel
intensities: all-positive inputs (the textbook uncentred case) on a scale SGD
handles; centring, if any, comes after it. With --task regression the target is
standardised (mean 0, std 1), which leaves R² unchanged.

Every setup is fitted at every rate of --learning-rates on every CV fold (stratified
for classification, --n-jobs workers), all from the same initial weights and
minibatch order: centered_nn.model_selection.centering_study, once per activation,
with a progress line on stderr after each setup. Per (setup, activation) the row
shows the 'best lr': the rate with the fewest epochs to the target training loss
(every fold reaching it; ties broken by the relative loss; when no rate reaches it,
the lowest relative loss), never the one with the best score. At that rate, means over folds: held-out score (± std), 'epochs to
target' (± std; '-' when no rate reached it in every fold), 'vs raw' ('faster' or
'slower' when the epochs differ from the first setup's by more than the sum of
their fold standard deviations, else 'within spread'), 'rel. loss' (the loss curve's
mean over the --max-iter epochs over the first-epoch loss: lower trains faster,
no threshold), the first-layer (L0) gradient_sign_history_ averaged over epochs
('same-sign' = fraction of units whose minibatch weight gradient has one sign,
'sample same-sign' = the same for per-sample gradients) and fit seconds per fit.
'trains up to' is the highest rate at which every fold reached the target;
'diverged at' lists the rates where a fold's weights became non-finite or its loss
ended more than 10x above its first: a diverging setup is a row, never an error.
The target loss, unless --target-loss is given, is per fold halfway on a log scale
between the first-epoch loss at the lowest rate and the lowest loss any setup
reached: sqrt(start * best). The table is followed by the targets.

Every option is checked before the first fit. Ctrl-C stops the whole run (exit
status 130) without printing the table or writing any file. Output files are
written to a temporary file beside them and renamed into place once all are
complete: a failed run leaves the old files as they were.

--json writes an object: package version, dataset or CSV path, target, task,
folds, random state, learning rates, model parameters, setups, the rows of the
table, and per activation the targets and every fit's figures and curves.
--plot draws the study per activation (loss curves at the best rates, epochs and
score against the rate, first-layer signs per epoch) in the format of the file's extension
({', '.join('.' + f for f in PLOT_FORMATS)}). It needs matplotlib:
  {PLOT_HINT}

CSV files: a header row, numeric features, the --target column holds the labels.
An unnamed first column (the index DataFrame.to_csv() writes) is dropped with a
note; a delimiter other than ',' (';', tab, '|') is detected; missing values,
duplicated column names and labels such as '0' and '0.0' are errors.

examples:
  centered-nn compare --dataset iris --activations tanh,relu --json out.json
  centered-nn compare data.csv --target label --cv 5 --plot signs.pdf
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def _checked(convert, ok, what):
    def parse(text):
        try:
            value = convert(text)
        except (ValueError, OverflowError):
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


_cv = _checked(int, lambda v: v >= 2, "an integer >= 2")
_positive_int = _checked(int, lambda v: v >= 1, "an integer >= 1")
_n_jobs = _checked(int, lambda v: v != 0, "a nonzero integer")
_seed = _checked(int, lambda v: 0 <= v <= MAX_SEED, f"an integer from 0 to {MAX_SEED}")
_learning_rate = _checked(float, lambda v: 0 < v < math.inf, "a positive number")
_learning_rates = _checked(
    lambda t: tuple(float(v) for v in t.split(",")),
    lambda v: len(v) > 0 and all(0 < r < math.inf for r in v),
    "comma-separated positive numbers")
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
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmp = commands.add_parser(
        "compare",
        help="cross-validate centring setups and print a table",
        description="Fit centring setups x activations x learning rates by cross-validation\n"
        "and print, per setup, the fastest rate, the epochs to a target loss there, the\n"
        "rates that diverged, the score, the gradient-sign figures and the fit time.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    all_datasets = tuple(dict.fromkeys(d for task in TASKS.values() for d in task.datasets))
    cmp.add_argument("csv", nargs="?", metavar="CSV",
                     help="CSV file with a header row; numeric features and a label column")
    cmp.add_argument("--target", metavar="COLUMN", help="label column of CSV (required with CSV)")
    cmp.add_argument("--task", choices=TASKS, default="classification",
                     help="what to predict (default: classification)")
    cmp.add_argument("--dataset", choices=all_datasets,
                     help="built-in scikit-learn dataset when no CSV is given (default: "
                     + ", ".join(f"{t.default_dataset} for {n}" for n, t in TASKS.items()) + ")")
    cmp.add_argument("--cv", type=_cv, metavar="K",
                     help="number of CV folds (default: 3; 2 with --quick)")
    cmp.add_argument("--activations", type=_names("activation", ACTIVATIONS), metavar="A,B",
                     help=f"comma-separated hidden activations from {', '.join(ACTIVATIONS)} "
                     f"(default: {','.join(DEFAULT_ACTIVATIONS)}; relu with --quick)")
    cmp.add_argument("--setups", type=_names("setup", SETUPS), default=tuple(SETUPS),
                     metavar="S,T", help=f"comma-separated subset of {', '.join(SETUPS)}")
    cmp.add_argument("--max-iter", type=_positive_int, metavar="N",
                     help="maximum SGD epochs per fit (default: 30; 5 with --quick)")
    cmp.add_argument("--learning-rates", type=_learning_rates, metavar="LR,LR",
                     help="comma-separated SGD learning_rate_init grid (default: "
                     f"{','.join(f'{r:g}' for r in DEFAULT_LEARNING_RATES)}; "
                     f"{','.join(f'{r:g}' for r in QUICK_LEARNING_RATES)} with --quick)")
    cmp.add_argument("--learning-rate", type=_learning_rate, metavar="LR",
                     help="one rate: the same as --learning-rates LR")
    cmp.add_argument("--target-loss", type=_learning_rate, metavar="LOSS",
                     help="the training loss counted to (default: per fold, "
                     "sqrt(start * best), see below)")
    cmp.add_argument("--batch-size", type=_batch_size, default="auto", metavar="B",
                     help="minibatch size, at most the smallest training fold, or 'auto' = "
                     "min(200, n_samples) (default: auto)")
    cmp.add_argument("--random-state", type=_seed, default=0, metavar="SEED",
                     help=f"seed for weights and minibatch order, 0 to {MAX_SEED} (default: 0)")
    cmp.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                     help="parallel CV fits, -1 for all cores (default: 1)")
    cmp.add_argument("--quick", action="store_true",
                     help="tiny settings for smoke tests (explicit options still win)")
    cmp.add_argument("--json", metavar="PATH",
                     help="also write the settings, rows, per-fit figures and curves as JSON")
    cmp.add_argument("--plot", metavar="PATH",
                     help="also draw the study per activation (.png, .pdf or .svg)")
    return parser


# --- checks done before any fit ------------------------------------------------


def _check_outputs(args):
    """Return {option: Path} of the requested output files, each checked writable."""
    outputs = {option: getattr(args, option) for option in ("json", "plot")
               if getattr(args, option) is not None}
    for option, text in outputs.items():
        if not text:
            raise CLIError(f"--{option}: the file name is empty")
        try:
            check_output(option, text)
        except OutputError as exc:
            raise CLIError(str(exc)) from None
    if len(outputs) == 2 and _same_path(outputs["json"], outputs["plot"]):
        raise CLIError(f"--json and --plot name the same file {outputs['json']!r}")
    for option, text in outputs.items():
        if args.csv is not None and _same_path(text, args.csv):
            raise CLIError(f"--{option} {text!r} would overwrite the input CSV file")
    if "plot" in outputs:
        suffix = os.path.splitext(outputs["plot"])[1]
        if suffix.lower().lstrip(".") not in PLOT_FORMATS:
            found = f"unsupported file type {suffix!r}" if suffix else "no file type"
            raise CLIError(f"--plot: {outputs['plot']!r} has {found}; end the file name in "
                           f"{', '.join('.' + f for f in PLOT_FORMATS[:-1])} or "
                           f".{PLOT_FORMATS[-1]}")
    return {option: Path(text) for option, text in outputs.items()}


def _same_path(a, b):
    """Whether the paths ``a`` and ``b`` name one file (existing or not)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links
    except OSError:
        return False


def _load_data(args, task):
    """Return (X, y, description of the data for the title and the JSON)."""
    if args.csv is not None:
        if args.dataset is not None:
            raise CLIError("give either a CSV file or --dataset, not both")
        if args.target is None:
            raise CLIError("--target COLUMN is required with a CSV file")
        try:
            data = read_csv(args.csv, args.target)
        except CSVError as exc:
            raise CLIError(str(exc)) from None
        for note in data.notes:
            print(f"note: {note}", file=sys.stderr)
        X, y, name = data.X, data.y, os.path.basename(args.csv)
    else:
        if args.target is not None:
            raise CLIError("--target is only used with a CSV file")
        name = args.dataset or task.default_dataset
        if name not in task.datasets:
            raise CLIError(f"--dataset {name} is not a {args.task} dataset; choose from "
                           f"{', '.join(task.datasets)}")
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, task.prepare_target(y, args), name


def _check_batch_size(X, y, args, task):
    """A fixed --batch-size must fit in every training fold (scikit-learn would clip it)."""
    if args.batch_size == "auto":
        return
    splitter = check_cv(args.cv, y, classifier=is_classifier(task.estimator()))
    smallest = min(len(train) for train, _ in splitter.split(X, y))
    if args.batch_size > smallest:
        raise CLIError(f"--batch-size {args.batch_size} is larger than the smallest training "
                       f"fold ({smallest} of {X.shape[0]} samples with --cv {args.cv}); "
                       f"use at most {smallest}, or 'auto'")


# --- the run ----------------------------------------------------------------------


def _base_pipeline(task, args, activation="relu"):
    """MinMaxScaler -> Centerer(strategy='none') -> the task's estimator: the 'raw' setup."""
    mlp = task.estimator(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES, activation=activation, solver="sgd",
        learning_rate_init=args.learning_rates[0], batch_size=args.batch_size,
        max_iter=args.max_iter, random_state=args.random_state,
    )
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp)])


def _study(X, y, args, task, activation):
    """One centring study: every setup x rate x fold for `activation`."""
    try:
        return centering_study(
            _base_pipeline(task, args, activation), X, y,
            setups={name: SETUPS[name].params for name in args.setups},
            learning_rates=args.learning_rates, cv=args.cv,
            scoring=CheckedScorer(task.scoring), target_loss=args.target_loss,
            n_jobs=args.n_jobs, random_state=args.random_state, error_score="raise",
            verbose=1)
    except ValueError as exc:  # not a divergence (the study records those): a real error
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "ValueError"
        raise CLIError(f"fitting activation={activation} failed: {message}") from None


def _row(study, setup, activation, task):
    """The table row of `setup` in `study`, as JSON-ready values (None for NaN)."""
    summary = study.summary[setup]
    score = f"cv_{task.scoring}"
    values = {
        "best_rate": summary["fastest_rate"],
        f"{score}_mean": summary["test_score_mean"], f"{score}_std": summary["test_score_std"],
        "epochs_to_target_mean": summary["epochs_to_target_mean"],
        "epochs_to_target_std": summary["epochs_to_target_std"],
        "vs_raw": summary["vs_reference"] if setup != study.setups[0] else "-",
        "mean_relative_loss": summary["mean_relative_loss"],
        "highest_trainable_rate": summary["highest_trainable_rate"],
        "diverged_rates": summary["diverged_rates"],
        "same_sign_fraction": summary["same_sign_fraction"],
        "sample_same_sign_fraction": summary["sample_same_sign_fraction"],
        "fit_time": summary["fit_time"],
    }
    return {"setup": setup, "activation": activation,
            **{k: None if isinstance(v, float) and not math.isfinite(v) else v
               for k, v in values.items()}}


def _run_studies(X, y, args, task):
    """One study per activation, progress on stderr; return ({activation: study}, rows)."""
    studies, rows = {}, []
    n_fits = len(args.setups) * len(args.learning_rates) * args.cv
    for i, activation in enumerate(args.activations, start=1):
        print(f"activation={activation} ({i}/{len(args.activations)}): {len(args.setups)} "
              f"setups x {len(args.learning_rates)} rates x {args.cv} folds = {n_fits} fits",
              file=sys.stderr, flush=True)
        studies[activation] = _study(X, y, args, task, activation)
        InterruptGuard.check()
        rows += [_row(studies[activation], setup, activation, task) for setup in args.setups]
    n_diverged = sum(int(st.figures["diverged"].sum()) for st in studies.values())
    if n_diverged:
        print(f"note: {n_diverged} of {n_fits * len(studies)} fits diverged: non-finite "
              f"weights, or a training loss ending more than {DIVERGENCE_FACTOR:g}x above "
              "its first epoch's (see 'diverged at')", file=sys.stderr)
    return studies, rows


def _targets_text(studies):
    """The lines after the table: the target loss per fold and how it was chosen."""
    lines = [f"target training loss per fold, {activation}: "
             + ", ".join(f"{t:.4g}" for t in study.target_loss)
             for activation, study in studies.items()]
    rule = next(iter(studies.values())).target_rule
    lines.append("('epochs to target': first epoch at or below it; target rule: "
                 f"{'--target-loss' if rule == 'given' else rule})")
    return "\n".join(lines)


def _json_document(args, task, name, X, rows, studies):
    base = _base_pipeline(task, args)
    parameters = {k: jsonable(v) for k, v in base[-1].get_params().items()
                  if k not in ("activation", "learning_rate_init")}  # per row / per fit
    document = {
        "centered_nn_version": __version__,
        "command": "compare",
        "task": args.task,
        "dataset": None if args.csv is not None else name,
        "csv": None if args.csv is None else str(args.csv),
        "target": args.target,
        "n_samples": X.shape[0],
        "n_features": X.shape[1],
        "cv": args.cv,
        "scoring": task.scoring,
        "random_state": args.random_state,
        "learning_rates": list(args.learning_rates),
        "target_loss": args.target_loss,
        "pipeline": [[step, type(est).__name__] for step, est in base.steps],
        "model_parameters": parameters,
        "setups": {s: SETUPS[s].params for s in args.setups},
        "activations": list(args.activations),
        "rows": rows,
        "studies": {activation: study_json(study) for activation, study in studies.items()},
    }
    return json_bytes(document)


def _apply_defaults(args):
    if args.learning_rate is not None and args.learning_rates is not None:
        raise CLIError("give either --learning-rate or --learning-rates, not both")
    if args.learning_rate is not None:
        args.learning_rates = (args.learning_rate,)
    default_rates = QUICK_LEARNING_RATES if args.quick else DEFAULT_LEARNING_RATES
    args.learning_rates = tuple(sorted(set(args.learning_rates or default_rates)))
    args.cv = args.cv or (2 if args.quick else 3)
    args.max_iter = args.max_iter or (5 if args.quick else 30)
    args.activations = args.activations or (("relu",) if args.quick else DEFAULT_ACTIVATIONS)


def _compare(args):
    task = TASKS[args.task]
    _apply_defaults(args)
    outputs = _check_outputs(args)
    if "plot" in outputs:
        try:
            import matplotlib.figure  # noqa: F401
        except ImportError:
            raise CLIError(f"--plot needs matplotlib: {PLOT_HINT}") from None
    X, y, name = _load_data(args, task)
    _check_batch_size(X, y, args, task)
    with InterruptGuard(), warnings.catch_warnings():
        # The study records what fits warn about (non-convergence, divergence);
        # sklearn forwards this filter to joblib workers.
        warnings.simplefilter("ignore")
        studies, rows = _run_studies(X, y, args, task)
        contents = {}
        if "json" in outputs:
            contents["json"] = _json_document(args, task, name, X, rows, studies)
        if "plot" in outputs:
            title = (f"{name}: {task.score_label[3:]} and training speed per setup, "
                     f"{args.cv}-fold CV, rates {', '.join(f'{r:g}' for r in args.learning_rates)}")
            contents["plot"] = plot_bytes(studies, title,
                                          outputs["plot"].suffix.lower().lstrip("."))
        InterruptGuard.check()
        try:
            table = f"{format_table(rows, columns(task))}\n{_targets_text(studies)}"
            print_and_write(table, {option: (outputs[option], data)
                                    for option, data in contents.items()})
        except OutputError as exc:
            raise CLIError(str(exc)) from None
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
        column or dataset, non-numeric feature, unwritable output) print one
        line ``centered-nn: error: ...`` on stderr and raise ``SystemExit(2)``,
        as :mod:`argparse` does, before any fit where they can be known;
        Ctrl-C prints ``centered-nn: interrupted ...`` and raises
        ``SystemExit(130)`` without printing the table or writing files (once
        the output phase has begun, the message says what was printed and
        written; files are replaced atomically, never left half-written);
        standard output closed by its reader (``| head``) ends quietly with
        ``SystemExit(141)`` after the files are written; ``--help`` and
        ``--version`` raise ``SystemExit(0)``.

    Examples
    --------
    >>> from centered_nn.cli import main
    >>> status = main(["compare", "--dataset", "iris", "--quick", "--setups", "raw,mean"])
    setup  activation  best lr    cv accuracy  epochs to target  vs raw  rel. loss ...
    -----  ----------  -------  -------------  ----------------  ------  --------- ...
    raw    relu              1  0... ± 0...                 -  -           0... ...
    mean   relu              1  0... ± 0...         4.0 ± 0.0  faster      0... ...
    target training loss per fold, relu: 0..., 0...
    ('epochs to target': first epoch at or below it; target rule: per fold, ...)
    >>> status
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _compare(args)
    except CLIError as exc:
        parser.exit(2, f"{PROG}: error: {exc}\n")
    except BrokenStdout:
        raise SystemExit(141) from None  # 128 + SIGPIPE: what the shell shows for `cat | head`
    except KeyboardInterrupt as exc:
        done = (exc.args[0] if isinstance(exc, Interrupted)
                else "stopped without printing the table or writing any file")
        parser.exit(130, f"{PROG}: interrupted: {done}\n")
