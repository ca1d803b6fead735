"""The ``centered-nn`` command: compare centring setups by cross-validation.

``centered-nn compare`` runs :func:`sklearn.model_selection.cross_validate` on
one pipeline per (setup, activation) pair and reads the training diagnostics
(``n_iter_``, ``loss_curve_``, ``gradient_sign_history_``) straight from the
fitted estimators. See ``centered-nn compare --help``.

The command is table-driven: :data:`SETUPS` maps a setup name to the pipeline
parameters it sets, :data:`TASKS` a task name to its estimator, score and
datasets. Adding a setup or a task is one entry there.
"""

import argparse
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn import datasets
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from .. import __version__
from .._estimators.classifier import MLPClassifier
from .._estimators.regressor import MLPRegressor
from .interrupt import CheckedScorer, InterruptGuard
from .report import cell, columns, format_table, json_bytes, jsonable, plot_bytes
from .csv_data import CSVError, read_csv
from .outputs import BrokenStdout, Interrupted, OutputError, check_output, print_and_write
from ..activations import ACTIVATIONS
from ..exceptions import DIVERGENCE_FACTOR, diverged
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
DEFAULT_ACTIVATIONS = ("relu", "tanh", "logistic")
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

Each pair is run through sklearn's cross_validate (stratified folds for
classification, --n-jobs workers), with a progress line on stderr after it.
Figures are means over folds: held-out score (± std), iterations, final training
loss, fit seconds per fold, and the first-layer (L0) gradient_sign_history_
averaged over iterations: 'same-sign' = fraction of units whose minibatch weight
gradient has one sign, 'sample same-sign' = the same for per-sample gradients.
One-line notes count fits that hit --max-iter or diverged (loss ended > 10x its first).

Every option is checked before the first fit. Ctrl-C stops the whole run (exit
status 130) without printing the table or writing any file. Output files are
written to a temporary file beside them and renamed into place once all are
complete: a failed run leaves the old files as they were.

--json writes an object: package version, dataset or CSV path, target, task,
folds, random state, model parameters, setups and the rows of the table.
--plot refits each pair on the full data and draws those two first-layer figures
per iteration, one panel per activation, in the format of the file's extension
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
        description="Cross-validate centring setups x activations on a dataset and print\n"
        "the score, iterations, final loss, gradient-sign figures and fit time.",
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
                     help="maximum SGD epochs per fit (default: 50; 5 with --quick)")
    cmp.add_argument("--learning-rate", type=_learning_rate, default=0.1, metavar="LR",
                     help="SGD learning_rate_init (default: 0.1)")
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
                     help="also write the settings and rows as a JSON object")
    cmp.add_argument("--plot", metavar="PATH",
                     help="also write the gradient-sign curves (.png, .pdf or .svg)")
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
        learning_rate_init=args.learning_rate, batch_size=args.batch_size,
        max_iter=args.max_iter, random_state=args.random_state,
    )
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp)])


def _make_pipeline(task, setup, activation, args):
    return _base_pipeline(task, args, activation).set_params(**SETUPS[setup].params)


def _fit_failed(setup, activation, args, exc):
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return CLIError(f"fitting setup={setup} activation={activation} with --learning-rate "
                    f"{args.learning_rate:g} failed: {message}")


def _fit_notes(mlps, args):
    """Counts of fits that hit --max-iter and of fits that diverged (the estimators' rule,
    the one behind their DivergenceWarning)."""
    capped = sum(m.n_iter_ >= args.max_iter for m in mlps)
    return np.array([capped, sum(diverged(m.loss_curve_) for m in mlps)])


def _summarise(setup, activation, result, task):
    mlps = [pipeline[-1] for pipeline in result["estimator"]]
    signs = {metric: np.mean([np.nanmean(m.gradient_sign_history_[metric][:, 0]) for m in mlps])
             for metric in ("same_sign_fraction", "sample_same_sign_fraction")}
    score = f"cv_{task.scoring}"
    values = {
        f"{score}_mean": np.mean(result["test_score"]),
        f"{score}_std": np.std(result["test_score"]),
        "n_iter": np.mean([m.n_iter_ for m in mlps]),
        "final_loss": np.mean([m.loss_curve_[-1] for m in mlps]),
        **signs,
        "fit_time": np.mean(result["fit_time"]),
    }
    return {"setup": setup, "activation": activation,
            **{k: float(v) if np.isfinite(v) else None for k, v in values.items()}}


