"""The documentation's sources cover every public name and every example.

These read docs/api.rst and docs/conf.py as text and data; they need neither
Sphinx nor a build (CI builds the site after the tests).
"""

import ast
import importlib
import importlib.util
import inspect
import os
import pkgutil
import re
import runpy
import sys
import time
import warnings
from pathlib import Path

import pytest

import centered_nn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("plot_*.py"))


def public_submodules():
    """Names of centered_nn's submodules without a leading _ that declare __all__."""
    names = []
    for info in pkgutil.iter_modules(centered_nn.__path__):
        if not info.name.startswith("_"):
            module = importlib.import_module(f"centered_nn.{info.name}")
            if hasattr(module, "__all__"):
                names.append(info.name)
    return sorted(names)


def api_entries(text):
    """(modules, objects) named in an API reference source.

    ``modules``: the targets of ``automodule``; ``objects``: the dotted names
    of the ``autosummary`` entries, prefixed by the current module.
    """
    modules, objects = set(), set()
    current, in_autosummary = None, False
    for line in text.splitlines():
        directive = re.match(r"\.\. (automodule|currentmodule):: (\S+)\s*$", line)
        if directive:
            kind, current = directive.groups()
            if kind == "automodule":
                modules.add(current)
            in_autosummary = False
        elif re.match(r"\.\. autosummary::", line):
            in_autosummary = True
        elif in_autosummary and line.strip() and not line.startswith("   :"):
            entry = re.match(r"   ~?([\w.]+)\s*$", line)
            if entry is None:  # unindented text ends the directive
                in_autosummary = False
            else:
                objects.add(f"{current}.{entry.group(1)}")
    return modules, objects


def resolve(dotted):
    """The object a dotted name like ``centered_nn.metrics.n_iter_scorer`` names."""
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


def undocumented(modules, objects):
    """Public names of centered_nn and its public submodules missing from the API source."""
    documented = [resolve(name) for name in objects]
    missing = []
    for module_name in ["centered_nn"] + [f"centered_nn.{m}" for m in public_submodules()]:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):  # __version__: package metadata, not API
                continue
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                if obj.__name__ not in modules:
                    missing.append(f"{module_name}.{name}")
            elif not any(obj is d for d in documented):
                missing.append(f"{module_name}.{name}")
    return missing


def test_public_submodules_are_the_documented_ones():
    assert set(public_submodules()) >= {
        "activations", "preprocessing", "diagnostics", "metrics", "plotting"}


def test_every_public_name_has_an_api_entry():
    modules, objects = api_entries((DOCS / "api.rst").read_text())
    assert undocumented(modules, objects) == []


def test_every_api_entry_names_a_public_object():
    _, objects = api_entries((DOCS / "api.rst").read_text())
    for name in objects:
        module_name, _, attr = name.rpartition(".")
        assert attr in importlib.import_module(module_name).__all__, name


def test_a_missing_entry_is_reported():
    """The check above is not vacuous: drop one line and it names what is gone."""
    text = (DOCS / "api.rst").read_text()
    assert "\n   sign_flip_fraction\n" in text
    modules, objects = api_entries(text.replace("\n   sign_flip_fraction\n", "\n"))
    assert undocumented(modules, objects) == ["centered_nn.diagnostics.sign_flip_fraction"]
    # a re-exported name counts as documented in its defining module only
    modules, objects = api_entries(text.replace("\n   SampleCenterer\n", "\n"))
    assert undocumented(modules, objects) == [
        "centered_nn.SampleCenterer", "centered_nn.preprocessing.SampleCenterer"]
    # a public submodule needs its automodule section
    modules, objects = api_entries(
        text.replace(".. automodule:: centered_nn.activations\n", ""))
    assert undocumented(modules, objects) == ["centered_nn.activations"]


@pytest.fixture(scope="module")
def conf():
    """The namespace of docs/conf.py (its sys.path additions undone afterwards)."""
    saved = list(sys.path)
    try:
        yield runpy.run_path(str(DOCS / "conf.py"))
    finally:
        sys.path[:] = saved


def test_gallery_runs_every_example(conf):
    gallery = conf["sphinx_gallery_conf"]
    assert (DOCS / gallery["examples_dirs"]).resolve() == EXAMPLES
    assert len(EXAMPLE_FILES) >= 5
    for path in EXAMPLE_FILES:
        # sphinx-gallery matches both patterns against the example's full path
        assert re.search(gallery["filename_pattern"], str(path)), path.name
        assert not re.search(gallery["ignore_pattern"], str(path)), path.name
    assert (EXAMPLES / "GALLERY_HEADER.rst").is_file()


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_docstring_starts_with_a_rest_title(path):
    """sphinx-gallery renders the docstring: a short over/underline breaks -W."""
    lines = ast.get_docstring(ast.parse(path.read_text()), clean=False).strip("\n").splitlines()
    if set(lines[0]) <= set("=-~#*"):
        overline, title, underline = lines[:3]
        assert overline == underline
    else:
        title, underline = lines[:2]
    assert title.strip() and len(set(underline)) == 1 and underline[0] in "=-~#*"
    assert len(underline) >= len(title), f"{path.name}: underline shorter than {title!r}"


def load_hooks():
    spec = importlib.util.spec_from_file_location(
        "gallery_hooks", DOCS / "sphinxext" / "gallery_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("value, argv", [("1", ["--quick"]), ("true", ["--quick"]),
                                         ("0", []), ("", []), (None, [])])
