"""MLPRegressor: numeric targets, identity/exp output, squared error/Poisson loss, R².

Everything else (parameters, training, offsets, diagnostics) lives in
:mod:`centered_nn._estimators.base`, shared with :class:`~centered_nn.MLPClassifier`.
"""

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.metaestimators import available_if

from .base import BaseMLP
from .docs import shared_docs


@shared_docs
class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with pluggable activations and centring.

    A drop-in replacement for :class:`sklearn.neural_network.MLPRegressor`:
    the same parameters, defaults, fitted attributes and, with the added options
    at their defaults and the same `random_state`, the same training trajectory.
    It adds exactly what :class:`~centered_nn.MLPClassifier` adds: pluggable
    activations, per-input offsets ``f = W(a + b) + c`` (``input_bias``),
    `gradient_sign_history_`, and `loss_curve_` for 'lbfgs'.

    Parameters
    ----------
    loss : {'squared_error', 'poisson'}, default='squared_error'
        The loss: half the squared error with an identity output, or half the
        Poisson deviance with an exponential output (targets must then be
        non-negative). As in scikit-learn, the reported squared error is
        averaged over the output columns while training follows the gradient
        of their sum (the two differ by the factor ``n_outputs_``).

    {shared_parameters}

    Attributes
    ----------
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
        R² on the held-out set at each epoch with early stopping, else None.
        Only for 'sgd' and 'adam'.

    best_validation_score_ : float or None
        The best validation R², with early stopping; else None.

    {shared_attributes}

    out_activation_ : str
        Name of the output activation function: 'identity' or 'exp'.

    See Also
    --------
    sklearn.neural_network.MLPRegressor : The model this one reproduces.
    MLPClassifier : The classification twin.

    Notes
    -----
    Unlike scikit-learn 1.9's MLPRegressor, whose ``partial_fit`` with
    ``solver='lbfgs'`` silently runs a full L-BFGS fit, ``partial_fit`` exists
    here only for 'sgd' and 'adam', as for the classifier.

    A fit that raises leaves the estimator as it was before the call. Ctrl-C
    (KeyboardInterrupt) during an 'sgd' or 'adam' fit behaves as in
    scikit-learn once an epoch of the call has completed: a warning, and the
    model trained so far (the cut-short epoch's steps are in the weights but
    not in `loss_curve_` or `gradient_sign_history_`). Before the first epoch
    of the call completes (so in any ``partial_fit``), and with 'lbfgs', the
    interrupt propagates and the estimator is left as before the call.

    Examples
    --------
    >>> from centered_nn import MLPRegressor
    >>> from sklearn.datasets import make_regression
    >>> X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    >>> y = y / y.std()  # on a target of unit scale L-BFGS converges within max_iter
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", input_bias="mean",
    ...                    random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    >>> reg.gradient_sign_history_["sample_same_sign_fraction"].shape == (reg.n_iter_, 2)
    True
    """

    _parameter_constraints: dict = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions({"squared_error", "poisson"})],
    }

    def __init__(
        self,
        loss="squared_error",
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
    ):
        self._store_params(locals())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix X and target(s) y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
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
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with a single iteration over the given data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, incremental=True)

    # ------------------------------------------------------------ task hooks
    _y_numeric = True

    def _encode_targets(self, y, incremental):
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(
                "loss='poisson' requires non-negative targets; y has negative values."
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return y.reshape(y.shape[0], -1)

    def _output_name(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _validation_score(self, P, Y, sample_weight):
        if not np.isfinite(P).all():
            return np.nan
        if Y.shape[1] == 1:
            Y, P = Y.ravel(), P.ravel()
        return r2_score(Y, P, sample_weight=sample_weight)

    # ------------------------------------------------------------ predicting
    def predict(self, X):
        """Predict using the multi-layer perceptron model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predicted values.
        """
        y_pred = self._predict_raw(X)
        return y_pred.ravel() if y_pred.shape[1] == 1 else y_pred
