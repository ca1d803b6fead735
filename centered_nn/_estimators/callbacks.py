"""scikit-learn's callback API (``sklearn.callback``, scikit-learn >= 1.9) for both estimators.

The task tree follows scikit-learn's own estimators: a ``fit`` (or
``partial_fit``) call is the root task; each epoch of 'sgd' and 'adam' is a
subtask named ``'epoch'``, and each L-BFGS iteration a subtask named
``'lbfgs-iter'``, mapped onto scipy's per-iteration callback as
:class:`~sklearn.linear_model.LogisticRegression`'s L-BFGS bridge does (the
first iteration begins before the optimiser starts; each scipy callback ends
one and begins the next; the left-over one is ended empty). A callback's request
to stop ends training after the epoch or iteration it was made at, for every
solver (L-BFGS through scipy's ``StopIteration``, scipy >= 1.11).

The training loops see one :class:`FitRun` through ``TrainingState.callbacks``
(None when no callback is set, so fits without callbacks pay nothing) as one of
their observers (``centered_nn._training.observers``): its
:meth:`~FitRun.on_iteration_begin` and :meth:`~FitRun.on_iteration_end`. Callbacks get
*copies* of the parameters (``reconstruction_attributes``), built only when a
callback asks for a fitted estimator, so they cannot change a trajectory.
"""

import sklearn

from .._network.network import Network

try:
    from sklearn import callback as _sk_callback
except ImportError:  # scikit-learn < 1.9
    _sk_callback = None

#: The scikit-learn release that brought ``sklearn.callback``.
MIN_SKLEARN_VERSION = "1.9"

#: Estimator attributes that belong to scikit-learn's callback machinery: a
#: failed fit's rollback keeps them by reference (the user's callback objects,
#: a meta-estimator's context), never as deep copies.
CALLBACK_ATTRIBUTES = frozenset({"_skl_callbacks", "_parent_callback_ctx",
                                 "_callback_fit_ctx", "_skl_callbacks_to_teardown"})


def callbacks_available():
    """Whether the installed scikit-learn provides ``sklearn.callback``."""
    return _sk_callback is not None


def _check_available():
    if not callbacks_available():
        raise ImportError(
            f"Callbacks need scikit-learn >= {MIN_SKLEARN_VERSION} (the sklearn.callback "
            f"module); scikit-learn {sklearn.__version__} is installed. Upgrade it with "
            f"pip install 'scikit-learn>={MIN_SKLEARN_VERSION}'."
        )


_Mixin = _sk_callback.CallbackSupportMixin if _sk_callback is not None else object


class CallbackSupport(_Mixin):
    """``set_callbacks`` from scikit-learn's ``CallbackSupportMixin``, or a clear error."""

    def set_callbacks(self, *callbacks):
        """Set callbacks for the estimator (scikit-learn >= 1.9).

        Parameters
        ----------
        *callbacks : callback instances
            Objects following :class:`sklearn.callback.FitCallback`, e.g.
            :class:`sklearn.callback.ProgressBar` or
            :class:`sklearn.callback.ScoringMonitor`. Called with no argument,
            removes the callbacks set before.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        ImportError
            When the installed scikit-learn has no ``sklearn.callback``.

        Examples
        --------
        >>> from sklearn.callback import ScoringMonitor
        >>> from sklearn.datasets import make_classification
        >>> from centered_nn import MLPClassifier
        >>> X, y = make_classification(n_samples=100, random_state=0)
        >>> monitor = ScoringMonitor(scoring="accuracy")
        >>> clf = MLPClassifier((16,), max_iter=5, random_state=0).set_callbacks(monitor)
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     clf = clf.fit(X, y)
        >>> [row["task_id_path"] for row in monitor.get_logs().data]
        [(0,), (0, 0), (0, 1), (0, 2), (0, 3), (0, 4)]
        """
        _check_available()
        return super().set_callbacks(*callbacks)


def with_callbacks(method):
    """scikit-learn's ``with_callbacks`` (every callback's teardown runs), if available."""
    return method if _sk_callback is None else _sk_callback.with_callbacks(method)


