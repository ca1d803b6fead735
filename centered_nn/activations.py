"""Hidden-layer activation functions and the registry of their names.

An activation is a small object with two vectorised methods, ``value(z)`` and
``derivative(z, a)``, and a class attribute ``init_factor`` that sets the
Glorot-uniform initialisation bound ``sqrt(init_factor / (fan_in + fan_out))``.
Subclassing :class:`Activation` gives ``get_params``/``set_params``, pickling and
:func:`sklearn.base.clone` for free, so parameters such as ``alpha`` of
:class:`LeakyReLU` can be grid-searched as ``mlp__activation__alpha``.

:data:`ACTIVATIONS` maps every registered name to its class; parameter
validation, the documentation and the tests are all built from it.

For the training loop's hot path an activation may also write its value into a
preallocated array (:meth:`Activation.value_into`) and multiply its derivative
into a delta in place (:meth:`Activation.multiply_derivative`). The base class
implements both from ``value`` and ``derivative``, so a user's subclass needs
neither; the built-in activations override them without temporaries, with
results bit-for-bit equal to ``value`` and ``delta * derivative``. The training
loop uses such a fast method only where it is defined in the class that defines
the slow one (``value``, ``derivative``) or in a subclass of it: a subclass of a
built-in that overrides ``value`` alone is never computed with its parent's
``value_into``.
"""

import copy
import functools
import math
from abc import ABCMeta, abstractmethod
from numbers import Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import Interval, InvalidParameterError

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "CenteredLogistic",
    "ELU",
    "Identity",
    "LeakyReLU",
    "LeCunTanh",
    "Logistic",
    "ReLU",
    "SELU",
    "Softplus",
    "Tanh",
    "get_activation",
]


class Activation(BaseEstimator, metaclass=ABCMeta):
    """Base class for hidden-layer activation functions.

    A subclass implements :meth:`value` and :meth:`derivative`, both vectorised
    over ndarrays and returning new arrays (the inputs must not be modified).
    Parameters are declared as named arguments of ``__init__`` and stored
    unchanged, as for any scikit-learn estimator, which makes them visible to
    ``get_params``/``set_params`` and to :class:`~sklearn.model_selection.GridSearchCV`.

    A subclass may declare ``_parameter_constraints`` (as scikit-learn's
    estimators do, e.g. ``{"alpha": [Interval(Real, 0, None, closed="left")]}``);
    they are checked when an estimator resolves its activation
    (:func:`get_activation`). The ``value`` and ``derivative`` a subclass
    defines are checked on every call to return an array of the input's
    shape, so a wrong shape during training names the activation and method.

    Attributes
    ----------
    init_factor : float
        Class attribute: factor of the Glorot-uniform initialisation bound
        ``sqrt(init_factor / (fan_in + fan_out))`` used for every layer of a
        network with this hidden activation; finite and > 0. scikit-learn uses
        2 for the logistic sigmoid and 6 otherwise; 6 is the default here.
    derivative_from_value : bool
        Class attribute: True when the derivative is a function of ``a`` alone
        (identity, logistic, tanh, ReLU, ...). A forward pass may then write the
        activation over the pre-activations (``value_into(z, out=z)``, as
        scikit-learn does) and the backward pass call
        ``multiply_derivative(None, a, delta)``. False by default, which is
        always safe. Honoured only when set in the class that defines
        ``derivative`` or below it.

    Notes
    -----
    :meth:`value_into` and :meth:`multiply_derivative` are optional fast
    versions of :meth:`value` and :meth:`derivative` for the training loop. A
    subclass that overrides ``value`` (``derivative``) but not ``value_into``
    (``multiply_derivative``, ``derivative_from_value``) is computed from the
    method it overrides: the parent's fast versions would compute the parent's
    function, so they are not used.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import Activation
    >>> class Square(Activation):
    ...     def value(self, z):
    ...         return z * z
    ...     def derivative(self, z, a):
    ...         return 2 * z
    >>> Square().value(np.array([-2.0, 3.0]))
    array([4., 9.])
    """

    init_factor = 6.0
    derivative_from_value = False
    _parameter_constraints: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ == __name__:
            return  # the built-ins return their input's shape by construction
        for method in ("value", "derivative"):
            function = vars(cls).get(method)
            if callable(function) and not getattr(function, "__isabstractmethod__", False) \
                    and not getattr(function, "_checks_shape", False):
                setattr(cls, method, _shape_checked(function, method))

    @abstractmethod
    def value(self, z):
        """Return the activation of pre-activations `z`.

        Parameters
        ----------
        z : ndarray
            Pre-activations; not modified.

        Returns
        -------
        a : ndarray of the same shape and dtype as `z`
        """

    @abstractmethod
    def derivative(self, z, a):
        """Return the derivative da/dz, element-wise.

        Parameters
        ----------
        z : ndarray
            Pre-activations; not modified.
        a : ndarray
            ``self.value(z)``, passed so derivatives such as ``a * (1 - a)``
            cost nothing; not modified.

        Returns
        -------
        da_dz : ndarray of the same shape and dtype as `z`
        """

    def value_into(self, z, out):
        """Write the activation of `z` into `out` (no new array for built-ins).

        Parameters
        ----------
        z : ndarray
            Pre-activations; not modified unless `out` is `z`.
        out : ndarray of the shape and dtype of ``self.value(z)``
            Receives ``self.value(z)``; may be `z` itself (an in-place activation).

        Returns
        -------
        out : ndarray
        """
        out[...] = self.value(z)
        return out

    def multiply_derivative(self, z, a, delta):
        """Multiply `delta` in place by the derivative, ``delta *= derivative(z, a)``.

        Parameters
        ----------
        z : ndarray or None
            Pre-activations. Built-in activations use `z` as scratch space: its
            content is undefined afterwards (the backward pass no longer needs it).
            None when the forward pass overwrote `z` with `a`, allowed only if
            :attr:`derivative_from_value` is True (a temporary is used then).
        a : ndarray
            ``self.value(z)``; not modified; must not share memory with `z`.
        delta : ndarray of the shape of `z`
            Multiplied in place.

        Returns
        -------
        delta : ndarray
        """
        delta *= self.derivative(z, a)
        return delta


