"""Tests for the streaming CSV reader behind ``centered-nn compare CSV``."""

import csv
import tracemalloc

import numpy as np
import pytest

from centered_nn.cli import csv_data as _csv_data
from centered_nn.cli.csv_data import CSVError, read_csv


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_values_equal_an_independent_parse(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * 10.0 ** rng.integers(-5, 5, size=(50, 3))
    labels = rng.choice(["cat", "dog", "owl"], size=50)
    path = tmp_path / "d.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x0", "label", "x1", "x2"])
        for x, label in zip(X, labels):
            writer.writerow([repr(float(x[0])), label, repr(float(x[1])), repr(float(x[2]))])
    data = read_csv(path, "label")
    np.testing.assert_array_equal(data.X, X)  # repr round-trips floats exactly
    assert list(data.y) == list(labels) and data.y.dtype == object
    assert data.feature_names == ["x0", "x1", "x2"] and data.notes == []


def test_quoting_bom_crlf_blank_lines_and_spaces(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b'\xef\xbb\xbf"a","b , c",y\r\n\r\n" 1.5 ",2,"u v"\r\n3,4e-1, w \r\n\r\n')
    data = read_csv(path, "y")
    np.testing.assert_array_equal(data.X, [[1.5, 2.0], [3.0, 0.4]])
    assert list(data.y) == ["u v", "w"] and data.feature_names == ["a", "b , c"]


def test_unnamed_first_column_is_an_index(tmp_path):
    for first in ("", "Unnamed: 0"):
        path = _write(tmp_path / "d.csv", f"{first},a,y\n0,1,u\n1,2,v\n")
        data = read_csv(path, "y")
        np.testing.assert_array_equal(data.X, [[1.0], [2.0]])
        assert data.feature_names == ["a"]
        assert data.notes == [f"dropped the unnamed first column of '{path}': it is a row "
                              "index (what DataFrame.to_csv() writes by default), not a "
                              "feature"]


def test_an_index_named_as_the_target_is_kept(tmp_path):
    path = _write(tmp_path / "d.csv", "Unnamed: 0,a\nu,1\nv,2\n")
    data = read_csv(path, "Unnamed: 0")
    assert list(data.y) == ["u", "v"] and data.notes == []


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_delimiter_detected_and_noted(tmp_path, delimiter):
    text = delimiter.join(["a", "b", "y"]) + "\n" + delimiter.join(["1", "2.5", "u"]) + "\n"
    data = read_csv(_write(tmp_path / "d.csv", text), "y")
    np.testing.assert_array_equal(data.X, [[1.0, 2.5]])
    assert "with the delimiter" in data.notes[0]


def test_comma_wins_when_the_header_splits_on_it(tmp_path):
    data = read_csv(_write(tmp_path / "d.csv", "a,b;c,y\n1,2,u\n"), "y")
    assert data.feature_names == ["a", "b;c"] and data.notes == []


@pytest.mark.parametrize("text, message", [
    ("a,b,y\n1,2,u\n3,4\n", "line 3 of '{path}' has 2 fields, the header 3"),
    ("a,b,y\n1,x,u\n", "feature column 'b' is not numeric: 'x' at line 2"),
    ("a,b,y\n1,-inf,u\n", "feature column 'b' is not finite: '-inf' at line 2"),
    ("a,b,y\n1,?,u\n", "feature column 'b' has missing values (not supported: impute "
     "first): '?' at line 2"),
    ("a,b,y\n1,null,u\n", "feature column 'b' has missing values"),
    ("a,b,y\n1,2,u\n\n3, ,v\n", "feature column 'b' has missing values (not supported: "
     "impute first): an empty cell at line 4"),
    ('a,b,y\n1,"2.5\n",u\n6,,v\n', "an empty cell at line 4"),  # a quoted newline counts
    ("a,b,c\n1,2,3\n", "no column 'y' in '{path}'; columns: a, b, c"),
    ("y\nu\n", "cannot find the delimiter"),
    ("a,y,b,y\n1,2,3,4\n", "duplicated column name 'y' in the header of '{path}' "
     "(columns 2 and 4)"),
    ("a,,y\n1,2,u\n", "column 2 of '{path}' has no name in the header"),
    (",y\n1,u\n", "has no feature columns besides 'y'"),
    ("\n\n", "'{path}' is empty"),
])
def test_problems_are_one_line_errors(tmp_path, text, message):
    path = _write(tmp_path / "d.csv", text)
    with pytest.raises(CSVError) as exc:
        read_csv(path, "y")
    assert message.format(path=path) in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_bad_cell_is_found_in_a_later_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv_data, "CHUNK_CELLS", 8)
    rows = "".join(f"{i},{i},u\n" for i in range(40))
    path = _write(tmp_path / "d.csv", "a,b,y\n" + rows + "1,two,v\n")
    with pytest.raises(CSVError, match="feature column 'b' is not numeric: 'two' at line 42"):
        read_csv(path, "y")


def test_binary_and_non_utf8_files(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"a,b,y\n1,2,\x00\x01\n")
    with pytest.raises(CSVError, match="holds NUL bytes \\(line 2\\): not a text CSV file"):
        read_csv(path, "y")
    latin = _write(tmp_path / "l.csv", "a,b,y\n1,2,caf\xe9\n", encoding="latin-1")
    with pytest.raises(CSVError, match="cannot decode .* as UTF-8 .*save it as UTF-8"):
        read_csv(latin, "y")
    with pytest.raises(CSVError, match="cannot read .*: Is a directory"):
        read_csv(tmp_path, "y")


def test_endless_line_stops_at_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(_csv_data, "MAX_LINE_CHARS", 1000)
    path = _write(tmp_path / "d.csv", "a,y\n" + "1" * 5000)
    with pytest.raises(CSVError, match="line 2 of .* is longer than 1000 characters"):
        read_csv(path, "y")


def test_dev_zero_fails_with_bounded_memory():
    tracemalloc.start()
    try:
        with pytest.raises(CSVError, match="holds NUL bytes"):
            read_csv("/dev/zero", "y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * _csv_data.MAX_LINE_CHARS


def test_peak_memory_is_a_small_multiple_of_the_array(tmp_path, monkeypatch):
    """Streaming: peak traced memory ~2x the float array (chunks + concatenation)."""
    monkeypatch.setattr(_csv_data, "CHUNK_CELLS", 4096)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 20)).round(6)
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write(",".join(f"f{j}" for j in range(20)) + ",y\n")
        for i, row in enumerate(X.tolist()):
            f.write(",".join(map(repr, row)) + f",{i % 3}\n")
    tracemalloc.start()
    try:
        data = read_csv(path, "y")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(data.X, X)
    # the old reader kept every cell as a Python string (~58 bytes each): ~9x the array
    chunk_allowance = 4096 * 100
    assert peak < 2.5 * X.nbytes + 20000 * 16 + chunk_allowance, peak / X.nbytes
