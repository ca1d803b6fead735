"""The benchmark script stays runnable (its timings are not asserted: shared machines)."""

import importlib.util
from pathlib import Path

import numpy as np

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
    expected = [f"{task} {w.label(quick=True)}" for task in tasks for w in bench.WORKLOADS]
    assert [row["workload"] for row in rows] == expected
    assert len(bench.WORKLOADS) == 5
    numbers = np.array([[row[k] for k in ("sk", "off", "on", "floor", "peak_on_mb", "peak_sk_mb")]
                        for row in rows])
    assert numbers.shape == (len(expected), 6)
    assert np.all(np.isfinite(numbers)) and np.all(numbers > 0)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["workload", "sk", "s", "off/sk", "on/sk", "diag", "floor", "s",
                                  "on/floor", "sk/floor", "peak", "MB", "sk", "MB", "mem"]
    assert len(printed) == 2 + len(expected) + 1
    assert printed[-1].startswith("geometric mean: off/sk ")
    # each row prints its ratios: on/sk is the on time over scikit-learn's
    first = printed[2].split()
    assert first[:2] == ["classifier", "300x64"]
    assert float(first[-8]) == round(rows[0]["on"] / rows[0]["sk"], 2)


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
