"""Failure digests: content, exactly-once delivery through the outbox, restarts, all-clear."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from bot.domain import ErrorCategory
from bot.playground.slack_emulator import SlackStandIn
from bot.runtime import Runtime
from bot.scheduling.clock import ManualClock
from bot.scheduling.cron import Cadence, DigestSchedule
from bot.scheduling.digest_query import SupportPolicy, compute_digest
from bot.scheduling.digests import STALE_CLAIM
from bot.scheduling.jobs import stored_next_run_times
from bot.scheduling.service import SchedulingService
from bot.settings import Settings
from bot.views.digest_models import SupportReason
from storage.models_scheduling import DigestDelivery
from tests.scheduling._support import ScriptedRunner, add_connector, add_project, add_scan

Factory = Callable[..., SchedulingService]
DAILY_9 = DigestSchedule(Cadence.DAILY, 9, 0, "UTC")


@pytest.fixture
def period_end(clock: ManualClock) -> datetime:
    """Yesterday's 09:00 UTC: an occurrence of the daily 09:00 digest in the past."""
    end = clock.now().replace(hour=9, minute=0, second=0) - timedelta(days=1)
    clock.set(end + timedelta(seconds=5))
    return end


def _seed(rt: Runtime, end: datetime) -> dict[str, int]:
    old = add_connector(rt, "old-conn", created_at=end - timedelta(days=90))
    new = add_connector(rt, "new-conn", created_at=end - timedelta(hours=5))
    ids = {
        "web": add_project(rt, "web", old),
        "api": add_project(rt, "api", new),
        "etl": add_project(rt, "etl", old),
        "fine": add_project(rt, "fine", old),
    }
    h = timedelta(hours=1)
    add_scan(rt, ids["web"], "failed", end - 30 * h, ["temporary"])  # previous period
    add_scan(rt, ids["web"], "completed", end - 26 * h)
    for i in range(3):
        add_scan(rt, ids["web"], "failed", end - (20 - i) * h, ["temporary"])
    add_scan(rt, ids["web"], "failed", end - 16 * h, ["temporary"], trigger="retry")
    add_scan(rt, ids["api"], "failed", end - 2 * h, ["invalid_credentials"])
    add_scan(rt, ids["etl"], "partially_completed", end - 10 * h, ["permission_denied"])
    add_scan(rt, ids["etl"], "completed", end - 5 * h)
    add_scan(rt, ids["fine"], "completed", end - 3 * h)
    add_scan(rt, ids["fine"], "failed", end + h, ["unknown"])  # after the period: not counted
    return ids


def test_digest_content(rt: Runtime, period_end: datetime) -> None:
    ids = _seed(rt, period_end)
    with rt.db.read() as s:
        data = compute_digest(s, period_end - timedelta(days=1), period_end, SupportPolicy())
    cur, prev = data.current, data.previous
    # failing now: web and api; etl failed in the period but recovered
    assert (cur.scans, cur.failed, cur.partial, cur.failing_projects) == (8, 5, 1, 2)
    # web failed in the previous period but had recovered by its end
    assert prev is not None and (prev.scans, prev.failed, prev.failing_projects) == (2, 1, 0)
    assert [(c.category, c.scans, tuple(c.project_names)) for c in data.causes] == [
        (ErrorCategory.TEMPORARY, 4, ("web",)),
        (ErrorCategory.INVALID_CREDENTIALS, 1, ("api",)),
        (ErrorCategory.PERMISSION_DENIED, 1, ("etl",)),
    ]
    # the automatic retry neither counts in web's streak nor breaks it
    assert [(p.name, p.failures, p.streak, p.recovered) for p in data.projects] == [
        ("web", 4, 3, False),
        ("api", 1, 1, False),
        ("etl", 1, 1, True),
    ]
    web, _api, etl = data.projects
    assert web.failing_since == period_end - timedelta(hours=20)
    assert etl.failing_since == period_end - timedelta(hours=10)
    assert etl.recovered_at == period_end - timedelta(hours=5) and web.recovered_at is None
    assert [p.name for p in data.still_failing] == ["web", "api"]
    assert [p.name for p in data.recovered] == ["etl"]
    trends = data.trends
    assert trends is not None and len(trends.failing_projects) == 14
    assert trends.failing_projects[-1] == 2 and trends.failing_projects[-2] == 0
    assert trends.failed[-1] == 5 and trends.partial[-1] == 1 and trends.scans[-1] == 8
    assert trends.scans[-2] == 2 and sum(trends.scans[:-2]) == 0
    assert [
        (c.name, c.recently_created, c.failing_scans, tuple(c.projects)) for c in data.credentials
    ] == [("new-conn", True, 1, ("api",))]
    assert {(c.project_id, c.reason) for c in data.support} == {
        (ids["web"], SupportReason.REPEATED_FAILURES),
        (ids["api"], SupportReason.NEW_CONNECTOR_AUTH),
    }