def _shape_checked(function, method):
    """Wrap a subclass's `value` or `derivative` to refuse an output of another shape.

    Without it a shape that differs from the one the estimator probed at fit
    surfaces as a matmul or broadcasting error deep in the training loop (or, for
    a derivative that broadcasts, as silently wrong gradients).
    """
    @functools.wraps(function)
    def checked(self, z, *args, **kwargs):
        out = function(self, z, *args, **kwargs)
        # derivative(None, a) when the forward pass overwrote z with a
        ref = z if z is not None or method == "value" else (args[0] if args else kwargs["a"])
        if np.shape(out) != np.shape(ref):
            got = f"an array of shape {np.shape(out)}"
            got += f" and dtype {out.dtype}" if isinstance(out, np.ndarray) else ""
            raise TypeError(
                f"The activation's {type(self).__name__}.{method} returned {got} for an "
                f"array of shape {np.shape(ref)} and dtype {getattr(ref, 'dtype', None)}; "
                "it must return an array of the same shape and dtype."
            )
        return out

    checked._checks_shape = True
    return checked


class Identity(Activation):
    r"""Identity, :math:`f(z) = z`; useful for linear bottlenecks.

    .. math:: f(z) = z, \qquad f'(z) = 1

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import Identity
    >>> Identity().value(np.array([-1.0, 2.0]))
    array([-1.,  2.])
    """

    derivative_from_value = True

    def value(self, z):
        return z.copy()

    def derivative(self, z, a):
        return np.ones_like(z)

    def value_into(self, z, out):
        np.copyto(out, z)
        return out

    def multiply_derivative(self, z, a, delta):
        return delta  # delta * 1 is delta


class Logistic(Activation):
    r"""Logistic sigmoid; its outputs lie in (0, 1), so they are never centred.

    .. math:: \sigma(z) = \frac{1}{1 + e^{-z}}, \qquad \sigma'(z) = \sigma(z)(1 - \sigma(z))

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import Logistic
    >>> Logistic().value(np.array([0.0]))
    array([0.5])
    """

    init_factor = 2.0

    derivative_from_value = True

    def value(self, z):
        return expit(z)

    def derivative(self, z, a):
        return a * (1 - a)

    def value_into(self, z, out):
        return expit(z, out=out)

    def multiply_derivative(self, z, a, delta):
        # scikit-learn's grouping, (delta * a) * (1 - a): trajectories then agree
        # with its MLP bit for bit (delta * (a * (1 - a)) rounds differently)
        delta *= a
        delta *= np.subtract(1, a, out=z)
        return delta


