"""The fault benchmark's private PostgreSQL cluster (shared with the tests:
`tests.support.pgcluster`)."""

from tests.support.pgcluster import PrivateCluster, unavailable_reason

__all__ = ["PrivateCluster", "unavailable_reason"]
