"""Running the fits of a centring study: the grid of estimators, one fit, the parallel loop.

Every fit returns a plain record (status, score, curves), so that workers send back
numbers, not estimators, and a failed or diverged fit is an outcome like any other.
"""

import copy
import sys
import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ..diagnostics._history import find_mlp
from ..exceptions import diverged

#: the part of a ValueError that says the weights became non-finite (the estimators' message)
NON_FINITE = "non-finite"
SIGN_METRICS = ("same_sign_fraction", "sample_same_sign_fraction")


def mlp_prefix(estimator):
    """The parameter prefix of the MLP inside ``estimator`` ('' or e.g. 'mlp__')."""
    keys = [k for k in estimator.get_params(deep=True)
            if k == "learning_rate_init" or k.endswith("__learning_rate_init")]
    if len(keys) != 1:
        found = "none" if not keys else ", ".join(keys)
        raise ValueError("estimator must be an MLP or a Pipeline holding exactly one step "
                         f"with a learning_rate_init parameter; found {found}.")
    return keys[0][: -len("learning_rate_init")]


def study_seed(estimator, prefix, random_state):
    """One integer seed for every fit: `random_state`, else the MLP's own one.

    A RandomState instance is copied before drawing, so the caller's is not advanced.
    """
    seed = random_state if random_state is not None else (
        estimator.get_params()[prefix + "random_state"])
    if isinstance(seed, Integral) and not isinstance(seed, bool):
        return int(seed)
    return int(check_random_state(copy.deepcopy(seed)).randint(np.iinfo(np.int32).max))


def check_setups(estimator, setups, prefix):
    """Validate ``setups`` (name -> parameters) and return {name: dict(parameters)}."""
    if not isinstance(setups, dict) or not setups:
        raise ValueError("setups must be a non-empty dict mapping a setup name to a dict of "
                         f"parameters, e.g. {{'raw': {{}}}}; got {setups!r}.")
    # the study sets the rate and the seed; the epoch budget is shared so that the speed
    # figure (the loss curve's mean over max_iter epochs) compares setups over the same span
    reserved = {prefix + "learning_rate_init", prefix + "random_state", prefix + "max_iter"}
    checked = {}
    for name, params in setups.items():
        if not isinstance(name, str) or not isinstance(params, dict):
            raise ValueError(f"setups must map str names to dicts of parameters; got "
                             f"{name!r}: {params!r}.")
        taken = reserved.intersection(params)
        if taken:
            raise ValueError(f"setup {name!r} sets {min(taken)!r}, which the study sets "
                             "itself (learning_rates, random_state) or shares between the "
                             "setups (max_iter: set it on the estimator).")
        clone(estimator).set_params(**params)  # unknown parameters raise here, before any fit
        checked[name] = dict(params)
    return checked


def check_learning_rates(learning_rates):
    """Return the rates as a sorted float array of distinct positive finite values."""
    rates = np.asarray(learning_rates, dtype=np.float64).ravel()
    if rates.size == 0 or not (np.isfinite(rates) & (rates > 0)).all():
        raise ValueError("learning_rates must be a non-empty list of positive finite numbers; "
                         f"got {learning_rates!r}.")
    return np.unique(rates)


def _failure(status, fit_time, score):
    return {"status": status, "test_score": score, "fit_time": fit_time, "n_iter": np.nan,
            "loss_curve": np.empty(0), "validation_loss_curve": None,
            "gradient_sign_history": None, **{m: np.empty(0) for m in SIGN_METRICS}}


def _record(mlp, status, fit_time, score):
    history = getattr(mlp, "gradient_sign_history_", None) or {}
    validation = getattr(mlp, "validation_loss_curve_", None)
    return {"status": status, "test_score": score, "fit_time": fit_time,
            "n_iter": float(mlp.n_iter_), "loss_curve": np.asarray(mlp.loss_curve_, float),
            "validation_loss_curve": None if validation is None else np.asarray(validation,
                                                                                 float),
            "gradient_sign_history": {k: np.array(v) for k, v in history.items()} or None,
            **{m: (np.asarray(history[m], float)[:, 0] if m in history else np.empty(0))
               for m in SIGN_METRICS}}


