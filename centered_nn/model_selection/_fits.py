"""Running the fits of a centring study: one fit, the grid of estimators, the parallel loop.

Every fit returns a :class:`FitRecord` (status, scores, times, curves), so that workers
send back numbers, not estimators, and a failed or diverged fit is an outcome like any
other.
"""

import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed

from ..diagnostics._history import find_mlp
from .._interrupts import InterruptGuard
from ..exceptions import DivergenceError, diverged

SIGN_METRICS = ("same_sign_fraction", "sample_same_sign_fraction")


@dataclass(frozen=True)
class FitRecord:
    """What one fit of a study leaves: its outcome, scores, times and per-epoch curves.

    ``status`` is 'ok', 'diverged' (a :class:`~centered_nn.exceptions.DivergenceError`,
    or a loss curve ending above 10 times its start: the curves are kept) or 'failed'
    (another error, scored `error_score`; ``error`` holds its traceback).
    """

    status: str
    test_score: float
    fit_time: float
    score_time: float = np.nan
    n_iter: float = np.nan
    loss_curve: np.ndarray = field(default_factory=lambda: np.empty(0))
    validation_loss_curve: np.ndarray = None
    gradient_sign_history: dict = None
    same_sign_fraction: np.ndarray = field(default_factory=lambda: np.empty(0))
    sample_same_sign_fraction: np.ndarray = field(default_factory=lambda: np.empty(0))
    error: str = None

    @classmethod
    def from_mlp(cls, mlp, status, fit_time, score, score_time):
        """The record of a fit that returned: the MLP's curves and histories."""
        history = getattr(mlp, "gradient_sign_history_", None) or {}
        validation = getattr(mlp, "validation_loss_curve_", None)
        return cls(
            status=status, test_score=score, fit_time=fit_time, score_time=score_time,
            n_iter=float(mlp.n_iter_), loss_curve=np.asarray(mlp.loss_curve_, float),
            validation_loss_curve=None if validation is None else np.asarray(validation,
                                                                             float),
            gradient_sign_history={k: np.array(v) for k, v in history.items()} or None,
            **{m: np.asarray(history[m], float)[:, 0] for m in SIGN_METRICS if m in history})


def _raises(error_score):
    return isinstance(error_score, str) and error_score == "raise"


def _failed(exc, fit_time, error_score, score_time=np.nan):
    """The record of a fit or a scoring that raised, with a FitFailedWarning."""
    warnings.warn(f"A fit failed; its score is set to {error_score}: {exc!r}",
                  FitFailedWarning)
    return FitRecord(status="failed", test_score=float(error_score), fit_time=fit_time,
                     score_time=score_time, error="".join(traceback.format_exception_only(
                         type(exc), exc)).strip())


def fit_one(estimator, X, y, split, scorer, error_score):
    """Fit on the training part of `split`, score on its test part; return a FitRecord.

    A :class:`~centered_nn.exceptions.DivergenceError` raised by the fit, or a loss
    curve that ends diverged (the rule of :func:`centered_nn.exceptions.diverged`),
    gives status 'diverged' whatever `error_score` is. Any other exception, in the fit
    or in the scorer, raises when ``error_score='raise'``; otherwise it gives status
    'failed', the score `error_score` and a FitFailedWarning, as in cross_validate.
    Convergence warnings are not re-emitted: the record holds the outcome.
    """
    train, test = split
    start = time.perf_counter()
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        except DivergenceError:
            return FitRecord(status="diverged", test_score=np.nan,
                             fit_time=time.perf_counter() - start)
        except Exception as exc:
            if _raises(error_score):
                raise
            failure = exc
    fit_time = time.perf_counter() - start
    InterruptGuard.check()  # a fit cut short by Ctrl-C is not scored
    if failure is not None:  # warned outside the block that records the fit's warnings
        return _failed(failure, fit_time, error_score)
    mlp = find_mlp(estimator)
    status = "diverged" if diverged(mlp.loss_curve_) else "ok"
    if status == "ok":
        for w in caught:
            if not issubclass(w.category, (ConvergenceWarning, RuntimeWarning)):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    start = time.perf_counter()
    with warnings.catch_warnings():
        if status == "diverged":  # huge but finite weights overflow in predict
            warnings.simplefilter("ignore", RuntimeWarning)
        try:
            score = float(scorer(estimator, _safe_indexing(X, test), _safe_indexing(y, test)))
        except Exception as exc:
            if _raises(error_score):
                raise
            return _failed(exc, fit_time, error_score, time.perf_counter() - start)
    return FitRecord.from_mlp(mlp, status, fit_time, score, time.perf_counter() - start)


