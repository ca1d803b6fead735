"""The diagnostics' fast paths against plain, loop-based definitions of every metric.

The reference functions below are written from the definitions in API.md (zeros
and NaN count as neither sign), not from the implementation; every metric must
agree exactly (input means of sparse inputs, summed in another order, to rounding).
"""

import math
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

from centered_nn._network.network import BackwardStep
from centered_nn.diagnostics import (
    GradientSignRecorder,
    InputSignStats,
    input_mean,
    positive_input_fraction,
    same_sign_fraction,
    sample_same_sign_fraction,
    sign_flip_fraction,
)

METRICS = GradientSignRecorder.METRICS


def ref_sign(a):
    a = np.asarray(a, dtype=float)
    return np.where(a > 0, 1, np.where(a < 0, -1, 0))


def ref_same(G):
    G = np.asarray(G, dtype=float)
    G = G.reshape(-1, 1) if G.ndim == 1 else G
    counted = single = 0
    for column in G.T:
        has_pos, has_neg = bool(np.any(column > 0)), bool(np.any(column < 0))
        counted += has_pos or has_neg
        single += has_pos != has_neg
    return single / counted if counted else math.nan


def ref_sample(E, D):
    num = den = 0
    for e, d in zip(E, D):
        has_pos, has_neg = bool(np.any(e > 0)), bool(np.any(e < 0))
        if has_pos or has_neg:
            k = int(np.sum(d != 0))
            den += k
            num += k if has_pos != has_neg else 0
    return num / den if den else math.nan


def ref_flip(sign, prev):
    if prev is None or prev.shape != sign.shape:
        return math.nan
    both = (sign != 0) & (prev != 0)
    return float(np.sum(both & (sign != prev))) / np.sum(both) if both.any() else math.nan


def dense_effective(A, offset):
    E = A.toarray() if sp.issparse(A) else np.asarray(A)
    return E if offset is None else E + offset


class ReferenceRecorder:
    """The recorder's contract with Python loops: running sums, NaN skipped."""

    def __init__(self, n_layers):
        self.n_layers, self.records, self.committed = n_layers, [], [None] * n_layers
        self.discard_steps()

    def discard_steps(self):
        self.prev = list(self.committed)
        self.sums = [[0.0] * self.n_layers for _ in METRICS]
        self.counts = [[0] * self.n_layers for _ in METRICS]

    def observe(self, layer, A, D, G, offset=None):
        E = dense_effective(A, offset)
        sign = ref_sign(G)
        values = (ref_same(G), ref_sample(E, D), ref_flip(sign, self.prev[layer]),
                  E.sum(dtype=np.float64) / E.size, np.sum(E > 0) / E.size)
        self.prev[layer] = sign
        for k, v in enumerate(values):
            if not math.isnan(v):
                self.sums[k][layer] += float(v)
                self.counts[k][layer] += 1

    def end_iteration(self):
        self.records.append([[s / c if c else math.nan for s, c in zip(sums, counts)]
                             for sums, counts in zip(self.sums, self.counts)])
        self.committed = list(self.prev)
        self.discard_steps()

    def history(self):
        stacked = np.array(self.records).reshape(-1, len(METRICS), self.n_layers)
        return {m: stacked[:, k, :] for k, m in enumerate(METRICS)}


def random_case(rng, n, fan_in, fan_out, kind, dtype=np.float64):
    """Inputs, deltas and offsets with zeros, all-zero rows and columns, mixed signs."""
    if kind == "nonnegative":  # like ReLU outputs or pixels: the minimum shortcut
        A = np.maximum(rng.standard_normal((n, fan_in)), 0)
    elif kind == "positive":
        A = rng.uniform(0.1, 1.0, (n, fan_in))
    else:
        A = rng.standard_normal((n, fan_in))
        A[rng.random(A.shape) < 0.3] = 0.0
    if n > 2:
        A[1] = 0.0  # an all-zero row
    D = rng.standard_normal((n, fan_out))
    D[rng.random(D.shape) < 0.3] = 0.0
    G = A.T @ D
    if fan_out > 1:
        G[:, 0] = 0.0  # an all-zero column
    return A.astype(dtype), D.astype(dtype), G.astype(dtype)


