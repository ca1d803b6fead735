"""The estimator's parameters as the training loops read them, fixed for one call."""

import dataclasses

#: The solvers that step through minibatches, and all of them.
STOCHASTIC_SOLVERS = ("sgd", "adam")
SOLVERS = ("lbfgs", *STOCHASTIC_SOLVERS)


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """What the loops read of the estimator's parameters, built once per fit call.

    The fields keep the estimator's parameter names and meanings (see the
    estimators' docstrings); the loops never see the other parameters.

    Examples
    --------
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn._training.settings import FitSettings
    >>> settings = FitSettings.from_params(MLPClassifier(solver="sgd").get_params())
    >>> settings.solver, settings.stochastic, settings.max_iter
    ('sgd', True, 200)
    >>> settings.rows_per_step(150), settings.rows_per_step(500)
    (150, 200)
    """

    solver: str
    alpha: float
    batch_size: object  # 'auto' or int
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    max_fun: int
    shuffle: bool
    tol: float
    verbose: object  # bool or int, as scikit-learn accepts it
    momentum: float
    nesterovs_momentum: bool
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: object  # int or inf
    input_bias_rate: float
    gradient_centralization: bool

    @classmethod
    def from_params(cls, params):
        """The settings from ``estimator.get_params()`` (other keys are ignored)."""
        return cls(**{field.name: params[field.name] for field in dataclasses.fields(cls)})

    @property
    def stochastic(self):
        """Whether the solver steps through minibatches (sgd, adam) rather than L-BFGS."""
        return self.solver in STOCHASTIC_SOLVERS

    def rows_per_step(self, n_samples):
        """Rows of a regular training step on `n_samples` rows: all of them for L-BFGS,
        else scikit-learn's clipping of ``batch_size`` ('auto': ``min(200, n_samples)``)."""
        if not self.stochastic:
            return n_samples
        if self.batch_size == "auto":
            return min(200, n_samples)
        return int(max(1, min(self.batch_size, n_samples)))
