"""The metrics of ``gradient_sign_history_``: :class:`StepMetric` and the registry of built-ins.

Each metric is one object: its definition (:meth:`StepMetric.step_value`, plain
numpy on one layer's :class:`~._step.LayerStep`) and, for the built-ins where one
exists, its fast paths: ``from_counts`` (from the compiled kernels' counts of a
step, :mod:`._kernels`) and ``kept_values`` (many one-row steps at once, from a
:class:`~._kept_steps.KeptSummary`). The recorder takes a fast path only where
the metric has one, the reference otherwise, so no path leaves a metric out.
:data:`BUILTIN_METRICS` is the one list of names: parameter validation, the
docstrings of :mod:`centered_nn.metrics` and :mod:`centered_nn.plotting` and the
tests are built from it. A new metric is a subclass added to it.
"""

import math

import numpy as np

from ._curvature import top_eigenvalue_ratio
from ._kernels import KEPT_CODES
from ._sign_stats import _flip_fraction, _rows_vary, _sample_fraction


def _ratio(counts, pair):
    """``counts[a] / counts[b]`` for ``pair = (a, b)``, NaN where ``counts[b]`` is 0.

    The compiled counts (see :func:`._kernels.step_stats`, with the input's size
    appended) are integers below 2**53 and one float64 sum, so the quotient is the
    one the recorder's kernels compute in float64.
    """
    den = counts[pair[1]]
    return counts[pair[0]] / den if den else math.nan


def ratio_from_counts(metric, counts):
    """The ``from_counts`` of a metric with a ``counts_ratio`` (shared: the recorder's
    kernels compute the values of exactly the metrics that have this one)."""
    return _ratio(counts, metric.counts_ratio)


#: The numpy form of each of :data:`._kernels.KEPT_CODES` (the compiled one is
#: ``_kernel_loops.add_kept_summaries``): a metric's values over many kept one-row
#: steps, from their :class:`~._kept_steps.KeptSummary`.
KEPT_FORMS = {
    KEPT_CODES["SINGLE_SIGNED"]: lambda summary: summary.same_sign,
    KEPT_CODES["FLIPS"]: lambda summary: summary.flips,
    KEPT_CODES["INPUT_MEAN"]: lambda summary: summary.input_sums / summary.fan_in,
    KEPT_CODES["POSITIVE_INPUTS"]: lambda summary: summary.n_positive / summary.fan_in,
    # one row e: eeᵀ has the eigenvalues |e|², 0, ...: the ratio is fan_in (NaN for e = 0)
    KEPT_CODES["NONZERO_FAN_IN"]: lambda summary: np.where(summary.n_nonzero > 0,
                                                           float(summary.fan_in), np.nan),
}


