"""Sphinx configuration of the centered_nn documentation.

Build the site (from the repository root)::

    python -m pip install ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

``CENTERED_NN_DOCS_QUICK=1`` runs the gallery's examples in their quick mode
(what CI does); without it they run in full, as for the published site.

This file imports only the standard library and centered_nn, so
tests/test_docs.py can read it without the docs extra installed.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# Document (and run the examples against) this checkout, installed or not.
sys.path.insert(0, str(ROOT))
# sphinx-gallery hooks, named below by dotted path (keeps the config picklable).
sys.path.insert(0, str(DOCS / "sphinxext"))

import centered_nn  # noqa: E402

# -- Project ------------------------------------------------------------------

project = "centered_nn"
author = "The centered_nn developers"
copyright = "The centered_nn developers"
version = release = centered_nn.__version__

# -- General ------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax copied into _static: math renders offline
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "sphinxext", "images"]
root_doc = "index"
default_role = "literal"  # `x` in a docstring reads as code, as in scikit-learn
add_function_parentheses = False
pygments_style = "sphinx"

# -- autodoc, autosummary, numpydoc -------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"centered_nn {version}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    # a right-hand table of contents on the top-level and API pages; none on
    # gallery pages (auto_examples/*), whose room goes to the printed output
    "secondary_sidebar_items": {"*": ["page-toc"], "generated/*": ["page-toc"]},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "cli": [], "diagnostics": [], "user_guide": []}

# -- sphinx-gallery -----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # every examples/plot_*.py gets a page and is executed
    "filename_pattern": r"/plot_[^/]*\.py$",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "gallery_hooks.example_order",
    "reset_argv": "gallery_hooks.reset_argv",
    "image_scrapers": ("matplotlib", "gallery_hooks.png_scraper"),
    "doc_module": ("centered_nn",),
    "backreferences_dir": "generated/backreferences",
    "remove_config_comments": True,
    "min_reported_time": 1,
    "download_all_examples": False,
    "write_computation_times": False,  # its page loads scripts from CDNs: not offline
}

# -- Links to scikit-learn and NumPy without intersphinx ----------------------
# intersphinx would download inventories at every build; the few references
# that need one are resolved here instead: glossary terms and sklearn/numpy
# objects to their stable URLs. Methods inherited from scikit-learn (score,
# set_output, get_metadata_routing, ...) bring docstrings written for
# scikit-learn's own site, whose :ref: labels exist only there: their text is
# kept, unlinked. A broken :ref: in this project's own pages and docstrings
# still fails -W.

EXTERNAL_API = {
    "sklearn": "https://scikit-learn.org/stable/modules/generated/{}.html",
    "numpy": "https://numpy.org/doc/stable/reference/generated/{}.html",
}
SKLEARN_GLOSSARY = "https://scikit-learn.org/stable/glossary.html#term-{}"


def resolve_external(app, env, node, contnode):
    """Resolve what intersphinx would have resolved (see above)."""
    from docutils import nodes

    target, domain, reftype = node.get("reftarget", ""), node.get("refdomain"), node.get("reftype")
    if domain == "std" and reftype == "term":
        uri = SKLEARN_GLOSSARY.format(re.sub(r"[^a-z0-9]+", "-", target.lower()).strip("-"))
    elif domain == "py" and target.split(".")[0] in EXTERNAL_API:
        uri = EXTERNAL_API[target.split(".")[0]].format(target)
    elif domain == "std" and reftype == "ref" and _from_sklearn(node.source or ""):
        return contnode
    else:
        return None
    reference = nodes.reference("", "", internal=False, refuri=uri)
    reference.append(contnode)
    return reference


def _from_sklearn(source):
    """Whether a reference comes from a scikit-learn docstring.

    That is its full text on a class page, or the summary line autosummary
    copied into a class's method table (whose full docstring, rendered on the
    same page, is checked as any other).
    """
    return "docstring of sklearn." in source or source.endswith("<autosummary>")


# -- Command-line help, generated from the installed parser at build time ----

CLI_INCLUDE = DOCS / "generated" / "cli.inc"


def cli_help(*args):
    """``centered-nn ARGS --help`` as printed by this checkout's package."""
    env = {**os.environ, "COLUMNS": "88", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "centered_nn", *args, "--help"],
                            cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"`centered-nn {' '.join(args)} --help` failed:\n{result.stderr}")
    return result.stdout


