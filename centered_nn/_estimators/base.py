"""The estimator base shared by MLPClassifier and MLPRegressor.

Parameters and their validation, initialisation, the offsets, the training
state and the diagnostics wiring live here once. A subclass supplies only what
differs between the tasks: target encoding (``_encode_targets``), the output
layer (``_output_name``), the early-stopping split's stratification and the
validation score (``_validation_score``).
"""

import copy
import warnings
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._network import network
from .._network.offsets import OFFSET_SCHEMES
from .._network.output import OUTPUT_LAYERS
from .._training.loops import fit_lbfgs, fit_stochastic
from .._training.settings import FitSettings
from .._training.state import TrainingState, arrays_with_offsets
from ..activations import ACTIVATIONS, get_activation
from ..diagnostics import GradientSignRecorder, check_metrics
from ..exceptions import DivergenceError, DivergenceWarning, diverged
from . import callbacks

_STOCHASTIC_SOLVERS = ("sgd", "adam")

class BaseMLP(callbacks.CallbackSupport, BaseEstimator, metaclass=ABCMeta):
    """Shared machinery of the multi-layer perceptrons (not for direct use)."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        # live views of the registries: a name registered later is valid too
        "activation": [StrOptions(ACTIVATIONS.keys()), HasMethods(["value", "derivative"])],
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
        "input_bias": [StrOptions(OFFSET_SCHEMES.keys())],
        "input_bias_layers": [StrOptions({"first", "all"})],
        "input_bias_init": [StrOptions({"zeros", "center"})],
        "input_bias_rate": [Interval(Real, 0, 1, closed="right")],
        "gradient_centralization": ["boolean"],
        "record_gradient_signs": ["boolean", list, tuple],
    }

    def _store_params(self, params):
        """``__init__`` body: store every constructor argument unchanged."""
        for name in self._get_param_names():
            setattr(self, name, params[name])

    # ------------------------------------------------------------ task hooks
    @abstractmethod
    def _encode_targets(self, y, incremental, **target_options):
        """Validated y -> 2-D array the output layer trains on (sets task attributes)."""

    @abstractmethod
    def _output_name(self):
        """Name in :data:`~centered_nn._network.output.OUTPUT_LAYERS` of the output layer."""

    @abstractmethod
    def _validation_score(self, P, Y, sample_weight):
        """Early-stopping score of outputs P against encoded targets Y (NaN if P is not finite)."""

    def _class_weighted(self, y, X, sample_weight):
        """The sample weights training uses (the classifier multiplies in `class_weight`)."""
        return sample_weight

    #: Whether y must be numeric (validate_data's y_numeric), and whether the
    #: early-stopping split is stratified (single-output targets only).
    _y_numeric = False
    _stratify_validation = False

    # --------------------------------------------------------------- fitting
    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(
                "partial_fit is only available for stochastic optimizers. "
                f"{self.solver} is not stochastic."
            )
        return True

    def _fit(self, X, y, sample_weight, incremental, **target_options):
        """Fit or partial_fit; a call that raises leaves the estimator as it was."""
        saved = self._save_state()
        try:
            return self._fit_unguarded(X, y, sample_weight, incremental, **target_options)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _save_state(self):
        params = set(self._get_param_names()) | callbacks.CALLBACK_ATTRIBUTES  # by reference
        return {k: v if k in params else copy.deepcopy(v) for k, v in vars(self).items()}

    @callbacks.with_callbacks
    def _fit_unguarded(self, X, y, sample_weight, incremental, **target_options):
        hidden = self._hidden_layer_sizes()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
            dtype=(np.float64, np.float32), reset=first_pass, y_numeric=self._y_numeric,
        )
        Y = self._encode_targets(y, incremental, **target_options)
        activation = _resolve_activation(self.activation, X.dtype)
        sample_weight = self._class_weighted(y, X, sample_weight)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
            _check_weight_sum(sample_weight)
        if sparse.issparse(X):
            X = X.tocsr()  # fast row slicing for minibatches
        layer_units = [X.shape[1], *hidden, Y.shape[1]]
        rng = check_random_state(self.random_state)
        self.activation_ = activation
        if first_pass:
            self._initialize(layer_units, X.dtype, rng)
        else:
            self._check_same_network(layer_units, incremental)
        if self.gradient_centralization:
            _warn_frozen_by_centralization(self.coefs_)
        run = callbacks.begin_fit(self, X, y, sample_weight, incremental=incremental)
        state = self._state
        state.callbacks = run and run.for_loops()
        self._wire_recorder(state)
        net = self._network()
        train, validation = (X, Y, sample_weight), None
        stochastic = self.solver in _STOCHASTIC_SOLVERS
        if self.early_stopping and stochastic:
            train, validation = self._split_validation(X, Y, sample_weight, rng)
        state.offsets.check_batches(self.batch_size, train[0].shape[0], lbfgs=not stochastic)
        state.offsets.prepare(net, train[0], train[2], first_pass=first_pass,
                              incremental=incremental)
        n_before = len(state.loss_curve)
        settings = FitSettings.from_params(self.get_params(deep=False))
        if stochastic:
            fit_stochastic(net, state, settings, train, validation, rng, incremental,
                           self._validation_score)
        else:
            fit_lbfgs(net, state, settings, train)
        for name, value in state.published(stochastic).items():
            setattr(self, name + "_", value)
        self.gradient_sign_history_ = state.recorder.history if state.recorder else None
        state.callbacks = None
        self._check_finite_parameters()
        self._warn_if_diverged(state.loss_curve[n_before:])
        if run is not None:
            run.end_fit()
        return self

    def _hidden_layer_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if np.any(np.array(sizes) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return sizes

    def _initialize(self, layer_units, dtype, rng):
        self.n_layers_ = len(layer_units)
        self.n_outputs_ = layer_units[-1]
        self.out_activation_ = self._output_name()
        factor = getattr(self.activation_, "init_factor", 6.0)
        self.coefs_, self.intercepts_ = network.init_parameters(rng, layer_units, factor, dtype)
        n_matrices = len(layer_units) - 1
        layers = {0} if self.input_bias_layers == "first" else range(n_matrices)
        # 'none' keeps no layer
        scheme = OFFSET_SCHEMES[self.input_bias](layers, init=self.input_bias_init)
        self.input_biases_ = [
            np.zeros(fan_in, dtype=dtype) if layer in scheme.layers else None
            for layer, fan_in in enumerate(layer_units[:-1])
        ]
        self._offset_config = (self.input_bias, self.input_bias_layers)
        self._state = TrainingState(scheme, early_stopping=self.early_stopping)

    def _check_same_network(self, layer_units, incremental):
        """Under warm_start or partial_fit the architecture and offsets must not change."""
        how = "partial_fit" if incremental else "warm_start=True"
        fitted_hidden = [c.shape[1] for c in self.coefs_[:-1]]
        if list(layer_units[1:-1]) != fitted_hidden:
            raise ValueError(
                f"hidden_layer_sizes={self.hidden_layer_sizes!r} differs from the fitted "
                f"network's {tuple(fitted_hidden)}; {how} cannot change the architecture. "
                "Refit with warm_start=False."
            )
        if layer_units[-1] != self.n_outputs_:
            raise ValueError(
                f"y has {layer_units[-1]} output(s) but the fitted network has "
                f"{self.n_outputs_}; {how} cannot change the number of outputs. "
                "Refit with warm_start=False."
            )
        config = (self.input_bias, self.input_bias_layers)
        if config != self._offset_config:
            raise ValueError(
                f"input_bias={self.input_bias!r} and input_bias_layers="
                f"{self.input_bias_layers!r} differ from the previous fit "
                f"{self._offset_config}; they cannot change between warm_start or "
                "partial_fit calls. Refit from scratch (warm_start=False)."
            )

    def _wire_recorder(self, state):
        """The recorder for this call: the metrics asked for, earlier records kept.

        A call that records nothing keeps the history aside (``state.paused_history``).
        Records missing when recording resumes, or when more metrics are asked for
        under warm_start, are NaN: the iterations fitted without recording, the
        earlier iterations of a metric not recorded before.
        """
        wanted = self.record_gradient_signs
        if wanted is False:
            if state.recorder is not None:
                state.paused_history, state.recorder = state.recorder.history, None
            return
        metrics = check_metrics(None if wanted is True else wanted)
        if state.recorder is not None and state.recorder.metrics == metrics:
            return  # it has recorded every iteration since it was built
        old = state.recorder.history if state.recorder is not None else state.paused_history
        n_records, n_matrices = len(state.loss_curve), self.n_layers_ - 1
        history = {m: _padded((old or {}).get(m), n_records, n_matrices) for m in metrics}
        state.recorder = GradientSignRecorder(n_matrices, history=history, metrics=metrics)
        state.paused_history = None

    def _network(self):
        return network.Network(self.coefs_, self.intercepts_, self.input_biases_,
                                self.activation_, OUTPUT_LAYERS[self.out_activation_]())

    def _split_validation(self, X, Y, sample_weight, rng):
        """Hold out ``validation_fraction`` for early stopping, as scikit-learn does."""
        stratify = Y if self._stratify_validation and self.n_outputs_ == 1 else None
        arrays = (X, Y) if sample_weight is None else (X, Y, sample_weight)
        split = train_test_split(
            *arrays, random_state=rng, test_size=self.validation_fraction, stratify=stratify
        )
        X_train, X_val, Y_train, Y_val = split[:4]
        sw_train, sw_val = split[4:] if sample_weight is not None else (None, None)
        if X_val.shape[0] < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' "
                "or the size of your dataset."
            )
        return (X_train, Y_train, sw_train), (X_val, Y_val, sw_val)

    def _check_finite_parameters(self):
        if not all(np.isfinite(p).all() for p in arrays_with_offsets(self._network())):
            raise DivergenceError(
                "Solver produced non-finite parameter weights. The input data may"
                " contain large values and need to be preprocessed."
            )

    def _warn_if_diverged(self, losses):
        if diverged(losses):
            warnings.warn(
                f"The training loss rose from {losses[0]:.4g} to {losses[-1]:.4g} over "
                f"{len(losses)} iterations: the run diverged. Try a smaller "
                f"learning_rate_init (now {self.learning_rate_init!r}).",
                DivergenceWarning,
            )

    # ------------------------------------------------------------ predicting
    def _predict_raw(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        return self._network().predict(X)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _warn_frozen_by_centralization(coefs):
    """A gradient column centred over a fan_in of 1 is zero: those weights never move."""
    for layer, coef in enumerate(coefs):
        if coef.shape[0] == 1:
            warnings.warn(
                f"gradient_centralization=True: weight matrix coefs_[{layer}] has fan_in 1 "
                f"({'one input feature' if layer == 0 else 'a hidden layer of one unit'}), so "
                "its centred gradient is zero and its weights keep their initial values.",
                UserWarning,
            )


def _padded(records, n_records, n_matrices):
    """``records`` (or none) followed by NaN rows up to ``n_records`` rows."""
    padded = np.full((n_records, n_matrices), np.nan)
    if records is not None:
        padded[:len(records)] = records
    return padded


def _check_weight_sum(sample_weight):
    """Negative weights summing to at most zero leave some batch's loss undefined."""
    total = sample_weight.sum()
    if not total > 0 and (sample_weight < 0).any():
        raise ValueError(
            f"sample_weight has negative values and sums to {total}; sample weights must be "
            "non-negative, with a positive sum, for the loss to be defined."
        )


def _resolve_activation(activation, dtype):
    """A fresh activation object (the parameter is never changed), checked on a probe."""
    resolved = get_activation(activation)
    z = np.linspace(-2.0, 2.0, 6).astype(dtype).reshape(2, 3)
    name = type(resolved).__name__
    a = _checked_output(resolved.value(z.copy()), z, f"{name}.value")
    _checked_output(resolved.derivative(z.copy(), a), z, f"{name}.derivative")
    return resolved


def _checked_output(out, z, what):
    if not isinstance(out, np.ndarray) or out.shape != z.shape or out.dtype != z.dtype:
        got = (f"an array of shape {out.shape} and dtype {out.dtype}"
               if isinstance(out, np.ndarray) else f"an object of type {type(out).__name__}")
        raise TypeError(
            f"The activation's {what} returned {got} for an array of shape {z.shape} "
            f"and dtype {z.dtype}; it must return an array of the same shape and dtype."
        )
    return out
