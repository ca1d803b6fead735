"""Read a numeric CSV file with a label column, streaming, naming every problem.

Used by ``centered-nn compare CSV --target COLUMN``. Rows are parsed with the
standard library's :mod:`csv` module and converted to floats in chunks of at
most ``CHUNK_CELLS`` cells, so peak memory is about twice the final float
array (the chunks and their concatenation) plus one chunk of strings, whatever
the size of the file. Lines longer than ``MAX_LINE_CHARS`` and NUL bytes stop
the reading at once (``/dev/zero`` or a binary file fails fast).
"""

import csv
import itertools
import math
from array import array

import numpy as np

#: delimiters tried, in this order, when the header has no comma-separated columns
DELIMITERS = (",", ";", "\t", "|")
#: longest line accepted (characters); longer means "not a CSV file"
MAX_LINE_CHARS = 1 << 24
#: lines read ahead to decide the delimiter
SNIFF_LINES = 20
#: cells converted to float at a time
CHUNK_CELLS = 1 << 16
#: first-column names that mark a DataFrame index written by ``to_csv()``
INDEX_NAMES = ("", "Unnamed: 0")
MISSING = "missing values (not supported: impute first)"
#: cells read as missing values (compared lower-case, stripped)
MISSING_MARKERS = ("", "nan", "na", "n/a", "null", "none", "?")


class CSVError(ValueError):
    """A problem with the CSV file, described in one line."""


class CSVData:
    """The parsed file: features, labels and what the reader had to decide.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        The feature columns as float64.
    y : ndarray of shape (n_samples,), dtype=object
        The target column's cells (stripped strings).
    feature_names : list of str
        Names of the columns in ``X``.
    notes : list of str
        One-line remarks for the user (a dropped index column, the delimiter
        detected).
    """

    def __init__(self, X, y, feature_names, notes):
        self.X, self.y, self.feature_names, self.notes = X, y, feature_names, notes


def _lines(f, name):
    """Yield the lines of the text file ``f``, refusing binary data and endless lines."""
    for number in itertools.count(1):
        line = f.readline(MAX_LINE_CHARS)
        if not line:
            return
        if "\0" in line:
            raise CSVError(f"{name!r} holds NUL bytes (line {number}): not a text CSV file")
        if len(line) == MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise CSVError(f"line {number} of {name!r} is longer than {MAX_LINE_CHARS} "
                           "characters: not a CSV file")
        yield line


def _delimiter(head, name):
    """The delimiter of the file whose first lines are ``head``, and a note if not ','."""
    rows = [row for row in csv.reader(head) if any(cell.strip() for cell in row)]
    if not rows:
        raise CSVError(f"{name!r} is empty")
    if len(rows[0]) >= 2:
        return ",", None
    for delimiter in DELIMITERS[1:]:
        widths = {len(row) for row in csv.reader(head, delimiter=delimiter)
                  if any(cell.strip() for cell in row)}
        if len(widths) == 1 and widths.pop() >= 2:
            shown = "tab" if delimiter == "\t" else repr(delimiter)
            return delimiter, f"reading {name!r} with the delimiter {shown} (detected)"
    raise CSVError(
        f"cannot find the delimiter of {name!r}: its header {rows[0][0][:60]!r} is one column, "
        "and neither ';', tab nor '|' splits the first lines into equal columns")


def _bad_cell(text, delimiter):
    """Why ``text`` is not a feature value (a phrase after the column name), or None."""
    shown = repr(text.strip()) if text.strip() else "an empty cell"
    if text.strip().lower() in MISSING_MARKERS:
        return f"has {MISSING}: {shown}"
    try:
        value = float(text)
    except ValueError:
        hint = " (decimal commas are not supported)" if delimiter != "," and "," in text else ""
        return f"is not numeric: {shown}{hint}"
    return None if math.isfinite(value) else f"is not finite: {shown}"