class StepMetric:
    """Base class of the per-step metrics recorded in ``gradient_sign_history_``.

    A subclass sets :attr:`name` (the key of ``gradient_sign_history_``) and
    implements :meth:`step_value`, one float for one weight matrix and one
    update step. The history stores, per iteration (epoch, or L-BFGS
    iteration) and weight matrix, the mean of the step values that are not NaN
    (NaN when all are), as for the built-in metrics. Pass instances to the
    estimators' ``record_gradient_signs`` beside built-in names. Keep the
    instance's configuration in constructor arguments stored unchanged (as
    scikit-learn estimators do), so that it clones, pickles and runs in
    GridSearchCV's workers.

    The ``step`` passed to :meth:`step_value` carries:

    - ``layer``: the weight matrix's index (``coefs_[layer]``, fan_in × fan_out);
    - ``inputs``: the layer's input a over the step's rows (dense or sparse);
    - ``offset``: its per-input offset b (``input_biases_[layer]``) or None;
    - ``effective_input``: a + b, what the weights multiply (the inputs themselves
      without an offset; with ``input_bias='batch'``, a minus the batch mean);
    - ``delta``: dL/dz per sample and unit, sample weights included;
    - ``weight_gradient``: the data term of the weight gradient,
      ``effective_inputᵀ delta`` (no L2 term, not divided by the batch size,
      before momentum or Adam scaling); with ``gradient_centralization=True``
      the centred one (each column minus its mean over fan_in), as the sign
      metrics describe it;
    - ``sample_weight``: the rows' weights, or None;
    - ``centered``: whether the step is gradient-centralized;
    - ``gradient_signs``: ``sign(weight_gradient)`` as int8, and
      ``previous_gradient_signs``: the previous step's, where they were read
      (None for the first step);
    - ``memory``: a dict kept per layer across the fit's steps (for warm starts).

    The arrays belong to the training loop: read them, never modify or keep them.

    Attributes
    ----------
    name : str
        The metric's key in ``gradient_sign_history_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.diagnostics import StepMetric
    >>> class GradientNorm(StepMetric):
    ...     name = "gradient_norm"
    ...     def step_value(self, step):
    ...         return float(np.linalg.norm(step.weight_gradient))
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=3, random_state=0,
    ...                     record_gradient_signs=["same_sign_fraction", GradientNorm()])
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clf = clf.fit(X / 16, y)
    >>> list(clf.gradient_sign_history_)
    ['same_sign_fraction', 'gradient_norm']
    >>> clf.gradient_sign_history_["gradient_norm"].shape  # epochs x weight matrices
    (3, 2)
    """

    #: The key of ``gradient_sign_history_``.
    name = None
    #: Fast path from the compiled counts of a step, ``from_counts(counts) -> float``
    #: (built-ins; None: the reference :meth:`step_value` is used).
    from_counts = None
    #: ``(a, b)``: the value is ``counts[a] / counts[b]`` (NaN where ``counts[b]`` is
    #: 0); the subclass then gets :func:`ratio_from_counts` as ``from_counts``, and the
    #: recorder's kernels add the values themselves (built-ins).
    counts_ratio = None
    #: Fast path over many kept one-row steps, ``kept_values(summary) -> ndarray``
    #: (built-ins; None: one-row steps are recorded one by one).
    kept_values = None
    #: One of :data:`._kernels.KEPT_CODES`' values (built-ins): the subclass then gets
    #: that code's numpy form (:data:`KEPT_FORMS`) as :attr:`kept_values`, and the
    #: recorder may take its compiled form; None: :attr:`kept_values` is called.
    kept_code = None
    #: The compiled counts must include the per-sample fraction's rows.
    counts_rows = False
    #: The value depends on ``previous_gradient_signs`` (the recorder then keeps them).
    reads_previous_signs = False

    def __init_subclass__(cls, **kwargs):
        """Derive the fast paths a subclass declares by ``counts_ratio`` and ``kept_code``."""
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if own.get("counts_ratio") is not None and "from_counts" not in own:
            cls.from_counts = ratio_from_counts
        if own.get("kept_code") is not None and "kept_values" not in own:
            cls.kept_values = staticmethod(KEPT_FORMS[own["kept_code"]])

    def step_value(self, step):
        """The metric's value for one weight matrix at one update step.

        Parameters
        ----------
        step : LayerStep
            See the class description for what it carries.

        Returns
        -------
        value : float
            NaN where the metric is undefined (not counted in the mean).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement step_value(step).")

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        # by value: a metric back from a pickle (a worker, a saved estimator) is the
        # same metric, so a warm start or partial_fit keeps its recorder
        if type(self) is not type(other):
            return NotImplemented
        try:
            return bool(vars(self) == vars(other))
        except (TypeError, ValueError):  # attributes without a plain equality
            return self is other

    def __hash__(self):
        return hash((type(self), self.name))


class SameSignFraction(StepMetric):
    """Fraction of units whose weight-gradient column has all its nonzero entries of one sign."""

    name = "same_sign_fraction"
    kept_code = KEPT_CODES["SINGLE_SIGNED"]
    counts_ratio = (1, 0)  # single-signed columns over signed columns

    def step_value(self, step):
        return step._grad_statistics()[0]


class SampleSameSignFraction(StepMetric):
    """The same for per-sample gradients: fraction of (sample, unit) pairs with nonzero dL/dz."""

    name = "sample_same_sign_fraction"
    kept_code = KEPT_CODES["SINGLE_SIGNED"]
    counts_ratio = (6, 7)  # nonzero deltas of single-signed rows over all counted rows
    counts_rows = True

    def step_value(self, step):
        if step.centered:  # centred rows: one sign only when all zero, never counted
            varies = _rows_vary(step.inputs, step.offset)
            return _sample_fraction(varies, varies, step.delta)
        return step._input_values(rows=True)[0]


class SignFlipFraction(StepMetric):
    """Fraction of weight-gradient entries whose sign differs from the previous step's."""

    name = "sign_flip_fraction"
    kept_code = KEPT_CODES["FLIPS"]
    counts_ratio = (3, 2)  # entries of differing sign over entries nonzero in both steps
    reads_previous_signs = True

    def step_value(self, step):
        return _flip_fraction(step.gradient_signs, step.previous_gradient_signs)


class InputMean(StepMetric):
    """Mean of the layer's effective input a + b."""

    name = "input_mean"
    kept_code = KEPT_CODES["INPUT_MEAN"]
    counts_ratio = (5, 8)  # the sum over the entries (a NaN sum gives NaN)

    def step_value(self, step):
        return step._input_values(rows=False)[1]


class PositiveInputFraction(StepMetric):
    """Fraction of the layer's effective input entries that are > 0."""

    name = "positive_input_fraction"
    kept_code = KEPT_CODES["POSITIVE_INPUTS"]
    counts_ratio = (4, 8)  # positive entries over the entries

    def step_value(self, step):
        return step._input_values(rows=False)[2]


