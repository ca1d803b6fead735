"""Scorers that read the training diagnostics of a fitted MLP.

Every scorer has the ``scorer(estimator, X, y)`` signature expected by the
``scoring`` parameter of :class:`~sklearn.model_selection.GridSearchCV` and
:func:`~sklearn.model_selection.cross_validate`, so diagnostics can be
reported next to the accuracy of each candidate. They read fitted attributes
(``gradient_sign_history_``, ``n_iter_``, ``loss_curve_``) and ignore ``X``
and ``y``; the estimator may be the MLP itself or a
:class:`~sklearn.pipeline.Pipeline` (nested or not) ending in one.

GridSearchCV maximises the `refit` metric only; use these scorers as extra
entries of a ``scoring`` dict and refit on a performance metric.
"""

import math

import numpy as np

from .diagnostics._metrics import document_metrics
from .diagnostics._history import (
    check_layer,
    check_metric,
    find_mlp,
    fitted_history,
    history_column,
)

__all__ = ["epochs_to_loss", "epochs_to_loss_scorer", "final_loss_scorer",
           "gradient_sign_scorer", "n_iter_scorer"]

_REDUCE_OPTIONS = ("mean", "last")


def _reduce(values, reduce):
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return math.nan
    return float(finite.mean() if reduce == "mean" else finite[-1])


# --- scorers ---------------------------------------------------------------


class _GradientSignScorer:
    """Picklable scorer built by :func:`gradient_sign_scorer`."""

    def __init__(self, metric, layer, reduce):
        self.metric = metric
        self.layer = layer
        self.reduce = reduce

    def __call__(self, estimator, X=None, y=None):
        history = fitted_history(find_mlp(estimator))
        values, _ = history_column(history, self.metric, self.layer)
        return _reduce(values, self.reduce)

    def __repr__(self):
        return (f"gradient_sign_scorer(metric={self.metric!r}, layer={self.layer!r}, "
                f"reduce={self.reduce!r})")


@document_metrics
def gradient_sign_scorer(metric="same_sign_fraction", layer=0, reduce="mean"):
    """Make a scorer reading one gradient-sign metric of a fitted MLP.

    The scorer summarises one column of the estimator's
    ``gradient_sign_history_`` (one weight matrix) as a single number, so it
    can sit in the ``scoring`` dict of
    :class:`~sklearn.model_selection.GridSearchCV` next to the accuracy.

    Parameters
    ----------
    metric : METRIC_CHOICES or StepMetric, default='same_sign_fraction'
        The recorded metric, a key of ``gradient_sign_history_``: a built-in
        name, or the :class:`~centered_nn.diagnostics.StepMetric` recorded.

    layer : int, default=0
        The weight matrix ``coefs_[layer]``; 0 is the first layer, whose input
        is the data. Negative values count from the end (-1 is the output
        layer). Checked against the estimator when scoring.

    reduce : {'mean', 'last'}, default='mean'
        How to summarise the records (one per iteration): 'mean' averages
        them, 'last' takes the last one. Both ignore NaN records (for example
        `sign_flip_fraction` of the first L-BFGS iteration); the score is NaN
        when every record is NaN.

    Returns
    -------
    scorer : callable
        A picklable callable ``scorer(estimator, X, y) -> float``. `X` and
        `y` are ignored: the value comes from the fitted estimator, which may
        be the MLP or a Pipeline (possibly nested) ending in it. It raises
        ValueError when the estimator was fitted with
        ``record_gradient_signs=False`` or has no weight matrix `layer`.

    See Also
    --------
    n_iter_scorer : Scorer returning the number of iterations.
    final_loss_scorer : Scorer returning the final training loss.

    Notes
    -----
    These are diagnostics, not performance measures: a higher value is not
    "better". With GridSearchCV, pass ``refit`` the name of a performance
    metric.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sklearn.model_selection import cross_validate
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.metrics import gradient_sign_scorer
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> X = abs(X)  # all-positive inputs
    >>> scorer = gradient_sign_scorer("sample_same_sign_fraction", layer=0)
    >>> scorer
    gradient_sign_scorer(metric='sample_same_sign_fraction', layer=0, reduce='mean')
    >>> clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     cv = cross_validate(clf, X, y, cv=3,
    ...                         scoring={"accuracy": "accuracy", "same_sign": scorer})
    >>> cv["test_same_sign"]
    array([1., 1., 1.])
    """
    metric = check_metric(metric)
    layer = check_layer(layer)
    if reduce not in _REDUCE_OPTIONS:
        raise ValueError(f"reduce must be one of {', '.join(map(repr, _REDUCE_OPTIONS))};"
                         f" got {reduce!r}.")
    return _GradientSignScorer(metric, layer, reduce)


