"""The distribution's metadata: licence, classifiers and the versions the code needs
(issue 25, item 8). Read from pyproject.toml, so run from a source checkout."""

import inspect
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
pytestmark = pytest.mark.skipif(not PYPROJECT.exists(), reason="not a source checkout")


@pytest.fixture(scope="module")
def project():
    return tomllib.loads(PYPROJECT.read_text())


def _minimum(requirements, name):
    """The version after '>=' of `name` in a list of requirement strings."""
    found = [r.split(">=")[1].split(";")[0].strip() for r in requirements
             if r.split(">=")[0].split("[")[0].strip() == name]
    assert len(found) == 1, (name, requirements)
    return tuple(int(part) for part in found[0].split("."))


def test_the_licence_is_bsd_3_clause_in_the_pep_639_form(project):
    assert project["project"]["license"] == "BSD-3-Clause"
    assert project["project"]["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License\n")
    assert "3. Neither the name of the copyright holder" in text
    # setuptools reads the PEP 639 form from version 77
    assert _minimum(project["build-system"]["requires"], "setuptools") >= (77,)


def test_the_classifiers_name_the_python_versions_allowed(project):
    classifiers = project["project"]["classifiers"]
    lowest = project["project"]["requires-python"].removeprefix(">=")
    assert f"Programming Language :: Python :: {lowest}" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # PEP 639: the expression


def test_joblib_is_declared_at_the_version_with_generator_results(project):
    """Parallel(return_as='generator') came in joblib 1.3; the study calls it."""
    from centered_nn.model_selection import _fits

    assert 'return_as="generator"' in inspect.getsource(_fits)
    assert _minimum(project["project"]["dependencies"], "joblib") >= (1, 3)


def test_the_progress_extra_names_what_the_progress_bar_needs(project):
    """scikit-learn's callbacks (and its ProgressBar) came in 1.9, tested with rich 14.1."""
    extras = project["project"]["optional-dependencies"]
    assert _minimum(extras["progress"], "scikit-learn") >= (1, 9)
    for extra in ("progress", "test"):
        assert _minimum(extras[extra], "rich") >= (14, 1)
