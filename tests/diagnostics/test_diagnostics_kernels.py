"""The compiled sign statistics (diagnostics._kernels) against the numpy path and the definitions.

The recorder takes the compiled path when numba is installed and the numpy path
otherwise (or with ``_compiled.ENABLED = False``); both must record the same
history: every count-based metric exactly, ``input_mean`` (summed in another
order) to 1e-12 relative, as the API promises against a brute-force float64 sum.
"""

import math

import numpy as np
import pytest

from centered_nn.diagnostics import GradientSignRecorder, _kernels

from .test_diagnostics_fast_paths import (
    METRICS,
    OFFSETS,
    ReferenceRecorder,
    random_case,
    ref_flip,
    ref_same,
    ref_sample,
    ref_sign,
)

pytest.importorskip("numba")


def _ratio(num, den):
    return num / den if den else math.nan


def _special_entries(rng, A, D, dtype):
    """NaN, infinities, a constant row and signed zeros in A; a NaN delta."""
    A = A.copy()
    if A.shape[0] > 4 and A.shape[1] > 2:
        A[2, 1] = np.nan
        A[3, 0] = np.inf
        A[3, 2] = -np.inf
        A[4] = dtype(0.75)  # constant row: not counted when centred
        A[0, 0] = -0.0
        D = D.copy()
        D[0, 0] = np.nan  # counts as a nonzero delta
    return A, D


