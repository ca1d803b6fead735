"""Optional compiled steps of the forward and backward passes (numba), bit for bit numpy's.

The numpy passes of :mod:`.network` spend most of a minibatch step outside the
matrix products in a dozen elementwise passes: the bias add and the
activation, the output's softmax, loss and ``P - Y``, the derivative times the
delta and its column sums, the weight gradient's penalty and scale. Each
function here does one such group in one compiled loop over the arrays, with
the same operations in the same order and dtypes, so every result is the numpy
path's to the last bit. The matrix products stay numpy's (BLAS) calls. What
keeps the loops exact, and what they leave to numpy:

- sums follow numpy's order: axis-0 sums add the rows one after another, a
  contiguous run (a row, a single column) is summed pairwise as numpy sums it;
- ``scipy.special.xlogy`` is ``x * log(y)`` with the C library's log, as a
  compiled loop calls it (the log-losses, which scikit-learn takes with
  xlogy); when numba would vectorise it with Intel's SVML instead, that kernel
  steps aside (so would ``1 / (1 + exp(-z))``, which equals scipy's ``expit``);
- numpy's own vectorised ``exp`` and ``tanh`` differ from the C library's in
  the last bit of some values, so they stay numpy calls: the softmax's exp
  (between two loops), the tanh activations' values;
- no fastmath; every constant is passed in the dtype numpy computes it in.

Only what pays is compiled: the ReLU with its bias (the logistic's and tanh's
time is their exp or tanh, numpy's as fast), the softmax output (the logistic
and identity outputs are one call), the loss with its delta, the derivatives,
and the penalty and the identity output's delta from :data:`_SMALL` elements on
(below, numba's dispatch costs more than numpy's two calls); at any size, what
replaces more numpy calls or numpy's slow axis-0 sums: gradient centralization
and its centred penalty, the backward path through a batch mean
(``input_bias='batch'``) and the batch input means the centring options take.
float32 weights with float64 gradients and deltas (float32 X, float64 targets)
are taken by the derivatives and the penalties in numpy's mixed arithmetic.

Each function returns False or None when it does not apply, and the caller
takes its numpy path: numba missing or switched off (:func:`.._compiled.enabled`),
an activation that is not one of the built-ins below (a user's, a subclass),
arrays that are not C-contiguous native float32/float64 of one dtype (a sample
weight or target of another dtype included), or a penalty whose scalar numpy
would promote. The loops live in :mod:`.fused_loops`, imported on first use.
"""

import numpy as np

from .. import _compiled
from .output import Logistic, Softmax, _average

_loops = None  # the module of compiled loops, imported on first use
_LIBM = None  # whether compiled exp/log are the C library's (see uses_libm)

#: The built-in hidden activations with a compiled step, by class name (exact
#: classes of :mod:`centered_nn.activations`, which _network does not import:
#: a subclass may change the function, so it is not one of them).
_ACTIVATIONS_MODULE = "centered_nn.activations"
_VALUE_KINDS = {"ReLU"}
_DERIVATIVE_KINDS = {"ReLU", "Logistic", "CenteredLogistic", "Identity", "Tanh", "LeCunTanh"}
#: Below this many elements a compiled call (numba's dispatch) costs more than the
#: two or three numpy calls it replaces, except where it replaces more.
_SMALL = 4096
_EPS = {np.dtype(t): np.finfo(t).eps for t in (np.float32, np.float64)}
_NONE = {np.dtype(t): np.zeros(0, t) for t in (np.float32, np.float64)}  # never read


def available():
    """True when the compiled steps may be used (see :func:`.._compiled.enabled`)."""
    return _compiled.enabled()


def uses_libm():
    """Whether compiled exp and log are the C library's, as scipy's expit and xlogy call.

    numba vectorises them with Intel's SVML when that library is installed; its
    results may differ from the C library's in the last bit, so the kernels that
    take an exp or a log then leave it to numpy.
    """
    global _LIBM
    if _LIBM is None:
        import numba

        _LIBM = not numba.config.USING_SVML
    return _LIBM


def _kernels():
    global _loops
    if _loops is None:
        from . import fused_loops  # compiles (or loads from the cache) on first call

        _loops = fused_loops
    return _loops


