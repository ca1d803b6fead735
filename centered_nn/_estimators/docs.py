"""The docstring sections both estimators share."""

#: Docstring sections both estimators share, filled in by :func:`shared_docs`.
_PARAMETERS_DOC = """\
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

    input_bias : {'none', 'learned', 'mean', 'batch'}, default='none'
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
        - 'batch': mean-only batch normalisation (Salimans and Kingma, 2016):
          in a training step b is minus the (sample-weighted) mean of the
          layer's input over the current minibatch (the whole training set
          for 'lbfgs'), and the gradient flows through that mean. Prediction
          uses running means of the batch means (see `input_bias_rate`), or
          after 'lbfgs' the final full-data means. Adding a constant vector
          to every sample changes neither the trajectory nor the predictions
          on equally shifted data. The mean of one sample centres every input
          to zero, so the centred layers would not train: minibatches of one
          sample (``batch_size=1``, or fewer than 2 training samples) are
          refused with a ValueError at fit. A step on a single minibatch of
          one row (the last one when ``n_samples % batch_size == 1``) or
          whose sample weight sits on one row is taken as it is (the centred
          layers' weights get no data gradient in it; the other parameters
          and the running means are updated) and a UserWarning says so, once
          per call: choose a `batch_size` that leaves at least 2 samples in
          the last minibatch.

    input_bias_layers : {'first', 'all'}, default='all'
        Which weight matrices get offsets: the first only (the raw features)
        or every one (hidden activations too). Ignored when
        ``input_bias='none'``.

    input_bias_init : {'zeros', 'center'}, default='center'
        Initial offsets for ``input_bias='learned'``: zeros, or ``-mean`` of
        each layer's input on the training data of the first fit (computed
        layer after layer through the initial network).

    input_bias_rate : float, default=0.1
        For ``input_bias='mean'`` at hidden layers and ``input_bias='batch'``:
        the weight of each new minibatch in the running mean,
        ``m <- m + rate * (batch_mean - m)``.

    gradient_centralization : bool, default=False
        Gradient centralization (Yong et al., 2020): before the optimiser uses
        it, each column of each weight gradient (the L2 term included) has its
        mean over fan_in subtracted; intercepts and offsets are left alone.
        Under 'sgd' every weight column's sum therefore keeps its initial
        value. With 'lbfgs' the gradient is the same projection, so L-BFGS
        optimises within that constraint set. The sign diagnostics then
        describe the centred gradients, whose columns sum to zero: both
        same-sign fractions of `gradient_sign_history_` are 0 by
        construction (NaN where a gradient is all zero). A weight matrix with
        fan_in 1 (one input feature, or a hidden layer of one unit) has a
        centred gradient of exactly zero, so its weights never change: a
        UserWarning names it at fit.

    record_gradient_signs : bool or list of str and StepMetric, default=True
        Whether to record `gradient_sign_history_`: True records the default
        metrics, :attr:`centered_nn.diagnostics.GradientSignRecorder.METRICS`;
        a list records only the built-in metrics it names (at less cost; the
        opt-in ``'input_eigenvalue_ratio'`` too) and the
        :class:`~centered_nn.diagnostics.StepMetric` instances it holds (your
        own metrics, keyed by their ``name``); False leaves the history None
        and costs nothing.
"""

_ATTRIBUTES_DOC = """\
    validation_loss_curve_ : list of shape (`n_iter_`,) or None
        With early stopping, the loss on the held-out split after each epoch,
        beside `validation_scores_`: the loss of `loss_curve_` (including the
        L2 penalty, ``alpha / 2 * sum ||W||²`` divided by the split's size or
        total sample weight, as `loss_curve_` divides it by each minibatch's),
        computed on the whole split as one batch with the weights, and the
        offsets that prediction uses, at the end of the epoch. Appended across
        `warm_start` fits like `loss_curve_`. None without early stopping; only
        for 'sgd' and 'adam'.

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
        Maps each recorded metric (by default those of
        :attr:`centered_nn.diagnostics.GradientSignRecorder.METRICS`, else
        those `record_gradient_signs` names or holds) to a float
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
"""


def shared_docs(cls):
    """Class decorator: put the shared parameter and attribute docs in ``cls.__doc__``.

    Under ``python -OO`` docstrings are stripped (``cls.__doc__`` is None): the
    class is returned unchanged.
    """
    if cls.__doc__ is None:
        return cls
    cls.__doc__ = cls.__doc__.replace("    {shared_parameters}\n", _PARAMETERS_DOC).replace(
        "    {shared_attributes}\n", _ATTRIBUTES_DOC)
    return cls
