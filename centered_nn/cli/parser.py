"""The ``centered-nn`` command's tables and argument parser.

The command is table-driven: :data:`SETUPS` maps a setup name to the pipeline
parameters it sets, :data:`TASKS` a task name to its estimator, score and
datasets. Adding a setup or a task is one entry there; the parser, its --help
text and the checks of its arguments are built from them.
"""

import argparse
import difflib
import importlib
import math
from dataclasses import dataclass

from .. import __version__

# Nothing heavy is imported here: ``centered-nn --help`` and usage errors answer
# without numpy, scikit-learn or the estimators (over a second of imports).
# They are imported by the functions that use them, once a run starts.


PROG = "centered-nn"


@dataclass(frozen=True)
class Setup:
    """A centring setup: parameters set on the base pipeline, a one-line description, and
    the smallest --batch-size it can train with (checked before any fit)."""

    params: dict
    description: str
    min_batch_size: int = 1


@dataclass(frozen=True)
class Task:
    """What is predicted: the estimator, how it is scored, which datasets fit it.

    ``estimator(**params)`` builds the estimator: its class, or a
    :class:`PackageEstimator`, which imports it on first use.
    ``prepare_target(y, args)`` checks (and may convert) the target column and
    returns it; it raises :class:`CLIError` for a target the task cannot use.
    """

    estimator: object
    scoring: str
    score_label: str
    default_dataset: str
    datasets: tuple
    prepare_target: object


@dataclass(frozen=True)
class PackageEstimator:
    """centered_nn's estimator ``name`` for :class:`Task`, imported when first built."""

    name: str

    def __call__(self, **params):
        return getattr(importlib.import_module("centered_nn"), self.name)(**params)


class CLIError(Exception):
    """A user error: reported as one line on stderr with exit status 2."""


def _class_labels(y, args):
    """Check classification labels: two classes or more, enough of each for the folds."""
    import numpy as np

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
    import numpy as np

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
                   "every layer", min_batch_size=2),
    "gc": Setup({"mlp__gradient_centralization": True},
                "gradient_centralization=True: each unit's weight gradient made zero-mean"),
}
#: task name -> Task
TASKS = {
    "classification": Task(
        estimator=PackageEstimator("MLPClassifier"), scoring="accuracy",
        score_label="cv accuracy",
        default_dataset="digits", datasets=("digits", "iris", "wine", "breast_cancer"),
        prepare_target=_class_labels,
    ),
    "regression": Task(
        estimator=PackageEstimator("MLPRegressor"), scoring="r2", score_label="cv R²",
        default_dataset="diabetes", datasets=("diabetes",),
        prepare_target=_standardised_target,
    ),
}
#: the built-in names of centered_nn.activations.ACTIVATIONS (a test keeps them equal),
#: written out for --help, which imports no registry; values are checked against it
ACTIVATION_NAMES = ("identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "selu",
                    "softplus", "centered_logistic", "lecun_tanh")
DEFAULT_ACTIVATIONS = ("relu", "tanh")
DEFAULT_LEARNING_RATES = (0.03, 0.1, 0.3, 1.0, 3.0)
QUICK_LEARNING_RATES = (0.1, 1.0)
#: repeats (seeds) of the CV folds: 2 x 3 folds = 6 paired runs, intervals that mean
#: something within a minute of two cores for the default digits run
DEFAULT_REPEATS = 2
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

Every setup is fitted at every rate of --learning-rates on every run: --repeats
seeds x --cv folds (stratified for classification, --n-jobs workers). Within a run
every setup starts from the same initial weights and minibatch order, so the setups
are compared run by run: centered_nn.model_selection.centering_study, once per
activation, with a progress line on stderr after each setup.

The target training loss of a run, unless --target-loss is given, is the final loss
of the --reference setup (default: the first of --setups) at its best rate: the
other setups never move it. A fit reaches the target only if its loss fell below its
first epoch's. Per (setup, activation) the table shows:
  fastest rate         the rate with the fewest mean epochs to the target, every run
                       reaching it (never the one with the best score)
  epochs to target     at that rate, mean ± std over runs
  speedup [95% interval]  per run, the reference's epochs over the setup's, each at
                       its fastest rate: geometric mean, t interval of the log ratios
                       widened by one epoch (a one-epoch gap never counts)
  vs reference         'faster' or 'slower' only when the interval excludes 1, else
                       'no clear difference'; 'not reached' when the setup reaches the
                       reference's target at no rate
  trainable up to      the highest rate at which every run reached the target
  diverged or stalled  rates where a run's weights became non-finite or its loss ended
                       more than 10x above its first (a row, never an error), and
                       rates that neither trained nor diverged
  cv score             held-out score at the fastest rate, mean over runs
  L0 sample same-sign  fraction of first-layer units whose per-sample weight gradients
                       share one sign (gradient_sign_history_), mean over epochs