OFFSETS = {
    None: lambda rng, m: None,
    "mixed": lambda rng, m: np.where(rng.random(m) < 0.3, 0.0, rng.standard_normal(m)),
    "centring": lambda rng, m: -np.full(m, 0.4),
}


@pytest.mark.parametrize("kind", ["mixed", "nonnegative", "positive"])
@pytest.mark.parametrize("offset_kind", list(OFFSETS))
@pytest.mark.parametrize("shape", [(1, 7, 3), (1, 1, 1), (6, 5, 4), (40, 12, 9)])
@pytest.mark.parametrize("sparse", [False, True])
def test_functions_match_the_plain_definitions(kind, offset_kind, shape, sparse):
    rng = np.random.default_rng(sum(shape) + len(kind))
    A, D, G = random_case(rng, *shape, kind)
    offset = OFFSETS[offset_kind](rng, shape[1])
    E = dense_effective(A, offset)
    X = sp.csr_matrix(A) if sparse else A
    assert same_sign_fraction(G) == pytest.approx(ref_same(G), nan_ok=True, rel=0, abs=0)
    expected = ref_sample(E, D)
    assert sample_same_sign_fraction(X, D, offset) == pytest.approx(expected, nan_ok=True,
                                                                     rel=0, abs=0)
    assert positive_input_fraction(X, offset) == np.sum(E > 0) / E.size
    if sparse:
        assert input_mean(X, offset) == pytest.approx(E.sum() / E.size, rel=1e-12, abs=1e-15)
    else:
        assert input_mean(X, offset) == E.sum(dtype=np.float64) / E.size
    prev = rng.standard_normal(G.shape)
    prev[rng.random(G.shape) < 0.3] = 0.0
    assert sign_flip_fraction(G, prev) == pytest.approx(
        ref_flip(ref_sign(G), ref_sign(prev)), nan_ok=True, rel=0, abs=0)


def test_nan_and_infinite_entries_count_as_their_sign_or_as_neither():
    nan, inf = np.nan, np.inf
    # the NaN makes the total NaN, so the minimum (NaN) must not hide row 1's negative
    E = np.array([[nan, 1.0], [-1.0, 0.0], [nan, nan], [inf, 2.0], [-inf, 0.0]])
    D = np.array([[1.0, 2.0], [3.0, 0.0], [1.0, 1.0], [0.0, nan], [1.0, 1.0]])
    expected = ref_sample(E, D)  # rows 0, 1, 3, 4 single-signed; NaN delta is nonzero
    assert expected == 1.0
    assert sample_same_sign_fraction(E, D) == expected
    E2 = np.array([[nan, 1.0, -2.0], [0.0, 0.0, 0.0]])  # a mixed row beside a NaN
    assert sample_same_sign_fraction(E2, np.ones((2, 2))) == ref_sample(E2, np.ones((2, 2))) == 0.0
    nonnegative_with_nan = np.array([[nan, 0.5], [0.0, 0.0]])
    assert sample_same_sign_fraction(nonnegative_with_nan, np.ones((2, 1))) == 1.0
    assert positive_input_fraction(E) == np.sum(E > 0) / E.size
    assert math.isnan(input_mean(E))
    G = np.array([[nan, 1.0], [2.0, -inf], [nan, nan]])
    assert same_sign_fraction(G) == ref_same(G) == 0.5
    assert sign_flip_fraction(G, -G) == ref_flip(ref_sign(G), ref_sign(-G)) == 1.0
    only_inf = np.array([[inf, 1.0], [0.0, 2.0]])  # total +inf: the minimum is still valid
    assert sample_same_sign_fraction(only_inf, np.ones((2, 1))) == 1.0
    # the recorder's one-sample path, row by row, against the reference recorder
    rec, ref = GradientSignRecorder(1), ReferenceRecorder(1)
    for e, d in zip(np.vstack([E, E2[:, :2], only_inf]), np.vstack([D, np.ones((4, 2))])):
        e, d = e[np.newaxis], d[np.newaxis]
        with np.errstate(invalid="ignore"):
            g = e.T @ d
        rec.observe(0, e, d, g)
        ref.observe(0, e, d, g)
    rec.end_iteration()
    ref.end_iteration()
    for metric in METRICS:
        np.testing.assert_array_equal(rec.history[metric], ref.history()[metric], err_msg=metric)


