"""The arguments of a centring study, checked before any fit; the runs' seeds and splits."""

import copy
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import check_random_state

#: the solvers whose steps a learning rate sets (L-BFGS has none)
RATE_SOLVERS = ("sgd", "adam")


def mlp_prefix(estimator):
    """The parameter prefix of the MLP inside ``estimator`` ('' or e.g. 'mlp__')."""
    keys = [k for k in estimator.get_params(deep=True)
            if k == "learning_rate_init" or k.endswith("__learning_rate_init")]
    if len(keys) != 1:
        found = "none" if not keys else ", ".join(keys)
        raise ValueError("estimator must be an MLP or a Pipeline holding exactly one step "
                         f"with a learning_rate_init parameter; found {found}.")
    return keys[0][: -len("learning_rate_init")]


def check_setups(estimator, setups, prefix):
    """Validate ``setups`` (name -> parameters) and return {name: dict(parameters)}.

    A setup may not set what the study sets (rate, seed), the shared epoch budget, the
    solver, or replace the MLP step itself (its parameters would escape those checks).
    """
    if not isinstance(setups, Mapping) or not setups:
        raise ValueError("setups must be a non-empty dict mapping a setup name to a dict of "
                         f"parameters, e.g. {{'raw': {{}}}}; got {setups!r}.")
    mlp_step = prefix[:-2]
    # the study sets the rate and the seed; the epoch budget is shared so that the speed
    # figures compare setups over the same span; the solver decides what a rate means
    reserved = {prefix + "learning_rate_init", prefix + "random_state", prefix + "max_iter",
                prefix + "solver"}
    checked = {}
    for name, params in setups.items():
        if not isinstance(name, str) or not isinstance(params, Mapping):
            raise ValueError(f"setups must map str names to dicts of parameters; got "
                             f"{name!r}: {params!r}.")
        taken = reserved.intersection(params)
        if taken:
            raise ValueError(f"setup {name!r} sets {min(taken)!r}, which the study sets "
                             "itself (learning_rates, random_state) or shares between the "
                             "setups (max_iter, solver: set them on the estimator).")
        if mlp_step and mlp_step in params:
            raise ValueError(f"setup {name!r} replaces the MLP step {mlp_step!r}; set its "
                             f"parameters instead (e.g. '{prefix}input_bias').")
        clone(estimator).set_params(**params)  # unknown parameters raise here, before any fit
        checked[name] = dict(params)
    return checked


def check_reference(reference, setups):
    """The reference setup's name: `reference`, or the first setup when None."""
    if reference is None:
        return next(iter(setups))
    if not isinstance(reference, str) or reference not in setups:
        raise ValueError(f"reference must be None or one of the setup names {list(setups)}; "
                         f"got {reference!r}.")
    return reference


def check_learning_rates(learning_rates):
    """Return the rates as a sorted float array of distinct positive finite values."""
    message = ("learning_rates must be a non-empty list or array of positive finite numbers; "
               f"got {learning_rates!r}.")
    if not isinstance(learning_rates, (Sequence, np.ndarray)) or isinstance(
            learning_rates, (str, bytes)):
        raise ValueError(message)  # a set or a generator: no order, or consumed once
    values = list(np.asarray(learning_rates, dtype=object).ravel())
    if not values or not all(isinstance(v, Real) and not isinstance(v, (bool, np.bool_))
                             for v in values):
        raise ValueError(message)
    rates = np.asarray(values, dtype=np.float64)
    if not (np.isfinite(rates) & (rates > 0)).all():
        raise ValueError(message)
    return np.unique(rates)


def check_solver(estimator, prefix):
    solver = estimator.get_params()[prefix + "solver"]
    if solver not in RATE_SOLVERS:
        raise ValueError(f"The study varies the learning rate, which solver={solver!r} does "
                         f"not use; set the estimator's solver to one of {RATE_SOLVERS}.")