class CenteredLogistic(Activation):
    r"""Logistic sigmoid shifted down by one half: same slope, zero-centred.

    .. math:: f(z) = \sigma(z) - \tfrac12, \qquad
              f'(z) = \sigma'(z) = \tfrac14 - f(z)^2

    It shares :class:`Logistic`'s initialisation factor, so the two differ only
    in the mean of what they feed to the next layer.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import CenteredLogistic
    >>> CenteredLogistic().value(np.array([0.0]))
    array([0.])
    """

    init_factor = 2.0

    derivative_from_value = True

    def value(self, z):
        return expit(z) - 0.5

    def derivative(self, z, a):
        return 0.25 - a * a

    def value_into(self, z, out):
        expit(z, out=out)
        out -= 0.5
        return out

    def multiply_derivative(self, z, a, delta):
        slope = np.multiply(a, a, out=z)
        np.subtract(0.25, slope, out=slope)
        delta *= slope
        return delta


class Tanh(Activation):
    r"""Hyperbolic tangent.

    .. math:: f(z) = \tanh z, \qquad f'(z) = 1 - \tanh^2 z

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import Tanh
    >>> Tanh().value(np.array([0.0]))
    array([0.])
    """

    derivative_from_value = True

    def value(self, z):
        return np.tanh(z)

    def derivative(self, z, a):
        return 1 - a**2

    def value_into(self, z, out):
        return np.tanh(z, out=out)

    def multiply_derivative(self, z, a, delta):
        slope = np.square(a, out=z)  # a**2
        np.subtract(1, slope, out=slope)
        delta *= slope
        return delta


class LeCunTanh(Activation):
    r"""LeCun's scaled hyperbolic tangent (Efficient BackProp, 1998, section 4.4).

    .. math:: f(z) = 1.7159 \tanh\left(\tfrac23 z\right), \qquad
              f'(z) = \tfrac23 \left(1.7159 - \frac{f(z)^2}{1.7159}\right)

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import LeCunTanh
    >>> LeCunTanh().value(np.array([1.0]))  # f(1) = 1 by design
    array([1.00...])
    """

    scale = 1.7159

    derivative_from_value = True

    def value(self, z):
        return self.scale * np.tanh(z * (2.0 / 3.0))

    def derivative(self, z, a):
        return (2.0 / 3.0) * (self.scale - a * a / self.scale)

    def value_into(self, z, out):
        np.multiply(z, 2.0 / 3.0, out=out)
        np.tanh(out, out=out)
        out *= self.scale
        return out

    def multiply_derivative(self, z, a, delta):
        slope = np.multiply(a, a, out=z)
        slope /= self.scale
        np.subtract(self.scale, slope, out=slope)
        slope *= 2.0 / 3.0
        delta *= slope
        return delta


class ReLU(Activation):
    r"""Rectified linear unit.

    .. math:: f(z) = \max(z, 0), \qquad f'(z) = [z > 0]

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import ReLU
    >>> ReLU().value(np.array([-1.0, 2.0]))
    array([0., 2.])
    """

    derivative_from_value = True

    def value(self, z):
        return np.maximum(z, 0)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def value_into(self, z, out):
        return np.maximum(z, 0, out=out)

    def multiply_derivative(self, z, a, delta):
        slope = np.greater(a, 0, out=z)  # a > 0 exactly where z > 0: 1.0 / 0.0 (or bools)
        delta *= slope
        return delta


class LeakyReLU(Activation):
    r"""Leaky rectified linear unit.

    .. math:: f(z) = \begin{cases} z & z > 0 \\ \alpha z & z \le 0 \end{cases}

    Parameters
    ----------
    alpha : float, default=0.01
        Slope for negative inputs; finite and >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import LeakyReLU
    >>> LeakyReLU(alpha=0.1).value(np.array([-1.0, 2.0]))
    array([-0.1,  2. ])
    """

    _parameter_constraints: dict = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=0.01):
        self.alpha = alpha

    def value(self, z):
        return np.where(z > 0, z, z * self.alpha).astype(z.dtype, copy=False)

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype, copy=False)


class ELU(Activation):
    r"""Exponential linear unit (Clevert et al., 2015).

    .. math:: f(z) = \begin{cases} z & z > 0 \\ \alpha (e^z - 1) & z \le 0 \end{cases}
              \qquad f'(z) = \begin{cases} 1 & z > 0 \\ f(z) + \alpha & z \le 0 \end{cases}

    Its negative saturation pulls mean activations towards zero, which reduces
    the bias shift a ReLU layer passes to the next one.

    Parameters
    ----------
    alpha : float, default=1.0
        Value the unit saturates to, as ``-alpha``, for large negative inputs;
        finite and >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import ELU
    >>> ELU().value(np.array([-1e6, 0.0, 2.0]))
    array([-1.,  0.,  2.])
    """

    _parameter_constraints: dict = {"alpha": [Interval(Real, 0, None, closed="left")]}

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def value(self, z):
        negative = np.expm1(np.minimum(z, 0)) * self.alpha
        return np.where(z > 0, z, negative).astype(z.dtype, copy=False)

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, a + self.alpha).astype(z.dtype, copy=False)