def test_query_count_does_not_grow_with_the_data(rt: Runtime, period_end: datetime) -> None:
    def count(extra_projects: int) -> int:
        conn = add_connector(rt, f"bulk-{extra_projects}")
        for i in range(extra_projects):
            pid = add_project(rt, f"bulk-{extra_projects}-{i}", conn)
            for h in range(3):
                add_scan(
                    rt, pid, "failed", period_end - timedelta(hours=h + 1), ["temporary", "unknown"]
                )
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        event.listen(rt.db.engine, "before_cursor_execute", record)
        try:
            with rt.db.read() as s:
                compute_digest(s, period_end - timedelta(days=1), period_end)
        finally:
            event.remove(rt.db.engine, "before_cursor_execute", record)
        return len(statements)

    _seed(rt, period_end)
    # 14-day trends: one query of daily counts, two of failing projects; alert links: one
    assert count(2) == count(40) <= 14


def _subscribe(service: SchedulingService, channel: str = "CDIGEST", **kw: Any) -> int:
    view, _ = service.ops.subscribe_digest(
        channel, kw.pop("schedule", DAILY_9), kw.pop("all_clear", True), actor="test"
    )
    return view.subscription.id


def _set_created(rt: Runtime, sub_id: int, when: datetime) -> None:
    from storage.models_scheduling import DigestSubscription

    with rt.db.unit_of_work() as s:
        s.execute(
            update(DigestSubscription)
            .where(DigestSubscription.id == sub_id)
            .values(created_at=when)
        )


def _posts(slack: SlackStandIn, channel: str = "CDIGEST") -> list[Any]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body["channel"] == channel]


def test_fired_twice_sent_once(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, period_end: datetime
) -> None:
    _seed(rt, period_end)
    service = service_factory(rt)
    sub = _subscribe(service)
    _set_created(rt, sub, period_end - timedelta(days=3))
    assert service.fire(f"digest:{sub}", period_end).startswith("recorded pending")
    assert service.fire(f"digest:{sub}", period_end) == "already recorded"
    service.tick()
    posts = _posts(slack)
    assert len(posts) == 1
    assert "CSPM failure digest" in posts[0].text() and "new-conn" in posts[0].text()
    [row] = service.digests.deliveries(sub)
    assert row["status"] == "sent" and row["ts"] == posts[0].body.get("ts", row["ts"])


