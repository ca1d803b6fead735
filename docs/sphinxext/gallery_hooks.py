"""sphinx-gallery hooks for the examples in ``examples/``.

The examples are plain scripts: ``main(quick=..., outdir=".")`` prints its
tables, saves ``<name>.png`` into the working directory and closes the figure,
and the script ends with ``main(quick="--quick" in sys.argv)``. Two hooks let
sphinx-gallery run them unchanged:

- :func:`reset_argv` passes ``--quick`` when ``CENTERED_NN_DOCS_QUICK`` is set
  (CI), and gives the example its own docstring as ``__doc__`` (sphinx-gallery
  blanks it; the examples print their title from it).
- :func:`png_scraper` moves the PNG files an example wrote into the gallery's
  image folder, since there is no open matplotlib figure to scrape.

:func:`example_order` puts the gallery in reading order.

conf.py names these by their dotted path, which keeps the configuration
picklable for Sphinx's environment cache.
"""

import ast
import re
import os
import shutil
import time
from pathlib import Path

QUICK_ENV = "CENTERED_NN_DOCS_QUICK"
_START = "centered_nn_start_time"
#: The problem first, then the remedies in the user guide's order; any other
#: example follows, alphabetically.
READING_ORDER = (
    "plot_zigzag_linear_unit.py",
    "plot_input_centering_digits.py",
    "plot_grid_search_centering.py",
    "plot_centered_logistic_depth.py",
    "plot_relu_elu_bias_shift.py",
)


def example_order(filename):
    """Sort key of an example file name: :data:`READING_ORDER`, then the rest."""
    name = Path(filename).name
    rank = READING_ORDER.index(name) if name in READING_ORDER else len(READING_ORDER)
    return rank, name


def quick_mode():
    """True when ``CENTERED_NN_DOCS_QUICK`` is set to anything but '', '0' or 'false'."""
    return os.environ.get(QUICK_ENV, "").strip().lower() not in ("", "0", "false")


def reset_argv(gallery_conf, script_vars):
    """Prepare one example run: its ``sys.argv[1:]``, its ``__doc__``, a start time.

    sphinx-gallery calls this right before it executes an example, after it
    made the example's globals.
    """
    source = Path(script_vars["src_file"]).read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source), clean=False)
    script_vars["example_globals"]["__doc__"] = docstring or ""
    script_vars[_START] = time.time()
    return ["--quick"] if quick_mode() else []


def png_scraper(block, block_vars, gallery_conf):
    """Move PNGs written into the working directory since the example started.

    sphinx-gallery runs an example inside its source folder, so that is where
    ``savefig(Path(".") / name)`` lands. Older PNGs (a manual run's leftovers)
    are not taken. Returns the reST that shows the moved images.
    """
    from sphinx_gallery.scrapers import figure_rst

    start = block_vars.get(_START, 0.0) - 1.0  # file-system timestamps are coarse
    new = sorted(p for p in Path.cwd().glob("*.png") if p.stat().st_mtime >= start)
    image_paths = []
    for png, image_path in zip(new, block_vars["image_path_iterator"]):
        shutil.move(png, image_path)
        image_paths.append(image_path)
    return figure_rst(image_paths, gallery_conf["src_dir"])


# -- What a reader sees on the gallery and API pages ----------------------------

#: a progress line of an example (one per fit) or of GridSearchCV(verbose=2)
PROGRESS = re.compile(r"^\s*\[(\d+/\d+|CV\b[^\]]*)\]")
#: a lint directive at the end of a code line: for the linter, not for the reader
NOQA = re.compile(r"[ \t]+# noqa(?::[ \t]*[A-Z]+[0-9]+(?:,[ \t]*[A-Z]+[0-9]+)*)?[ \t]*$", re.M)


def _replace_text(node, text):
    from docutils import nodes

    node.rawsource = text
    node.children = [nodes.Text(text)]


def _quiet_output(text):
    """The printed output without its progress lines, with a note where they were."""
    lines = text.splitlines()
    kept = [line for line in lines if not PROGRESS.match(line)]
    dropped = len(lines) - len(kept)
    if not dropped:
        return text
    note = (f"[{dropped} progress line{'s' if dropped > 1 else ''}, one per fit, "
            "left out of this page]")
    return "\n".join([note, *kept]).strip("\n")


def clean_gallery_page(app, doctree):
    """On gallery pages: drop progress lines from printed output, `# noqa` from code.

    Connected to Sphinx's ``doctree-read``: the example files stay as they are
    (the linter needs their ``# noqa`` comments; the terminal shows progress).
    """
    from docutils import nodes

    if not app.env.docname.startswith(app.config.sphinx_gallery_conf["gallery_dirs"] + "/"):
        return
    for block in doctree.findall(nodes.literal_block):
        text = block.astext()
        if "sphx-glr-script-out" in block.get("classes", []):
            cleaned = _quiet_output(text)
        elif block.get("language", "python").lower() in ("python", "default", "python3"):
            cleaned = NOQA.sub("", text)
        else:
            continue
        if cleaned != text:
            _replace_text(block, cleaned)


def caption_api_toctrees(app, doctree):
    """Give each module's autosummary list on the API page a caption: the module's name.

    The theme's sidebar shows toctree captions as headings, so the generated
    pages appear grouped by module instead of as one flat list. Connected to
    ``doctree-read`` before Sphinx collects the page's table of contents.
    """
    from docutils import nodes
    from sphinx import addnodes

    if app.env.docname != "api":
        return
    for section in doctree.findall(nodes.section):
        toctrees = [t for t in section.findall(addnodes.toctree)]
        module = next((n.astext() for n in section[0].findall(nodes.literal)), None)
        if toctrees and module and not toctrees[0].get("caption"):
            toctrees[0]["caption"] = toctrees[0]["rawcaption"] = module
