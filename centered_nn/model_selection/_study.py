"""The centring study: named setups × a learning-rate grid × runs (repeats × CV folds)."""

import numpy as np
from sklearn.utils import indexable

from ._checks import (
    check_error_score,
    check_learning_rates,
    check_n_repeats,
    check_reference,
    check_scoring_argument,
    check_setups,
    check_solver,
    check_target_loss,
    mlp_prefix,
    repeat_seeds,
    study_runs,
)
from ._figures import (
    DEFAULT_TARGET_RULE,
    STUDY_FIGURES,
    RunTarget,
    fit_figures,
    reference_finals,
    reference_rate,
    reference_starts,
)
from .._interrupts import InterruptGuard
from ._fits import refuse_setups_that_cannot_run, run_fits
from ._results import cv_results, study_frame
from ._summary import summarise

#: per-epoch curves kept for plotting
CURVES = ("loss_curve", "validation_loss_curve", "same_sign_fraction",
          "sample_same_sign_fraction", "gradient_sign_history")


class CenteringStudy:
    """The results of :func:`centering_study`: arrays per (setup, rate, run), and a summary.

    Not built directly: :func:`centering_study` returns it. A run is one
    (repeat, fold) pair; runs are ordered repeat-major, so run ``i`` is fold
    ``i % n_splits`` of repeat ``i // n_splits``.

    Attributes
    ----------
    setups : dict of str to dict
        The setups' parameters by name, in the given order.

    reference : str
        The setup the default target and the speedups are measured against.

    learning_rates : ndarray of shape (n_rates,)
        The rates, ascending.

    rate_param : str
        The estimator's parameter the rates set, e.g.
        ``'mlpclassifier__learning_rate_init'``.

    n_repeats : int
        The number of repeats (each with its own seed).

    n_splits : int
        The number of CV folds per repeat.

    n_runs : int
        ``n_repeats * n_splits``: the length of the figures' last axis.

    seeds : list of int
        The MLP's ``random_state`` in each repeat (see :func:`centering_study`).

    max_iter : int
        The epoch budget of every fit (the MLP's ``max_iter``).

    target_loss : ndarray of shape (n_runs,)
        The training loss counted to, per run.

    target_rule : str
        How `target_loss` was chosen (:data:`DEFAULT_TARGET_RULE`, or "given").

    reference_loss : ndarray of shape (n_runs,)
        Per run, the reference's first-epoch loss at its lowest rate where
        every run has a loss curve (NaN if none has): the divisor of
        ``mean_relative_loss``. It depends on the reference setup only.

    figures : dict of ndarray
        Per-fit figures, each of shape (n_setups, n_rates, n_runs), one per
        entry of :data:`STUDY_FIGURES`: ``test_score``; ``final_loss``;
        ``epochs_to_target`` (1-based, NaN when not reached);
        ``seconds_to_target`` (fit time × epochs to the target / epochs run);
        booleans ``reached`` (the loss reached the target, and the fit
        trained: its final loss is below its first epoch's), ``trained``,
        ``diverged`` (a :class:`~centered_nn.exceptions.DivergenceError`, or a
        loss curve ending above 10 times its start) and ``failed`` (another
        error, scored `error_score`); ``n_iter``; ``fit_time``;
        ``score_time``; ``mean_relative_loss`` (the loss curve's mean over the
        `max_iter` epochs, a stopped curve holding its last value, divided by
        `reference_loss`; lower is faster); ``same_sign_fraction`` and
        ``sample_same_sign_fraction`` (first weight matrix, mean over
        epochs). A fit stopped by a non-finite loss has NaN everywhere but
        ``fit_time``; a fit flagged by the 10× rule keeps its figures and
        curves but never reaches the target.

    curves : dict of nested lists
        ``curves[name][s][r][k]``: the per-epoch ``loss_curve``,
        ``validation_loss_curve`` (None unless the MLP has that attribute),
        ``same_sign_fraction`` and ``sample_same_sign_fraction`` (first weight
        matrix) of setup `s`, rate `r`, run `k`, empty when the fit raised;
        and the whole ``gradient_sign_history`` dict (None when the fit
        raised, or without ``record_gradient_signs``).

    summary : dict
        Per setup name: ``fastest_rate`` (fewest mean epochs to the target
        among the rates where every run reached it, ties broken by the speed
        figure, never by CV score; when no rate does, the rate with the lowest
        speed figure), ``highest_trainable_rate`` (highest rate at which every
        run reached the target; None if none), ``diverged_rates``,
        ``stalled_rates`` (neither trainable nor diverged); ``speedup`` (the
        geometric mean over runs of the reference's epochs to the target at
        its fastest rate over the setup's at its fastest rate),
        ``speedup_interval`` (95%, see :func:`centering_study`) and
        ``vs_reference`` ('faster', 'slower', 'no clear difference', 'not
        reached', or 'reference' for the reference itself, whose speedup is
        1); and at the fastest rate ``<figure>_mean`` (and ``_std``) for the
        figures of :data:`STUDY_FIGURES` whose ``summary`` asks for them,
        e.g. ``epochs_to_target_mean``, ``seconds_to_target_mean``,
        ``test_score_std``.
    """

    def __init__(self, setups, reference, learning_rates, records, targets):
        self.setups = setups
        self.reference = reference
        self.learning_rates = learning_rates
        for key in ("rate_param", "n_repeats", "n_splits", "seeds", "max_iter", "target_loss",
                    "target_rule", "reference_loss"):
            setattr(self, key, targets[key])
        self.n_runs = self.n_repeats * self.n_splits
        shape = (len(setups), learning_rates.size, self.n_runs)
        self.figures = {name: np.empty(shape, dtype=figure.dtype)
                        for name, figure in STUDY_FIGURES.items()}
        self.curves = {name: [[[None] * shape[2] for _ in range(shape[1])]
                              for _ in range(shape[0])] for name in CURVES}
        for s, name in enumerate(setups):
            for r in range(shape[1]):
                for k in range(shape[2]):
                    record = records[(name, r, k)]
                    run = RunTarget(self.target_loss[k], self.reference_loss[k], self.max_iter)
                    for key, value in fit_figures(record, run).items():
                        self.figures[key][s, r, k] = value
                    for key in CURVES:
                        self.curves[key][s][r][k] = getattr(record, key)
        self.summary = summarise(self.figures, setups, reference, learning_rates,
                                 self.max_iter)

    @property
    def cv_results_(self):
        """dict of ndarray: one entry per (setup, rate), as GridSearchCV's ``cv_results_``.

        ``params`` (each candidate's parameters: its setup's and the rate),
        ``param_<name>`` masked arrays named after the estimator's parameters,
        ``setup`` (the setup names); for every float figure ``mean_<figure>``,
        ``std_<figure>`` and ``split<k>_<figure>`` over the runs (so
        ``mean_test_score``, ``std_test_score``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``), with
        ``rank_test_score``; ``n_<figure>`` counts the boolean figures
        (``n_reached``, ``n_diverged``, ...); ``split<k>_target_loss``.
        ``pandas.DataFrame(study.cv_results_)`` holds it as a table.
        """
        return cv_results(self)

    def to_frame(self):
        """Return the per-fit figures as a tidy DataFrame, one row per (setup, rate, run).

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``setup``, ``learning_rate``, ``repeat``, ``fold``, ``run``,
            ``target_loss`` (the run's), then every entry of :attr:`figures`.

        Raises
        ------
        ImportError
            If pandas is not installed (``pip install "centered_nn[pandas]"``).
        """
        return study_frame(self)

    def __repr__(self):
        return (f"CenteringStudy(setups={list(self.setups)!r}, reference={self.reference!r}, "
                f"learning_rates={[float(r) for r in self.learning_rates]!r}, "
                f"n_repeats={self.n_repeats}, n_splits={self.n_splits})")