--wide adds the seconds to the target, every figure's mean (± std) and the rates
apart. Under the table, one sentence per activation says the answer no further than
the intervals allow, then the targets per run and these rules.

Every option is checked before the first fit. Ctrl-C stops the whole run (exit
status 130) without printing the table or writing any file. Output files are
written to a temporary file beside them and renamed into place once all are
complete: a failed run leaves the old files as they were.

--json writes an object: package version, dataset or CSV path, target, task,
folds, repeats, reference, random state, learning rates, model parameters, setups,
the rows (every summary figure), and per activation the seeds, the targets per run,
the rules and every fit's figures and curves.
--plot draws the study per activation (loss at the fastest rates, median and band
over runs; epochs and CV score against the rate; first-layer signs per epoch) in
the format of the file's extension ({', '.join('.' + f for f in PLOT_FORMATS)}). It needs matplotlib:
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

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown option is reported by its command with a suggestion."""
        namespace, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command = getattr(self, "commands", {}).get(getattr(namespace, "command", None), self)
            command.error(f"unrecognized arguments: {' '.join(unknown)}"
                          f"{_suggestion(command, unknown)}")
        return namespace


def _suggestion(parser, unknown):
    """'; did you mean --json?' for the first unknown option close to one of ``parser``'s."""
    options = [name for action in parser._actions for name in action.option_strings]
    for text in unknown:
        if text.startswith("--"):
            close = difflib.get_close_matches(text.split("=")[0], options, n=1, cutoff=0.6)
            if close:
                return f"; did you mean {close[0]}?"
    return ""


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


def _names(kind, registry_of):
    """Parse 'a,b' into names of the mapping ``registry_of()`` returns when a value comes."""
    def parse(text):
        registry = registry_of()
        names = [name.strip() for name in text.split(",") if name.strip()]
        unknown = [name for name in names if name not in registry]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"unknown {kind} {', '.join(map(repr, unknown)) or repr(text)}; "
                f"choose from {', '.join(registry)}"
            )
        return tuple(dict.fromkeys(names))

    return parse


def _activations():
    """The live registry: a user's registered activation is accepted too."""
    from ..activations import ACTIVATIONS

    return ACTIVATIONS


def _build_parser():
    parser = _Parser(prog=PROG, description="Measure how zero-centring affects MLP training.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = commands.choices  # {name: its parser}, for unknown options
    cmp = commands.add_parser(
        "compare",
        help="cross-validate centring setups and print a table",
        description="Fit centring setups x activations x learning rates on repeated CV\n"
        "folds and print, per setup, its fastest rate and its speedup over a reference\n"
        "setup with a 95% interval, the rates that train, diverge or stall, the score\n"
        "and a gradient-sign figure.",
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
    cmp.add_argument("--activations", type=_names("activation", _activations), metavar="A,B",
                     help="comma-separated hidden activations from "
                     f"{', '.join(ACTIVATION_NAMES)} "
                     f"(default: {','.join(DEFAULT_ACTIVATIONS)}; relu with --quick)")
    cmp.add_argument("--setups", type=_names("setup", lambda: SETUPS), default=tuple(SETUPS),
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
                     help="the training loss counted to (default: per run, the "
                     "reference's final loss at its best rate, see below)")
    cmp.add_argument("--batch-size", type=_batch_size, default="auto", metavar="B",
                     help="minibatch size, at most the smallest training fold, or 'auto' = "
                     "min(200, n_samples) (default: auto)")
    cmp.add_argument("--random-state", type=_seed, default=0, metavar="SEED",
                     help=f"seed for weights and minibatch order of the first repeat (the "
                     f"others derive theirs from it), 0 to {MAX_SEED} (default: 0)")
    cmp.add_argument("--n-jobs", type=_n_jobs, default=1, metavar="N",
                     help="parallel CV fits, -1 for all cores (default: 1)")
    cmp.add_argument("--repeats", type=_positive_int, metavar="N",
                     help="repeat the CV folds with N seeds, each shared by every setup: "
                     f"N x K paired runs (default: {DEFAULT_REPEATS}; 1 with --quick)")
    cmp.add_argument("--reference", metavar="SETUP",
                     help="the setup the others are compared with; its loss sets the "
                     "target (default: the first of --setups)")
    cmp.add_argument("--wide", action="store_true",
                     help="print every column (wider than 120 characters)")
    cmp.add_argument("--quick", action="store_true",
                     help="tiny settings for smoke tests (explicit options still win)")
    cmp.add_argument("--json", metavar="PATH",
                     help="also write the settings, rows, per-fit figures and curves as JSON")
    cmp.add_argument("--plot", metavar="PATH",
                     help="also draw the study per activation (.png, .pdf or .svg)")
    return parser


# --- checks done before any fit ------------------------------------------------