def fit_one(estimator, X, y, split, scorer, error_score):
    """Fit on the training part of `split`, score on its test part; return the record.

    A ValueError about non-finite weights, or a loss curve that ends diverged (the rule
    of :func:`centered_nn.exceptions.diverged`), gives status 'diverged' whatever
    `error_score` is. Other exceptions raise when ``error_score='raise'``; otherwise they
    give status 'failed', the score `error_score` and a FitFailedWarning, as in
    GridSearchCV. Convergence warnings are not re-emitted: the record holds the outcome.
    """
    train, test = split
    start = time.perf_counter()
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        except Exception as exc:
            if not (isinstance(exc, ValueError) and NON_FINITE in str(exc)) and (
                    isinstance(error_score, str) and error_score == "raise"):
                raise
            failure = exc
    fit_time = time.perf_counter() - start
    if failure is not None:
        if isinstance(failure, ValueError) and NON_FINITE in str(failure):
            return _failure("diverged", fit_time, np.nan)
        warnings.warn(f"A fit failed; its score is set to {error_score}: {failure!r}",
                      FitFailedWarning)
        return _failure("failed", fit_time, float(error_score))
    mlp = find_mlp(estimator)
    status = "diverged" if diverged(mlp.loss_curve_) else "ok"
    if status == "ok":
        for w in caught:
            if not issubclass(w.category, (ConvergenceWarning, RuntimeWarning)):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with warnings.catch_warnings():
        if status == "diverged":  # huge but finite weights overflow in predict
            warnings.simplefilter("ignore", RuntimeWarning)
        score = scorer(estimator, _safe_indexing(X, test), _safe_indexing(y, test))
    return _record(mlp, status, fit_time, float(score))


def run_fits(estimator, X, y, grid, n_jobs, verbose):
    """Fit every (setup, rate, split) of ``grid``; return {(setup, rate index, split): record}.

    ``grid`` holds the setups, the rate key and rates, the splits, the seed key and seed,
    the scorer and error_score. With ``verbose > 0`` a line goes to stderr after each
    setup's fits.
    """
    tasks = [(name, r, k) for name in grid["setups"] for r in range(len(grid["rates"]))
             for k in range(len(grid["splits"]))]

    def make(name, r):
        params = {**grid["setups"][name], grid["rate_key"]: float(grid["rates"][r]),
                  grid["seed_key"]: grid["seed"]}
        return clone(estimator).set_params(**params)

    parallel = Parallel(n_jobs=n_jobs, return_as="generator")
    results = parallel(delayed(fit_one)(make(name, r), X, y, grid["splits"][k],
                                        grid["scorer"], grid["error_score"])
                       for name, r, k in tasks)
    records, per_setup = {}, len(grid["rates"]) * len(grid["splits"])
    start = time.perf_counter()
    for i, (task, record) in enumerate(zip(tasks, results), start=1):
        records[task] = record
        if verbose > 0 and i % per_setup == 0:
            name = task[0]
            n_div = sum(records[(name, r, k)]["status"] == "diverged"
                        for r in range(len(grid["rates"])) for k in range(len(grid["splits"])))
            print(f"[{i // per_setup}/{len(grid['setups'])}] setup={name}: {per_setup} fits "
                  f"({n_div} diverged) in {time.perf_counter() - start:.2f} s",
                  file=sys.stderr, flush=True)
            start = time.perf_counter()
    return records


def check_error_score(error_score):
    if isinstance(error_score, str) and error_score == "raise":
        return error_score
    if isinstance(error_score, Real) and not isinstance(error_score, bool):
        return error_score
    raise ValueError(f"error_score must be 'raise' or a number; got {error_score!r}.")
