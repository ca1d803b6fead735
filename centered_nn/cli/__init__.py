"""The ``centered-nn`` command line.

:mod:`.parser` (the setup and task tables, the argument parser), :mod:`.compare`
(``main`` and the compare run), :mod:`.table` (the printed table and sentences),
:mod:`.report` (JSON and figure), :mod:`.outputs` (checking and writing output files),
:mod:`.interrupt` (Ctrl-C handling) and :mod:`.csv_data` (reading a user's CSV).
"""

import sys


def main(argv=None):
    """Run the ``centered-nn`` command line (the console script's entry point).

    The arguments are parsed before scikit-learn and the estimators are
    imported (about a second), so that ``--help``, ``--version`` and usage
    errors answer at once; Ctrl-C during those imports ends with one line and
    exit status 130, like Ctrl-C during the run. See
    :func:`centered_nn.cli.compare.main` for the arguments and exit statuses.
    """
    try:
        from .parser import _build_parser

        _build_parser().parse_args(argv)  # exits on --help, --version and usage errors
        from .compare import main as run
    except KeyboardInterrupt:
        sys.stderr.write("centered-nn: interrupted while starting\n")
        raise SystemExit(130) from None
    return run(argv)
