"""The ``centered-nn compare`` run: compare centring setups by their training speed and stability.

It runs :func:`centered_nn.model_selection.centering_study` once per activation
(every setup × learning rate × CV fold from one seed) and prints, per (setup,
activation), the fastest rate, the epochs to the target loss there, the rates
that diverged, the CV score and the gradient-sign figures. The tables and the
parser live in :mod:`.parser`. See ``centered-nn compare --help``.
"""

import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from sklearn import datasets
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from .. import __version__
from .interrupt import InterruptGuard
from .report import json_bytes, jsonable, plot_bytes, study_json
from .table import columns, format_table, sentence, setup_figures, wrap
from .csv_data import CSVError, read_csv
from .outputs import BrokenStdout, Interrupted, OutputError, check_output, print_and_write
from ..diagnostics import InputEigenvalueRatio
from ..exceptions import DIVERGENCE_FACTOR
from ..model_selection import STUDY_FIGURES, centering_study
from ..preprocessing import Centerer
from .parser import (
    DEFAULT_ACTIVATIONS, DEFAULT_LEARNING_RATES, DEFAULT_REPEATS, HIDDEN_LAYER_SIZES,
    PLOT_FORMATS, PLOT_HINT, PROG, QUICK_LEARNING_RATES, SETUPS, TASKS, CLIError, _build_parser,
)

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
    """A fixed --batch-size must suit every setup and fit in every training fold (scikit-learn
    would clip it silently)."""
    if args.batch_size == "auto":
        return
    for name in args.setups:
        least = SETUPS[name].min_batch_size
        if args.batch_size < least:
            raise CLIError(f"--batch-size {args.batch_size} cannot run the setup {name!r}, "
                           f"which needs minibatches of at least {least} samples "
                           f"({SETUPS[name].description}); use --batch-size {least} or more, "
                           f"or leave {name} out of --setups")
    splitter = check_cv(args.cv, y, classifier=is_classifier(task.estimator()))
    smallest = min(len(train) for train, _ in splitter.split(X, y))
    if args.batch_size > smallest:
        raise CLIError(f"--batch-size {args.batch_size} is larger than the smallest training "
                       f"fold ({smallest} of {X.shape[0]} samples with --cv {args.cv}); "
                       f"use at most {smallest}, or 'auto'")


# --- the run ----------------------------------------------------------------------


def _recorded_metrics():
    """What each fit records: the sign fractions the table and the figure show, and the
    first layer's input curvature for the JSON and ``--wide`` (at the first layer only:
    its exact decomposition costs about as much as a forward pass)."""
    return ["same_sign_fraction", "sample_same_sign_fraction",
            InputEigenvalueRatio(layers=[0])]


def _base_pipeline(task, args, activation="relu"):
    """MinMaxScaler -> Centerer(strategy='none') -> the task's estimator: the 'raw' setup."""
    mlp = task.estimator(
        hidden_layer_sizes=HIDDEN_LAYER_SIZES, activation=activation, solver="sgd",
        learning_rate_init=args.learning_rates[0], batch_size=args.batch_size,
        max_iter=args.max_iter, random_state=args.random_state,
        record_gradient_signs=_recorded_metrics(),
    )
    return Pipeline([("scale", MinMaxScaler()), ("center", Centerer(strategy="none")),
                     ("mlp", mlp)])


#: how the speedup and its interval are computed (printed, and in the JSON)
SPEEDUP_RULE = (
    "per run, the reference's epochs to the target over the setup's, each at its fastest "
    "rate; their geometric mean over runs, with a 95% t interval of the log ratios widened "
    "by one epoch's resolution (low end from (reference - 1) / setup, high end from "
    "reference / (setup - 1)), so that a one-epoch gap never counts")


