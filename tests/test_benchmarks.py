"""The benchmark script stays runnable (its timings are not asserted: shared machines)."""

import importlib.util
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fit.py"


def test_benchmark_runs_every_workload_side_by_side(capsys):
    spec = importlib.util.spec_from_file_location("bench_fit", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.main(["--repeats", "1", "--quick"])
    names = [name for name, *_ in bench.workloads(quick=True)]
    assert [row[0] for row in rows] == names
    times = np.array([row[1:] for row in rows])
    assert times.shape == (4, 3) and np.all(np.isfinite(times)) and np.all(times > 0)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split()[:4] == ["workload", "sklearn", "s", "ours"]
    assert len(printed) == 2 + len(names)
