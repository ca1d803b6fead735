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


def test_readme_regressor_example_runs(capsys):
    block = next(b for b in re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
                 if "MLPRegressor(" in b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(block, str(README), "exec"), {})
    lines = dict(line.split(" ", 1) for line in capsys.readouterr().out.splitlines())
    r2_none, same_none = map(float, lines["none"].split())
    r2_mean, same_mean = map(float, lines["mean"].split())
    assert same_none == 1.0 and same_mean < 0.05  # [0, 1]-scaled inputs are all >= 0
    assert r2_none > 0.2 and r2_mean > 0.2