def n_iter_scorer(estimator, X=None, y=None):
    """Return the number of iterations the MLP's last fit ran (`n_iter_`).

    A scorer with the ``(estimator, X, y)`` signature for the ``scoring`` dict
    of :class:`~sklearn.model_selection.GridSearchCV`. The raw count is
    returned: fewer is better, but GridSearchCV maximises, so use it as an
    extra diagnostic entry and refit on a performance metric.

    It is not a measure of training speed. With sgd or adam a fit also stops
    when the loss (or, with ``early_stopping=True``, the validation score) has
    not improved by ``tol`` for ``n_iter_no_change`` epochs: a fit that stalls
    early, at a high loss, stops after few iterations and looks fastest,
    while a fit that keeps improving runs to ``max_iter``. To compare speed,
    count the epochs to a training loss instead (:func:`epochs_to_loss`,
    :func:`epochs_to_loss_scorer`), or use
    :func:`centered_nn.model_selection.centering_study`.

    Parameters
    ----------
    estimator : estimator instance
        A fitted MLP (an object with ``loss_curve_``) or a Pipeline, possibly
        nested, ending in one.

    X : object, default=None
        Ignored; present for the scorer signature.

    y : object, default=None
        Ignored; present for the scorer signature.

    Returns
    -------
    n_iter : float
        ``float(n_iter_)`` of the MLP.

    See Also
    --------
    epochs_to_loss_scorer : Make a scorer counting the epochs to a training loss.
    final_loss_scorer : Scorer returning the final training loss.
    gradient_sign_scorer : Make a scorer reading gradient-sign diagnostics.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.pipeline import make_pipeline
    >>> from centered_nn import Centerer, MLPClassifier
    >>> from centered_nn.metrics import n_iter_scorer
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> pipe = make_pipeline(Centerer(), MLPClassifier(
    ...     hidden_layer_sizes=(5,), solver="lbfgs", max_iter=500, random_state=0))
    >>> pipe = pipe.fit(X, y)
    >>> n_iter_scorer(pipe, X, y) == pipe[-1].n_iter_
    True
    """
    return float(find_mlp(estimator).n_iter_)


def final_loss_scorer(estimator, X=None, y=None):
    """Return the MLP's final training loss (``loss_curve_[-1]``).

    A scorer with the ``(estimator, X, y)`` signature for the ``scoring`` dict
    of :class:`~sklearn.model_selection.GridSearchCV`. The raw loss is
    returned: lower is better, but GridSearchCV maximises, so use it as an
    extra diagnostic entry and refit on a performance metric.

    Parameters
    ----------
    estimator : estimator instance
        A fitted MLP (an object with ``loss_curve_``) or a Pipeline, possibly
        nested, ending in one.

    X : object, default=None
        Ignored: the training loss is read from the fitted estimator, it is
        not recomputed on `X`.

    y : object, default=None
        Ignored; present for the scorer signature.

    Returns
    -------
    loss : float
        The last entry of ``loss_curve_`` (including the L2 penalty, as
        minimised by the solver).

    See Also
    --------
    n_iter_scorer : Scorer returning the number of iterations.
    gradient_sign_scorer : Make a scorer reading gradient-sign diagnostics.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.metrics import final_loss_scorer
    >>> X, y = make_classification(n_samples=60, random_state=0)
    >>> clf = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs",
    ...                     max_iter=500, random_state=0).fit(X, y)
    >>> final_loss_scorer(clf, X, y) == clf.loss_curve_[-1]
    True
    """
    loss_curve = find_mlp(estimator).loss_curve_
    if len(loss_curve) == 0:
        raise ValueError("The estimator's loss_curve_ is empty.")
    return float(loss_curve[-1])


# --- epochs to a training loss -----------------------------------------------