def _builtin(activation, kinds):
    cls = type(activation)
    return cls.__name__ if cls.__module__ == _ACTIVATIONS_MODULE and cls.__name__ in kinds \
        else None


def _fits(*arrays):
    """C-contiguous ndarrays of one native float dtype (float32 or float64).

    A byte-swapped dtype (``>f8`` on a little-endian machine) is not one of them:
    numba compiles for native floats only.
    """
    dtype = getattr(arrays[0], "dtype", None)
    if dtype not in _NONE:
        return False
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype or not a.flags.c_contiguous:
            return False
    return True


def activate(activation, z, c):
    """``z = max(z + c, 0)`` in place for ReLU: returns whether it did (else `z` is untouched).

    The other activations keep numpy's two calls: a logistic's or tanh's time is
    its exp or tanh, the identity's a single add.
    """
    if _builtin(activation, _VALUE_KINDS) is None or not available() or z.ndim != 2 \
            or not _fits(z, c):
        return False
    _kernels().bias_relu(z, c, z.dtype.type(0))
    return True


def output(layer, z, c):
    """``layer.apply(z + c)`` in place for the softmax output: returns whether it did.

    Two compiled passes around numpy's own exp; the logistic and identity outputs
    (one exp, or one add) keep numpy's calls. Otherwise `z` is untouched.
    """
    if type(layer) is not Softmax or not available() or z.ndim != 2 or not _fits(z, c):
        return False
    loops = _kernels()
    loops.softmax_shift(z, c)
    np.exp(z, out=z)  # numpy's vectorised exp, as scikit-learn calls it
    loops.softmax_normalize(z, z.dtype.type(0))
    return True


def loss_and_delta(layer, Y, P, sample_weight, sums=None):
    """The output's loss, its delta ``(P - Y) * sample_weight`` and the delta's column sums.

    Parameters
    ----------
    layer : OutputLayer
    Y : ndarray of shape (n_samples, n_outputs)
        Targets of P's dtype, or booleans (the classifiers'); the loss terms of
        boolean targets are compiled, the others' are numpy's.
    P : ndarray of shape (n_samples, n_outputs)
        The output.
    sample_weight : ndarray of shape (n_samples,) or None
    sums : ndarray of shape (n_outputs,), optional
        Where to write the column sums.

    Returns
    -------
    (loss, delta, sums) or None
        As ``layer.loss``, ``layer.gradient`` times the weights and
        ``np.add.reduce(delta, axis=0)`` give them; None where the numpy path
        must run (see the module docstring).
    """
    kind = type(layer)
    log_loss = kind is Softmax or kind is Logistic
    if type(P) is not np.ndarray or (not log_loss and P.size < _SMALL) or not available() \
            or P.ndim != 2 or type(Y) is not np.ndarray or Y.shape != P.shape:
        return None
    weighted = sample_weight is not None
    compiled_loss = log_loss and Y.dtype == np.bool_ and uses_libm()
    arrays = (P, sample_weight) if weighted else (P,)
    if not _fits(*arrays) or (sums is not None and not _fits(P, sums)) \
            or not (compiled_loss or (P.size >= _SMALL and _fits(P, Y))):
        return None
    loops, t = _kernels(), P.dtype.type
    delta = np.empty_like(P)
    sums = np.empty(P.shape[1], P.dtype) if sums is None else sums
    sw = sample_weight if weighted else _NONE[P.dtype]
    if compiled_loss:
        if not Y.flags.c_contiguous:
            Y = np.ascontiguousarray(Y)
        terms = np.empty(P.shape)  # float64, as scipy's xlogy gives them for booleans
        eps = _EPS[P.dtype]
        loss = np.float64(loops.log_loss(P, Y, terms, eps, 1 - eps, t(1), kind is Logistic,
                                         sw, weighted, delta, sums, t(0)))
        if weighted:  # numpy's np.average over the terms, as scikit-learn's
            loss = np.negative(np.add.reduce(_average(terms, sample_weight, axis=0)))
    else:
        loss = layer.loss(Y, P, sample_weight)
        loops.output_delta(P, Y, sw, weighted, delta, sums, t(0))
    return loss, delta, sums