def refuse_setups_that_cannot_run(estimator, X, y, grid, interrupts):
    """Fit every setup for one epoch on the first run's training part, before the study:
    a setup that fails there while another runs cannot run with this estimator and data.

    When every setup fails, the study itself reports it (as cross_validate does).
    """
    train = grid["runs"][0][1][0]
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    errors = {}
    for name, params in grid["setups"].items():
        model = clone(estimator).set_params(**params, **{
            grid["rate_key"]: float(grid["rates"][0]), grid["seed_key"]: grid["runs"][0][0],
            grid["prefix"] + "max_iter": 1})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X_train, y_train)
        except DivergenceError:
            pass  # an outcome the study records
        except Exception as exc:
            errors[name] = exc
        interrupts.check()
    if errors and len(errors) < len(grid["setups"]):
        name, exc = next(iter(errors.items()))
        raise ValueError(f"setups: {name!r} cannot run with this estimator and data "
                         f"({', '.join(map(repr, errors))} failed, others ran): "
                         f"{type(exc).__name__}: {exc}") from exc


def run_fits(estimator, X, y, grid, n_jobs, verbose, interrupts):
    """Fit every (setup, rate, run) of ``grid``; return {(setup, rate index, run): record}.

    ``grid`` holds the setups, the rate key and rates, the runs (each a (seed, split)
    pair), the seed key, the scorer and error_score. With ``verbose > 0`` a line goes
    to stderr after each setup's fits. `interrupts` (a :class:`InterruptGuard`) is
    checked after every fit. Raises as cross_validate does when every fit failed.
    """
    n_rates, n_runs = len(grid["rates"]), len(grid["runs"])
    tasks = [(name, r, k) for name in grid["setups"] for r in range(n_rates)
             for k in range(n_runs)]

    def make(name, r, k):
        params = {**grid["setups"][name], grid["rate_key"]: float(grid["rates"][r]),
                  grid["seed_key"]: grid["runs"][k][0]}
        return clone(estimator).set_params(**params)

    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    records, per_setup = {}, n_rates * n_runs
    results = parallel(delayed(fit_one)(make(*task), X, y, grid["runs"][task[2]][1],
                                        grid["scorer"], grid["error_score"])
                       for task in tasks)
    start = time.perf_counter()
    for i, (task, record) in enumerate(zip(tasks, results), start=1):
        interrupts.check()
        records[task] = record
        if verbose > 0 and i % per_setup == 0:
            _progress(records, task[0], i // per_setup, grid, time.perf_counter() - start)
            start = time.perf_counter()
    _raise_if_all_failed(records.values())
    return records


def _progress(records, name, done, grid, seconds):
    n_div = sum(record.status == "diverged" for (setup, _, _), record in records.items()
                if setup == name)
    per_setup = len(grid["rates"]) * len(grid["runs"])
    print(f"[{done}/{len(grid['setups'])}] setup={name}: {per_setup} fits ({n_div} diverged) "
          f"in {seconds:.2f} s", file=sys.stderr, flush=True)


def _raise_if_all_failed(records):
    """Raise a ValueError as cross_validate does when no fit succeeded."""
    records = list(records)
    errors = Counter(record.error for record in records if record.status == "failed")
    if sum(errors.values()) < len(records):
        return
    details = "\n".join(f"{'-' * 80}\n{n} fits failed with the following error:\n{error}"
                        for error, n in errors.items())
    raise ValueError(f"\nAll the {len(records)} fits failed.\nIt is very likely that your "
                     "model is misconfigured.\nYou can try to debug the error by setting "
                     f"error_score='raise'.\n\nBelow are more details about the failures:\n"
                     f"{details}")
