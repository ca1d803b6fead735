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