def subcommands(top_help):
    """Sub-command names listed in the top-level help (4-space indented entries)."""
    return re.findall(r"^    ([a-z][\w-]*)(?:\s{2,}|\n)", top_help, flags=re.M)


def write_cli_help(app):
    """Write generated/cli.inc: one section per command with its --help text."""
    top = cli_help()
    commands = subcommands(top)
    if not commands:
        raise RuntimeError(f"no sub-command found in `centered-nn --help`:\n{top}")
    sections = [("centered-nn", top)] + [(f"centered-nn {c}", cli_help(c)) for c in commands]
    text = "".join(
        f".. _cli-{title.replace(' ', '-')}:\n\n``{title}``\n{'-' * (len(title) + 4)}\n\n"
        f".. code-block:: text\n\n{_indent(body)}\n\n"
        for title, body in sections
    )
    _write_if_changed(CLI_INCLUDE, text)


def _indent(text):
    return "\n".join(f"   {line}" if line.strip() else "" for line in text.rstrip().splitlines())


# -- The activations table, generated from the registry ---------------------

ACTIVATIONS_INCLUDE = DOCS / "generated" / "activations.inc"


def write_activations_table(app):
    """Write generated/activations.inc: one row per name in ``ACTIVATIONS``."""
    from centered_nn.activations import ACTIVATIONS

    rows = "".join(
        f"   * - ``'{name}'``\n     - :class:`{cls.__name__}`\n"
        f"     - {cls.init_factor:g}\n     - {_summary(cls)}\n"
        for name, cls in ACTIVATIONS.items()
    )
    text = (".. list-table:: Registered names (:data:`ACTIVATIONS`)\n"
            "   :header-rows: 1\n   :widths: 22 18 12 48\n\n"
            "   * - name\n     - class\n     - ``init_factor``\n     - summary\n" + rows)
    _write_if_changed(ACTIVATIONS_INCLUDE, text)


def _summary(obj):
    return (obj.__doc__ or "").strip().splitlines()[0].rstrip(".")


def _write_if_changed(path, text):
    path.parent.mkdir(exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


# -- Quick or full examples ----------------------------------------------------


def forget_runs_of_other_mode(gallery_dir, mode):
    """Make sphinx-gallery re-run every example when the quick/full mode changed.

    It skips an example whose source is unchanged since its last run (it keeps
    an MD5 per example), so without this a full build after a quick one would
    show the quick run's output. The mode of the last build is kept in
    ``<gallery_dir>/.examples_mode``; with no record, every example re-runs.
    """
    marker = Path(gallery_dir) / ".examples_mode"
    if not marker.exists() or marker.read_text() != mode:
        for md5 in Path(gallery_dir).glob("*.md5"):
            md5.unlink()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(mode)


def prepare_gallery(app):
    from gallery_hooks import quick_mode

    gallery_dir = DOCS / sphinx_gallery_conf["gallery_dirs"]
    forget_runs_of_other_mode(gallery_dir, "quick" if quick_mode() else "full")


def setup(app):
    app.connect("builder-inited", prepare_gallery, priority=100)  # before sphinx-gallery's
    app.connect("builder-inited", write_cli_help)
    app.connect("builder-inited", write_activations_table)
    app.connect("missing-reference", resolve_external)
    from gallery_hooks import caption_api_toctrees, clean_gallery_page

    # before Sphinx's own doctree-read handlers copy the table of contents
    app.connect("doctree-read", caption_api_toctrees, priority=100)
    app.connect("doctree-read", clean_gallery_page, priority=100)
