"""Transformers that centre features (:class:`Centerer`) or samples."""

from contextlib import contextmanager
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._stats import RunningMean, weighted_mean

try:  # scikit-learn >= 1.9: callbacks, taken as StandardScaler takes them
    from sklearn.callback import CallbackSupportMixin

    _CALLBACK_SUPPORT = (CallbackSupportMixin,)
except ImportError:
    _CALLBACK_SUPPORT = ()

__all__ = ["Centerer", "SampleCenterer"]

_STREAMING_STRATEGIES = ("mean", "none")
_FLOAT_DTYPES = (np.float64, np.float32)


def _check_partial_fit_strategy(estimator):
    """available_if check: partial_fit exists only for streamable strategies."""
    if estimator.strategy in ("median", "min"):
        raise AttributeError(
            "partial_fit supports only strategy='mean' or 'none', got "
            f"strategy={estimator.strategy!r}: a median or minimum cannot be "
            "updated exactly from streamed chunks. Use fit instead."
        )
    return True


@contextmanager
def _fit_task(estimator, X, y, sample_weight=None, name="fit"):
    """The root task of a fit for scikit-learn's callbacks (a leaf: no subtasks), begun
    and, when the block completes, ended as StandardScaler does; nothing without them."""
    if not _CALLBACK_SUPPORT:
        yield
        return
    context = estimator._init_callback_context(task_name=name)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
    yield
    context.call_on_fit_task_end(estimator=estimator, X=X, y=y, metadata=metadata,
                                 reconstruction_attributes={})


def _sparse_error(name, detail, alternative=""):
    return TypeError(
        f"{name} does not accept sparse input: {detail} would turn the implicit "
        "zeros into explicit non-zeros and make the matrix dense. Densify X "
        f"yourself (X.toarray()) if it fits in memory{alternative}."
    )


def _check_total_weight(total, what):
    """``n_samples_seen_`` must stay finite (the weights themselves are checked finite)."""
    if not np.isfinite(total):
        raise ValueError(
            f"The sample weights {what} sum to {total} in float64: rescale sample_weight "
            "(only the ratios between the weights matter for the mean)."
        )


def _weighted_median(X, sample_weight):
    """Per-column weighted median of float64 ``X``, non-negative weights.

    ``k`` is the first sorted position whose cumulative weight reaches half the
    total; if it equals half exactly (relative tol 1e-12) return the midpoint of
    ``x[k]`` and the next positive-weight value, else ``x[k]``. Unit weights
    give exactly :func:`numpy.median`; integer weights equal repeated rows.
    """
    order = np.argsort(X, axis=0, kind="stable")
    X_sorted = np.take_along_axis(X, order, axis=0)
    cum_weight = np.cumsum(sample_weight[order], axis=0)
    half = cum_weight[-1] / 2
    tol = 1e-12 * cum_weight[-1]
    cols = np.arange(X.shape[1])
    k = np.argmax(cum_weight >= half - tol, axis=0)
    cum_k = cum_weight[k, cols]
    # First position after k that carries positive weight (only used on ties,
    # where it always exists because cum_k < total).
    j = np.argmax(cum_weight > cum_k + tol, axis=0)
    lower, upper = X_sorted[k, cols], X_sorted[j, cols]
    return np.where(cum_k <= half + tol, (lower + upper) / 2, lower)