def check_scoring_argument(estimator, scoring):
    """One scorer, as cross_validate's; a dict or list (several metrics) is refused."""
    if scoring is not None and not isinstance(scoring, str) and not callable(scoring):
        raise ValueError("scoring must be None, a str or a callable (one score per fit: the "
                         f"study ranks setups by it); got {type(scoring).__name__} "
                         f"{scoring!r}.")
    return check_scoring(estimator, scoring)


def check_error_score(error_score):
    if isinstance(error_score, str) and error_score == "raise":
        return error_score
    if isinstance(error_score, Real) and not isinstance(error_score, bool):
        return error_score
    raise ValueError(f"error_score must be 'raise' or a number; got {error_score!r}.")


def check_target_loss(target_loss):
    if target_loss is None:
        return None
    if (isinstance(target_loss, (bool, np.bool_)) or not isinstance(target_loss, Real)
            or not 0 <= target_loss < np.inf):
        raise ValueError(f"target_loss must be None or a finite number >= 0; got "
                         f"{target_loss!r}.")
    return float(target_loss)


def check_n_repeats(n_repeats):
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, Integral) or n_repeats < 1:
        raise ValueError(f"n_repeats must be an int >= 1; got {n_repeats!r}.")
    return int(n_repeats)


def repeat_seeds(estimator, prefix, random_state, n_repeats):
    """One integer seed per repeat, shared by every fit of that repeat.

    The first is `random_state`, else the MLP's own ``random_state`` if it is an int,
    else one drawn from it (a RandomState instance is copied first, so the caller's is
    not advanced). Repeat ``i > 0`` uses word ``i - 1`` of
    ``numpy.random.SeedSequence(first).generate_state(n_repeats - 1)``: an integer
    `random_state` reproduces every repeat, and adding repeats keeps the earlier ones.
    """
    seed = random_state if random_state is not None else (
        estimator.get_params()[prefix + "random_state"])
    if not isinstance(seed, Integral) or isinstance(seed, bool):
        seed = check_random_state(copy.deepcopy(seed)).randint(np.iinfo(np.int32).max)
    first = int(seed)
    if not 0 <= first < 2**32:
        raise ValueError("random_state must be None, a RandomState instance or an int in "
                         f"[0, 2**32 - 1] (the seed of every fit); got {first!r}.")
    more = np.random.SeedSequence(first).generate_state(n_repeats - 1) if n_repeats > 1 else []
    return [first] + [int(s) for s in more]


def _reseeded(splitter, seed):
    """`splitter` drawing its shuffle from `seed`, when it shuffles; else `splitter`."""
    if not getattr(splitter, "shuffle", False) or not hasattr(splitter, "random_state"):
        return splitter
    splitter = copy.deepcopy(splitter)
    splitter.random_state = seed
    return splitter


def study_runs(estimator, X, y, groups, cv, seeds):
    """The runs, repeat-major: a list of (seed, (train, test)), and the folds per repeat.

    Repeat 0 uses `cv` as given. A later repeat reseeds a splitter that shuffles
    (``shuffle=True``, e.g. ``KFold(5, shuffle=True)``) with the repeat's seed, so its
    folds differ too; any other splitter (an int `cv`, unshuffled folds, GroupKFold,
    a list of splits) gives the same folds, and the repeats differ only in the MLP's
    seed (initial weights, minibatch order).
    """
    if not isinstance(cv, Integral) and hasattr(cv, "__len__") and len(cv) == 0:
        raise ValueError("cv is empty: give an int, a splitter or a non-empty list of "
                         "(train, test) splits.")
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    runs, n_splits = [], None
    for i, seed in enumerate(seeds):
        split = (splitter if i == 0 else _reseeded(splitter, seed)).split(X, y, groups)
        splits = list(split)
        if not splits:
            raise ValueError(f"cv={cv!r} gave no (train, test) splits.")
        n_splits = len(splits)
        runs += [(seed, s) for s in splits]
    return runs, n_splits