def test_two_processes_fire_one_period_once(
    rt: Runtime,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
    period_end: datetime,
) -> None:
    a = service_factory(rt, holder="a")
    b = service_factory(runtime_factory(settings, runner=runner), holder="b")
    sub = _subscribe(a)
    _set_created(rt, sub, period_end - timedelta(days=3))
    barrier = threading.Barrier(2)

    def fire(service: SchedulingService) -> None:
        barrier.wait()
        service.fire(f"digest:{sub}", period_end)

    threads = [threading.Thread(target=fire, args=(svc,)) for svc in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a.tick()
    b.tick()
    assert len(_posts(slack)) == 1
    assert [r["status"] for r in a.digests.deliveries(sub)] == ["sent"]


class _PauseAfterPendingRead:
    """Holds each sender right after it read the pending outbox rows, until every sender has
    read them: the claims that follow race for the same row (a listener on the SQLAlchemy
    engine: the bot's own code runs unchanged)."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.paused = 0
        self._done: set[int] = set()
        self._lock = threading.Lock()

    def attach(self, *runtimes: Runtime) -> None:
        self._engines = [rt.db.engine for rt in runtimes]
        for engine in self._engines:
            event.listen(engine, "after_cursor_execute", self._after)

    def detach(self) -> None:
        for engine in self._engines:
            event.remove(engine, "after_cursor_execute", self._after)

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sql = " ".join(statement.split()).upper()
        reads_pending = sql.startswith("SELECT") and "FROM DIGEST_DELIVERIES" in sql
        if not reads_pending or "ORDER BY" not in sql:
            return
        me = threading.get_ident()
        with self._lock:
            if me in self._done:
                return
            self._done.add(me)
        self.barrier.wait(timeout=20)
        with self._lock:
            self.paused += 1


def test_two_senders_claiming_one_period_at_the_same_time_send_it_once(
    rt: Runtime,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
    period_end: datetime,
) -> None:
    """Both senders see the row pending, then claim it at the same moment, each through its
    own runtime and database sessions: only the claim that moved it out of pending sends."""
    _seed(rt, period_end)
    other = runtime_factory(settings, runner=runner)
    a = service_factory(rt, holder="a")
    b = service_factory(other, holder="b")
    sub = _subscribe(a)
    _set_created(rt, sub, period_end - timedelta(days=3))
    barrier = threading.Barrier(2)
    pause = _PauseAfterPendingRead(barrier)
    pause.attach(rt, other)
    outcomes: dict[str, str] = {}
    failures: list[BaseException] = []

    def fire(name: str, service: SchedulingService) -> None:
        try:
            outcomes[name] = service.fire(f"digest:{sub}", period_end)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=fire, args=item) for item in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    pause.detach()
    assert failures == [] and not any(t.is_alive() for t in threads)
    assert pause.paused == 2  # both senders read the row as pending before either claimed it
    assert sorted(o.split(" ")[0] for o in outcomes.values()) == ["already", "recorded"]

    posts = _posts(slack)
    assert len(posts) == 1
    assert "CSPM failure digest" in posts[0].text() and "new-conn" in posts[0].text()
    [row] = a.digests.deliveries(sub)
    assert row["status"] == "sent" and row["attempts"] == 1


def test_crash_after_compute_before_send_is_sent_once_after_restart(
    rt: Runtime,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
    period_end: datetime,
) -> None:
    _seed(rt, period_end)
    first = service_factory(rt, with_slack=False)  # its Slack side never gets to send
    sub = _subscribe(first)
    _set_created(rt, sub, period_end - timedelta(days=3))
    recorded = first.digests.record_period(sub, period_end)  # computed, then the "crash"
    assert recorded is not None and recorded.status == "pending"
    first.stop()
    assert _posts(slack) == []

    rt2 = runtime_factory(settings, runner=runner)
    second = service_factory(rt2)  # start → lease → catch-up finds nothing → sends pending
    assert len(_posts(slack)) == 1
    assert second.fire(f"digest:{sub}", period_end) == "already recorded"
    second.tick()
    assert len(_posts(slack)) == 1


def test_crash_while_sending_is_reclaimed(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    period_end: datetime,
    clock: ManualClock,
) -> None:
    service = service_factory(rt, with_slack=False)
    sub = _subscribe(service)
    _set_created(rt, sub, period_end - timedelta(days=3))
    recorded = service.digests.record_period(sub, period_end)
    assert recorded is not None
    assert service.digests._claim(recorded.delivery_id) is not None  # sending, then "crash"
    service.stop()
    clock.advance(5 * 60)
    again = service_factory(rt)
    assert _posts(slack) == []  # a recent claim may still be in flight elsewhere
    clock.advance(6 * 60)
    again.tick()
    assert len(_posts(slack)) == 1
    assert [r["status"] for r in again.digests.deliveries(sub)] == ["sent"]


def test_restart_in_the_middle_of_a_period(
    rt: Runtime,
    service_factory: Factory,
    runtime_factory: Any,
    settings: Settings,
    runner: ScriptedRunner,
    slack: SlackStandIn,
    period_end: datetime,
    clock: ManualClock,
) -> None:
    first = service_factory(rt)
    sub = _subscribe(first)
    _set_created(rt, sub, period_end - timedelta(days=3))
    first.fire(f"digest:{sub}", period_end)
    next_run = stored_next_run_times(rt.db.engine)[f"digest:{sub}"]
    first.stop()

    clock.advance(6 * 3600)  # restart mid-period
    rt2 = runtime_factory(settings, runner=runner)
    second = service_factory(rt2)
    assert len(_posts(slack)) == 1  # nothing re-sent, nothing caught up
    assert second.next_run_times()[f"digest:{sub}"] == next_run  # persisted schedule kept
    assert next_run is not None and (next_run.hour, next_run.minute) == (9, 0)

    add_scan(
        rt2,
        add_project(rt2, "late", add_connector(rt2, "c-late")),
        "failed",
        period_end + timedelta(hours=7),
        ["unknown"],
    )
    second.fire(f"digest:{sub}", period_end + timedelta(days=1))
    posts = _posts(slack)
    assert len(posts) == 2 and "late" in posts[1].text()
    [newest, oldest] = second.digests.deliveries(sub)
    assert newest["period_start"] == oldest["period_end"] == period_end


def test_a_fire_lost_in_a_crash_is_caught_up_at_start(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    period_end: datetime,
    clock: ManualClock,
) -> None:
    """APScheduler stores the next run time when it submits a job: if the process dies
    before the digest is recorded, the occurrence would be lost without the catch-up."""
    service = service_factory(rt, start=False)
    sub_view, _ = service.ops.subscribe_digest("CDIGEST", DAILY_9, True, actor="t")
    sub = sub_view.subscription.id
    _set_created(rt, sub, period_end - timedelta(days=3))
    clock.set(period_end + timedelta(hours=2))
    service.start()  # becoming leader: catch up the 09:00 occurrence
    assert len(_posts(slack)) == 1
    [row] = service.digests.deliveries(sub)
    assert row["period_end"] == period_end and row["status"] == "sent"


def test_all_clear_and_quiet(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, period_end: datetime
) -> None:
    service = service_factory(rt)
    loud = _subscribe(service, "CLOUD")
    quiet = _subscribe(service, "CQUIET", all_clear=False)
    for sub in (loud, quiet):
        _set_created(rt, sub, period_end - timedelta(days=3))
        service.fire(f"digest:{sub}", period_end)
    [post] = _posts(slack, "CLOUD")
    assert "All clear" in post.text()
    assert _posts(slack, "CQUIET") == []
    assert [r["status"] for r in service.digests.deliveries(quiet)] == ["skipped"]
    assert service.digests.get(quiet).last_period_end == period_end  # marker still moves


def test_rate_limited_fan_out_delivers_every_digest_once(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, period_end: datetime
) -> None:
    _seed(rt, period_end)
    service = service_factory(rt, with_slack=False)
    channels = [f"C{i:05d}" for i in range(12)]
    for ch in channels:
        sub = _subscribe(service, ch)
        _set_created(rt, sub, period_end - timedelta(days=3))
        service.digests.record_period(sub, period_end)
    slack.rate_limit("chat.postMessage", times=15, retry_after=1)
    service.stop()
    sender = service_factory(rt)  # its first tick sends the 12 pending digests
    assert sorted(c.body["channel"] for c in slack.calls_to("chat.postMessage")) == channels
    assert all(r["status"] == "sent" for r in sender.digests.deliveries())


def test_permanent_failure_gives_up(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, period_end: datetime
) -> None:
    slack.not_in_channel.add("CGONE")
    service = service_factory(rt)
    sub = _subscribe(service, "CGONE")
    _set_created(rt, sub, period_end - timedelta(days=3))
    service.fire(f"digest:{sub}", period_end)
    service.tick()
    [row] = service.digests.deliveries(sub)
    assert row["status"] == "failed" and row["last_error"] == "not_in_channel"
    assert row["attempts"] == 1


def test_unsubscribe_removes_job_and_outbox(
    rt: Runtime, service_factory: Factory, period_end: datetime
) -> None:
    service = service_factory(rt, with_slack=False)
    sub = _subscribe(service)
    _set_created(rt, sub, period_end - timedelta(days=3))
    service.digests.record_period(sub, period_end)
    assert f"digest:{sub}" in service.next_run_times()
    assert service.ops.unsubscribe_digest("CDIGEST") is not None
    assert f"digest:{sub}" not in service.next_run_times()
    with rt.db.read() as s:
        assert s.query(DigestDelivery).count() == 0


def test_slack_outage_is_retried_with_backoff(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    period_end: datetime,
    clock: ManualClock,
) -> None:
    service = service_factory(rt)
    sub = _subscribe(service)
    _set_created(rt, sub, period_end - timedelta(days=3))
    slack.fail(503, path_prefix="/api/chat.postMessage", body={"ok": False, "error": "down"})
    service.fire(f"digest:{sub}", period_end)
    [row] = service.digests.deliveries(sub)
    assert row["status"] == "pending" and row["attempts"] == 1
    service.tick()  # too soon
    assert service.digests.deliveries(sub)[0]["attempts"] == 1
    clock.advance(31)
    service.tick()
    assert service.digests.deliveries(sub)[0]["attempts"] == 2
    slack.heal()
    clock.advance(61)
    service.tick()
    [row] = service.digests.deliveries(sub)
    assert row["status"] == "sent" and row["attempts"] == 3
    assert len(_posts(slack)) == 1


def _claimed_by(rt: Runtime, delivery_id: int) -> tuple[str, str | None]:
    with rt.db.read() as s:
        row = s.get(DigestDelivery, delivery_id)
        assert row is not None
        return row.status, row.claimed_by


def test_a_claim_names_its_holder_and_goes_stale_only_after_ten_minutes(
    rt: Runtime,
    service_factory: Factory,
    slack: SlackStandIn,
    period_end: datetime,
    clock: ManualClock,
) -> None:
    service = service_factory(rt, with_slack=False, holder="host-a:1234")
    sub = _subscribe(service)
    _set_created(rt, sub, period_end - timedelta(days=3))
    recorded = service.digests.record_period(sub, period_end)
    assert recorded is not None
    assert service.digests._claim(recorded.delivery_id) is not None  # then the holder dies
    assert service.digests._claim(recorded.delivery_id) is None  # no second claim
    assert _claimed_by(rt, recorded.delivery_id) == ("sending", "host-a:1234")
    clock.advance(STALE_CLAIM.total_seconds())
    assert service.digests.reclaim_stale() == 0  # exactly ten minutes: still in flight
    assert _claimed_by(rt, recorded.delivery_id) == ("sending", "host-a:1234")
    clock.advance(1)
    assert service.digests.reclaim_stale() == 1
    assert _claimed_by(rt, recorded.delivery_id) == ("pending", None)
    assert service.digests.pending_ids() == [recorded.delivery_id]


def test_one_send_takes_at_most_its_limit_of_rows(
    rt: Runtime, service_factory: Factory, slack: SlackStandIn, period_end: datetime
) -> None:
    quiet = service_factory(rt, with_slack=False)
    for channel in ("C0000001", "C0000002", "C0000003"):
        sub = _subscribe(quiet, channel)
        _set_created(rt, sub, period_end - timedelta(days=3))
        assert quiet.digests.record_period(sub, period_end) is not None
    quiet.stop()
    sender = service_factory(rt, start=False)
    assert sender.digests.send_pending(limit=2) == 2
    assert sorted(c.body["channel"] for c in slack.calls_to("chat.postMessage")) == [
        "C0000001",
        "C0000002",
    ]
    assert sender.digests.send_pending(limit=2) == 1
    assert len(slack.calls_to("chat.postMessage")) == 3
