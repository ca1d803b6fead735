"""The ``centered-nn`` command line.

:mod:`.compare` (the parser, ``main`` and the compare run), :mod:`.report`
(table, JSON and figure), :mod:`.interrupt` (Ctrl-C handling) and
:mod:`.csv_data` (reading a user's CSV).
"""

from .compare import main  # noqa: F401  (the console script centered_nn.cli:main)
