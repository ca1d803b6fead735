"""The CSV reader's fast path (pandas' C parser) against the streaming reader (issue 18,
item 12): the same result on every valid file, and every problem left to the streaming
reader, which names it (tests/cli/test_csv_data.py holds the messages)."""

import os
import threading

import numpy as np
import pytest

from centered_nn.cli import csv_data
from centered_nn.cli.csv_data import read_csv

pytest.importorskip("pandas")

VALID = {
    "plain": "a,b,y\n1,2.5,u\n3,-4e-1,v\n",
    "quoting, BOM, CRLF, blank lines": '\ufeff"a","b , c",y\r\n\r\n" 1.5 ",2,"u v"\r\n'
                                      '3,4e-1, w \r\n\r\n',
    "index column": ",a,y\n0,1,u\n1,2,v\n",
    "named index column": "Unnamed: 0,a,y\n0,1,u\n1,2,v\n",
    "semicolons": "a;b;y\n1;2.5;u\n3;4;v\n",
    "tabs": "a\tb\ty\n1\t2.5\tu\n3\t4\tv\n",
    "pipes": "a|b|y\n1|2.5|u\n3|4|v\n",
    "labels written as numbers": "a,y\n1,01\n2,1\n3,1.0\n4, 1\n",
    "integers over 2**53": "a,y\n9007199254740993,u\n18446744073709551615,v\n",
    "extreme floats": "a,y\n1.7976931348623157e308,u\n5e-324,v\n-0.0,u\n",
    "quoted newline in a label": 'a,y\n1,"x\ny"\n2,z\n',
    "no final newline": "a,y\n1,u\n2,v",
}


def _write(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def _same(a, b):
    np.testing.assert_array_equal(a.X, b.X)
    assert a.X.dtype == b.X.dtype == np.float64 and a.X.flags.c_contiguous
    assert list(a.y) == list(b.y) and a.y.dtype == b.y.dtype == object
    assert (a.feature_names, a.notes) == (b.feature_names, b.notes)


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_the_fast_path_reads_what_the_streaming_reader_reads(tmp_path, text):
    path = _write(tmp_path, text)
    fast = csv_data._read_fast(path, "y")
    assert fast is not None  # the fast path did read it
    _same(fast, csv_data._read_streaming(path, "y"))


def test_a_larger_file_over_several_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_data, "CHUNK_CELLS", 4)  # chunks of 16 rows
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 4)) * 10.0 ** rng.integers(-20, 20, size=(500, 4))
    rows = "".join(",".join(map(repr, row)) + f",c{i % 7}\n\n" for i, row in
                   enumerate(X.tolist()))
    path = _write(tmp_path, "a,b,c,d,y\n" + rows)
    fast = csv_data._read_fast(path, "y")
    np.testing.assert_array_equal(fast.X, X)
    _same(fast, csv_data._read_streaming(path, "y"))


PROBLEMS = [
    "a,b,y\n1,2,u\n3,4\n", "a,b,y\n1,2,u\n3,4,v,5\n", "a,b,y\n1,2,3,u\n3,4,v\n",
    "a,b,y\n1,x,u\n", "a,b,y\n1,-inf,u\n", "a,b,y\n1,?,u\n", "a,b,y\n1,null,u\n",
    "a,b,y\n1,2,u\n\n3, ,v\n", "a,b,y\n1,2,nan\n", "a,b,y\n1,2, \n", "a,b,y\n1,1_000,u\n",
    "a,b,y\n1,2,u\n,,\n", "a,b,c\n1,2,3\n", "y\nu\n", "a,y,b,y\n1,2,3,4\n", "a,,y\n1,2,u\n",
    ",y\n1,u\n", "\n\n", "a,b,y\n", "a,b,y\n1,2,\x00\n", "a,b,y\n1,2,caf\udce9\n",
]


@pytest.mark.parametrize("text", PROBLEMS)
def test_anything_unusual_is_left_to_the_streaming_reader(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert csv_data._read_fast(path, "y") is None


def test_an_endless_line_is_left_to_the_streaming_reader(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_data, "MAX_LINE_CHARS", 1000)
    monkeypatch.setattr(csv_data, "SCAN_BYTES", 64)  # the long line spans many blocks
    path = _write(tmp_path, "a,y\n" + "1" * 5000 + ",u\n")
    assert csv_data._scan(path) is None
    assert csv_data._read_fast(path, "y") is None
    assert csv_data._scan(_write(tmp_path, "a,y\n" + "1,u\n" * 1000)) == 1001


def test_a_pipe_is_read_once_by_the_streaming_reader(tmp_path):
    fifo = tmp_path / "in.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("a,y\n1,u\n2,v\n"))
    writer.start()
    data = read_csv(fifo, "y")
    writer.join()
    np.testing.assert_array_equal(data.X, [[1.0], [2.0]])


def test_without_pandas_the_streaming_reader_reads(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "pandas", None)  # import pandas fails
    path = _write(tmp_path, VALID["plain"])
    assert csv_data._read_fast(path, "y") is None
    np.testing.assert_array_equal(read_csv(path, "y").X, [[1.0, 2.5], [3.0, -0.4]])
