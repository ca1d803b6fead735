"""The trainable parameters and their gradients, each in one contiguous buffer.

A minibatch step updates every trainable array with the same element-wise
arithmetic. Held separately, that is a dozen numpy calls per array per step,
which at ``batch_size=1`` on a digits-sized network is a large part of the
step's time. :class:`FlatParameters` copies the arrays into one buffer and
rebinds the network's lists to views of it (so ``coefs_`` and friends stay
ordinary arrays, updated in place), allocates a gradient buffer of the same
layout that :func:`~._network.backward` writes into, and cuts both into a few
chunks that the optimiser steps through. The arithmetic per element is
unchanged, so the trajectory is bit for bit the one of separate arrays.

Chunks bound the optimiser's temporaries (two chunk-sized arrays at a time), so
that the step's peak memory stays near that of separate arrays; on small
networks there is one chunk.
"""

import numpy as np

#: Elements per chunk the optimiser processes at a time (256 KiB of float64).
CHUNK = 1 << 15


class FlatParameters:
    """One buffer for the trainable arrays, one for their gradients.

    Parameters
    ----------
    slots : list of (list, int)
        ``(target, i)`` pairs naming each trainable array ``target[i]`` (see
        ``loops._trainable_slots``), all of one dtype. Each ``target[i]`` is
        copied into the buffer and replaced by a view of it.
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
    chunks : list of slice
        Consecutive pieces of the buffers, each at most `chunk` elements.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn._training.layout import FlatParameters
    >>> coefs = [np.ones((2, 3)), np.zeros((3, 1))]
    >>> flat = FlatParameters([(coefs, 0), (coefs, 1)])
    >>> flat.values.shape, np.shares_memory(coefs[0], flat.values)
    ((9,), True)
    >>> flat.grad_views[1].shape
    (3, 1)
    """

    def __init__(self, slots, chunk=CHUNK, grad_dtype=None):
        arrays = [target[i] for target, i in slots]
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) != 1:
            raise ValueError("the trainable arrays must share one dtype, got "
                             f"{sorted(map(str, dtypes))}")
        bounds = np.cumsum([0] + [a.size for a in arrays])
        self.values = np.empty(bounds[-1], dtype=arrays[0].dtype)
        self.grads = np.empty_like(self.values, dtype=grad_dtype)
        self.grad_views = []
        for (target, i), array, start, stop in zip(slots, arrays, bounds[:-1], bounds[1:]):
            view = self.values[start:stop].reshape(array.shape)
            view[...] = array
            target[i] = view
            self.grad_views.append(self.grads[start:stop].reshape(array.shape))
        n_chunks = max(1, -(-self.values.size // chunk))
        edges = np.linspace(0, self.values.size, n_chunks + 1).round().astype(int)
        self.chunks = [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def value_chunks(self):
        """Views of :attr:`values`, one per chunk (the optimiser's parameter list)."""
        return [self.values[part] for part in self.chunks]

    def grad_chunks(self):
        """Views of :attr:`grads`, one per chunk, matching :meth:`value_chunks`."""
        return [self.grads[part] for part in self.chunks]
