"""Read a numeric CSV file with a label column, naming every problem.

Used by ``centered-nn compare CSV --target COLUMN``. Two readers, one contract:

- the fast path, when pandas is installed and the file is a regular file:
  the delimiter and the header are checked here, the rows parsed by pandas'
  C parser, and every check of the streaming reader (finite numeric features,
  labels present, as many fields as the header) is made on its result;
- the streaming reader, otherwise and whenever the fast path finds anything
  wrong: rows parsed with the standard library's :mod:`csv` module and
  converted to floats in chunks of at most ``CHUNK_CELLS`` cells, so peak
  memory is about twice the final float array plus one chunk of strings. It
  is slow (about ten times pandas), but it names the problem and its line.

Lines longer than ``MAX_LINE_CHARS`` and NUL bytes stop the reading at once
(``/dev/zero`` or a binary file fails fast): the fast path first scans the
bytes for them, in blocks.
"""

import csv
import itertools
import math
import os
import stat
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
#: bytes read at a time by the fast path's scan for NUL bytes and endless lines
SCAN_BYTES = 1 << 20
#: the fast path parses this many times CHUNK_CELLS cells at a time
PARSE_CHUNKS = 16
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
        ragged rows, missing values (in features or labels), non-numeric or
        infinite features, no data rows.

    Notes
    -----
    With pandas installed, a regular file is parsed by pandas' C parser (much
    faster than the :mod:`csv` module); anything it finds wrong is
    read again by the streaming reader, which names the problem and its line.

    Examples
    --------
    >>> import os, tempfile
    >>> from centered_nn.cli.csv_data import read_csv
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "data.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write("a,b,label\\n1,2.5,cat\\n3,-4e-1,dog\\n")
    ...     data = read_csv(path, "label")
    >>> data.X
    array([[ 1. ,  2.5],
           [ 3. , -0.4]])
    >>> data.y, data.feature_names
    (array(['cat', 'dog'], dtype=object), ['a', 'b'])
    """
    data = _read_fast(path, target)
    return data if data is not None else _read_streaming(path, target)


def _read_streaming(path, target):
    """The streaming reader: slow, but it names every problem with its line."""
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
                if label.lower() in MISSING_MARKERS:
                    shown = repr(label) if label else "an empty cell"
                    raise CSVError(f"target column {target!r} has {MISSING}: {shown} "
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


# --- the fast path ------------------------------------------------------------------


def _scan(path):
    """The number of newlines in the file, or None if it holds a NUL byte or an endless line.

    Lines inside one block are shorter than the block; a longer line shows as
    a run of blocks without a newline.
    """
    since_newline = newlines = 0
    with open(path, "rb") as f:
        while block := f.read(SCAN_BYTES):
            if b"\0" in block:
                return None
            first = block.find(b"\n")
            if first < 0:
                since_newline += len(block)
            else:
                if since_newline + first > MAX_LINE_CHARS:
                    return None
                since_newline = len(block) - block.rfind(b"\n") - 1
                newlines += block.count(b"\n")
            if since_newline > MAX_LINE_CHARS:
                return None
    return newlines


def _header_row(path, name):
    """(delimiter, its note, the header's names) from the first lines, as the streaming reader."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        head = list(itertools.islice(_lines(f, name), SNIFF_LINES + 1))
    delimiter, note = _delimiter(head, name)
    rows = (row for row in csv.reader(head, delimiter=delimiter) if any(c.strip() for c in row))
    return delimiter, note, [column.strip() for column in next(rows)]


def _parsed_rows(path, delimiter, names, t, features, max_rows):
    """(X, raw labels) parsed by pandas' C parser in chunks, or None on anything unexpected.

    The chunks fill one preallocated array (rows at most the file's newlines),
    so peak memory is about the float array plus one chunk.
    """
    import pandas as pd

    X = np.empty((max_rows, len(features)))
    labels, n = [], 0
    chunks = pd.read_csv(path, sep=delimiter, header=0, names=list(range(len(names))),
                         dtype={t: object}, na_filter=False, engine="c", encoding="utf-8-sig",
                         skip_blank_lines=True, chunksize=max(1, PARSE_CHUNKS * CHUNK_CELLS // len(names)))
    with chunks:
        for frame in chunks:
            # extra fields in the first row become an index: the streaming reader names them
            if not frame.index.equals(pd.RangeIndex(n, n + len(frame))) or (
                    n + len(frame) > max_rows):
                return None
            rows = X[n:n + len(frame)]
            for k, j in enumerate(features):  # column by column: no second copy of the chunk
                if frame[j].dtype.kind not in "iuf":
                    return None
                rows[:, k] = frame[j].to_numpy()
            labels.append(frame[t].to_numpy(dtype=object))
            n += len(frame)
    if n == 0 or not np.isfinite(X[:n]).all():
        return None
    # blank lines and quoted newlines leave rows unused: a copy only if they are many
    return (X[:n] if max_rows - n <= n // 8 else X[:n].copy()), np.concatenate(labels)


def _read_fast(path, target):
    """CSVData from pandas' parser, or None where the streaming reader must decide."""
    try:
        import pandas as pd
    except ImportError:
        return None
    name = str(path)
    try:
        # a pipe cannot be read twice; NUL bytes and endless lines are named by the other
        newlines = _scan(path) if stat.S_ISREG(os.stat(path).st_mode) else None
        if newlines is None:
            return None
        delimiter, note, names = _header_row(path, name)
        t, features, notes = _header(names, target, name)
        parsed = _parsed_rows(path, delimiter, names, t, features, newlines + 1)
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, StopIteration):
        return None  # pandas' ParserError is a ValueError
    if parsed is None:
        return None
    X, raw = parsed
    codes, labels = pd.factorize(raw)
    labels = np.array([label.strip() for label in labels], dtype=object)
    if any(label.lower() in MISSING_MARKERS for label in labels):
        return None
    if note:
        notes.insert(0, note)
    return CSVData(X, labels[codes], [names[j] for j in features], notes)