def _steps(rng, n_steps, batch, units, kinds, sparse_first=False, offsets=False):
    for step in range(n_steps):
        n = batch if step % 4 else max(1, batch // 2)  # a shorter batch now and then
        layers = []
        for layer, (fan_in, fan_out) in enumerate(zip(units[:-1], units[1:])):
            A, D, G = random_case(rng, n, fan_in, fan_out, kinds[layer])
            offset = OFFSETS["mixed"](rng, fan_in) if offsets and layer == 0 else None
            if offset is not None:
                G = (A + offset).T @ D
            if sparse_first and layer == 0:
                A = sp.csr_matrix(A)
            layers.append((A, D, G, offset))
        yield layers


@pytest.mark.parametrize("batch", [1, 5, 32])
@pytest.mark.parametrize("sparse_first", [False, True])
@pytest.mark.parametrize("offsets", [False, True])
def test_recorder_history_equals_the_reference_recorder(batch, sparse_first, offsets):
    rng = np.random.default_rng(batch)
    units, kinds = [9, 6, 4, 3], ["mixed", "nonnegative", "mixed"]
    rec, ref = GradientSignRecorder(3), ReferenceRecorder(3)
    for step, layers in enumerate(_steps(rng, 30, batch, units, kinds, sparse_first, offsets)):
        for layer, (A, D, G, offset) in reversed(list(enumerate(layers))):
            rec.observe(layer, A, D, G, offset=offset)
            ref.observe(layer, A, D, G, offset=offset)
        if step % 7 == 6:
            rec.end_iteration()
            ref.end_iteration()
        elif step % 11 == 10:  # an L-BFGS trial step, forgotten
            rec.discard_steps()
            ref.discard_steps()
    rec.end_iteration()
    ref.end_iteration()
    got, expected = rec.history, ref.history()
    for metric in METRICS:
        if metric == "input_mean":  # summed in another order (sparse, compiled kernels)
            np.testing.assert_allclose(got[metric], expected[metric], rtol=1e-12, atol=1e-15)
        else:
            np.testing.assert_array_equal(got[metric], expected[metric], err_msg=metric)


@pytest.mark.parametrize("repeat", [1, 9])
@pytest.mark.parametrize("product", [False, True])
def test_recorder_means_are_running_sums_in_step_order(repeat, product):
    """Per-step values whose floating-point sum depends on the order of addition,
    observed step by step or kept and summarised together (product=True)."""
    rec = GradientSignRecorder(1, metrics=["input_mean"])
    values = ([1e16, 1.0, -1e16, 1.0, 3.0, 1e-3] * 4 + [2.5, np.nan, -1e16, 7.0, 1e16]) * repeat
    for v in values:
        if product:
            rec.observe(0, np.array([[v]]), np.ones((1, 1)), np.array([[v]]), product=True)
        else:
            rec.observe(0, np.array([[v]]), None, None)
    rec.end_iteration()
    running, count = 0.0, 0
    for v in values:
        if not math.isnan(v):
            running += v
            count += 1
    assert rec.history["input_mean"][0, 0] == running / count
    kept = [v for v in values if not math.isnan(v)]
    assert running / count != math.fsum(kept) / count  # the order of additions matters


def test_metrics_selection_records_only_those_with_the_same_values():
    rng = np.random.default_rng(5)
    chosen = ["sign_flip_fraction", "positive_input_fraction"]
    full, part = GradientSignRecorder(2), GradientSignRecorder(2, metrics=chosen[::-1] + chosen)
    assert part.metrics == tuple(chosen)  # canonical order, duplicates dropped
    for layers in _steps(rng, 6, 4, [5, 3, 2], ["mixed", "nonnegative"]):
        for layer, (A, D, G, _) in enumerate(layers):
            full.observe(layer, A, D, G)
            part.observe(layer, A, D, G)
        full.end_iteration()
        part.end_iteration()
    assert list(part.history) == chosen
    for metric in chosen:
        np.testing.assert_array_equal(part.history[metric], full.history[metric])
    one = GradientSignRecorder(1, metrics="input_mean")
    assert one.metrics == ("input_mean",)


def test_metrics_selection_errors_name_the_valid_metrics():
    with pytest.raises(ValueError, match=r"Unknown gradient-sign metric\(s\) \['zigzag'\]; "
                                         r"valid names are: same_sign_fraction, "):
        GradientSignRecorder(1, metrics=["input_mean", "zigzag"])
    with pytest.raises(ValueError, match="No metric named; valid names are: .*input_mean"):
        GradientSignRecorder(1, metrics=[])
    with pytest.raises(ValueError, match=r"history lacks the recorded metric\(s\) \['input_mean'\]"):
        GradientSignRecorder(1, history={"same_sign_fraction": np.zeros((2, 1))},
                             metrics=["same_sign_fraction", "input_mean"])
    rec = GradientSignRecorder(1, history={"input_mean": np.ones((2, 1)), "other": None},
                               metrics=["input_mean"])
    assert rec.history["input_mean"].shape == (2, 1)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("offset_kind", [None, "mixed"])
def test_input_sign_stats_give_the_same_history(sparse, offset_kind):
    rng = np.random.default_rng(11)
    X, _, _ = random_case(rng, 50, 8, 1, "mixed")
    X[3] = 0.0
    offset = OFFSETS[offset_kind](rng, 8)
    Xs = sp.csr_matrix(X) if sparse else X
    stats = InputSignStats(Xs, offset, chunk_rows=7)
    with_stats, plain = GradientSignRecorder(1), GradientSignRecorder(1)
    order = rng.permutation(50)
    for batches in ([order[i:i + 8] for i in range(0, 50, 8)], [slice(0, 25), slice(25, 50)],
                    [order[i:i + 1] for i in range(10)]):
        for rows in batches:
            A = Xs[rows]
            D = rng.standard_normal((A.shape[0], 3))
            G = dense_effective(A, offset).T @ D
            with_stats.observe(0, A, D, G, offset=offset, input_stats=stats.take(rows))
            plain.observe(0, A, D, G, offset=offset)
        with_stats.end_iteration()
        plain.end_iteration()
    for metric in METRICS:  # every value exactly as without the statistics
        np.testing.assert_array_equal(with_stats.history[metric], plain.history[metric])


def test_input_sign_stats_rows_and_errors():
    X = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0], [np.nan, 2.0, 3.0], [-1.0, -2.0, 0.0]])
    stats = InputSignStats(X, offset=[0.0, 0.0, 0.5], chunk_rows=1)
    E = X + [0.0, 0.0, 0.5]
    np.testing.assert_array_equal(stats.row_pos, (E > 0).any(axis=1))
    np.testing.assert_array_equal(stats.row_neg, (E < 0).any(axis=1))
    np.testing.assert_array_equal(stats.row_n_positive, (E > 0).sum(axis=1))
    assert stats.row_n_positive.dtype == np.uint8 and stats.n_columns == 3
    sparse_stats = InputSignStats(sp.csc_matrix(X[[0, 1, 3]]), offset=[0.0, 0.0, 0.5])
    np.testing.assert_array_equal(sparse_stats.row_n_positive, stats.row_n_positive[[0, 1, 3]])
    np.testing.assert_array_equal(sparse_stats.row_neg, stats.row_neg[[0, 1, 3]])
    with pytest.raises(ValueError, match="offset has 2 entries, inputs have 3 columns"):
        InputSignStats(X, offset=[1.0, 2.0])
    with pytest.raises(ValueError, match=r"inputs must be 2-D, got shape \(3,\)"):
        InputSignStats(np.ones(3))
    rec = GradientSignRecorder(1)
    with pytest.raises(ValueError, match="delta has 3 rows, inputs have 2"):
        rec.observe(0, X[:2], np.ones((3, 1)), np.ones((3, 1)), input_stats=stats.take(slice(2)))
    with pytest.raises(ValueError, match=r"inputs have shape \(3, 3\), the statistics describe "
                                         r"\(2, 3\)"):
        rec.observe(0, X[:3], np.ones((3, 1)), np.ones((3, 1)), input_stats=stats.take(slice(2)))
    wide = InputSignStats(np.ones((2, 300)))
    assert wide.row_n_positive.dtype == np.uint16 and list(wide.row_n_positive) == [300, 300]


