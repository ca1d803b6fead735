"""The largest eigenvalue of a layer input's second moment, relative to the mean one.

For a linear unit trained on the squared error the Hessian is the input's
uncentred second moment ``M = Eᵀ E / n``; its largest eigenvalue bounds the
stable learning rate (about 2/λ_max) while the mean eigenvalue ``trace(M)/fan_in``
sets the typical one. An input mean m adds an eigenvalue of about fan_in·m², so
uncentred inputs have a large ratio (LeCun et al. 1998, "Efficient BackProp" §4.3).
"""

import math

import numpy as np
import scipy.sparse as sp

#: Up to this fan_in λ_max is computed exactly (``numpy.linalg.eigvalsh``).
EXACT_MAX_FAN_IN = 64
#: Power iteration stops when ``|M v − ρ v| <= RTOL · ρ`` for the unit vector v and
#: its Rayleigh quotient ρ: an eigenvalue of the symmetric M then lies within
#: RTOL·ρ of ρ (and ρ <= λ_max).
RTOL = 1e-6
#: Iterations before falling back to the exact decomposition.
MAX_ITER = 200


def second_moment(E, sample_weight=None):
    """``Eᵀ diag(w) E / sum(w)`` in float64 (w = 1 without weights), a dense (m, m) array."""
    if sp.issparse(E):
        E = E.tocsr().astype(np.float64)
        W = E if sample_weight is None else E.multiply(np.asarray(sample_weight)[:, None])
        M = np.asarray((E.T @ W).todense())
    else:
        E = np.asarray(E, dtype=np.float64)
        M = E.T @ (E if sample_weight is None else E * np.asarray(sample_weight)[:, None])
    total = E.shape[0] if sample_weight is None else float(np.sum(sample_weight))
    return M / total


def top_eigenvalue(M, start=None, rtol=RTOL, max_iter=MAX_ITER):
    """``(λ_max, v)`` of the symmetric positive semi-definite M: exact where small.

    Power iteration from `start` (the last step's vector: consecutive steps'
    inputs differ little) or a fixed positive vector, to `rtol` (see :data:`RTOL`);
    exact (``eigvalsh``) for at most :data:`EXACT_MAX_FAN_IN` rows or when it
    does not converge within `max_iter` iterations. `v` is None when exact.
    """
    m = M.shape[0]
    if m <= EXACT_MAX_FAN_IN:
        return float(np.linalg.eigvalsh(M)[-1]), None
    v = np.linspace(1.0, 2.0, m) if start is None or start.shape != (m,) else start
    v = v / np.linalg.norm(v)
    for _ in range(max_iter):
        w = M @ v
        rho = float(v @ w)
        if rho > 0 and np.linalg.norm(w - rho * v) <= rtol * rho:
            return rho, v
        norm = np.linalg.norm(w)
        if not norm > 0:
            break
        v = w / norm
    return float(np.linalg.eigvalsh(M)[-1]), None


def top_eigenvalue_ratio(E, sample_weight=None, memory=None, key="input_eigenvalue_ratio"):
    """λ_max / (trace / fan_in) of :func:`second_moment`; NaN when the trace is 0 or not finite.

    ``memory`` (a dict) keeps the power iteration's vector under `key` for the next call.

    Examples
    --------
    >>> import numpy as np
    >>> from centered_nn.diagnostics._curvature import top_eigenvalue_ratio
    >>> E = np.array([[1., 1.], [1., 1.]])  # rank one: all the trace in one eigenvalue
    >>> top_eigenvalue_ratio(E)
    2.0
    """
    M = second_moment(E, sample_weight)
    m = M.shape[0]
    trace = float(np.trace(M))
    if m == 0 or not (trace > 0 and math.isfinite(trace)) or not np.isfinite(M).all():
        return math.nan
    start = None if memory is None else memory.get(key)
    top, v = top_eigenvalue(M, start)
    if memory is not None and v is not None:
        memory[key] = v
    return top / (trace / m)