def epochs_to_loss(loss_curve, target):
    """Return the first epoch (1-based) whose training loss is at most `target`.

    Counting the epochs a fit needs to reach a loss measures training speed
    where ``n_iter_`` does not: a fit stopped early by the no-improvement rule
    at a high loss never reaches the target, and a fit that went on improving
    is credited with the epoch it passed the target, not with its length.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training losses, one per iteration, as in the ``loss_curve_`` attribute
        of a fitted MLP.

    target : float
        The training loss to reach (a finite number).

    Returns
    -------
    epochs : int or None
        The 1-based index of the first loss ``<= target``; None when no loss
        reaches it (non-finite losses never do).

    See Also
    --------
    epochs_to_loss_scorer : The same figure as a scorer for GridSearchCV.

    Examples
    --------
    >>> from centered_nn.metrics import epochs_to_loss
    >>> epochs_to_loss([2.3, 0.9, 0.4, 0.2, 0.25], target=0.5)
    3
    >>> epochs_to_loss([2.3, 0.9], target=0.5) is None
    True
    """
    target = _check_target(target)
    losses = np.asarray(loss_curve, dtype=np.float64)
    if losses.ndim != 1:
        raise ValueError(f"loss_curve must be 1-D; got an array of shape {losses.shape}.")
    hits = np.flatnonzero(np.isfinite(losses) & (losses <= target))
    return int(hits[0]) + 1 if hits.size else None


def _check_target(target):
    if isinstance(target, (bool, np.bool_)) or not isinstance(target, (int, float, np.number)):
        raise ValueError(f"target must be a number; got {target!r}.")
    if not math.isfinite(target):
        raise ValueError(f"target must be finite; got {target!r}.")
    return float(target)


class _EpochsToLossScorer:
    """Picklable scorer built by :func:`epochs_to_loss_scorer`."""

    def __init__(self, target, not_reached):
        self.target = target
        self.not_reached = not_reached

    def __call__(self, estimator, X=None, y=None):
        epochs = epochs_to_loss(find_mlp(estimator).loss_curve_, self.target)
        return self.not_reached if epochs is None else float(epochs)

    def __repr__(self):
        return (f"epochs_to_loss_scorer(target={self.target!r}, "
                f"not_reached={self.not_reached!r})")


def epochs_to_loss_scorer(target, not_reached=math.nan):
    """Make a scorer returning the epochs a fitted MLP needed to reach a training loss.

    The scorer reads ``loss_curve_`` of the fitted MLP (or of the MLP at the
    end of a Pipeline) and returns :func:`epochs_to_loss` of it, so that the
    speed of each candidate can sit in the ``scoring`` dict of
    :class:`~sklearn.model_selection.GridSearchCV` next to its accuracy.

    Parameters
    ----------
    target : float
        The training loss to reach.

    not_reached : float, default=nan
        The score of a fit that never reached `target`. NaN keeps such fits
        apart from every count (scikit-learn's mean of a NaN is NaN); pass
        for example ``max_iter + 1`` to rank them after every fit that did.

    Returns
    -------
    scorer : callable
        A picklable callable ``scorer(estimator, X, y) -> float``; `X` and `y`
        are ignored. Fewer epochs are better, but GridSearchCV maximises: use
        it as an extra entry and refit on a performance metric.

    See Also
    --------
    epochs_to_loss : The count for one loss curve.
    n_iter_scorer : Iterations run, which early stopping makes misleading.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sklearn.model_selection import cross_validate
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.metrics import epochs_to_loss, epochs_to_loss_scorer
    >>> X, y = make_classification(n_samples=90, random_state=0)
    >>> scorer = epochs_to_loss_scorer(0.5)
    >>> scorer
    epochs_to_loss_scorer(target=0.5, not_reached=nan)
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), learning_rate_init=0.01,
    ...                     max_iter=30, random_state=0)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", ConvergenceWarning)
    ...     cv = cross_validate(clf, X, y, cv=3, return_estimator=True,
    ...                         scoring={"accuracy": "accuracy", "epochs": scorer})
    >>> cv["test_epochs"]
    array([15., 15., 14.])
    >>> [epochs_to_loss(m.loss_curve_, 0.5) for m in cv["estimator"]]
    [15, 15, 14]
    """
    target = _check_target(target)
    if isinstance(not_reached, (bool, np.bool_)) or not isinstance(
            not_reached, (int, float, np.number)):
        raise ValueError(f"not_reached must be a number; got {not_reached!r}.")
    return _EpochsToLossScorer(target, float(not_reached))