class InputEigenvalueRatio(StepMetric):
    """λ_max of the effective input's second moment (a+b)ᵀ(a+b)/n over its mean eigenvalue.

    Sample-weighted where the step is; see :func:`._curvature.top_eigenvalue_ratio`
    (exact up to a fan_in of 64, else power iteration warm-started from the
    layer's previous step, to 1e-6 relative). LeCun et al. 1998, "Efficient
    BackProp" §4.3: an input mean adds an eigenvalue of about fan_in·mean² to
    the Hessian of a linear unit, and the stable learning rate is about 2/λ_max.
    A one-row step's moment has rank one, so at ``batch_size=1`` the ratio is
    fan_in whatever the data: it tells inputs apart over several rows.

    Parameters
    ----------
    layers : list of int, default=None
        The weight matrices (``coefs_`` indices) to compute it for; the others'
        columns of the history are NaN. None: every weight matrix. The exact
        decomposition costs about as much as a minibatch's forward pass, so a
        study that reads only the first layer asks for ``layers=[0]``.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from centered_nn import MLPClassifier
    >>> from centered_nn.diagnostics import InputEigenvalueRatio
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((16,), max_iter=3, random_state=0,
    ...                     record_gradient_signs=[InputEigenvalueRatio(layers=[0])])
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     clf = clf.fit(X / 16, y)
    >>> ratio = clf.gradient_sign_history_["input_eigenvalue_ratio"]
    >>> ratio.shape, bool(ratio[:, 0].min() > 10), bool(np.isnan(ratio[:, 1]).all())
    ((3, 2), True, True)
    """

    name = "input_eigenvalue_ratio"
    kept_code = KEPT_CODES["NONZERO_FAN_IN"]

    def __init__(self, layers=None):
        self.layers = layers
        if layers is not None:
            # the one-row batched form cannot see the layer: one-row steps go one by one
            self.kept_values = self.kept_code = None

    def __repr__(self):
        return f"{type(self).__name__}()" if self.layers is None else (
            f"{type(self).__name__}(layers={self.layers!r})")

    def step_value(self, step):
        if self.layers is not None and step.layer not in self.layers:
            return math.nan
        return top_eigenvalue_ratio(step.effective_input, step.sample_weight, step.memory,
                                    self.name)


#: The built-in metrics by name, in the history's order (the single list of names).
BUILTIN_METRICS = {metric.name: metric for metric in (
    SameSignFraction(), SampleSameSignFraction(), SignFlipFraction(), InputMean(),
    PositiveInputFraction(), InputEigenvalueRatio())}

#: Recorded by ``record_gradient_signs=True``; the others only when named.
DEFAULT_METRICS = ("same_sign_fraction", "sample_same_sign_fraction", "sign_flip_fraction",
                   "input_mean", "positive_input_fraction")


def resolve_metrics(metrics):
    """The StepMetric objects `metrics` asks for: built-ins in registry order, then the user's.

    ``metrics``: None (the default set), a name, a StepMetric, or a list of them.
    Raises TypeError for an entry that is neither, ValueError for an unknown name,
    an empty list or a StepMetric whose name another entry has too (a built-in
    name repeated is taken once).
    """
    if metrics is None:
        return tuple(BUILTIN_METRICS[name] for name in DEFAULT_METRICS)
    entries = [metrics] if isinstance(metrics, (str, StepMetric)) else list(metrics)
    names, own, repeated = set(), [], set()
    for entry in entries:
        if isinstance(entry, StepMetric):
            name = entry.name
            if not isinstance(name, str) or not name:
                raise TypeError(f"record_gradient_signs: {entry!r} has no name; a StepMetric "
                                "subclass sets the class attribute name to a string.")
            own.append(entry)
        elif isinstance(entry, str):
            name = entry
        else:
            raise TypeError("record_gradient_signs entries must be metric names or "
                            f"StepMetric instances; got {entry!r} of type "
                            f"{type(entry).__name__}.")
        if name in names:
            repeated.add(name)
        names.add(name)
    clash = sorted(repeated & {m.name for m in own})
    if clash:
        raise ValueError(f"record_gradient_signs has two metrics named {clash[0]!r}; each "
                         "history key must be unique (give the StepMetric another name).")
    unknown = [name for name in names - {m.name for m in own} if name not in BUILTIN_METRICS]
    if unknown or not entries:
        problem = (f"Unknown gradient-sign metric(s) {sorted(unknown)}" if unknown
                   else "No metric named")
        raise ValueError(f"{problem}; valid names are: {', '.join(BUILTIN_METRICS)}, or "
                         "StepMetric instances.")
    own_names = {m.name for m in own}
    builtin = tuple(m for name, m in BUILTIN_METRICS.items()
                    if name in names and name not in own_names)
    return builtin + tuple(own)


def document_metrics(obj):
    """Write the registry's names where `obj`'s docstring says ``METRIC_CHOICES`` (a decorator).

    The numpydoc choice list ``{'same_sign_fraction', ...}`` of every built-in, so
    that docstrings listing the metrics cannot drift from :data:`BUILTIN_METRICS`.
    On a class, its methods' docstrings too.
    """
    choices = "{" + ", ".join(repr(name) for name in BUILTIN_METRICS) + "}"
    targets = [obj] + [getattr(member, "__func__", member) for member in
                       (vars(obj).values() if isinstance(obj, type) else ())]
    for target in targets:
        if callable(target) and target.__doc__:  # None under python -OO
            target.__doc__ = target.__doc__.replace("METRIC_CHOICES", choices)
    return obj
