"""Repositories: typed queries and writes over one session, one module per aggregate.

They never commit: the caller's unit of work (`Database.unit_of_work()`) owns the transaction.
"""

from storage.repositories.audit import AuditRepo
from storage.repositories.connectors import ConnectorRepo
from storage.repositories.projects import ProjectRepo
from storage.repositories.scans import ACTIVE_STATUSES, ScanRepo

__all__ = ["ACTIVE_STATUSES", "AuditRepo", "ConnectorRepo", "ProjectRepo", "ScanRepo"]
