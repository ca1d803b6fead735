"""The trainable parameters by name, and in one contiguous buffer with their gradients.

:class:`ParameterLayout` names each trainable array by kind and layer
(weights, intercepts, trained offsets): the order the optimisers and L-BFGS
see, and how a flat vector maps onto the network.

A minibatch step updates every trainable array with the same element-wise
arithmetic. Held separately, that is a dozen numpy calls per array per step,
which at ``batch_size=1`` on a digits-sized network is a large part of the
step's time. :class:`FlatParameters` copies the arrays into one buffer and
rebinds the network's lists to views of it (so ``coefs_`` and friends stay
ordinary arrays, updated in place), allocates a gradient buffer of the same
layout that :func:`~centered_nn._network.network.backward` writes into, and
cuts both into a few chunks that the optimiser steps through. The arithmetic per element is
unchanged, so the trajectory is bit for bit the one of separate arrays.

Chunks bound the optimiser's temporaries (two chunk-sized arrays at a time), so
that the step's peak memory stays near that of separate arrays; on small
networks there is one chunk.
"""

import numpy as np

#: Elements per chunk the optimiser processes at a time (256 KiB of float64).
CHUNK = 1 << 15

#: The network's parameter lists, in the order the optimiser sees them.
KINDS = ("coefs", "intercepts", "offsets")


class ParameterLayout:
    """The trainable arrays of a network, each named by its kind and layer.

    The order is the optimiser's and L-BFGS's: every weight matrix, every
    intercept vector, then the trained offsets. The layout can place a flat
    vector into the network's lists (each array becomes a view of a piece of
    it) and sort per-array views by kind, as :func:`~centered_nn._network.network.backward`
    takes its ``out`` lists.

    Parameters
    ----------
    coefs, intercepts : list of ndarray
        The network's lists (held by reference and rebound by :meth:`place`).
    offsets : list of (ndarray or None), default=None
        The offsets when the optimiser trains them; None when it does not.

    Attributes
    ----------
    slots : list of (str, int)
        ``(kind, layer)`` of each trainable array, kind one of :data:`KINDS`.
    shapes : list of tuple
        Their shapes.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn._training.layout import ParameterLayout
    >>> coefs, intercepts = [np.ones((2, 3)), np.ones((3, 1))], [np.ones(3), np.ones(1)]
    >>> layout = ParameterLayout(coefs, intercepts, offsets=[np.zeros(2), None])
    >>> layout.slots
    [('coefs', 0), ('coefs', 1), ('intercepts', 0), ('intercepts', 1), ('offsets', 0)]
    >>> layout.place(np.arange(15.0))
    >>> coefs[1].ravel(), layout.by_kind(layout.split(np.zeros(15)))[2][1] is None
    (array([6., 7., 8.]), True)
    """

    def __init__(self, coefs, intercepts, offsets=None):
        self._lists = {"coefs": coefs, "intercepts": intercepts,
                       "offsets": [] if offsets is None else offsets}
        self.n_layers = len(coefs)
        self.slots = [(kind, layer) for kind in KINDS
                      for layer, array in enumerate(self._lists[kind]) if array is not None]
        self.shapes = [array.shape for array in self.arrays()]
        self._bounds = np.cumsum([0] + [int(np.prod(shape)) for shape in self.shapes])

    @classmethod
    def of(cls, net, offsets_trained):
        """The layout of a :class:`~centered_nn._network.network.Network`'s trainable arrays."""
        return cls(net.coefs, net.intercepts, net.offsets if offsets_trained else None)

    @property
    def size(self):
        """The number of trainable parameters."""
        return int(self._bounds[-1])

    def arrays(self):
        """The trainable arrays, in slot order."""
        return [self._lists[kind][layer] for kind, layer in self.slots]

    def vector(self, dtype=np.float64):
        """The trainable arrays, copied into one new vector of `dtype` (L-BFGS's float64)."""
        return np.hstack([array.ravel() for array in self.arrays()]).astype(dtype)

    def split(self, vector):
        """Views of `vector`'s pieces, shaped as the trainable arrays, in slot order."""
        return [vector[start:stop].reshape(shape)
                for start, stop, shape in zip(self._bounds[:-1], self._bounds[1:], self.shapes)]

    def place(self, vector):
        """Rebind the network's lists to views of `vector` (no copy)."""
        for (kind, layer), view in zip(self.slots, self.split(vector)):
            self._lists[kind][layer] = view

    def by_kind(self, per_array):
        """``(coefs, intercepts, offsets)`` lists of length n_layers holding
        `per_array` (one entry per slot) at their layers, None elsewhere."""
        lists = {kind: [None] * self.n_layers for kind in KINDS}
        for (kind, layer), item in zip(self.slots, per_array):
            lists[kind][layer] = item
        return tuple(lists[kind] for kind in KINDS)


class FlatParameters:
    """One buffer for the trainable arrays, one for their gradients.

    Parameters
    ----------
    layout : ParameterLayout
        The trainable arrays, all of one dtype. Each is copied into the buffer
        and replaced in its network list by a view of it.
    chunk : int, default=CHUNK
        Largest number of elements in one chunk of :attr:`chunks`.
    grad_dtype : dtype, default=None
        The gradient buffer's dtype; None: the arrays' dtype.

    Attributes
    ----------
    values, grads : ndarray of shape (n_parameters,)
        The parameter buffer and the gradient buffer.
    grad_views : list of ndarray
        Views of :attr:`grads` shaped as the trainable arrays, in slot order.
    grad_out : tuple of three lists
        :attr:`grad_views` sorted by kind (:meth:`ParameterLayout.by_kind`):
        where :func:`~centered_nn._network.network.backward` writes the gradients.
    chunks : list of slice
        Consecutive pieces of the buffers, each at most `chunk` elements.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn._training.layout import FlatParameters, ParameterLayout
    >>> coefs = [np.ones((2, 3)), np.zeros((3, 1))]
    >>> flat = FlatParameters(ParameterLayout(coefs, intercepts=[]))
    >>> flat.values.shape, np.shares_memory(coefs[0], flat.values)
    ((9,), True)
    >>> flat.grad_views[1].shape
    (3, 1)
    """

    def __init__(self, layout, chunk=CHUNK, grad_dtype=None):
        arrays = layout.arrays()
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) != 1:
            raise ValueError("the trainable arrays must share one dtype, got "
                             f"{sorted(map(str, dtypes))}")
        self.values = np.empty(layout.size, dtype=arrays[0].dtype)
        for view, array in zip(layout.split(self.values), arrays):
            view[...] = array
        layout.place(self.values)
        self.grads = np.empty_like(self.values, dtype=grad_dtype)
        self.grad_views = layout.split(self.grads)
        self.grad_out = layout.by_kind(self.grad_views)
        n_chunks = max(1, -(-self.values.size // chunk))
        edges = np.linspace(0, self.values.size, n_chunks + 1).round().astype(int)
        self.chunks = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def value_chunks(self):
        """Views of :attr:`values`, one per chunk (the optimiser's parameter list)."""
        return [self.values[part] for part in self.chunks]

    def grad_chunks(self):
        """Views of :attr:`grads`, one per chunk, matching :meth:`value_chunks`."""
        return [self.grads[part] for part in self.chunks]
