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
