"""The user guide's callback and class_weight sections run, and do what they say."""

import re
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

ROOT = Path(__file__).resolve().parents[1]


def _section_code(title, until):
    text = (ROOT / "docs" / "user_guide.rst").read_text()
    section = text[text.index(title):text.index(until)]
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section)
    return ["\n".join(line[4:] for line in block.splitlines()) for block in blocks]


def test_callbacks_section_runs(capsys):
    pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    pytest.importorskip("pandas")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    blocks = _section_code("Watching a fit: callbacks", "References\n==========")
    assert len(blocks) == 3
    namespace = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(blocks[0], "user_guide.rst", "exec"), namespace)
    # the progress-bar pattern prints no warning: one would break rich's live display
    assert [str(w.message) for w in caught] == []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 30 epochs: a short demonstration
        for block in blocks[1:]:
            exec(compile(block, "user_guide.rst", "exec"), namespace)
    out = capsys.readouterr().out
    # 6 candidates x 3 folds + the refit: one bar per network fit, under its pipeline
    assert len(re.findall(r"Pipeline - fit-final-estimator \| MLPClassifier - fit", out)) == 19
    ax = namespace["ax"]
    clf = namespace["clf"]
    assert [len(line.get_xdata()) for line in ax.get_lines()] == [clf.n_iter_] * 2
    np.testing.assert_array_equal(ax.get_lines()[-1].get_xdata(), np.arange(1, clf.n_iter_ + 1))
    for p, q in zip(namespace["balanced"].coefs_, namespace["same"].coefs_):
        np.testing.assert_array_equal(p, q)
    plt.close("all")


def test_rich_is_an_extra_not_a_core_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("rich") for d in project["dependencies"])
    extras = project["optional-dependencies"]
    # scikit-learn's own minimum for its ProgressBar (issue 25, item 8)
    assert "rich>=14.1" in extras["progress"] and "rich>=14.1" in extras["test"]
