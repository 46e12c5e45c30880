"""pytest configuration: this folder goes on ``sys.path`` (rootdir conftest), so tests
import shared helpers as ``support`` and the reference model as ``reference.*``.

Only this one conftest.py exists in the tree; fixtures shared by several folders live
here, helpers in ``support.py``.
"""

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A throw-away PostgreSQL server for the whole session (tests/pgcluster.py).

    Fails (never skips) when PostgreSQL cannot be started."""
    from pgcluster import PgCluster

    cluster = PgCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_dsn(pg_cluster: object) -> str:
    """The DSN of a fresh, empty database on the session's PostgreSQL server."""
    from pgcluster import PgCluster

    assert isinstance(pg_cluster, PgCluster)
    return pg_cluster.create_database()
