"""The README's usage example runs and shows what it claims."""

import re
import warnings
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_usage_example_runs(capsys):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(README), "exec"), namespace)
    search = namespace["search"]
    strategies = [p["centerer__strategy"] for p in search.cv_results_["params"]]
    per_sample = search.cv_results_["mean_test_same_sign"]
    raw = [v for s, v in zip(strategies, per_sample) if s == "none"]
    centred = [v for s, v in zip(strategies, per_sample) if s == "mean"]
    # min-max scaled pixels are >= 0: every per-sample gradient is single-signed
    np.testing.assert_array_equal(raw, 1.0)
    assert max(centred) < 0.01
    assert "sample_same_sign_fraction" in capsys.readouterr().out


def test_readme_starts_with_the_two_commands():
    lines = [line for line in README.read_text().splitlines() if line.strip()]
    assert lines[2] == "python -m pip install . && centered-nn compare --dataset digits"
    assert lines[3] == 'python -m pip install ".[test]" && python -m pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[3] in ci.splitlines()
