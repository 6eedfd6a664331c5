"""A scan's findings without a cap: streamed for the command line's exports, a page at a time
(most severe first) for Slack's findings view, each with its check's title and benchmark
controls and whether a mute of the project covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain import DB_ID_MAX, SEVERITY_ORDER, CheckMeta, Provider, Severity
from bot.errors import NotFoundError
from bot.providers import checks_for
from bot.records import FindingItem, FindingsPage, Page, ScanRow
from bot.services.mapping import scan_row
from storage.db import Database
from storage.repositories import ConnectorRepo, ScanRepo
from storage.repositories.findings import FindingRepo, stream_findings
from storage.repositories.findings_alerts import FindingKey, MuteRepo

PAGE_SIZE_MAX = 100
"""Most findings one page may ask for."""


@dataclass(frozen=True)
class ScanSource:
    """What a scan's findings came from: the scan, and the cloud account it scanned."""

    scan: ScanRow
    account_id: str


@dataclass(frozen=True)
class FindingCounts:
    """failed: failing findings per severity, most severe first, muted ones left out;
    muted: failing findings a mute covers; passed: passing findings."""

    failed: dict[Severity, int]
    muted: int
    passed: int


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _item(
    row: Any, metas: Mapping[str, CheckMeta], muted: Mapping[FindingKey, datetime]
) -> FindingItem:
    meta = metas.get(row.check_id)
    region = row.region or ""
    return FindingItem(
        finding_id=int(row.id),
        check_id=row.check_id,
        title=meta.title if meta else row.check_id,
        severity=Severity(row.severity),
        passed=bool(row.passed),
        resource=row.resource,
        region=region,
        detail=row.detail or "",
        controls=dict(meta.frameworks) if meta else {},
        muted_until=muted.get((row.check_id, row.resource, region)),
    )


class FindingsService:
    """Findings of one scan, for exports and the paged Slack view."""

    def __init__(self, db: Database, now: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.now = now

    def source(self, scan_id: int) -> ScanSource:
        """The scan and its connector's account; NotFoundError if there is no such scan."""
        if not 0 <= scan_id <= DB_ID_MAX:
            raise NotFoundError(f"No scan #{scan_id}.")
        with self.db.read() as s:
            found = ScanRepo(s).with_project_and_connector(scan_id)
            if found is None:
                raise NotFoundError(f"No scan #{scan_id}.")
            scan, project_name, provider = found
            connector = ConnectorRepo(s).get(scan.connector_id)
            account = connector.account_id if connector is not None else ""
            return ScanSource(scan_row(scan, project_name, Provider(provider)), account or "")

    def _muted(self, project_id: int) -> dict[FindingKey, datetime]:
        with self.db.read() as s:
            return {
                (m.check_id, m.resource, m.region): m.expires_at
                for m in MuteRepo(s).active(self.now(), project_id)
            }

    @staticmethod
    def _metas(scan: ScanRow) -> dict[str, CheckMeta]:
        return {c.meta.id: c.meta for c in checks_for(scan.provider)} if scan.provider else {}

    def stream(self, source: ScanSource, include_passed: bool = False) -> Iterator[FindingItem]:
        """Every failing finding of the scan (every finding with `include_passed`): most
        severe first, then in the order they were recorded, read in batches (no cap, flat
        memory)."""
        metas = self._metas(source.scan)
        muted = self._muted(source.scan.project_id)
        for severity in SEVERITY_ORDER:
            rows = stream_findings(
                self.db, source.scan.scan_id, not include_passed, severity=severity.value
            )
            for row in rows:
                yield _item(row, metas, muted)

    def counts(self, scan: ScanRow) -> FindingCounts:
        """The scan's failing findings per severity (muted ones left out), how many are
        muted, and how many passed."""
        with self.db.read() as s:
            failed: dict[Severity, int] = {}
            passed = 0
            for (sev, ok), n in ScanRepo(s).finding_counts(scan.scan_id).items():
                if ok:
                    passed += n
                else:
                    failed[Severity(sev)] = failed.get(Severity(sev), 0) + n
            silenced = FindingRepo(s).muted_failing_counts(
                scan.scan_id, scan.project_id, self.now()
            )
        for sev, n in silenced.items():
            failed[Severity(sev)] = max(0, failed.get(Severity(sev), 0) - n)
        ordered = {sev: failed.get(sev, 0) for sev in SEVERITY_ORDER}
        return FindingCounts(ordered, sum(silenced.values()), passed)

    def page(self, scan_id: int, page: int = 0, per_page: int = 10) -> FindingsPage:
        """Page `page` (0-based, clamped) of the scan's failing findings, most severe first;
        the counts leave muted findings out."""
        scan = self.source(scan_id).scan
        per_page = min(max(1, per_page), PAGE_SIZE_MAX)
        metas = self._metas(scan)
        muted = self._muted(scan.project_id)
        counts = self.counts(scan)
        with self.db.read() as s:
            repo = FindingRepo(s)
            total = repo.failing_total(scan_id)
            pages = max(1, -(-total // per_page))
            page = min(max(0, page), pages - 1)
            rows = repo.failing_page(scan_id, page * per_page, per_page)
            items = [_item(r, metas, muted) for r in rows]
        return FindingsPage(
            scan=scan,
            failed_counts=counts.failed,
            muted=counts.muted,
            passed=counts.passed,
            findings=Page(items, page, pages, total),
        )