def test_input_sign_stats_looked_up_rows_equal_the_definitions():
    """Rows taken (index arrays, slices, masks, a take of a take) before the scan runs,
    read later: the flags and counts of exactly those rows of E, in that order."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((9, 4))
    offset = rng.standard_normal(4)
    E = X + offset
    stats = InputSignStats(X, offset)
    order = rng.permutation(9)
    picked = order[2:7].copy()
    taken = stats.take(order[2:7])
    order[:] = 0  # the caller's indices change before the rows are read
    nested = taken.take(slice(1, 4))
    mask = np.arange(9) % 3 == 0
    for subset, rows in ((taken, picked), (nested, picked[1:4]), (stats.take(mask), mask)):
        np.testing.assert_array_equal(subset.row_pos, (E[rows] > 0).any(axis=1))
        np.testing.assert_array_equal(subset.row_neg, (E[rows] < 0).any(axis=1))
        np.testing.assert_array_equal(subset.row_n_positive, (E[rows] > 0).sum(axis=1))
        assert subset.n_rows == E[rows].shape[0] and subset.n_columns == 4


def test_recorder_pickles_mid_iteration_and_keeps_comparing_signs():
    rec = GradientSignRecorder(1)
    X = np.array([[1.0, -2.0]])
    rec.observe(0, X, np.ones((1, 1)), X.T)
    restored = pickle.loads(pickle.dumps(rec))
    for r in (rec, restored):
        r.observe(0, X, -np.ones((1, 1)), -X.T)  # both signs flip
        r.end_iteration()
    assert restored.history["sign_flip_fraction"][0, 0] == rec.history["sign_flip_fraction"][0, 0] == 1.0


def test_recorder_pickled_without_a_later_path_gets_it_back():
    """A recorder's state saved before on_step's compiled path existed (no ``_counted``)
    unpickles with the path set from its metrics, and records the steps as before."""
    rec = GradientSignRecorder(1)
    state = rec.__getstate__()
    del state["_counted"]
    restored = object.__new__(GradientSignRecorder)
    restored.__setstate__(state)
    np.testing.assert_array_equal(restored._counted, rec._counted)
    assert rec._counted.shape == (len(rec.metrics), 2)
    step = BackwardStep([np.array([[1.0, -2.0], [3.0, 4.0]])], [None], None, False)
    step.deltas, step.weight_gradients = [np.array([[1.0], [-1.0]])], [np.array([[-2.0], [-6.0]])]
    for r in (rec, restored):
        r.on_step(step)
        r.end_iteration()
    for name, values in rec.history.items():
        np.testing.assert_array_equal(restored.history[name], values, err_msg=name)
    assert rec.history["same_sign_fraction"][0, 0] == 1.0  # both entries negative
    assert rec.history["sample_same_sign_fraction"][0, 0] == 0.5  # row 0 has both signs


def test_offset_gradient_rounding_does_not_fake_a_counted_delta():
    """Rows whose effective input is exactly zero carry all the nonzero deltas."""
    b = np.array([0.12573022, -0.13210486])
    rng = np.random.default_rng(0)
    rng.standard_normal(2)
    A = np.vstack([[1.0 - b[0], -b[1]], np.tile(-b, (3, 1))])  # E = [1, 0] then zero rows
    D = np.vstack([[0.0], rng.standard_normal((3, 1))])  # the counted row has delta 0
    G = A.T @ D + np.outer(b, D.sum(axis=0))  # as the network computes it with an offset
    E = A + b
    assert np.any(G != 0) and not np.any(E[1:])  # rounding left G nonzero
    assert math.isnan(ref_sample(E, D))
    rec = GradientSignRecorder(1)  # with same_sign_fraction, which sees G's signs
    rec.observe(0, A, D, G, offset=b)
    rec.end_iteration()
    assert math.isnan(rec.history["sample_same_sign_fraction"][0, 0])


def _one_row_step(rng, m, n, dtype, kind):
    """A one-row step (a, d): zeros, all-zero rows, underflowing or non-finite products."""
    a, d = rng.standard_normal((1, m)), rng.standard_normal((1, n))
    a[rng.random(a.shape) < 0.3] = 0.0
    d[rng.random(d.shape) < 0.3] = 0.0
    tiny = 1e-200 if dtype == np.float64 else 1e-30  # squares round to zero in dtype
    if kind == "nonnegative":
        a = np.abs(a)
    elif kind == "zero_a":
        a[:] = 0.0
    elif kind == "zero_d":
        d[:] = 0.0
    elif kind == "underflow":  # some products round to zero, a and d nonzero there
        a[0, 0], d[0, 0] = tiny, -tiny
    elif kind == "subnormal":  # a product below the smallest normal number, not zero
        a[0, 0], d[0, 0] = np.sqrt(np.finfo(dtype).tiny) * 0.5, 1e-3
    elif kind == "overflow":
        huge = 1e200 if dtype == np.float64 else 1e30  # the product overflows to inf
        a[0, 0], d[0, 0] = huge, huge
    elif kind == "nan":
        a[0, 1 % m] = np.nan
    elif kind == "inf_times_zero":
        a[0, 0], d[0, 0] = np.inf, 0.0
    elif kind == "nan_delta":
        d[0, 0] = np.nan
    return a.astype(dtype), d.astype(dtype)


KINDS = ["mixed"] * 12 + ["nonnegative"] * 6 + ["zero_a", "zero_d", "underflow", "subnormal",
                                                 "overflow", "nan", "inf_times_zero", "nan_delta"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pending_rows", [8, None])
@pytest.mark.parametrize("metrics", [None, ["sign_flip_fraction"],
                                     ["same_sign_fraction", "input_mean",
                                      "positive_input_fraction"]])
def test_kept_one_row_steps_equal_the_reference_recorder(dtype, pending_rows, metrics):
    """``observe(..., product=True)`` keeps one-row steps and summarises them later, exactly."""
    rng = np.random.default_rng(7)
    shapes = [(6, 4), (4, 3), (130, 2)]  # the last: sign sums wider than int8
    kept = GradientSignRecorder(3, metrics=metrics)
    plain = GradientSignRecorder(3, metrics=metrics)
    ref = ReferenceRecorder(3)
    if pending_rows is not None:
        kept.PENDING_ROWS = pending_rows
    n_steps = 3 * (pending_rows or GradientSignRecorder.PENDING_ROWS) + 11
    for step in range(n_steps):
        for layer in (2, 1, 0):
            kind = KINDS[rng.integers(len(KINDS))] if step % 5 else "mixed"
            a, d = _one_row_step(rng, *shapes[layer], dtype, kind)
            with np.errstate(all="ignore"):
                g = a.T @ d
            ref.observe(layer, a, d, g)
            plain.observe(layer, a, d, g)
            kept.observe(layer, a, d, g, product=step % 29 != 13)  # now and then at once
            a[...], d[...], g[...] = 7.0, -3.0, 0.0  # the caller reuses its arrays
        if step % 37 == 36:
            for r in (kept, plain, ref):
                r.end_iteration()
        elif step % 53 == 52:  # an abandoned step
            for r in (kept, plain, ref):
                r.discard_steps()
        if step % 41 == 40:  # pickled with steps kept
            kept = pickle.loads(pickle.dumps(kept))
    for r in (kept, plain, ref):
        r.end_iteration()
    expected = ref.history()
    assert list(kept.history) == list(plain.history)
    for metric, got in kept.history.items():
        np.testing.assert_array_equal(got, plain.history[metric], err_msg=metric)
        np.testing.assert_array_equal(got, expected[metric], err_msg=metric)


def test_kept_steps_sum_wide_rows_and_compare_flips_across_iterations():
    """Rows wider than a summation buffer, and flips against the previous iteration's last step."""
    rng = np.random.default_rng(8)
    for dtype in (np.float32, np.float64):
        kept, ref = GradientSignRecorder(1), ReferenceRecorder(1)
        for step in range(12):
            a = (rng.standard_normal((1, 9000)) * 10.0 ** rng.integers(-8, 8, (1, 9000)))
            a, d = a.astype(dtype), rng.standard_normal((1, 2)).astype(dtype)
            g = a.T @ d
            kept.observe(0, a, d, g, product=True)
            ref.observe(0, a, d, g)
            if step % 4 == 3:
                kept.end_iteration()
                ref.end_iteration()
        expected = ref.history()
        for metric, got in kept.history.items():
            np.testing.assert_array_equal(got, expected[metric], err_msg=metric)
        assert not np.isnan(kept.history["sign_flip_fraction"][1:]).any()