def begin_fit(estimator, X, y, sample_weight, *, incremental):
    """Open the root task of a fit or partial_fit call, or return None.

    Parameters
    ----------
    estimator : BaseMLP
    X, y : the validated data given to the call (what callbacks see and score)
    sample_weight : ndarray or None
        The weights the user passed, validated (passed to callbacks as metadata;
        training multiplies in ``class_weight``, which callbacks do not see).
    incremental : bool
        A partial_fit call: the root task is named 'partial_fit' and has one epoch.

    Returns
    -------
    FitRun or None
        None when scikit-learn has no callback API, or when neither the
        estimator nor a meta-estimator around it has callbacks (then the fit
        pays nothing).
    """
    if not callbacks_available() or not (hasattr(estimator, "_skl_callbacks")
                                         or hasattr(estimator, "_parent_callback_ctx")):
        return None
    if incremental:
        n_subtasks = 1
    elif estimator.solver == "lbfgs":  # and the empty one after the last iteration
        n_subtasks = estimator.max_iter + 1
    else:
        n_subtasks = estimator.max_iter
    ctx = estimator._init_callback_context(
        task_name="partial_fit" if incremental else "fit", max_subtasks=n_subtasks)
    run = FitRun(estimator, ctx, X, y, sample_weight)
    ctx.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=run.metadata)
    return run


class FitRun:
    """One fit's callback context and the subtask in progress.

    Parameters
    ----------
    estimator : BaseMLP
    context : sklearn.callback.CallbackContext
        The root task's context.
    X, y, sample_weight
        What the hooks pass to the callbacks.
    """

    def __init__(self, estimator, context, X, y, sample_weight):
        self.estimator = estimator
        self.context = context
        self.X, self.y = X, y
        self.metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        self.dtype = X.dtype
        self._subtask = None

    def for_loops(self):
        """This run for the training loops, or None when no callback is set (then no
        subtask is opened, as in scikit-learn's own estimators)."""
        return self if getattr(self.estimator, "_skl_callbacks", None) else None

    # ----------------------------------------------- the loops' observer hooks
    def on_iteration_begin(self, net, state):
        """Begin an epoch's (sgd, adam) or L-BFGS iteration's subtask, the model as it
        stands before it."""
        self._begin("lbfgs-iter" if self.estimator.solver == "lbfgs" else "epoch", net, state)

    def on_iteration_end(self, net, state):
        """End the subtask (an L-BFGS iterate is placed in ``net``); True when a callback
        asks to stop training (under L-BFGS the loop ends the optimisation at that
        iterate through scipy's ``StopIteration``)."""
        return self._end(net, state)

    # ---------------------------------------------------------------- root
    def end_fit(self):
        """End a subtask left open (the empty last L-BFGS one, or an interrupted epoch),
        then the root task with the fitted estimator."""
        if self._subtask is not None:
            self._subtask.call_on_fit_task_end(estimator=self.estimator)
            self._subtask = None
        self.context.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes={})

    def _begin(self, name, net, state):
        self._subtask = self.context.subcontext(task_name=name)
        self._subtask.call_on_fit_task_begin(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self._attributes(net, state))

    def _end(self, net, state):
        subtask, self._subtask = self._subtask, None
        return subtask.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, metadata=self.metadata,
            reconstruction_attributes=lambda: self._attributes(net, state))

    def _attributes(self, net, state):
        """Copies of the parameters as prediction would use them now (lazy: only when a
        callback asks for ``fitted_estimator``)."""
        coefs = [c.astype(self.dtype) for c in net.coefs]  # astype copies
        intercepts = [c.astype(self.dtype) for c in net.intercepts]
        offsets = [None if b is None else b.astype(self.dtype) for b in net.offsets]
        copy = Network(coefs, intercepts, offsets, net.activation, net.output)
        state.offsets.inference(copy)  # running means for 'batch', on the copies
        return {"coefs_": coefs, "intercepts_": intercepts, "input_biases_": offsets,
                "loss_curve_": list(state.loss_curve)}
