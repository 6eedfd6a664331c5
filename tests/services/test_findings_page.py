"""`FindingsService.page` on SQLite and PostgreSQL: failing findings most severe first across
pages, nothing lost or repeated, counts with muted findings left out, pages clamped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain import SEVERITY_ORDER, Severity
from bot.scheduling.mutes import MuteService
from bot.services.findings import FindingsService
from tests.conftest import make_settings
from tests.support.findings import FAILING, FAILING_TOTAL, PASSING, seed_many_findings

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_pages_cover_every_failing_finding_most_severe_first(
    database_url: str, runtime_factory: Any
) -> None:
    rt = runtime_factory(make_settings(database_url))
    scan_id = seed_many_findings(rt)
    service = FindingsService(rt.db, lambda: NOW)
    first = service.page(scan_id, 0, 40)
    assert first.findings.total_items == FAILING_TOTAL and first.findings.total_pages == 7
    seen = [f for p in range(7) for f in service.page(scan_id, p, 40).findings.items]
    assert len(seen) == FAILING_TOTAL and len({f.finding_id for f in seen}) == FAILING_TOTAL
    ranks = [SEVERITY_ORDER.index(f.severity) for f in seen]
    assert ranks == sorted(ranks)
    assert all(not f.passed for f in seen)
    assert seen[0].control_ids == ("cis-aws-3.0 1.5",) and seen[0].title != seen[0].check_id
    assert service.page(scan_id, 99, 40).findings.page == 6  # clamped to the last page
    assert first.passed == PASSING[2]
    assert first.failed_counts == {
        Severity(sev): n for sev, _, n in FAILING.values()
    }  # fmt: skip

    # a mute of one finding: marked on its page, left out of the counts while it lasts
    target = seen[45]
    MuteService(rt.db, lambda: NOW).mute(target.finding_id, "accepted", 7, "test")
    muted = service.page(scan_id, 1, 40)
    assert muted.muted == 1
    assert muted.failed_counts[target.severity] == first.failed_counts[target.severity] - 1
    marked = [f for f in muted.findings.items if f.muted_until is not None]
    assert [f.finding_id for f in marked] == [target.finding_id]
    later = FindingsService(rt.db, lambda: NOW + timedelta(days=8)).page(scan_id, 1, 40)
    assert later.muted == 0 and not any(f.muted_until for f in later.findings.items)