class Centerer(*_CALLBACK_SUPPORT, OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Centre each feature by a per-feature offset, then add a constant shift.

    The transformation is ``X - center_ + shift``: zero-mean features, a
    controlled *uncentred* input (``strategy='min'``) or no centring at all
    (``strategy='none'``, e.g. as a grid-search option).

    Parameters
    ----------
    strategy : {'mean', 'median', 'min', 'none'}, default='mean'
        Offset subtracted from each feature:

        - 'mean': the (sample-weighted) mean.
        - 'median': the (sample-weighted) median. When the cumulative weight
          hits exactly half of the total weight, the midpoint of the two
          neighbouring values is used, so unweighted results equal
          :func:`numpy.median`.
        - 'min': the minimum over the samples with positive weight, so every
          output value is ``>= shift``.
        - 'none': no offset (``center_`` is all zeros).

    shift : float, default=0.0
        Constant added to every feature after centring.

    Attributes
    ----------
    center_ : ndarray of shape (`n_features_in_`,)
        Per-feature offset subtracted by :meth:`transform`, always float64.

    n_samples_seen_ : float
        Sum of the sample weights seen by :meth:`fit`, or accumulated over
        calls to :meth:`partial_fit` (the number of samples when unweighted).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    SampleCenterer : Subtract each sample's own mean instead.
    sklearn.preprocessing.StandardScaler : Centre and scale to unit variance.

    Notes
    -----
    Sparse input is rejected with a ``TypeError`` (centring would densify it),
    except with ``strategy='none'`` and ``shift=0``, where it is passed
    through unchanged. ``MLPClassifier(input_bias='mean')`` applies the offset
    inside the first layer and keeps sparse input sparse. :meth:`partial_fit`
    is available only for ``strategy`` 'mean' and 'none'.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.preprocessing import Centerer
    >>> X = np.array([[1.0, 10.0], [2.0, 20.0], [6.0, 60.0]])
    >>> centerer = Centerer().fit(X)
    >>> centerer.center_
    array([ 3., 30.])
    >>> centerer.transform(X)
    array([[ -2., -20.],
           [ -1., -10.],
           [  3.,  30.]])
    >>> Centerer(strategy="median").fit(X).center_
    array([ 2., 20.])
    >>> Centerer(strategy="min", shift=1.0).fit_transform(X)
    array([[ 1.,  1.],
           [ 2., 11.],
           [ 6., 51.]])
    """

    _parameter_constraints: dict = {
        "strategy": [StrOptions({"mean", "median", "min", "none"})],
        "shift": [Interval(Real, None, None, closed="neither")],
    }

    def __init__(self, strategy="mean", shift=0.0):
        self.strategy = strategy
        self.shift = shift

    def _accepts_sparse(self):
        return self.strategy == "none" and self.shift == 0

    def _validate(self, X, *, reset, copy=False):
        if sp.issparse(X) and not self._accepts_sparse():
            raise _sparse_error(
                f"Centerer(strategy={self.strategy!r}, shift={self.shift!r})",
                "subtracting center_ or adding shift",
                ", or, to keep X sparse, use MLPClassifier(input_bias='mean'), "
                "which applies the offset inside the first layer without "
                "densifying X",
            )
        return validate_data(
            self, X, accept_sparse=True, dtype=_FLOAT_DTYPES, copy=copy, reset=reset
        )

    def _validate_fit(self, X, sample_weight, *, reset):
        X = self._validate(X, reset=reset)
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        return X, sample_weight

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Compute the per-feature offset.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. Sparse input is accepted only with
            ``strategy='none'`` and ``shift=0``.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. None means unit weights.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        given = sample_weight
        X, sample_weight = self._validate_fit(X, sample_weight, reset=True)
        with _fit_task(self, X, y, given):
            _check_total_weight(float(sample_weight.sum()), "of X")
            if self.strategy == "none":
                center = np.zeros(X.shape[1])
            elif self.strategy == "mean":
                center = weighted_mean(X, sample_weight)
            elif self.strategy == "median":
                center = _weighted_median(X.astype(np.float64), sample_weight)
            else:  # "min"
                center = X[sample_weight > 0].min(axis=0)
            self.center_ = np.asarray(center, dtype=np.float64)
            self.n_samples_seen_ = float(sample_weight.sum())
        return self

    @available_if(_check_partial_fit_strategy)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the running (weighted) mean with a batch of samples.

        Only available for ``strategy`` 'mean' and 'none'; for other
        strategies, accessing this method raises an ``AttributeError`` (so
        ``hasattr`` returns False), as scikit-learn's ``available_if`` does.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Batch of training data.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights. None means unit weights.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        _check_partial_fit_strategy(self)
        first_call = not hasattr(self, "n_samples_seen_")
        given = sample_weight
        X, sample_weight = self._validate_fit(X, sample_weight, reset=first_call)
        with _fit_task(self, X, y, given, name="partial_fit"):
            seen = RunningMean(None if first_call else self.center_,
                               0.0 if first_call else self.n_samples_seen_)
            total = seen.weight + float(sample_weight.sum())
            _check_total_weight(total, "seen so far (this batch included)")
            if self.strategy == "mean":
                seen.add(X, sample_weight)
            self.center_ = np.zeros(X.shape[1]) if seen.mean is None or \
                self.strategy == "none" else seen.mean
            self.n_samples_seen_ = total
        return self

    def transform(self, X):
        """Return ``X - center_ + shift``, in the dtype of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to transform.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            Transformed data (a copy of sparse input when
            ``strategy='none'`` and ``shift=0``).
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False, copy=True)
        if sp.issparse(X):
            return X
        X -= self.center_
        X += self.shift
        return X

    def inverse_transform(self, X):
        """Return ``X + center_ - shift``, in the dtype of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Transformed data.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Data in the original feature space.
        """
        check_is_fitted(self)
        X = self._validate(X, reset=False, copy=True)
        if sp.issparse(X):
            return X
        X += self.center_
        X -= self.shift
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accepts_sparse()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class SampleCenterer(*_CALLBACK_SUPPORT, OneToOneFeatureMixin, TransformerMixin,
                     BaseEstimator):
    """Subtract each sample's own mean across features.

    The transformation is ``X - X.mean(axis=1, keepdims=True)``: every output
    row has mean zero. This estimator is :term:`stateless`; like
    :class:`sklearn.preprocessing.Normalizer` it does not need to be fitted,
    but :meth:`fit` validates ``X`` and records ``n_features_in_``. Sparse
    input is rejected with a ``TypeError`` (centring rows would densify it).

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    Centerer : Subtract a per-feature offset instead.
    sklearn.preprocessing.Normalizer : Rescale each sample to unit norm.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.preprocessing import SampleCenterer
    >>> X = np.array([[1.0, 2.0, 6.0], [0.0, 4.0, 2.0]])
    >>> SampleCenterer().fit_transform(X)
    array([[-2., -1.,  3.],
           [-2.,  2.,  0.]])
    """

    _parameter_constraints: dict = {}

    def _validate(self, X, *, reset):
        if sp.issparse(X):
            raise _sparse_error("SampleCenterer", "subtracting each row's mean")
        return validate_data(self, X, dtype=_FLOAT_DTYPES, reset=reset)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Validate ``X`` and record the number of features.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted transformer.
        """
        X = self._validate(X, reset=True)
        with _fit_task(self, X, y):
            pass  # stateless: nothing to learn, but callbacks see the fit
        return self

    def transform(self, X):
        """Subtract each row's mean, keeping the dtype of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to transform.

        Returns
        -------
        X_tr : ndarray of shape (n_samples, n_features)
            Row-centred data.
        """
        X = self._validate(X, reset=False)
        row_mean = X.mean(axis=1, keepdims=True, dtype=np.float64)
        return (X - row_mean).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
