"""What the docs build changes on its pages (issue 18, item 14): gallery output without
progress lines, code without ``# noqa``, API lists captioned by module, reading order."""

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "sphinxext"))

import gallery_hooks  # noqa: E402

nodes = pytest.importorskip("docutils.nodes")
addnodes = pytest.importorskip("sphinx.addnodes")


def _app(docname):
    return SimpleNamespace(env=SimpleNamespace(docname=docname), config=SimpleNamespace(
        sphinx_gallery_conf={"gallery_dirs": "auto_examples"}))


def _page(code, output):
    doctree = nodes.document("", "")
    doctree += nodes.literal_block(code, code, language="Python")  # as sphinx-gallery writes
    doctree += nodes.literal_block(output, output, classes=["sphx-glr-script-out"])
    return doctree


CODE = ("import matplotlib.pyplot as plt  # noqa: E402\n"
        "import numpy as np  # noqa: E402,F401\n"
        "x = 1  # a comment that stays\n"
        "y = '# noqa inside a string, mid-line' + str(x)\n")
OUTPUT = ("[1/3] lr=0.1, raw: loss 0.2 (0.5 s)\n"
          "Fitting 3 folds for each of 1 candidates, totalling 3 fits\n"
          "[CV 1/3] END center=Centerer(); total time=   0.1s\n"
          "[2/3] lr=0.1, mean: loss 0.1 (0.4 s)\n"
          "setup  loss\n"
          "raw    0.2\n")


def test_gallery_pages_lose_progress_lines_and_noqa():
    doctree = _page(CODE, OUTPUT)
    gallery_hooks.clean_gallery_page(_app("auto_examples/plot_x"), doctree)
    code, output = [block.astext() for block in doctree.findall(nodes.literal_block)]
    assert code == ("import matplotlib.pyplot as plt\n"
                    "import numpy as np\n"
                    "x = 1  # a comment that stays\n"
                    "y = '# noqa inside a string, mid-line' + str(x)\n")
    assert output.splitlines() == [
        "[3 progress lines, one per fit, left out of this page]",
        "Fitting 3 folds for each of 1 candidates, totalling 3 fits",
        "setup  loss", "raw    0.2"]


def test_other_pages_are_left_alone():
    doctree = _page(CODE, OUTPUT)
    gallery_hooks.clean_gallery_page(_app("user_guide"), doctree)
    assert [block.astext() for block in doctree.findall(nodes.literal_block)] == [CODE,
                                                                                  OUTPUT]


def test_output_without_progress_is_unchanged():
    assert gallery_hooks._quiet_output("a  b\n1  2") == "a  b\n1  2"


def _api_page():
    doctree = nodes.document("", "")
    for module, n_lists in (("centered_nn", 1), ("centered_nn.activations", 2)):
        section = nodes.section()
        title = nodes.title()
        title += nodes.literal(module, module)
        title += nodes.Text(": something")
        section += title
        for _ in range(n_lists):
            section += addnodes.toctree()
        doctree += section
    return doctree


def test_api_lists_get_their_module_as_caption():
    doctree = _api_page()
    gallery_hooks.caption_api_toctrees(_app("api"), doctree)
    captions = [t.get("caption") for t in doctree.findall(addnodes.toctree)]
    assert captions == ["centered_nn", "centered_nn.activations", None]


def test_the_gallery_comes_before_the_api_reference():
    """The gallery index's "Previous" link is then the command line page, not the last
    API page (DivergenceWarning)."""
    text = (DOCS / "index.rst").read_text()
    toctree = text.split(".. toctree::", 1)[1].split("\n\n", 2)[1].split()
    assert toctree == ["user_guide", "diagnostics", "cli", "auto_examples/index", "api"]


def test_the_gallery_output_scrolls_sideways():
    css = (DOCS / "_static" / "custom.css").read_text()
    rule = css.split(".sphx-glr-script-out .highlight pre {", 1)[1].split("}", 1)[0]
    assert "overflow-x: auto" in rule