def test_reset_argv_selects_quick_mode_and_restores_the_docstring(monkeypatch, value, argv):
    hooks = load_hooks()
    if value is None:
        monkeypatch.delenv("CENTERED_NN_DOCS_QUICK", raising=False)
    else:
        monkeypatch.setenv("CENTERED_NN_DOCS_QUICK", value)
    path = EXAMPLE_FILES[0]
    script_vars = {"src_file": str(path), "example_globals": {"__doc__": ""}}
    assert hooks.reset_argv({}, script_vars) == argv
    # the examples print their title from __doc__, which sphinx-gallery blanks
    expected = ast.get_docstring(ast.parse(path.read_text()), clean=False)
    assert script_vars["example_globals"]["__doc__"] == expected


def test_example_order_puts_known_examples_first_then_the_rest():
    hooks = load_hooks()
    names = ["plot_b_new.py", "plot_relu_elu_bias_shift.py", "plot_a_new.py",
             "plot_zigzag_linear_unit.py"]
    assert sorted(names, key=hooks.example_order) == [
        "plot_zigzag_linear_unit.py", "plot_relu_elu_bias_shift.py",
        "plot_a_new.py", "plot_b_new.py"]
    assert set(hooks.READING_ORDER) <= {p.name for p in EXAMPLE_FILES}


def test_png_scraper_moves_only_the_pngs_written_by_the_running_example(tmp_path, monkeypatch):
    pytest.importorskip("sphinx_gallery")
    hooks = load_hooks()
    run_dir, image_dir = tmp_path / "examples", tmp_path / "images"
    run_dir.mkdir()
    image_dir.mkdir()
    stale = run_dir / "left_over.png"
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    monkeypatch.chdir(run_dir)
    block_vars = {"centered_nn_start_time": time.time(),
                  "image_path_iterator": iter([str(image_dir / "sphx_glr_x_001.png"),
                                               str(image_dir / "sphx_glr_x_002.png")])}
    (run_dir / "plot_x.png").write_bytes(b"new")
    rst = hooks.png_scraper(None, block_vars, {"src_dir": str(tmp_path)})
    assert (image_dir / "sphx_glr_x_001.png").read_bytes() == b"new"
    assert not (run_dir / "plot_x.png").exists()
    assert stale.read_bytes() == b"old" and not (image_dir / "sphx_glr_x_002.png").exists()
    assert "sphx_glr_x_001.png" in rst
    assert hooks.png_scraper(None, block_vars, {"src_dir": str(tmp_path)}) == ""


def test_cli_reference_lists_every_sub_command(conf):
    top = conf["cli_help"]()
    assert top.startswith("usage: centered-nn")
    commands = conf["subcommands"](top)
    assert "compare" in commands
    assert conf["cli_help"]("compare").startswith("usage: centered-nn compare")


def test_switching_quick_and_full_mode_reruns_the_examples(conf, tmp_path):
    forget = conf["forget_runs_of_other_mode"]
    md5 = tmp_path / "plot_x.py.md5"
    md5.write_text("abc")
    forget(tmp_path, "quick")  # no record of the last mode: re-run
    assert not md5.exists() and (tmp_path / ".examples_mode").read_text() == "quick"
    md5.write_text("abc")
    forget(tmp_path, "quick")  # same mode: sphinx-gallery may skip unchanged examples
    assert md5.read_text() == "abc"
    forget(tmp_path, "full")  # mode changed: every example runs again
    assert not md5.exists() and (tmp_path / ".examples_mode").read_text() == "full"


# Issue 25, item 14: the pages show what the package prints and draws


def test_cli_page_shows_an_example_run_made_at_build_time(conf):
    assert ".. include:: generated/cli_example.inc" in (DOCS / "cli.rst").read_text()
    lines = conf["cli_example"]().splitlines()
    assert lines[0] == "$ centered-nn compare --dataset iris --quick"
    from centered_nn.cli.parser import SETUPS

    assert lines[1].startswith(f"{len(SETUPS)} setups against raw")
    assert lines[3].split()[0] == "setup"
    start = lines.index("activation=relu") + 1
    # one row per setup, in the table's order; wrapped cells continue on indented lines
    rows = [line.split()[0] for line in lines[start:] if line and not line.startswith(" ")]
    assert rows[:len(SETUPS)] == list(SETUPS)


def test_user_guide_study_section_draws_its_figure(conf):
    """The study's code runs at build time under matplotlib's plot directive."""
    text = (DOCS / "user_guide.rst").read_text()
    section = text[text.index("the centring study\n"):text.index("What it records")]
    assert "\n.. plot::\n    :include-source: true\n" in section
    assert "CenteringStudyDisplay.from_study(study)" in section
    assert "matplotlib.sphinxext.plot_directive" in conf["extensions"]


def test_index_snippet_prints_what_is_shown_and_no_warning(capsys):
    text = (DOCS / "index.rst").read_text()
    code, shown = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)"
                            r"\.\. code-block:: text\n\n((?:    .*\n)+)", text).groups()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile("\n".join(line[4:] for line in code.splitlines()), "index.rst", "exec"),
             {})
    assert [str(w.message) for w in caught] == []
    assert capsys.readouterr().out.splitlines() == [line[4:] for line in shown.splitlines()]