def _cross_validate_all(X, y, args, task):
    """One cross_validate per (setup, activation); a progress line after each."""
    pairs = [(s, a) for a in args.activations for s in args.setups]
    rows, notes = [], np.zeros(2, dtype=int)
    for i, (setup, activation) in enumerate(pairs, start=1):
        start = time.perf_counter()
        try:
            result = cross_validate(_make_pipeline(task, setup, activation, args), X, y,
                                    cv=args.cv, n_jobs=args.n_jobs, return_estimator=True,
                                    scoring=CheckedScorer(task.scoring), error_score="raise")
        except ValueError as exc:
            raise _fit_failed(setup, activation, args, exc) from None
        InterruptGuard.check()
        notes += _fit_notes([p[-1] for p in result["estimator"]], args)
        rows.append(_summarise(setup, activation, result, task))
        mean_key = f"cv_{task.scoring}_mean"
        print(f"[{i}/{len(pairs)}] setup={setup} activation={activation}: {task.scoring} "
              f"{cell(rows[-1], mean_key, '.3f')} over {args.cv} folds "
              f"in {time.perf_counter() - start:.2f} s", file=sys.stderr, flush=True)
    n_fits = len(pairs) * args.cv
    capped, n_diverged = notes
    if capped:
        print(f"note: {capped} of {n_fits} fits stopped at --max-iter {args.max_iter} before "
              "converging", file=sys.stderr)
    if n_diverged:
        print(f"note: {n_diverged} of {n_fits} fits diverged: their training loss ended more "
              f"than {DIVERGENCE_FACTOR:g}x above their first epoch's (try a smaller "
              f"--learning-rate than {args.learning_rate:g})", file=sys.stderr)
    return rows


def _refit_histories(X, y, args, task):
    """Refit every pair on the full data for --plot; return their gradient-sign histories."""
    histories = {}
    pairs = [(s, a) for a in args.activations for s in args.setups]
    for i, (setup, activation) in enumerate(pairs, start=1):
        start = time.perf_counter()
        try:
            mlp = _make_pipeline(task, setup, activation, args).fit(X, y)[-1]
        except ValueError as exc:
            raise _fit_failed(setup, activation, args, exc) from None
        InterruptGuard.check()
        histories[(setup, activation)] = mlp.gradient_sign_history_
        print(f"--plot refit {i}/{len(pairs)}: setup={setup} activation={activation} on all "
              f"{X.shape[0]} samples in {time.perf_counter() - start:.2f} s",
              file=sys.stderr, flush=True)
    return histories


def _json_document(args, task, name, X, rows):
    base = _base_pipeline(task, args)
    parameters = {k: jsonable(v) for k, v in base[-1].get_params().items()
                  if k != "activation"}  # the rows' activation
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
        "pipeline": [[step, type(est).__name__] for step, est in base.steps],
        "model_parameters": parameters,
        "setups": {s: SETUPS[s].params for s in args.setups},
        "activations": list(args.activations),
        "rows": rows,
    }
    return json_bytes(document)


def _compare(args):
    task = TASKS[args.task]
    args.cv = args.cv or (2 if args.quick else 3)
    args.max_iter = args.max_iter or (5 if args.quick else 50)
    args.activations = args.activations or (("relu",) if args.quick else DEFAULT_ACTIVATIONS)
    outputs = _check_outputs(args)
    if "plot" in outputs:
        try:
            import matplotlib.figure  # noqa: F401
        except ImportError:
            raise CLIError(f"--plot needs matplotlib: {PLOT_HINT}") from None
    X, y, name = _load_data(args, task)
    _check_batch_size(X, y, args, task)
    with InterruptGuard(), warnings.catch_warnings():
        # Fits warn about what the notes report (ConvergenceWarning) or what was
        # checked above; sklearn forwards this filter to joblib workers.
        warnings.simplefilter("ignore")
        rows = _cross_validate_all(X, y, args, task)
        contents = {}
        if "json" in outputs:
            contents["json"] = _json_document(args, task, name, X, rows)
        if "plot" in outputs:
            title = (f"{name}: first-layer gradient signs per epoch, each setup refit on the "
                     f"full data ({X.shape[0]} samples; the table's scores are "
                     "cross-validated)")
            contents["plot"] = plot_bytes(_refit_histories(X, y, args, task), args.setups,
                                          args.activations, title,
                                          outputs["plot"].suffix.lower().lstrip("."))
        InterruptGuard.check()
        try:
            print_and_write(format_table(rows, columns(task)),
                            {option: (outputs[option], data) for option, data in contents.items()})
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
    setup  activation    cv accuracy  iterations  final loss  same-sign L0 ...
    -----  ----------  -------------  ----------  ----------  ------------ ...
    raw    relu        0... ± 0...            5.0 ...
    mean   relu        0... ± 0...            5.0 ...
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
