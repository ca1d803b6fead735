"""MLPClassifier: label encoding, softmax/logistic output, log-loss, accuracy.

Everything else (parameters, training, offsets, diagnostics) lives in
:mod:`centered_nn._estimators.base`, shared with :class:`~centered_nn.MLPRegressor`.
"""

from numbers import Real

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight

from .base import BaseMLP
from .docs import shared_docs


@shared_docs
class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with pluggable activations and centring.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, defaults, fitted attributes and, with the added options
    at their defaults and the same `random_state`, the same training trajectory
    (initial weights, minibatch order, loss). On top of it:

    - any registered activation name or :class:`~centered_nn.activations.Activation`
      instance as the hidden nonlinearity;
    - per-input offsets b that reparameterise every layer as
      ``f = W(a + b) + c`` (``input_bias``), either trained by backpropagation
      or tracking the negative mean of the layer's input;
    - per-iteration gradient-sign diagnostics in `gradient_sign_history_`;
    - `loss_curve_` for the 'lbfgs' solver too, and `validation_loss_curve_`
      with early stopping;
    - `class_weight`, as in scikit-learn's linear models;
    - scikit-learn's callbacks (``set_callbacks``, scikit-learn >= 1.9): one
      subtask per epoch or L-BFGS iteration.

    Parameters
    ----------
    {shared_parameters}

    class_weight : dict, 'balanced' or None, default=None
        Weights associated with classes in the form ``{class_label: weight}``,
        with the meaning they have in scikit-learn's linear models: the weight
        of a sample's class multiplies its `sample_weight` (a fit with it
        equals, bit for bit, the fit with ``sample_weight * class_weight[y]``).
        None gives every class weight one. 'balanced' takes the weights from
        the `y` given to :term:`fit`, ``n_samples / (n_classes * np.bincount(y))``
        (:func:`sklearn.utils.class_weight.compute_sample_weight`), the counts
        weighted by `sample_weight` when it is given, as in
        :class:`~sklearn.linear_model.LogisticRegression`. As with
        :class:`~sklearn.linear_model.SGDClassifier`, a first `partial_fit`
        call refuses 'balanced' (one batch does not tell the class
        frequencies: pass a dict computed with
        :func:`~sklearn.utils.class_weight.compute_class_weight`); a
        `partial_fit` after `fit` takes it from that call's `y`. For multilabel
        `y`, 'balanced' multiplies the balanced weights of each label column
        (scikit-learn's multi-output meaning); a dict is refused there.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray of shape (n_classes,)
        Class labels for each output.

    loss_ : float
        The current loss computed with the loss function.

    best_loss_ : float or None
        The minimum loss reached by the solver throughout fitting; None with
        early stopping. Only for 'sgd' and 'adam'.

    loss_curve_ : list of shape (`n_iter_`,)
        The loss at the end of each iteration (epoch for 'sgd' and 'adam',
        L-BFGS iteration for 'lbfgs'); appended across `warm_start` fits and
        `partial_fit` calls.

    validation_scores_ : list of shape (`n_iter_`,) or None
        Accuracy on the held-out set at each epoch with early stopping, else
        None. Only for 'sgd' and 'adam'.

    best_validation_score_ : float or None
        The best validation accuracy, with early stopping; else None.

    {shared_attributes}

    out_activation_ : str
        Name of the output activation function: 'softmax' or 'logistic'.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : The model this one reproduces.
    centered_nn.Centerer : Centre the input features in a pipeline.

    Notes
    -----
    Layer l computes ``z = (a + b) @ W + c``; the offset is folded into the
    intercept (``a @ W + (b @ W + c)``) so sparse input is never densified.

    A fit that raises leaves the estimator as it was before the call. Ctrl-C
    (KeyboardInterrupt) during an 'sgd' or 'adam' fit behaves as in
    scikit-learn once an epoch of the call has completed: a warning, and the
    model trained so far (the cut-short epoch's steps are in the weights but
    not in `loss_curve_` or `gradient_sign_history_`). Before the first epoch
    of the call completes (so in any ``partial_fit``), and with 'lbfgs', the
    interrupt propagates and the estimator is left as before the call.

    References
    ----------
    LeCun, Bottou, Orr and Müller, "Efficient BackProp", 1998.

    Wiesler, Richard, Schlüter and Ney, "Mean-normalized stochastic gradient
    for large-scale deep learning", ICASSP 2014.

    Examples
    --------
    >>> from centered_nn import MLPClassifier
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(n_samples=100, random_state=1)
    >>> clf = MLPClassifier(activation="elu", input_bias="mean", max_iter=1000,
    ...                     random_state=1).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.gradient_sign_history_["same_sign_fraction"].shape == (clf.n_iter_, 2)
    True
    """

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        input_bias="none",
        input_bias_layers="all",
        input_bias_init="center",
        input_bias_rate=0.1,
        gradient_centralization=False,
        record_gradient_signs=True,
        class_weight=None,
    ):
        self._store_params(locals())

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "class_weight": [StrOptions({"balanced"}), dict, None],
    }

    # ------------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and targets y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values (class labels, or a label indicator matrix for
            multilabel classification).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(lambda est: est._check_solver())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        classes : array of shape (n_classes,), default=None
            Classes across all calls to partial_fit; required on the first call.

        Returns
        -------
        self : object
            The updated estimator.
        """
        if self.class_weight == "balanced" and not hasattr(self, "classes_"):
            raise ValueError(  # SGDClassifier's rule and message
                "class_weight 'balanced' is not supported for partial_fit. In order to "
                "use 'balanced' weights, use compute_class_weight('balanced', "
                "classes=classes, y=y). In place of y you can use a large enough sample "
                "of the full training set target to properly estimate the class "
                "frequency distributions. Pass the resulting weights as the "
                "class_weight parameter."
            )
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    # ------------------------------------------------------------ task hooks
    _y_numeric = False
    _stratify_validation = True

    def _encode_targets(self, y, incremental, classes=None):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if incremental:
            first_call = not hasattr(self, "classes_")
            if first_call and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if classes is not None and not first_call:
                if not np.array_equal(unique_labels(classes), self.classes_):
                    raise ValueError(
                        f"`classes={classes!r}` is not the same as on last call to "
                        f"partial_fit, was: {self.classes_!r}"
                    )
            if first_call:
                multilabel = type_of_target(y).startswith("multilabel")
                self._label_binarizer = LabelBinarizer().fit(y if multilabel else classes)
                self.classes_ = self._label_binarizer.classes_
        refit = not hasattr(self, "classes_") or (not self.warm_start and not incremental)
        if refit:
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as "
                        f"in the previous call to fit. Previously got {self.classes_}, "
                        f"`y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        binarizer = self._label_binarizer
        if binarizer.y_type_ == "multiclass":  # one boolean column per class, directly:
            Y = np.asarray(y).reshape(-1, 1) == binarizer.classes_  # no int64 copy first
        else:
            Y = binarizer.transform(y).astype(bool)
        return Y.reshape(Y.shape[0], -1)

    def _class_weighted(self, y, X, sample_weight):
        """``sample_weight * class_weight[y]`` in float64 (None when class_weight is None)."""
        if self.class_weight is None:
            return sample_weight
        _check_class_weight_values(self.class_weight)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self._label_binarizer.y_type_.startswith("multilabel"):
            if self.class_weight != "balanced":
                raise ValueError(
                    "class_weight as a dict is not supported for multilabel y: its "
                    "meaning per label column is ambiguous. Use class_weight='balanced', "
                    "or pass sample_weight=compute_sample_weight([{0: w0, 1: w1}, ...], y) "
                    "with one dict per label column."
                )
            columns = [_per_sample_class_weight("balanced", np.unique(c), c, sample_weight)
                       for c in np.asarray(y).T]
            weights = np.prod(columns, axis=0, dtype=np.float64)  # as compute_sample_weight
        else:
            y = column_or_1d(y) if y.ndim == 2 else y
            weights = _per_sample_class_weight(self.class_weight, self.classes_, y, sample_weight)
        weighted = weights if sample_weight is None else sample_weight * weights
        total = weighted.sum()
        if not total > 0 and (weights < 0).any():
            raise ValueError(
                f"class_weight={self.class_weight!r} gives negative weights, and the "
                f"class-weighted sample weights sum to {total}; class weights must be "
                "non-negative, with a positive total, for the loss to be defined."
            )
        return weighted

    def _output_name(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validation_score(self, P, Y, sample_weight):
        if not np.isfinite(P).all():
            return np.nan
        return accuracy_score(self._decode(Y), self._decode(P), sample_weight=sample_weight)

    # --------------------------------------------------------------- predicting
    def _decode(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The predicted classes.
        """
        return self._decode(self._predict_raw(X))

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y_prob : ndarray of shape (n_samples, n_classes)
            The predicted probability of each class, ordered as in `classes_`.
        """
        proba = self._predict_raw(X)
        if self.n_outputs_ == 1:
            proba = proba.ravel()
            return np.vstack([1 - proba, proba]).T
        return proba

    def predict_log_proba(self, X):
        """Return the log of probability estimates.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        log_y_prob : ndarray of shape (n_samples, n_classes)
            ``log(predict_proba(X))``.
        """
        proba = self.predict_proba(X)
        return np.log(proba, out=proba)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _check_class_weight_values(class_weight):
    """A dict's weights must be finite numbers (not None, NaN or infinite)."""
    if not isinstance(class_weight, dict):
        return
    bad = {label: weight for label, weight in class_weight.items()
           if not (isinstance(weight, Real) and np.isfinite(weight))}
    if bad:
        raise ValueError(
            f"class_weight gives class(es) {list(bad)} the weight(s) {list(bad.values())}: "
            "every class weight must be a finite number."
        )


def _per_sample_class_weight(class_weight, classes, y, sample_weight):
    """Each sample's class weight; 'balanced' counts classes by `sample_weight`.

    The counting is :class:`~sklearn.linear_model.LogisticRegression`'s, so
    integer weights and repeated samples give the same fit; without sample
    weights it is :func:`~sklearn.utils.class_weight.compute_sample_weight`'s.
    """
    index = np.searchsorted(classes, y)
    if class_weight == "balanced" and sample_weight is not None:
        present = np.isin(classes, y)
        totals = np.bincount(index, weights=sample_weight, minlength=len(classes))
        if np.any(present & (totals <= 0)):
            raise ValueError(
                "class_weight='balanced' counts the classes by sample_weight, and every "
                f"sample of class(es) {classes[present & (totals <= 0)].tolist()} has zero "
                "weight: their balanced weight is undefined. Drop those samples or pass "
                "class_weight as a dict."
            )
    per_class = compute_class_weight(class_weight, classes=classes, y=y,
                                     sample_weight=sample_weight)
    return per_class[index]
