"""The centring study: named setups × a learning-rate grid × CV folds, from one start."""

from numbers import Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import indexable

from ._figures import (
    DEFAULT_TARGET_RULE,
    choose_rates,
    compare_epochs,
    default_targets,
    fit_figures,
    reference_losses,
)
from ._fits import (
    check_error_score,
    check_learning_rates,
    check_setups,
    mlp_prefix,
    run_fits,
    study_seed,
)

#: per-fit figures, each an array of shape (n_setups, n_rates, n_splits)
FIGURES = ("test_score", "final_loss", "epochs_to_target", "reached", "diverged", "failed",
           "n_iter", "fit_time", "mean_relative_loss", "same_sign_fraction",
           "sample_same_sign_fraction")
#: per-epoch curves kept for plotting
CURVES = ("loss_curve", "validation_loss_curve", "same_sign_fraction",
          "sample_same_sign_fraction", "gradient_sign_history")


class CenteringStudy:
    """The results of :func:`centering_study`: arrays per (setup, rate, fold), and a summary.

    Not built directly: :func:`centering_study` returns it.

    Attributes
    ----------
    setups : list of str
        The setup names, in the given order; the first is the reference of
        ``summary[name]['vs_reference']``.

    learning_rates : ndarray of shape (n_rates,)
        The rates, ascending.

    n_splits : int
        The number of CV folds.

    max_iter : int
        The epoch budget of every fit (the MLP's ``max_iter``).

    target_loss : ndarray of shape (n_splits,)
        The training loss counted to, per fold.

    target_rule : str
        How `target_loss` was chosen (the default rule, or "given").

    reference_loss : ndarray of shape (n_splits,)
        Per fold, the first-epoch loss at the lowest rate that trained (median
        over setups): the start of the default rule and the divisor of
        ``mean_relative_loss``.

    figures : dict of ndarray
        Per-fit figures, each of shape (n_setups, n_rates, n_splits):
        ``test_score``; ``final_loss``; ``epochs_to_target`` (1-based, NaN when
        not reached or diverged); booleans ``reached``, ``diverged`` (non-finite
        weights, or a loss curve ending above 10 times its start) and
        ``failed`` (another error, scored `error_score`); ``n_iter``;
        ``fit_time``; ``mean_relative_loss`` (the speed figure: the loss curve's
        mean over the `max_iter` epochs, a stopped curve holding its last value,
        divided by `reference_loss`; lower is faster); ``same_sign_fraction``
        and ``sample_same_sign_fraction`` (first weight matrix, mean over
        epochs). Diverged fits have NaN everywhere but ``test_score`` (kept
        when the fit returned) and ``fit_time``.

    curves : dict of nested lists
        ``curves[name][s][r][k]``: the per-epoch ``loss_curve``,
        ``validation_loss_curve`` (None unless the MLP has that attribute),
        ``same_sign_fraction`` and ``sample_same_sign_fraction`` (first weight
        matrix) of setup `s`, rate `r`, fold `k`, empty for diverged fits; and
        the whole ``gradient_sign_history`` dict (None for diverged fits, or
        without ``record_gradient_signs``).

    summary : dict
        Per setup name: ``fastest_rate`` (fewest epochs to the target with
        every fold reaching it, ties broken by the speed figure; never chosen
        by CV score), ``highest_trainable_rate`` (highest rate at which every
        fold reached the target), ``diverged_rates``, and at the fastest rate:
        ``test_score_mean``/``_std``, ``epochs_to_target_mean``/``_std``,
        ``mean_relative_loss``, ``final_loss``, the two sign figures,
        ``fit_time`` and ``vs_reference`` ('faster', 'slower' or 'within
        spread': whether the epochs differ from the first setup's at its
        fastest rate by more than the sum of their fold standard deviations).
    """

    def __init__(self, setups, learning_rates, records, targets):
        self.setups = list(setups)
        self.learning_rates = learning_rates
        self.n_splits = targets["target_loss"].size
        self.max_iter = targets["max_iter"]
        self.target_loss = targets["target_loss"]
        self.target_rule = targets["rule"]
        self.reference_loss = targets["reference_loss"]
        shape = (len(self.setups), learning_rates.size, self.n_splits)
        self.figures = {name: np.empty(shape, dtype=bool if name in ("reached", "diverged",
                                                                      "failed") else float)
                        for name in FIGURES}
        self.curves = {name: [[[None] * shape[2] for _ in range(shape[1])]
                              for _ in range(shape[0])] for name in CURVES}
        for s, name in enumerate(self.setups):
            for r in range(shape[1]):
                for k in range(shape[2]):
                    record = records[(name, r, k)]
                    row = fit_figures(record, self.target_loss[k], self.max_iter,
                                      self.reference_loss[k])
                    for key, value in row.items():
                        self.figures[key][s, r, k] = value
                    for key in CURVES:
                        self.curves[key][s][r][k] = record[key]
        self.summary = self._summarise()

    def _summarise(self):
        choices = choose_rates(self.figures, self.learning_rates)
        rates, f = self.learning_rates, self.figures
        ref = choices[0][0]
        ref_epochs = (f["epochs_to_target"][0, ref] if ref is not None
                      else np.full(self.n_splits, np.nan))
        summary = {}
        for s, name in enumerate(self.setups):
            fastest, highest = choices[s]
            row = {"fastest_rate": None if fastest is None else float(rates[fastest]),
                   "highest_trainable_rate": None if highest is None else float(rates[highest]),
                   "diverged_rates": [float(r) for r, d in zip(rates, f["diverged"][s].any(1))
                                      if d]}
            at = {key: f[key][s, fastest] if fastest is not None
                  else np.full(self.n_splits, np.nan) for key in FIGURES}
            epochs = at["epochs_to_target"]
            row.update({
                "test_score_mean": float(np.mean(at["test_score"])),
                "test_score_std": float(np.std(at["test_score"])),
                "epochs_to_target_mean": float(np.mean(epochs)),
                "epochs_to_target_std": float(np.std(epochs)),
                **{key: float(np.mean(at[key])) for key in (
                    "mean_relative_loss", "final_loss", "same_sign_fraction",
                    "sample_same_sign_fraction", "fit_time")},
                "vs_reference": "reference" if s == 0 else compare_epochs(epochs, ref_epochs),
            })
            summary[name] = row
        return summary

    @property
    def cv_results_(self):
        """dict of ndarray: one entry per (setup, rate), GridSearchCV's ``cv_results_`` style.

        ``param_setup``, ``param_learning_rate``; for every figure ``mean_<figure>``,
        ``std_<figure>`` and ``split<k>_<figure>`` (``n_reached``, ``n_diverged`` and
        ``n_failed`` count the boolean ones); ``target_loss`` per split as
        ``split<k>_target_loss``.
        """
        n_setups, n_rates, n_splits = self.figures["test_score"].shape
        results = {"param_setup": np.repeat(np.array(self.setups, dtype=object), n_rates),
                   "param_learning_rate": np.tile(self.learning_rates, n_setups)}
        for name, values in self.figures.items():
            flat = values.reshape(n_setups * n_rates, n_splits)
            if values.dtype == bool:
                results[f"n_{name}"] = flat.sum(axis=1)
                continue
            for k in range(n_splits):
                results[f"split{k}_{name}"] = flat[:, k]
            results[f"mean_{name}"] = flat.mean(axis=1)
            results[f"std_{name}"] = flat.std(axis=1)
        for k in range(n_splits):
            results[f"split{k}_target_loss"] = np.full(n_setups * n_rates, self.target_loss[k])
        return results

    def to_frame(self):
        """Return the per-fit figures as a tidy DataFrame, one row per (setup, rate, fold).

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``setup``, ``learning_rate``, ``fold``, ``target_loss``, then
            every entry of :attr:`figures`.

        Raises
        ------
        ImportError
            If pandas is not installed (``pip install "centered_nn[pandas]"``).
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError('CenteringStudy.to_frame requires pandas, an optional dependency '
                              'of centered_nn. Install it with: pip install '
                              '"centered_nn[pandas]"') from exc
        n_setups, n_rates, n_splits = self.figures["test_score"].shape
        index = np.indices((n_setups, n_rates, n_splits)).reshape(3, -1)
        columns = {"setup": np.array(self.setups, dtype=object)[index[0]],
                   "learning_rate": self.learning_rates[index[1]], "fold": index[2],
                   "target_loss": self.target_loss[index[2]]}
        columns.update({name: values.ravel() for name, values in self.figures.items()})
        return pd.DataFrame(columns)

    def __repr__(self):
        return (f"CenteringStudy(setups={self.setups!r}, learning_rates="
                f"{[float(r) for r in self.learning_rates]!r}, n_splits={self.n_splits})")


def _check_target_loss(target_loss):
    if (isinstance(target_loss, (bool, np.bool_)) or not isinstance(target_loss, Real)
            or not 0 <= target_loss < np.inf):
        raise ValueError(f"target_loss must be None or a finite number >= 0; got "
                         f"{target_loss!r}.")
    return float(target_loss)


def centering_study(estimator, X, y, *, setups, learning_rates, cv=3, scoring=None,
                    target_loss=None, n_jobs=None, random_state=None, error_score=np.nan,
                    verbose=0):
    """Measure how fast and how stably each centring setup trains, over learning rates.

    Every named setup is fitted at every learning rate on every CV fold, all
    from the same initial weights and minibatch order (one seed for every
    fit); a setup only changes its parameters, a rate only the MLP's
    ``learning_rate_init``. For each fit the study keeps the CV score, the
    loss curve, the epochs to a target training loss and the first-layer
    gradient-sign figures; per setup it picks the fastest rate by epochs to
    the target, never by score (after enough epochs every setup scores
    alike). A fit whose weights become non-finite, or whose loss ends above
    10 times its start, is recorded as diverged and the study goes on.

    Read more in the :ref:`User Guide <comparing>`.

    Parameters
    ----------
    estimator : estimator instance
        A centered_nn MLPClassifier or MLPRegressor, or a Pipeline holding one
        (the step with ``learning_rate_init``). Not modified.

    X : array-like of shape (n_samples, n_features)
        Training data.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Target.

    setups : dict of str to dict
        Named parameter settings, e.g. ``{"raw": {}, "mean":
        {"mlp__input_bias": "mean"}}``. The first is the reference of the
        'vs_reference' comparison. They must not set the learning rate or the
        random state, which the study sets.

    learning_rates : array-like of float
        The values of ``learning_rate_init``, positive; sorted ascending.

    cv : int, cross-validation generator or iterable, default=3
        As in :func:`~sklearn.model_selection.cross_validate` (stratified
        folds for a classifier).

    scoring : str or callable, default=None
        The CV score, as in cross_validate; None uses the estimator's
        ``score``.

    target_loss : float, default=None
        The training loss counted to. None applies the default rule, per
        fold: ``sqrt(start * best)``, halfway on a log scale between the
        first-epoch loss at the lowest rate (median over setups) and the
        lowest loss any setup reached at any rate. It adapts to the data
        and the loss (log-loss or squared error) and needs no tuning.

    n_jobs : int, default=None
        Fits run in parallel through joblib (``-1``: all cores); joblib
        backends such as dask apply, as in GridSearchCV.

    random_state : int, RandomState instance or None, default=None
        The seed of every fit's initial weights and minibatch order. None
        uses the MLP's own ``random_state`` if it is an int, else draws one
        seed for all fits.

    error_score : 'raise' or float, default=np.nan
        The score of a fit that fails for another reason than divergence;
        'raise' raises instead. A diverged fit never raises.

    verbose : int, default=0
        With a value above 0, a progress line on stderr after each setup.

    Returns
    -------
    study : CenteringStudy
        The figures per (setup, rate, fold), the curves, ``summary`` per
        setup, ``cv_results_`` and ``to_frame()``.

    See Also
    --------
    CenteringStudyDisplay : Plot a study.
    centered_nn.metrics.epochs_to_loss : Epochs to a loss for one curve.

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
    >>> study.figures["epochs_to_target"].shape  # setups, rates, folds
    (2, 2, 3)
    >>> {name: row["fastest_rate"] for name, row in study.summary.items()}
    {'raw': 0.1, 'mean': 1.0}
    """
    X, y = indexable(X, y)
    prefix = mlp_prefix(estimator)
    checked = check_setups(estimator, setups, prefix)
    rates = check_learning_rates(learning_rates)
    error_score = check_error_score(error_score)
    if target_loss is not None:
        target_loss = _check_target_loss(target_loss)
    splitter = check_cv(cv, y, classifier=is_classifier(estimator))
    grid = {"setups": checked, "rates": rates, "rate_key": prefix + "learning_rate_init",
            "seed_key": prefix + "random_state",
            "seed": study_seed(estimator, prefix, random_state),
            "splits": list(splitter.split(X, y)),
            "scorer": check_scoring(estimator, scoring), "error_score": error_score}
    records = run_fits(estimator, X, y, grid, n_jobs, verbose)
    n_splits = len(grid["splits"])
    start = reference_losses(records, checked, rates.size, n_splits)
    if target_loss is None:
        target, rule = default_targets(records, checked, rates.size, start), DEFAULT_TARGET_RULE
    else:
        target, rule = np.full(n_splits, target_loss), "given"
    targets = {"target_loss": target, "rule": rule, "reference_loss": start,
               "max_iter": int(estimator.get_params()[prefix + "max_iter"])}
    return CenteringStudy(checked, rates, records, targets)