def test_product_steps_that_cannot_be_kept_are_recorded_at_once():
    """Several rows, an offset, centred rows or mixed dtypes: the step-by-step path."""
    rng = np.random.default_rng(9)
    A, D, G = random_case(rng, 3, 4, 2, "mixed")
    b = np.array([0.5, -0.25, 0.0, 1.0])
    kept, plain = GradientSignRecorder(1), GradientSignRecorder(1)
    for rec, product in ((kept, True), (plain, False)):
        rec.observe(0, A, D, G, product=product)
        rec.observe(0, A[:1], D[:1], (A[:1] + b).T @ D[:1], offset=b, product=product)
        rec.observe(0, A[:1], D[:1].astype(np.float32), A[:1].T @ D[:1], product=product)
        rec.observe(0, A[:1], D[:1], A[:1].T @ D[:1], product=product)  # kept
        assert (rec._kept[0] is not None) == product
        rec.end_iteration()
    for metric in METRICS:
        np.testing.assert_array_equal(kept.history[metric], plain.history[metric])


@pytest.mark.parametrize("kind", ["underflow", "nan", "inf_times_zero"])
def test_kept_step_without_exact_signs_at_the_end_of_a_batch(kind):
    """The step after it is compared with its actual signs, not sign(a) ⊗ sign(d)."""
    rng = np.random.default_rng(10)
    kept, ref = GradientSignRecorder(1), ReferenceRecorder(1)
    kept.PENDING_ROWS = 4
    for step in range(9):
        a, d = _one_row_step(rng, 5, 3, np.float64, kind if step == 3 else "mixed")
        if step == 4:  # a nonzero where step 3's product was zero or NaN
            a[0, :2], d[0, 0] = 1.0, -1.0
        with np.errstate(all="ignore"):
            g = a.T @ d
        kept.observe(0, a, d, g, product=True)
        ref.observe(0, a, d, g)
    kept.end_iteration()
    ref.end_iteration()
    for metric, got in kept.history.items():
        np.testing.assert_array_equal(got, ref.history()[metric], err_msg=metric)


