"""Fixtures shared by several test modules."""

import pytest


@pytest.fixture(scope="session")
def dask_cluster():
    """A local dask.distributed cluster: two single-threaded worker processes on 127.0.0.1.

    Started once for the session, on first use, and closed at its end. Tests connect
    their own ``distributed.Client(dask_cluster)`` so no client outlives a test.
    """
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def compiled_switch(monkeypatch):
    """The package's one switch for its compiled (numba) kernels, restored after the test.

    Returns the module ``centered_nn._compiled``: a test sets its ``ENABLED`` (True,
    False, or None to read the environment again) and its ``_numba`` (None to import
    numba again); both values are put back afterwards, so that a test that switched
    the kernels off leaves them on for the next one.
    """
    from centered_nn import _compiled

    monkeypatch.setattr(_compiled, "ENABLED", _compiled.ENABLED)
    monkeypatch.setattr(_compiled, "_numba", _compiled._numba)
    return _compiled