def multiply_by_derivative(activation, a, delta, sums=None):
    """``delta *= activation's derivative at a`` in place, and its column sums.

    For the built-in activations whose derivative is a function of the value `a`.
    Returns the sums (into `sums` when given), or None when the numpy path must run.
    """
    kind = _builtin(activation, _DERIVATIVE_KINDS)
    if kind is None or not available() or type(a) is not np.ndarray or a.ndim != 2 \
            or not _fits(a) or not _fits(delta) or not _widens(a.dtype, delta.dtype) \
            or (sums is not None and not _fits(delta, sums)):
        return None
    # the derivative in a's dtype, as numpy's in-place calls compute it, times delta in
    # delta's (float64 deltas of float32 activations: float32 weights, float64 targets)
    loops, t = _kernels(), a.dtype.type
    sums = np.empty(a.shape[1], delta.dtype) if sums is None else sums
    if kind == "ReLU":
        loops.relu_delta(a, delta, sums, t(0), t(1))
    elif kind == "Logistic":
        loops.logistic_delta(a, delta, sums, t(0), t(1))
    elif kind == "Identity":
        loops.identity_delta(delta, sums, t(0))
    elif kind == "LeCunTanh":
        scale = activation.scale
        loops.square_delta(a, delta, sums, t(0), t(0), t(scale), t(2.0 / 3.0), True)
    else:
        top = 1 if kind == "Tanh" else 0.25
        loops.square_delta(a, delta, sums, t(0), t(top), t(1), t(1), False)
    return sums


def _widens(narrow, wide):
    """Whether arrays of dtype `narrow` meet `wide` in `wide`'s arithmetic: the same
    dtype, or float32 meeting float64."""
    return narrow == wide or (narrow == np.float32 and wide == np.float64)


def penalty_fits(grad, coef, alpha, scale, any_size=False):
    """Whether :func:`penalize` applies: numpy would compute it all in `grad`'s dtype.

    Below :data:`_SMALL` elements numpy's two calls are cheaper, unless ``any_size``:
    the penalty then shares a pass made anyway (an observer's, see
    :meth:`.network.BackwardStep.take_penalty`).
    """
    return ((any_size or grad.size >= _SMALL) and available() and grad.ndim == 2
            and _fits(grad, coef) and _takes_dtype(alpha, coef.dtype)
            and _takes_dtype(scale, grad.dtype))


def penalty_scalars(grad, coef, alpha, scale):
    """``(alpha, scale)`` in grad's dtype where :func:`penalty_fits` (at any size) holds,
    else None: what a pass adding the penalty itself passes the compiled loop."""
    dtype = grad.dtype
    if type(grad) is not np.ndarray or type(coef) is not np.ndarray or dtype not in _NONE \
            or coef.dtype != dtype or grad.ndim != 2 or not grad.flags.c_contiguous \
            or not coef.flags.c_contiguous or not available() \
            or not _takes_dtype(alpha, dtype) or not _takes_dtype(scale, dtype):
        return None
    t = dtype.type
    return t(alpha), t(scale)


def _takes_dtype(value, dtype):
    """Whether numpy computes ``value * array`` in the array's `dtype`: a Python number
    (cast to it), or a NumPy scalar of that dtype (``np.result_type``, without its cost)."""
    if type(value) in (bool, int, float):
        return True
    kind = getattr(value, "dtype", None)
    return kind == dtype or (kind is not None and np.promote_types(kind, dtype) == dtype)


def shift_fits(grad, offset, sums):
    """Whether :func:`shift` applies (and :func:`penalize` adds the offset term itself)."""
    return available() and grad.ndim == 2 and _fits(grad, offset, sums)


def shift(grad, offset, sums):
    """``grad += np.outer(offset, sums)`` in one compiled pass: returns whether it did.

    The offset's term of a weight gradient kept as its data term (for the
    observers of a step), where :func:`penalize` cannot add it with the penalty;
    without numpy's temporary outer product. Otherwise `grad` is untouched.
    """
    if not shift_fits(grad, offset, sums):
        return False
    _kernels().shift(grad, offset, sums)
    return True


def penalize(grad, coef, offset, sums, alpha, scale):
    """``grad += np.outer(offset, sums)`` (unless `offset` is None),
    ``grad += alpha * coef``, ``grad /= scale``, in one pass (see :func:`penalty_fits`)."""
    t = grad.dtype.type
    shifted = offset is not None and _fits(grad, offset, sums)
    if offset is not None and not shifted:
        grad += np.outer(offset, sums)
    # unread when not shifted: any row of grad stands in for the offset and the sums
    _kernels().penalize(grad, coef, offset if shifted else grad[0],
                        sums if shifted else grad[0], shifted, t(alpha), t(scale))


