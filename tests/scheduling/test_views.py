"""The digest and alert builders: every payload valid Block Kit, inside Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain import ErrorCategory, ScanStatus
from bot.playground.blockkit import assert_valid_message, total_text
from bot.records import ErrorEntryView, ProjectInfo, ScanRow
from bot.views.alert import build_alert, build_alert_reply
from bot.views.digest import build_digest, build_digest_help, build_subscription_list
from bot.views.digest_models import (
    AlertData,
    AlertState,
    CauseGroup,
    CredentialProblem,
    DigestData,
    DigestProject,
    PeriodCounts,
    RetryNotice,
    SupportCase,
    SupportReason,
)

END = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
START = END - timedelta(days=1)


def _texts(payload: dict) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False)


def _project(i: int, **kw: object) -> DigestProject:
    values: dict = dict(
        project_id=i,
        name=f"project-<{i}>&" + "x" * 50,
        connector_id=100 + i % 3,
        failures=3,
        latest_scan_id=1000 + i,
        latest_status=ScanStatus.FAILED,
        status_message="5 of 5 jobs failed: " + "authentication failed " * 20,
        streak=4,
        categories=(ErrorCategory.INVALID_CREDENTIALS, ErrorCategory.TEMPORARY),
    )
    values.update(kw)
    return DigestProject(**values)


def _big_digest(n: int) -> DigestData:
    projects = tuple(_project(i) for i in range(n))
    names = tuple(p.name for p in projects)
    return DigestData(
        period_start=START,
        period_end=END,
        current=PeriodCounts(scans=5000, failed=n * 2, partial=n, failing_projects=n),
        previous=PeriodCounts(scans=4900, failed=n, partial=n + 3, failing_projects=n),
        causes=tuple(CauseGroup(c, n, names) for c in ErrorCategory),
        projects=projects,
        credentials=tuple(
            CredentialProblem(
                i, f"conn-{i}", "aws", names[:20], 9, START, recently_created=i % 2 == 0
            )
            for i in range(12)
        ),
        support=tuple(
            SupportCase(
                p.project_id,
                p.name,
                SupportReason.REPEATED_FAILURES,
                "failed 4 times",
                p.latest_scan_id,
                p.connector_id,
            )
            for p in projects[:9]
        ),
        schedule_label="Daily at 09:00 (Europe/Berlin)",
    )


def test_full_digest_is_valid_and_within_limits() -> None:
    for n in (1, 3, 12, 500):
        payload = build_digest(_big_digest(n))
        assert_valid_message(payload)
        assert len(payload["blocks"]) <= 50
        assert total_text(payload["blocks"]) <= 11_000
    text = _texts(build_digest(_big_digest(500)))
    assert "…and 490 more failing projects" in text
    assert "▲ 500 vs previous" in text and "▼ 3 vs previous" in text and "no change" in text
    assert "&lt;0&gt;&amp;" in text  # names are escaped
    assert "connector.replace" in text and "support.open" in text
    assert "project.history" in text and "errorlog.open" in text


def test_empty_period_is_a_short_all_clear() -> None:
    data = DigestData(
        START,
        END,
        current=PeriodCounts(scans=42),
        previous=PeriodCounts(failing_projects=2),
        schedule_label="Daily at 09:00 (UTC)",
    )
    payload = build_digest(data)
    assert_valid_message(payload)
    assert len(payload["blocks"]) == 2
    assert "All clear" in payload["blocks"][0]["text"]["text"]
    assert "42 scans finished" in _texts(payload)
    assert payload["text"] == "CSPM digest: all clear"


def test_on_demand_digest_says_so() -> None:
    data = DigestData(START, END, projects=(_project(1),), on_demand=True)
    payload = build_digest(data)
    assert_valid_message(payload)
    assert "(on demand)" in payload["blocks"][0]["text"]["text"]


def _alert(**kw: object) -> AlertData:
    values: dict = dict(
        project=ProjectInfo(7, "web <prod>", "aws", "prod-aws"),
        scan=ScanRow(
            scan_id=42,
            project_id=7,
            status=ScanStatus.FAILED,
            trigger="schedule",
            finished_at=END,
            status_message="2 of 2 jobs failed: authentication failed",
        ),
        state=AlertState.OPEN,
        top_error=ErrorEntryView(
            1,
            "us-east-1",
            ErrorCategory.INVALID_CREDENTIALS,
            "InvalidClientTokenId",
            "token invalid",
            remediation="Replace the credentials.",
        ),
        categories=(ErrorCategory.INVALID_CREDENTIALS,),
        failures=1,
        opened_at=END,
        first_scan_id=42,
        connector_id=3,
        mention="<!subteam^S123>",
    )
    values.update(kw)
    return AlertData(**values)


def test_alert_states_are_valid() -> None:
    retry = RetryNotice(1, 3, END + timedelta(minutes=1))
    support = (SupportCase(7, "web", SupportReason.NEW_CONNECTOR_AUTH, "created 2 h ago", 42, 3),)
    for data in (
        _alert(),
        _alert(retry=retry),
        _alert(state=AlertState.FAILING, failures=3, support=support, retries_exhausted=True),
        _alert(state=AlertState.RECOVERED, scan=ScanRow(43, 7, ScanStatus.COMPLETED)),
        _alert(top_error=None, categories=(), mention=None),
    ):
        assert_valid_message(build_alert(data))
        assert_valid_message(build_alert_reply(data))
    opened = _texts(build_alert(_alert()))
    assert "<!subteam^S123>" in opened and "web &lt;prod&gt;" in opened
    assert "connector.replace" in opened and "scan.rerun" in opened
    with_retry = _texts(build_alert(_alert(retry=retry)))
    assert "Automatic retry 1 of 3" in with_retry and "scan.rerun" not in with_retry
    escalated = _texts(build_alert_reply(_alert(state=AlertState.FAILING, support=support)))
    assert "Support case" in escalated and "Still failing" in escalated
    recovered = _texts(
        build_alert(_alert(state=AlertState.RECOVERED, scan=ScanRow(43, 7, ScanStatus.COMPLETED)))
    )
    assert "recovered" in recovered and "errorlog.open" not in recovered


def test_command_replies_are_valid() -> None:
    assert_valid_message(build_digest_help("That was wrong"))
    rows = [(f"C{i:08d}", "Daily at 09:00 (UTC)", i % 2 == 0, None) for i in range(300)]
    payload = build_subscription_list(rows, "C00000001")
    assert_valid_message(payload)
    assert "more channels" in _texts(payload)
    assert_valid_message(build_subscription_list([], "C1"))


def test_alert_lists_every_missing_permission_within_limits() -> None:
    permissions = tuple(f"service{i}:Describe{'Thing' * 12}{i}" for i in range(200))
    data = _alert(
        missing_permissions=permissions,
        account_id="123456789012",
        digest_link="https://example.slack.com/archives/C1/p1",
    )
    for payload in (build_alert(data), build_alert_reply(data)):
        assert_valid_message(payload)
    text = _texts(build_alert(data))
    assert "Missing permissions (200)" in text and "`service0:Describe" in text
    assert "more" in text and "account `123456789012`" in text
    assert "<https://example.slack.com/archives/C1/p1|listed in the digest>" in text
    few = _texts(build_alert(_alert(missing_permissions=("a:B", "c:D"))))
    assert "Missing permissions (2): `a:B`, `c:D`" in few