class _Features:
    """Accumulates feature cells as strings and converts them chunk by chunk."""

    def __init__(self, names, delimiter):
        self.names, self.delimiter = names, delimiter
        self.cells, self.lines, self.chunks = [], [], []

    def add(self, cells, line):
        self.cells.extend(cells)
        self.lines.append(line)
        if len(self.cells) >= CHUNK_CELLS:
            self.flush()

    def flush(self):
        if not self.lines:
            return
        try:
            values = np.array(self.cells, dtype=np.float64)
            ok = np.isfinite(values).all()
        except ValueError:
            ok = False
        if not ok:
            self._raise_first_bad()
        self.chunks.append(values.reshape(len(self.lines), len(self.names)))
        self.cells, self.lines = [], []

    def _raise_first_bad(self):
        width = len(self.names)
        for k, text in enumerate(self.cells):
            problem = _bad_cell(text, self.delimiter)
            if problem is not None:
                raise CSVError(f"feature column {self.names[k % width]!r} {problem} "
                               f"at line {self.lines[k // width]}")
        raise AssertionError("a chunk failed to convert but every cell parses")  # pragma: no cover

    def array(self):
        self.flush()
        return np.concatenate(self.chunks) if self.chunks else np.empty((0, len(self.names)))


def _header(names, target, name):
    """Check the header; return (target index, feature indices, notes)."""
    notes, skip = [], set()
    if names[0] in INDEX_NAMES and target != names[0] and len(names) > 1:
        skip.add(0)
        notes.append(f"dropped the unnamed first column of {name!r}: it is a row index "
                     "(what DataFrame.to_csv() writes by default), not a feature")
    for j, column in enumerate(names):
        if j not in skip and not column:
            raise CSVError(f"column {j + 1} of {name!r} has no name in the header")
    seen = {}
    for j, column in enumerate(names):
        if j not in skip and column in seen:
            raise CSVError(f"duplicated column name {column!r} in the header of {name!r} "
                           f"(columns {seen[column] + 1} and {j + 1})")
        seen.setdefault(column, j)
    if target not in seen:
        raise CSVError(f"no column {target!r} in {name!r}; columns: "
                       f"{', '.join(n for j, n in enumerate(names) if j not in skip)}")
    t = seen[target]
    features = [j for j in range(len(names)) if j != t and j not in skip]
    if not features:
        raise CSVError(f"{name!r} has no feature columns besides {target!r}")
    return t, features, notes


def read_csv(path, target):
    """Read the CSV file ``path`` with a header row; ``target`` names the label column.

    Parameters
    ----------
    path : str or path-like
        A UTF-8 (optionally with BOM) CSV file, comma-separated or with a
        delimiter among ``;``, tab and ``|`` that is detected from its first
        lines. Blank lines are skipped.
    target : str
        Header name of the label column. Every other column is a numeric
        feature, except an unnamed first column (a DataFrame index), which is
        dropped with a note.

    Returns
    -------
    data : CSVData
        Features as a float64 array, labels as stripped strings, notes.

    Raises
    ------
    CSVError
        With a one-line message for every problem: unreadable or binary file,
        unknown delimiter, unnamed or duplicated columns, missing target,
        ragged rows, missing values, non-numeric or infinite features,
        no data rows.
    """
    name = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            lines = _lines(f, name)
            head = list(itertools.islice(lines, SNIFF_LINES + 1))
            delimiter, note = _delimiter(head, name)
            reader = csv.reader(itertools.chain(head, lines), delimiter=delimiter)
            rows = (row for row in reader if any(cell.strip() for cell in row))
            header = next(rows, None)
            if header is None:
                raise CSVError(f"{name!r} is empty")
            names = [column.strip() for column in header]
            t, features, notes = _header(names, target, name)
            if note:
                notes.insert(0, note)
            values = _Features([names[j] for j in features], delimiter)
            codes, labels = array("q"), {}
            for row in rows:
                line = reader.line_num
                if len(row) != len(names):
                    raise CSVError(f"line {line} of {name!r} has {len(row)} fields, "
                                   f"the header {len(names)}")
                label = row[t].strip()
                if not label:
                    raise CSVError(f"target column {target!r} has {MISSING}: an empty cell "
                                   f"at line {line}")
                codes.append(labels.setdefault(label, len(labels)))
                values.add([row[j] for j in features], line)
            X = values.array()
    except OSError as exc:
        raise CSVError(f"cannot read {name!r}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise CSVError(f"cannot decode {name!r} as UTF-8 ({exc.reason}): if it is a text "
                       "CSV file, save it as UTF-8") from None
    except csv.Error as exc:
        raise CSVError(f"cannot parse {name!r} as CSV: {exc}") from None
    if X.shape[0] == 0:
        raise CSVError(f"{name!r} has a header row but no data rows")
    y = np.empty(len(labels), dtype=object)
    y[:] = list(labels)
    return CSVData(X, y[np.frombuffer(codes, dtype=np.int64)], values.names, notes)
