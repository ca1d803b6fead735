"""The benchmark script stays runnable (its timings are not asserted: shared machines)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import centered_nn

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fit.py"


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_fit", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_benchmark_runs_every_workload_for_every_available_estimator(capsys):
    bench = _load_bench()
    rows = bench.main(["--repeats", "1", "--quick"])
    tasks = [task for task, name, _ in bench.ESTIMATORS if hasattr(centered_nn, name)]
    assert "classifier" in tasks
    expected = [(f"{task} {w.label(quick=True)}", setup)
                for task in tasks for w in bench.WORKLOADS for setup in w.setups]
    assert [(row["workload"], row["setup"]) for row in rows] == expected
    assert len(bench.WORKLOADS) == 5
    # the digits adam and 20000x100 adam workloads run every centring setup
    assert [w.setups for w in bench.WORKLOADS] == [tuple(bench.SETUPS), ("plain",),
                                                   tuple(bench.SETUPS), ("plain",), ("plain",)]
    assert list(bench.SETUPS) == ["plain", "Centerer", "learned", "mean", "batch", "gc"]
    # one scikit-learn time per workload, shared by its setups' rows
    for label in {row["workload"] for row in rows}:
        assert len({row["sk"] for row in rows if row["workload"] == label}) == 1
    numbers = np.array([[row[k] for k in ("sk", "off", "on", "floor", "peak_on_mb", "peak_sk_mb")]
                        for row in rows])
    assert numbers.shape == (len(expected), 6)
    assert np.all(np.isfinite(numbers)) and np.all(numbers > 0)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["workload", "setup", "sk", "s", "off/sk", "on/sk", "diag",
                                  "floor", "s", "on/floor", "sk/floor", "peak", "MB", "sk", "MB",
                                  "mem"]
    assert len(printed) == 2 + len(expected) + 1
    assert printed[-1].startswith("geometric mean: off/sk ")
    # each row prints its ratios: on/sk is the on time over scikit-learn's
    for line, row in zip(printed[2:], rows):
        cells = line.split()
        assert cells[:2] == row["workload"].split()[:2]
        assert row["setup"] in cells
        assert float(cells[-8]) == round(row["on"] / row["sk"], 2)


def test_setups_build_the_estimators_they_name():
    bench = _load_bench()
    params = {"max_iter": 3, "random_state": 0}
    plain = bench._ours(centered_nn.MLPClassifier, "plain", False, params)()
    assert plain.get_params()["input_bias"] == "none"
    assert plain.get_params()["record_gradient_signs"] is False
    batch = bench._ours(centered_nn.MLPClassifier, "batch", True, params)()
    assert batch.get_params()["input_bias"] == "batch"
    assert batch.get_params()["record_gradient_signs"] is True
    gc = bench._ours(centered_nn.MLPClassifier, "gc", True, params)()
    assert gc.get_params()["gradient_centralization"] is True
    pipe = bench._ours(centered_nn.MLPRegressor, "Centerer", True, params)()
    assert [type(step).__name__ for _, step in pipe.steps] == ["Centerer", "MLPRegressor"]
    assert pipe.steps[1][1].get_params()["input_bias"] == "none"


def test_unknown_setup_is_refused(capsys):
    bench = _load_bench()
    with pytest.raises(SystemExit):
        bench.main(["--setups", "plain,nope"])
    assert "unknown setup(s) ['nope']" in capsys.readouterr().err


def test_labels_follow_the_parameters():
    bench = _load_bench()
    labels = [w.label() for w in bench.WORKLOADS]
    assert labels == [
        "digits adam (100,) 50 it",
        "digits sgd logistic bs=1 (32,) 5 it",
        "20000x100 adam (256,128) 10 it",
        "20000x100 float32 sgd tanh (256,) 5 it",
        "digits lbfgs (64,) 57 it",
    ]
    assert bench.WORKLOADS[2].label(quick=True) == "2000x100 adam (256,128) 2 it"


def test_matmul_floor_counts_the_fit_batches():
    bench = _load_bench()

    class Fitted:  # what the floor reads from a fitted estimator
        solver, batch_size, n_iter_ = "sgd", 3, 2
        coefs_ = [np.zeros((4, 5)), np.zeros((5, 2))]

    # 7 samples in batches of 3: two full batches and one of 1 row, per epoch
    assert bench.batch_counts(Fitted(), 7) == {3: 4, 1: 2}
    Fitted.batch_size = "auto"  # min(200, n)
    assert bench.batch_counts(Fitted(), 450) == {200: 4, 50: 2}
    Fitted.solver = "lbfgs"  # one full-batch evaluation per iteration
    assert bench.batch_counts(Fitted(), 450) == {450: 2}
    assert bench.matmul_floor(Fitted(), np.zeros((7, 4), np.float32), repeats=1) > 0
