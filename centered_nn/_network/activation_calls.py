"""How the forward and backward passes call a hidden activation: the fast methods when allowed.

An :class:`~centered_nn.activations.Activation` may define ``value_into`` and
``multiply_derivative``, fast versions of ``value`` and ``derivative``, and
``derivative_from_value``. These functions call them on any activation object,
falling back to ``value``/``derivative`` for objects that do not have them, and
for a subclass that overrides the slow method but not the fast one, which would
compute its parent's function.
"""

import numpy as np

#: (class, fast attribute, slow attribute) -> whether the fast one may be used.
_FAST_ALLOWED = {}


def _fast_allowed(cls, fast, slow):
    """Whether attribute `fast` of `cls` comes from where `slow` does, or a subclass of it.

    A subclass of a built-in that overrides ``value`` (``derivative``) but not
    ``value_into`` (``multiply_derivative``, ``derivative_from_value``) must not
    get the parent's shortcut, which would compute the parent's function.
    """
    key = (cls, fast, slow)
    if key not in _FAST_ALLOWED:
        def owner(name):
            return next((c for c in cls.__mro__ if name in vars(c)), None)
        fast_owner, slow_owner = owner(fast), owner(slow)
        _FAST_ALLOWED[key] = fast_owner is not None and (
            slow_owner is None or issubclass(fast_owner, slow_owner))
    return _FAST_ALLOWED[key]


def derivative_needs_value_only(activation):
    """Whether `activation`'s derivative is a function of its value alone.

    Its ``derivative_from_value`` attribute, honoured only when set where
    ``derivative`` is defined or below.
    """
    return bool(getattr(activation, "derivative_from_value", False)) and _fast_allowed(
        type(activation), "derivative_from_value", "derivative")


def write_value(activation, z, out):
    """Write ``activation.value(z)`` into `out`, without a new array where possible.

    Calls ``activation.value_into(z, out)`` when the object has it from the
    class that defines ``value`` or a subclass, else assigns
    ``activation.value(z)``. `out` (z's shape, the value's dtype) may be `z`
    itself; `z` is not modified otherwise. Returns `out`.
    """
    if not _fast_allowed(type(activation), "value_into", "value"):
        out[...] = activation.value(z)
        return out
    return activation.value_into(z, out)


def multiply_by_derivative(activation, z, a, delta):
    """``delta *= activation.derivative(z, a)`` in place, without temporaries where possible.

    Calls ``activation.multiply_derivative(z, a, delta)`` when allowed (see
    :func:`write_value`), otherwise multiplies by ``activation.derivative(z, a)``;
    the result is the same either way, bit for bit. `z` may be used as scratch
    space; None if the forward pass overwrote it with `a`, which requires
    :func:`derivative_needs_value_only`. When `z` is `a`, an activation whose
    derivative needs the value only gets ``z=None``; any other gets a copy of
    `z`. Returns `delta`.

    Raises
    ------
    ValueError
        If `z` is None for an activation whose derivative needs it.
    """
    from_value = derivative_needs_value_only(activation)
    if z is not None and np.may_share_memory(z, a):
        z = None if from_value else z.copy()  # z is not scratch then
    if z is None and not from_value:
        raise ValueError(
            f"{type(activation).__name__} needs the pre-activations z for its derivative "
            "(derivative_from_value is False); keep z instead of overwriting it with a.")
    if not _fast_allowed(type(activation), "multiply_derivative", "derivative"):
        delta *= activation.derivative(z, a)
        return delta
    return activation.multiply_derivative(z, a, delta)