@pytest.mark.parametrize("fan_in", [0, 1, 30])
@pytest.mark.parametrize("fan_out", [1, 16, 17, 40])
def test_same_sign_fraction_narrow_and_wide_gradients(fan_in, fan_out):
    """Column tests by lookup (up to 16 columns) and by reduction agree with the definition."""
    rng = np.random.default_rng(fan_in * 100 + fan_out)
    G = rng.standard_normal((fan_in, fan_out))
    G[rng.random(G.shape) < 0.3] = 0.0
    if fan_in > 1:
        G[:, 0] = np.abs(G[:, 0])  # single-signed
        G[:, -1] = 0.0  # not counted
        G[0, fan_out // 2] = np.nan  # neither sign
    expected = ref_same(G)
    assert same_sign_fraction(G) == pytest.approx(expected, nan_ok=True, rel=0, abs=0)


def test_counted_steps_and_kept_steps_add_up_in_step_order():
    """Steps the kernels add up themselves (several rows) between one-row steps kept for
    later: every value is added in step order, as the one-by-one reference adds them."""
    rng = np.random.default_rng(11)
    rec, ref = GradientSignRecorder(1), ReferenceRecorder(1)
    for t, rows in enumerate([3, 1, 1, 4, 1, 5, 5, 1]):
        A, D = rng.standard_normal((rows, 4)), rng.standard_normal((rows, 3))
        G = A.T @ D
        step = BackwardStep([A], [None], None, False)
        step.deltas, step.weight_gradients = [D], [G]
        if rows > 1:
            rec.on_step(step)  # the compiled path, when numba is on
        else:
            rec.observe(0, A, D, G, product=True)  # kept, summarised later
        ref.observe(0, A.copy(), D.copy(), G.copy())
        if t == 4:
            restored = pickle.loads(pickle.dumps(rec))  # pickling settles the sums
            rec = restored
    rec.end_iteration()
    ref.end_iteration()
    expected = ref.history()
    for metric in METRICS:
        got = rec.history[metric]
        if metric == "input_mean":  # summed in another order by the kernels
            np.testing.assert_allclose(got, expected[metric], rtol=1e-12)
        else:
            np.testing.assert_array_equal(got, expected[metric], err_msg=metric)