def _study(X, y, args, task, activation):
    """One centring study: every setup x rate x run for `activation`."""
    try:
        return centering_study(
            _base_pipeline(task, args, activation), X, y,
            setups={name: SETUPS[name].params for name in args.setups},
            learning_rates=args.learning_rates, reference=args.reference,
            n_repeats=args.repeats, cv=args.cv, scoring=task.scoring,
            target_loss=args.target_loss, n_jobs=args.n_jobs, random_state=args.random_state,
            error_score="raise", verbose=1)
    except ValueError as exc:  # not a divergence (the study records those): a real error
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "ValueError"
        raise CLIError(f"activation={activation}: {message}") from None


#: the verdict keys of ``study.summary[setup]``; the figures' statistics follow them
VERDICT = ("fastest_rate", "highest_trainable_rate", "diverged_rates", "stalled_rates",
           "speedup", "speedup_interval", "vs_reference")


def _plain(value):
    """A summary value as JSON data: lists for tuples, None for NaN."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _row(study, setup, activation):
    """The row of `setup` in `study`: its summary as JSON-ready values (None for NaN), the
    verdict first, then every figure's statistics at the fastest rate (from the registry)."""
    summary = study.summary[setup]
    keys = VERDICT + tuple(f"{name}_{statistic}" for name, figure in STUDY_FIGURES.items()
                           for statistic in figure.summary)
    return {"setup": setup, "activation": activation,
            **{key: _plain(summary[key]) for key in keys}}