class SELU(Activation):
    r"""Scaled exponential linear unit (Klambauer et al., 2017).

    .. math:: f(z) = \lambda \begin{cases} z & z > 0 \\ \alpha (e^z - 1) & z \le 0
              \end{cases}

    with :math:`\lambda = 1.0507009873554805` and
    :math:`\alpha = 1.6732632423543772`.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import SELU
    >>> SELU().value(np.array([1.0]))
    array([1.0507...])
    """

    scale = 1.0507009873554805
    alpha = 1.6732632423543772

    def value(self, z):
        negative = np.expm1(np.minimum(z, 0)) * (self.scale * self.alpha)
        return np.where(z > 0, z * self.scale, negative).astype(z.dtype, copy=False)

    def derivative(self, z, a):
        slope = np.where(z > 0, self.scale, a + self.scale * self.alpha)
        return slope.astype(z.dtype, copy=False)


class Softplus(Activation):
    r"""Softplus, a smooth ReLU.

    .. math:: f(z) = \log(1 + e^z), \qquad f'(z) = \sigma(z)

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.activations import Softplus
    >>> Softplus().value(np.array([0.0, 1e6]))
    array([6.93...e-01, 1.00...e+06])
    """

    def value(self, z):
        return np.logaddexp(0, z).astype(z.dtype, copy=False)

    def derivative(self, z, a):
        return expit(z)

    def multiply_derivative(self, z, a, delta):
        delta *= expit(z, out=z)
        return delta


#: Registered activation names and their classes: the single list of names.
ACTIVATIONS = {
    "identity": Identity,
    "logistic": Logistic,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "selu": SELU,
    "softplus": Softplus,
    "centered_logistic": CenteredLogistic,
    "lecun_tanh": LeCunTanh,
}


def get_activation(activation):
    """Resolve an activation name or object into a fresh activation object.

    Parameters
    ----------
    activation : str or object
        A name registered in :data:`ACTIVATIONS`, or an object with ``value``
        and ``derivative`` methods (typically an :class:`Activation`). Objects
        are cloned (or deep-copied when they have no ``get_params``), so the
        caller's object is never changed.

    Returns
    -------
    activation : object
        A new activation object.

    Raises
    ------
    InvalidParameterError
        For an unknown name (the message lists the valid names), an object
        lacking ``value`` or ``derivative`` (the message names what is missing),
        a parameter outside the activation's ``_parameter_constraints`` (the
        message names it), or an ``init_factor`` that is not a finite number
        > 0. It subclasses both ValueError and TypeError.

    Examples
    --------
    >>> from centered_nn.activations import get_activation
    >>> get_activation("leaky_relu")
    LeakyReLU()
    >>> get_activation("swish")
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: Unknown activation 'swish'...
    >>> from centered_nn.activations import ELU
    >>> get_activation(ELU(alpha=-1.0))
    Traceback (most recent call last):
    ...
    sklearn.utils._param_validation.InvalidParameterError: The 'alpha' parameter of ELU must be...
    """
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise InvalidParameterError(
                f"Unknown activation {activation!r}. Valid names are: "
                f"{', '.join(sorted(ACTIVATIONS))}; or pass an Activation instance."
            )
        return ACTIVATIONS[activation]()
    missing = [m for m in ("value", "derivative") if not callable(getattr(activation, m, None))]
    if missing:
        raise InvalidParameterError(
            f"The activation {activation!r} of type {type(activation).__name__} "
            f"lacks the method(s) {' and '.join(missing)}; an activation must be one "
            f"of {', '.join(sorted(ACTIVATIONS))} or an object with value(z) and "
            "derivative(z, a) methods (subclass centered_nn.activations.Activation)."
        )
    resolved = clone(activation) if hasattr(activation, "get_params") else copy.deepcopy(activation)
    _check_parameters(resolved)
    return resolved


def _check_parameters(activation):
    """The activation's declared parameter constraints, and a usable ``init_factor``."""
    constraints = getattr(activation, "_parameter_constraints", None)
    if constraints and hasattr(activation, "_validate_params"):
        activation._validate_params()
    factor = getattr(activation, "init_factor", 6.0)
    valid = isinstance(factor, Real) and not isinstance(factor, bool) and math.isfinite(factor)
    if not (valid and factor > 0):
        raise InvalidParameterError(
            f"The init_factor of the activation {type(activation).__name__} must be a finite "
            f"number > 0 (the Glorot-uniform bound is sqrt(init_factor / (fan_in + fan_out))); "
            f"got {factor!r}."
        )