def centering_study(estimator, X, y, *, setups, learning_rates, reference=None, n_repeats=1,
                    cv=3, groups=None, scoring=None, target_loss=None, n_jobs=None,
                    random_state=None, error_score=np.nan, verbose=0):
    """Measure how fast and how stably each centring setup trains, over learning rates.

    Every named setup is fitted at every learning rate in every run (a
    repeat's CV fold). Within a run all fits start from the same initial
    weights and minibatch order (the repeat's seed), so each run is one paired
    comparison; a setup only changes its parameters, a rate only the MLP's
    ``learning_rate_init``. For each fit the study keeps the CV score, the
    loss curve, the epochs and seconds to a target training loss and the
    first-layer gradient-sign figures; per setup it picks the fastest rate by
    epochs to the target, never by score (after enough epochs every setup
    scores alike), and compares it with the reference run by run. A fit that
    raises :class:`~centered_nn.exceptions.DivergenceError`, or whose loss
    ends above 10 times its start, is recorded as diverged and the study goes
    on.

    Read more in the :ref:`User Guide <comparing>`.

    Parameters
    ----------
    estimator : estimator instance
        A centered_nn MLPClassifier or MLPRegressor with ``solver='sgd'`` or
        ``'adam'``, or a Pipeline holding one (the step with
        ``learning_rate_init``). Not modified.

    X : array-like of shape (n_samples, n_features)
        Training data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Target.

    setups : dict of str to dict
        Named parameter settings, e.g. ``{"raw": {}, "mean":
        {"mlp__input_bias": "mean"}}``. They must not set the learning rate,
        the random state (the study sets them), ``max_iter`` or ``solver``
        (shared), nor replace the MLP step. A setup that fails a one-epoch
        fit on the first training fold while others do not is refused before
        the study.

    learning_rates : list or array of float
        The values of ``learning_rate_init``, positive; sorted ascending.

    reference : str, default=None
        The setup the target and the speedups refer to; None takes the first.

    n_repeats : int, default=1
        The repeats of the CV folds. Repeat 0 uses the seed (`random_state`,
        else the MLP's ``random_state``); repeat ``i > 0`` uses word ``i - 1``
        of ``numpy.random.SeedSequence(seed).generate_state(n_repeats - 1)``,
        so an integer seed reproduces every repeat. A splitter that shuffles
        (``shuffle=True``) is reseeded with the repeat's seed; other splitters
        (an int `cv`, unshuffled folds, GroupKFold, a list of splits) give the
        same folds in every repeat, which then differ in the initial weights
        and minibatch order only.

    cv : int, cross-validation generator or iterable, default=3
        As in :func:`~sklearn.model_selection.cross_validate` (stratified
        folds for a classifier).

    groups : array-like of shape (n_samples,), default=None
        Group labels for a group splitter such as GroupKFold.

    scoring : str or callable, default=None
        The CV score, as in cross_validate (one metric); None uses the
        estimator's ``score``.

    target_loss : float, default=None
        The training loss counted to in every run. None applies the default
        rule (:data:`DEFAULT_TARGET_RULE`): per run, the reference's final
        training loss at its rate with the lowest final loss (geometric mean
        over runs, among rates where every run trained). It depends on the
        reference, the rates and the epoch budget only: other setups never
        change it. A fit reaches a target only if its loss ended below its
        first epoch's.

    n_jobs : int, default=None
        Fits run in parallel through joblib (``-1``: all cores); joblib
        backends such as dask apply, as in GridSearchCV.

    random_state : int, RandomState instance or None, default=None
        The seed of the first repeat (see `n_repeats`). None uses the MLP's
        own ``random_state`` if it is an int, else draws one.

    error_score : 'raise' or float, default=np.nan
        The score of a fit, or a scoring, that fails for another reason than
        divergence; 'raise' raises instead. A diverged fit never raises. When
        every fit fails, a ValueError says so, as in cross_validate.

    verbose : int, default=0
        With a value above 0, a progress line on stderr after each setup.

    Returns
    -------
    study : CenteringStudy
        The figures per (setup, rate, run), the curves, ``summary`` per setup,
        ``cv_results_`` and ``to_frame()``.

    Raises
    ------
    ValueError
        Before any fit, for a bad argument (named); after the fits, when every
        fit failed, or when the default target is asked for and the reference
        never trained (at every rate some run diverged, failed or ended no
        lower than its first epoch's loss).

    See Also
    --------
    CenteringStudyDisplay : Plot a study.
    centered_nn.metrics.epochs_to_loss : Epochs to a loss for one curve.

    Notes
    -----
    ``summary[name]['speedup']`` is the geometric mean over runs of the
    reference's epochs to the target over the setup's, each at its fastest
    rate. ``speedup_interval`` is a 95% t interval of the mean log ratio,
    widened by the epochs' one-epoch resolution (its low end uses
    ``(reference - 1) / setup`` per run, its high end ``reference / (setup -
    1)``), so a one-epoch gap in every run is never called a difference;
    ``(nan, nan)`` with one run. ``vs_reference`` is 'faster' when its low end
    is above 1, 'slower' when its high end is below 1, 'not reached' when the
    setup reaches the target in every run at no rate. With a given
    `target_loss` the reference may miss it: such a run counts as ``max_iter +
    1`` epochs at the interval's low end (a bound: it needed more), the high
    end is infinite and the speedup NaN. Each setup's fastest
    rate is chosen on the same runs it is measured on, which favours every
    setup a little.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import Pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.model_selection import centering_study
    >>> X, y = load_digits(return_X_y=True)
    >>> pipe = Pipeline([("scale", MinMaxScaler()), ("mlp", MLPClassifier(
    ...     hidden_layer_sizes=(16,), solver="sgd", max_iter=15, random_state=0))])
    >>> study = centering_study(pipe, X[:600], y[:600], learning_rates=[0.1, 1.0],
    ...                         setups={"raw": {}, "mean": {"mlp__input_bias": "mean"}})
    >>> study.figures["epochs_to_target"].shape  # setups, rates, runs
    (2, 2, 3)
    >>> {name: row["fastest_rate"] for name, row in study.summary.items()}
    {'raw': 0.1, 'mean': 1.0}
    """
    X, y, groups = indexable(X, y, groups)
    prefix = mlp_prefix(estimator)
    check_solver(estimator, prefix)
    checked = check_setups(estimator, setups, prefix)
    reference = check_reference(reference, checked)
    rates = check_learning_rates(learning_rates)
    error_score = check_error_score(error_score)
    target_loss = check_target_loss(target_loss)
    n_repeats = check_n_repeats(n_repeats)
    scorer = check_scoring_argument(estimator, scoring)
    seeds = repeat_seeds(estimator, prefix, random_state, n_repeats)
    runs, n_splits = study_runs(estimator, X, y, groups, cv, seeds)
    grid = {"setups": checked, "rates": rates, "prefix": prefix,
            "rate_key": prefix + "learning_rate_init", "seed_key": prefix + "random_state",
            "runs": runs, "scorer": scorer, "error_score": error_score}
    with InterruptGuard() as interrupts:
        refuse_setups_that_cannot_run(estimator, X, y, grid, interrupts)
        records = run_fits(estimator, X, y, grid, n_jobs, verbose, interrupts)
    n_runs = len(runs)
    if target_loss is None:
        best = reference_rate(records, reference, rates.size, n_runs)
        if best is None:
            raise ValueError(
                f"The reference setup {reference!r} never trained: at every learning rate "
                "some run diverged, failed, or ended at a training loss no lower than its "
                "first epoch's, so it sets no target. Try lower learning_rates, a larger "
                "max_iter, another reference, or give target_loss.")
    targets = {"rate_param": grid["rate_key"], "n_repeats": n_repeats, "n_splits": n_splits,
               "seeds": seeds, "max_iter": int(estimator.get_params()[prefix + "max_iter"]),
               "target_loss": (reference_finals(records, reference, best, n_runs)
                               if target_loss is None else np.full(n_runs, target_loss)),
               "target_rule": DEFAULT_TARGET_RULE if target_loss is None else "given",
               "reference_loss": reference_starts(records, reference, rates.size, n_runs)}
    return CenteringStudy(checked, reference, rates, records, targets)
