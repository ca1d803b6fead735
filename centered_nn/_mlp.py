"""MLPClassifier: validation, labels, training loops and fitted attributes.

The arithmetic lives in :mod:`centered_nn._network` (forward, backward,
offsets), :mod:`centered_nn._solvers` (SGD, Adam, L-BFGS) and
:mod:`centered_nn.diagnostics` (gradient-sign statistics); this module is glue.
"""

from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import _network
from ._training import TrainingMixin
from .activations import get_activation
from .diagnostics import GradientSignRecorder

_STOCHASTIC_SOLVERS = ("sgd", "adam")


class MLPClassifier(TrainingMixin, ClassifierMixin, BaseEstimator):
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
    - `loss_curve_` for the 'lbfgs' solver too.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(100,)
        The ith element represents the number of neurons in the ith hidden layer.

    activation : str or Activation, default='relu'
        Hidden-layer activation: a name registered in
        :data:`centered_nn.activations.ACTIVATIONS` ('identity', 'logistic',
        'tanh', 'relu', 'leaky_relu', 'elu', 'selu', 'softplus',
        'centered_logistic', 'lecun_tanh') or an object with ``value(z)`` and
        ``derivative(z, a)`` methods. Its ``init_factor`` sets the
        Glorot-uniform bound ``sqrt(init_factor / (fan_in + fan_out))``.

    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        The solver for weight optimization.

    alpha : float, default=0.0001
        Strength of the L2 regularization term on the weights (not on the
        intercepts or offsets), divided by the sample size when added to the loss.

    batch_size : int or 'auto', default='auto'
        Size of minibatches for stochastic optimizers; 'auto' is
        ``min(200, n_samples)``. Ignored by 'lbfgs'.

    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Learning rate schedule for weight updates; only used by 'sgd'.

    learning_rate_init : float, default=0.001
        The initial learning rate ('sgd' and 'adam').

    power_t : float, default=0.5
        Exponent of the 'invscaling' schedule.

    max_iter : int, default=200
        Maximum number of epochs ('sgd', 'adam') or iterations ('lbfgs').

    shuffle : bool, default=True
        Whether to shuffle samples in each epoch ('sgd', 'adam').

    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the early-stopping split and the
        minibatch order.

    tol : float, default=1e-4
        Tolerance for the optimization.

    verbose : bool, default=False
        Whether to print progress messages to stdout.

    warm_start : bool, default=False
        Reuse the solution of the previous call to fit as initialization.

    momentum : float, default=0.9
        Momentum for gradient descent update ('sgd').

    nesterovs_momentum : bool, default=True
        Whether to use Nesterov's momentum ('sgd' with momentum > 0).

    early_stopping : bool, default=False
        Whether to hold out `validation_fraction` of the training data and stop
        when the validation score stops improving ('sgd', 'adam'). The best
        weights (and offsets) are restored at the end.

    validation_fraction : float, default=0.1
        Proportion of training data held out for early stopping.

    beta_1 : float, default=0.9
        Exponential decay rate of Adam's first moment estimates.

    beta_2 : float, default=0.999
        Exponential decay rate of Adam's second moment estimates.

    epsilon : float, default=1e-8
        Value for numerical stability in Adam.

    n_iter_no_change : int, default=10
        Maximum number of epochs not meeting `tol` improvement ('sgd', 'adam').

    max_fun : int, default=15000
        Maximum number of loss function calls ('lbfgs').

    input_bias : {'none', 'learned', 'mean'}, default='none'
        Per-input offsets b in ``f = W(a + b) + c``:

        - 'none': no offsets, the plain network.
        - 'learned': b is trained by backpropagation, ``dL/db = W dL/dc``
          (no L2 penalty on b). Nothing in this gradient pulls b towards
          ``-mean(a)``.
        - 'mean': b is not trained; it is ``-mean`` of the layer's input. At
          the first layer that is the exact (sample-weighted) mean of the
          training data, streamed across `partial_fit` calls; at hidden
          layers a running mean over minibatches (see `input_bias_rate`),
          initialised by the first. Whenever b moves by Δ the intercept moves
          by ``-W Δ`` so the network's function does not change
          (mean-normalised SGD, Wiesler et al., 2014). With 'lbfgs' the
          hidden offsets are set from one pass over the whole training set at
          the start of each fit and held fixed during the optimisation, since
          moving them inside L-BFGS would invalidate its curvature memory;
          at the end they are re-centred on the trained network (compensated,
          so predictions do not change). The first layer's mean is taken over
          the training part of X (without an early-stopping validation split).

    input_bias_layers : {'first', 'all'}, default='all'
        Which weight matrices get offsets: the first only (the raw features)
        or every one (hidden activations too). Ignored when
        ``input_bias='none'``.

    input_bias_init : {'zeros', 'center'}, default='center'
        Initial offsets for ``input_bias='learned'``: zeros, or ``-mean`` of
        each layer's input on the training data of the first fit (computed
        layer after layer through the initial network).

    input_bias_rate : float, default=0.1
        For ``input_bias='mean'`` at hidden layers: the weight of each new
        minibatch in the running mean, ``m <- m + rate * (batch_mean - m)``.

    record_gradient_signs : bool, default=True
        Whether to record `gradient_sign_history_`. False leaves it None and
        costs nothing.

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

    t_ : int
        The number of training samples seen by the solver during fitting.

    coefs_ : list of shape (n_layers - 1,)
        The ith element is the weight matrix of layer i, shape (fan_in, fan_out).

    intercepts_ : list of shape (n_layers - 1,)
        The ith element is the bias vector c of layer i + 1.

    input_biases_ : list of shape (n_layers - 1,)
        The ith element is the offset vector b (length fan_in) of weight
        matrix i, or None for a layer without offsets (all None when
        ``input_bias='none'``).

    activation_ : Activation
        The resolved hidden activation object (the `activation` parameter is
        never changed).

    gradient_sign_history_ : dict or None
        Maps each metric of
        :attr:`centered_nn.diagnostics.GradientSignRecorder.METRICS` to a float
        array of shape (n_records, n_layers - 1): one row per entry of
        `loss_curve_`, one column per weight matrix, each value the mean over
        that iteration's update steps. Metrics are computed on the data term
        of the weight gradient, ``(a + b)ᵀ δ``, without the L2 penalty. Early
        stopping restores the best weights but, as `loss_curve_`, the history
        keeps every epoch; the restored weights belong to the epoch of
        ``argmax(validation_scores_)``. None when
        ``record_gradient_signs=False``.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when X has string feature names.

    n_iter_ : int
        The number of iterations the solver ran in the last call.

    n_layers_ : int
        Number of layers.

    n_outputs_ : int
        Number of outputs.

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
    >>> clf = MLPClassifier(activation="elu", input_bias="mean", max_iter=300,
    ...                     random_state=1).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    >>> clf.gradient_sign_history_["same_sign_fraction"].shape == (clf.n_iter_, 2)
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": "no_validation",  # resolved by get_activation, with clear errors
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "input_bias": [StrOptions({"none", "learned", "mean"})],
        "input_bias_layers": [StrOptions({"first", "all"})],
        "input_bias_init": [StrOptions({"zeros", "center"})],
        "input_bias_rate": [Interval(Real, 0, 1, closed="right")],
        "record_gradient_signs": ["boolean"],
    }

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
        record_gradient_signs=True,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.input_bias = input_bias
        self.input_bias_layers = input_bias_layers
        self.input_bias_init = input_bias_init
        self.input_bias_rate = input_bias_rate
        self.record_gradient_signs = record_gradient_signs

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

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

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
            self._label_binarizer = LabelBinarizer()
            multilabel = type_of_target(y).startswith("multilabel")
            self._label_binarizer.fit(y if multilabel else classes)
            self.classes_ = self._label_binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        hidden = self._hidden_layer_sizes()
        activation = get_activation(self.activation)
        if self.early_stopping and incremental and self.solver in _STOCHASTIC_SOLVERS:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        self.activation_ = activation
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if sparse.issparse(X):
            X = X.tocsr()  # fast row slicing for minibatches
        self.n_outputs_ = Y.shape[1]
        rng = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, [X.shape[1], *hidden, self.n_outputs_], X.dtype, rng)
        if self.record_gradient_signs and self._recorder is None:
            blank = np.full((len(self.loss_curve_), self.n_layers_ - 1), np.nan)
            history = dict.fromkeys(GradientSignRecorder.METRICS, blank)
            self._recorder = GradientSignRecorder(self.n_layers_ - 1, history=history)
        elif not self.record_gradient_signs:
            self._recorder = None
        validation = None
        if self.early_stopping and self.solver in _STOCHASTIC_SOLVERS:
            X, Y, sample_weight, validation = self._split_validation(X, Y, sample_weight, rng)
        self._place_offsets(X, sample_weight, first_pass, incremental)
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, Y, sample_weight, validation, rng, incremental)
        else:
            self._fit_lbfgs(X, Y, sample_weight)
        self.gradient_sign_history_ = self._recorder.history if self._recorder else None
        params = self.coefs_ + self.intercepts_ + [b for b in self.input_biases_ if b is not None]
        if not all(np.isfinite(p).all() for p in params):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )
        return self

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return sizes

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
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
        Y = self._label_binarizer.transform(y).astype(bool)
        return X, Y.reshape(Y.shape[0], -1)

    def _initialize(self, Y, layer_units, dtype, rng):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_layers_ = len(layer_units)
        self.out_activation_ = (
            "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        )
        factor = getattr(self.activation_, "init_factor", 6.0)
        self.coefs_, self.intercepts_ = _network.init_parameters(rng, layer_units, factor, dtype)
        with_offsets = self._offset_layers()
        self.input_biases_ = [
            np.zeros(fan_in, dtype=dtype) if layer in with_offsets else None
            for layer, fan_in in enumerate(layer_units[:-1])
        ]
        self._offset_tracker = None
        if self.input_bias == "mean":
            tracked = [layer for layer in with_offsets if layer > 0]
            self._offset_tracker = _network.OffsetTracker(tracked, self.input_bias_rate)
        self._offset_weight = 0.0
        self._snapshot_best()
        self.loss_curve_ = []
        self._recorder = None
        if self.solver in _STOCHASTIC_SOLVERS:
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # --------------------------------------------------------------- predicting
    def _decode(self, proba):
        if self.n_outputs_ == 1:
            proba = proba.ravel()
        return self._label_binarizer.inverse_transform(proba)

    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._forward(X)[0][-1]

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

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
