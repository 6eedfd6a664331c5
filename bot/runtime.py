"""Wiring: one `Runtime` holds the database, the secret box, the engine and the services.

Front ends (CLI, Slack app, scheduler) build one with `build_runtime(settings)` and share it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.pool import StaticPool

from bot.engine.dispatch import JobDispatcher
from bot.engine.engine import ScanEngine
from bot.engine.jobs import CloudJobRunner, JobRunner
from bot.secretbox import SecretBox
from bot.services.connectors import ConnectorService
from bot.services.keys import KeyUse, open_box
from bot.services.projects import ProjectService
from bot.services.scans import ScanService
from bot.settings import Settings
from storage.db import Database, sqlite_path

if TYPE_CHECKING:
    from bot.scheduling.service import SchedulingService

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a front end needs, built once per process."""

    settings: Settings
    db: Database
    box: SecretBox
    engine: ScanEngine
    connectors: ConnectorService
    projects: ProjectService
    scans: ScanService
    scheduling: SchedulingService | None = None
    """The scheduling service running in this process (set by its `start`, cleared by its
    `stop`); None in processes that run no scheduler, such as the CLI."""

    def close(self) -> None:
        """Stop the engine and close database connections."""
        self.engine.shutdown(wait_for_scans=False)
        self.db.dispose()


def build_runtime(
    settings: Settings,
    migrate: bool = True,
    runner: JobRunner | None = None,
    recover: bool = True,
    key_use: KeyUse = KeyUse.CREATE,
    create_database: bool = True,
    dispatcher: Callable[[ScanEngine], JobDispatcher] | None = None,
) -> Runtime:
    """Open the database (migrating it), load the key and start the engine.

    `recover` finishes scans left behind by a process that died; the serving process of
    `cspm-bot serve`, which never runs scans itself, leaves that to its worker. `key_use`
    says whether the key is read, and whether it may be generated (`bot.services.keys`).
    Without `create_database`, a SQLite file that does not exist is not created: the
    process sees an empty database in memory instead (read-only commands on a fresh machine).
    `dispatcher` builds the transport of scan work for the engine (default: the embedded
    `InProcessDispatcher`, thread pools of this process).
    """
    db = _open_database(settings.database_url, create_database)
    if migrate:
        db.upgrade()
    try:
        box = open_box(settings, db, key_use)
    except BaseException:
        db.dispose()
        raise
    endpoints = settings.cloud_endpoints()
    connectors = ConnectorService(db, box, endpoints)
    engine = ScanEngine(
        db,
        runner or CloudJobRunner(endpoints),
        connectors.load_credentials,
        concurrency=settings.scan_concurrency,
        heartbeat_seconds=settings.heartbeat_seconds,
        takeover_grace=timedelta(seconds=settings.takeover_grace_seconds),
    )
    if dispatcher is None and settings.distributed:
        # several machines: scan work goes to the broker's queue `scans`
        from bot.distributed.scans import celery_dispatcher

        engine.use_dispatcher(celery_dispatcher(settings))
    elif dispatcher is not None:
        engine.use_dispatcher(dispatcher(engine))
    recovered = engine.recover() if recover else []
    if recovered:
        log.warning("recovered %d scan(s) interrupted by a previous crash", len(recovered))
    return Runtime(
        settings=settings,
        db=db,
        box=box,
        engine=engine,
        connectors=connectors,
        projects=ProjectService(db),
        scans=ScanService(db, engine),
    )


def _open_database(url: str, create: bool) -> Database:
    path = sqlite_path(url)
    if create or path is None or path.exists():
        return Database(url)
    db = Database("sqlite://", poolclass=StaticPool)
    db.upgrade()
    return db