def centralize(grad):
    """``grad -= grad.mean(axis=0)`` in one compiled call (gradient centralization):
    returns whether it did (else `grad` is untouched).

    At any size (numpy's mean alone is several calls); the column means are
    numpy's (rows added in order, then divided by the row count in float64).
    """
    if not available() or grad.ndim != 2 or not _fits(grad):
        return False
    _kernels().centralize(grad, np.empty(grad.shape[1], grad.dtype), float(grad.shape[0]),
                          grad.dtype.type(0))
    return True


def centered_penalty(grad, coef, alpha, scale):
    """``grad += alpha * coef``, ``grad -= alpha * coef.mean(axis=0)``, ``grad /= scale``
    in one compiled call at any size (it replaces five numpy calls): returns whether it
    did. See :func:`wider_penalty` for the dtypes it takes."""
    if not _penalty_takes(grad, coef, alpha, scale):
        return False
    _kernels().centered_penalize(grad, coef, np.empty(coef.shape[1], coef.dtype),
                                 coef.dtype.type(alpha), grad.dtype.type(scale),
                                 float(coef.shape[0]), coef.dtype.type(0))
    return True


def _penalty_takes(grad, coef, alpha, scale):
    """The weights' terms in their dtype and the rest in the gradient's, as numpy takes
    ``grad += alpha * coef`` and ``grad /= scale``: float32 weights with float32 or
    float64 gradients, float64 with float64, scalars that keep those dtypes."""
    return (available() and grad.ndim == 2 and _fits(grad) and _fits(coef)
            and grad.shape == coef.shape and _widens(coef.dtype, grad.dtype)
            and _takes_dtype(alpha, coef.dtype) and _takes_dtype(scale, grad.dtype))


def wider_penalty(grad, coef, alpha, scale):
    """``grad += alpha * coef``, ``grad /= scale`` in one compiled call for float64
    gradients of float32 weights (float32 X, float64 targets), ``alpha * coef`` in
    float32 as numpy computes it: returns whether it did. Same dtypes: see :func:`penalize`."""
    if grad.dtype == coef.dtype or not _penalty_takes(grad, coef, alpha, scale):
        return False
    _kernels().penalize(grad, coef, grad[0], grad[0], False, coef.dtype.type(alpha),
                        grad.dtype.type(scale))
    return True


def center_columns(delta, sample_weight, sw_sum):
    """The backward path through a batch mean in one compiled call: returns whether it did.

    Unweighted, ``delta -= np.full(1, 1.0 / n) * delta.sum(axis=0)``; weighted,
    ``delta -= np.outer(sample_weight / sw_sum, delta.sum(axis=0))`` where the
    weights have delta's dtype (else numpy's calls run). Otherwise `delta` is untouched.
    """
    if not available() or delta.ndim != 2 or not _fits(delta):
        return False
    weighted = sample_weight is not None
    if weighted and not _fits(delta, sample_weight):
        return False
    n, k = delta.shape
    shares = sample_weight / sw_sum if weighted else _NONE[delta.dtype]
    if weighted and shares.dtype != delta.dtype:  # a weight sum of another type
        return False
    _kernels().center_columns(delta, np.empty(k, delta.dtype), np.empty(k), shares, weighted,
                              1.0 / n, delta.dtype.type(0))
    return True


def column_means(a):
    """``weighted_mean(a, dtype=a.dtype)`` of an unweighted batch, its column sums compiled
    (numpy's order; numba's loop is about three times numpy's axis-0 sum on a 200-row
    batch): the means, or None where the caller's :func:`~.._stats.weighted_mean` must
    run (not a 2-D C-contiguous native float array, no rows, or a sum out of range,
    which that function rescues)."""
    if not available() or type(a) is not np.ndarray or a.ndim != 2 or not a.shape[0] \
            or not _fits(a):
        return None
    sums = np.empty(a.shape[1], a.dtype)
    _kernels().column_sums(a, sums, a.dtype.type(0))
    means = sums / a.shape[0]  # numpy's division by the count, in a's dtype
    return means if np.isfinite(means).all() else None