def _run_studies(X, y, args, task):
    """One study per activation, progress on stderr; return ({activation: study}, rows)."""
    studies, rows = {}, []
    n_fits = len(args.setups) * len(args.learning_rates) * args.repeats * args.cv
    for i, activation in enumerate(args.activations, start=1):
        grid = (_count(len(args.setups), "setup"), _count(len(args.learning_rates), "rate"),
                _count(args.repeats, "repeat"), f"{args.cv} folds")
        print(f"activation={activation} ({i}/{len(args.activations)}): {' x '.join(grid)} = "
              f"{n_fits} fits", file=sys.stderr, flush=True)
        studies[activation] = _study(X, y, args, task, activation)
        InterruptGuard.check()
        rows += [_row(studies[activation], setup, activation) for setup in args.setups]
    n_diverged = sum(int(st.figures["diverged"].sum()) for st in studies.values())
    if n_diverged:
        print(wrap(f"note: {n_diverged} of {n_fits * len(studies)} fits diverged: non-finite "
                   f"weights, or a training loss ending more than {DIVERGENCE_FACTOR:g}x above "
                   "its first epoch's (see 'diverged or stalled')"), file=sys.stderr)
    return studies, rows


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _report(args, task, studies, rows):
    """The printed report: the table, a sentence per activation, then the targets and the
    rules, every line at most 120 columns."""
    title = (f"{_count(len(args.setups), 'setup')} against {args.reference}, each at "
             f"{_count(len(args.learning_rates), 'rate')} x {_count(args.repeats, 'repeat')} "
             f"x {args.cv} folds = {args.repeats * args.cv} paired runs per rate")
    table = format_table(rows, columns(task, STUDY_FIGURES, wide=args.wide), group="activation")
    sentences = [wrap(sentence(activation, [r for r in rows if r["activation"] == activation],
                               given=args.target_loss is not None))
                 for activation in studies]
    targets = [wrap(f"target training loss per run, {activation}: "
                    + ", ".join(f"{t:.4g}" for t in study.target_loss))
               for activation, study in studies.items()]
    curvatures = [wrap(setup_figures(f"L0 input λ_max / mean λ, {activation}",
                                     [r for r in rows if r["activation"] == activation],
                                     "input_eigenvalue_ratio_mean", ".1f"))
                  for activation in studies]
    study = next(iter(studies.values()))
    rule = (study.target_rule if args.target_loss is None
            else f"--target-loss {args.target_loss:g} in every run")
    rules = wrap(
        f"target: {rule}. "
        "'epochs to target': the first epoch at or below it, at the setup's fastest rate "
        f"(mean ± std over runs). 'speedup': {SPEEDUP_RULE}. 'vs reference' says 'faster' or "
        "'slower' only when the interval excludes 1. 'trainable up to': the highest rate at "
        "which every run reached the target; 'stalled at': rates where some run did not and "
        "none diverged. 'L0 sample same-sign': the fraction of first-layer units whose "
        "per-sample weight gradients share one sign, mean over epochs. 'L0 input λ_max / "
        "mean λ': of the first layer's input second moment (a+b)ᵀ(a+b)/n at each step, the "
        "largest eigenvalue over the mean one, mean over the epochs at the fastest rate; an "
        "input mean adds an eigenvalue of about fan_in·mean², and the stable rate is about "
        "2/λ_max (LeCun et al. 1998, §4.3).")
    return "\n\n".join([f"{wrap(title)}\n{table}", "\n".join(sentences),
                         "\n".join(targets + curvatures) + "\n" + rules])


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
        "n_repeats": args.repeats,
        "reference": args.reference,
        "scoring": task.scoring,
        "random_state": args.random_state,
        "learning_rates": list(args.learning_rates),
        "target_loss": args.target_loss,
        "pipeline": [[step, type(est).__name__] for step, est in base.steps],
        "model_parameters": parameters,
        "setups": {s: SETUPS[s].params for s in args.setups},
        "activations": list(args.activations),
        "rows": rows,
        "studies": {activation: study_json(study, STUDY_FIGURES, SPEEDUP_RULE)
                    for activation, study in studies.items()},
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
    args.repeats = args.repeats or (1 if args.quick else DEFAULT_REPEATS)
    args.reference = args.reference or args.setups[0]
    if args.reference not in args.setups:
        raise CLIError(f"--reference {args.reference} is not among --setups "
                       f"{','.join(args.setups)}")


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
            title = (f"{name}: training speed and {task.score_label[3:]} per setup against "
                     f"{args.reference}, {args.repeats} x {args.cv}-fold CV, rates "
                     f"{', '.join(f'{r:g}' for r in args.learning_rates)}")
            contents["plot"] = plot_bytes(studies, title,
                                          outputs["plot"].suffix.lower().lstrip("."))
        InterruptGuard.check()
        try:
            print_and_write(_report(args, task, studies, rows), {option: (outputs[option], data)
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
    2 setups against raw, each at 2 rates x 1 repeat x 2 folds = 2 paired runs per rate
           fastest  epochs to           speedup  vs                   trainable  diverged or ...
    setup     rate     target    [95% interval]  reference                up to  stalled     ...
    -----  -------  ---------  ----------------  -------------------  ---------  ------------...
    activation=relu
    raw          1  5.0 ± 0.0                 -  reference                    1  stalled at 0.1 ...
    mean         1  3.5 ± 0.5  1.44 [0.19–26.8]  no clear difference          1  stalled at 0.1 ...
    <BLANKLINE>
    relu (raw trains at rates up to 1): mean: no clear difference (1.44x, 95% interval ...
    <BLANKLINE>
    target training loss per run, relu: 0.6907, 0.6578
    L0 input λ_max / mean λ, relu: raw 3.6, mean 3.3
    target: per run, the final training loss of the reference setup ...
    >>> status
    0
    """
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return _compare(args)
    except CLIError as exc:
        parser.exit(2, f"{PROG}: error: {exc}\n")
    except MemoryError:  # one line, as for any error the user can act on
        parser.exit(2, f"{PROG}: error: out of memory: lower --max-iter, --repeats, --cv or "
                    "the number of samples\n")
    except BrokenStdout:
        raise SystemExit(141) from None  # 128 + SIGPIPE: what the shell shows for `cat | head`
    except KeyboardInterrupt as exc:
        done = (exc.args[0] if isinstance(exc, Interrupted)
                else "stopped without printing the table or writing any file")
        if getattr(exc, "terminated", False):  # SIGTERM: 128 + 15, as the shell shows it
            parser.exit(143, f"{PROG}: terminated: {done}\n")
        parser.exit(130, f"{PROG}: interrupted: {done}\n")