def _ref_centred_fraction(E, D):
    """Per-sample fraction of the centred rows e_s - mean(e_s): 0, or NaN if nothing counts."""
    den = 0
    for e, d in zip(E, D):
        if not np.isnan(e).any() and len(set(e.tolist())) > 1:
            den += int(np.count_nonzero(d != 0))
    return 0.0 if den else math.nan


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["mixed", "nonnegative", "positive"])
@pytest.mark.parametrize("offset_kind", list(OFFSETS))
@pytest.mark.parametrize("shape", [(1, 7, 3), (6, 5, 4), (40, 12, 9), (300, 9, 2)])
@pytest.mark.parametrize("special", [False, True])
def test_step_stats_equal_the_definitions(dtype, kind, offset_kind, shape, special):
    rng = np.random.default_rng(shape[0] * 7 + shape[1])
    A, D, G = random_case(rng, *shape, kind, dtype)
    if special:
        A, D = _special_entries(rng, A, D, dtype)
    offset = OFFSETS[offset_kind](rng, shape[1])
    offset = None if offset is None else offset.astype(dtype)
    E = A if offset is None else A + offset
    previous = ref_sign(rng.standard_normal(G.shape)).astype(np.int8)
    for rows in (_kernels.NO_ROWS, _kernels.SIGN_ROWS, _kernels.VARYING_ROWS):
        counts, signs = _kernels.step_stats(G, previous, A, offset, D, rows)
        n_signed, n_single, n_both, n_differ, n_positive, total, num, den = counts
        np.testing.assert_array_equal(signs, ref_sign(G))
        assert signs.dtype == np.int8
        assert _ratio(n_single, n_signed) == pytest.approx(ref_same(G),
                                                                         nan_ok=True)
        flip = ref_flip(ref_sign(G), previous)
        assert _ratio(n_differ, n_both) == pytest.approx(flip, nan_ok=True)
        assert n_positive == np.count_nonzero(E > 0)
        with np.errstate(invalid="ignore"):  # inf - inf
            brute = E.sum(dtype=np.float64)
        if math.isnan(brute):
            assert math.isnan(total)
        else:
            assert total == pytest.approx(brute, rel=1e-12, abs=1e-12)
        fraction = _ratio(num, den)
        if rows == _kernels.SIGN_ROWS:
            assert fraction == pytest.approx(ref_sample(E, D), nan_ok=True)
        elif rows == _kernels.VARYING_ROWS:
            assert fraction == pytest.approx(_ref_centred_fraction(E, D), nan_ok=True)
        else:
            assert (num, den) == (0, 0)
    # no previous signs, or of another shape: no flip counted
    for other in (None, previous[:, :1]):
        counts, _ = _kernels.step_stats(G, other, A, offset, D, _kernels.NO_ROWS)
        assert counts[2:4] == (0, 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_offset", [False, True])
@pytest.mark.parametrize("last_entry, fraction", [(2.0, 0.0), (np.nan, math.nan),
                                                  (0.5, math.nan)])
def test_varying_rows_are_read_to_their_last_column(dtype, with_offset, last_entry, fraction):
    """Gradient centralization's per-sample fraction is 0 when some row of E varies (its
    centred per-sample gradient column is then nonzero), NaN when none does. Here the one
    candidate row differs from its constant rest only in its last entry: a different
    number (it varies: 0), NaN (ruled out: NaN), the same number (constant: NaN). A scan
    that stopped one column early would get the first two wrong."""
    n_features = 5
    offset = np.linspace(-1.0, 1.0, n_features).astype(dtype) if with_offset else None
    E = np.full((4, n_features), 0.5, dtype=dtype)  # constant rows: never counted
    E[2, -1] = last_entry
    A = E if offset is None else E - offset
    E = A if offset is None else A + offset  # the effective input the kernel sees
    assert np.array_equal(E[2, :-1], np.full(n_features - 1, E[2, 0]))  # constant but last
    D = np.ones((4, 3), dtype=dtype)
    G = np.ones((n_features, 3), dtype=dtype)
    counts, _ = _kernels.step_stats(G, None, A, offset, D, _kernels.VARYING_ROWS)
    assert _ratio(*counts[6:]) == pytest.approx(fraction, nan_ok=True)
    assert _ref_centred_fraction(E, D) == pytest.approx(fraction, nan_ok=True)


def _record(steps, n_layers, centred):
    rec = GradientSignRecorder(n_layers)
    for step, layers in enumerate(steps):
        for layer, (A, D, G, offset) in reversed(list(enumerate(layers))):
            rec.observe(layer, A, D, G, offset=offset, centered_rows=centred)
        if step % 5 == 4:
            rec.end_iteration()
        elif step % 7 == 6:  # an L-BFGS trial step, forgotten
            rec.discard_steps()
    rec.end_iteration()
    return rec.history


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("centred", [False, True])
@pytest.mark.parametrize("batch", [1, 3, 64])
def test_compiled_and_numpy_paths_record_the_same_history(compiled_switch, dtype, centred,
                                                          batch):
    rng = np.random.default_rng(batch)
    units, kinds = [9, 6, 4, 3], ["mixed", "nonnegative", "positive"]
    steps = []
    for step in range(17):
        n = batch if step % 4 else max(1, batch // 2)
        layers = []
        for layer, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            A, D, G = random_case(rng, n, fan_in, fan_out, kinds[layer], dtype)
            offset = OFFSETS["mixed"](rng, fan_in).astype(dtype) if layer != 1 else None
            if step == 5 and layer == 0:
                A, D = _special_entries(rng, A, D, dtype)
            layers.append((A, D, G, offset))
        steps.append(layers)
    compiled_switch.ENABLED = True
    assert _kernels.available()
    compiled = _record(steps, 3, centred)
    compiled_switch.ENABLED = False
    assert not _kernels.available()
    plain = _record(steps, 3, centred)
    for metric in METRICS:
        if metric == "input_mean":
            np.testing.assert_allclose(compiled[metric], plain[metric], rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(compiled[metric], plain[metric], err_msg=metric)
    if not centred:  # and both equal the loop-based definitions
        ref = ReferenceRecorder(3)
        for step, layers in enumerate(steps):
            for layer, (A, D, G, offset) in reversed(list(enumerate(layers))):
                ref.observe(layer, A, D, G, offset=offset)
            if step % 5 == 4:
                ref.end_iteration()
            elif step % 7 == 6:
                ref.discard_steps()
        ref.end_iteration()
        expected = ref.history()
        for metric in METRICS:
            if metric != "input_mean":
                np.testing.assert_array_equal(compiled[metric], expected[metric], err_msg=metric)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_input_mean_precision_on_many_rows(dtype, rtol):
    """Thousands of rows (a full-batch L-BFGS step): the kernel's sum stays within the
    promised precision of the exactly rounded sum of the effective input."""
    rng = np.random.default_rng(0)
    A = (rng.standard_normal((20000, 7)) * 10 + 3).astype(dtype)
    offset = rng.standard_normal(7).astype(dtype)
    E = A + offset
    exact = math.fsum(E.astype(np.float64).ravel().tolist())
    counts, _ = _kernels.step_stats(np.ones((7, 1), dtype), None, A, offset,
                                    np.ones((20000, 1), dtype), _kernels.NO_ROWS)
    assert counts[5] == pytest.approx(exact, rel=rtol)
    assert abs(counts[5] - exact) <= 1e-12 * abs(exact)  # float32 values: float64 sums


def test_accepts_only_dense_float_steps_of_matching_shapes():
    A, D, G = np.ones((3, 2)), np.ones((3, 4)), np.ones((2, 4))
    assert _kernels.accepts(A, D, G, None) and _kernels.accepts(A, D, G, np.zeros(2))
    assert not _kernels.accepts(A.astype(int), D, G, None)
    assert not _kernels.accepts(A, D[:2], G, None)
    assert not _kernels.accepts(A, D, G.T, None)
    assert not _kernels.accepts(A, D, G, np.zeros(3))
    assert not _kernels.accepts(A, D[:, 0], G, None)  # a 1-D delta: the numpy path reshapes
    swapped = A.astype(A.dtype.newbyteorder())
    assert not _kernels.accepts(swapped, D, G, None)  # numba reads native byte order only
    assert not _kernels.accepts(A, D, G, np.zeros(2).astype(swapped.dtype))
    assert not _kernels.accepts(A, D, G.astype(np.float16), None)
    assert not _kernels.accepts(A, D, G, np.zeros((2, 1)))
    assert _kernels.accepts(A.astype(np.float32), D, G, np.zeros(2, np.float32))
    rec, ref = GradientSignRecorder(1), ReferenceRecorder(1)
    rec.observe(0, swapped, D, G)
    ref.observe(0, swapped, D, G)
    rec.end_iteration()
    ref.end_iteration()
    for metric in METRICS:
        np.testing.assert_array_equal(rec.history[metric], ref.history()[metric])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shifted", [False, True])
@pytest.mark.parametrize("shape", [(6, 5, 4), (40, 12, 9), (200, 64, 100)])
def test_a_penalty_in_the_kernels_pass_counts_the_data_term_and_writes_the_gradient(
        dtype, shifted, shape):
    """With a penalty handed over, the counts are those of the data term (plus the
    pending offset term) and G becomes what the network's compiled penalty writes."""
    from centered_nn._network import fused

    rng = np.random.default_rng(7)
    n, fan_in, fan_out = shape
    A = rng.standard_normal((n, fan_in)).astype(dtype)
    D = rng.standard_normal((n, fan_out)).astype(dtype)
    W = rng.standard_normal((fan_in, fan_out)).astype(dtype)
    b, sums = rng.standard_normal(fan_in).astype(dtype), D.sum(axis=0)
    G = A.T @ D
    G[0, 0] = 0.0  # a zero entry, whose sign the shift may change
    previous = np.sign(rng.standard_normal(G.shape)).astype(np.int8)
    data, expected = G.copy(), G.copy()
    if shifted:
        data += np.outer(b, sums)
    counts, signs = _kernels.step_stats(data, previous, A, b, D, _kernels.SIGN_ROWS)
    fused._kernels().penalize(expected, W, b, sums, shifted, dtype(1e-3), dtype(n))
    alpha, scale = dtype(1e-3), dtype(n)
    got_counts, got_signs = _kernels.step_stats(
        G, previous, A, b, D, _kernels.SIGN_ROWS,
        (W, b if shifted else None, sums if shifted else None, alpha, scale))
    assert got_counts == counts
    np.testing.assert_array_equal(got_signs, signs)
    np.testing.assert_array_equal(G, expected)
