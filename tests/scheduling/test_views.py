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
    DigestTrends,
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


def _big_digest(n: int, recovered: int = 0) -> DigestData:
    projects = tuple(_project(i) for i in range(n)) + tuple(
        _project(
            n + i,
            recovered=True,
            failing_since=START,
            recovered_at=START + timedelta(hours=5),
        )
        for i in range(recovered)
    )
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
        trends=DigestTrends(
            failing_projects=tuple(range(14)),
            failed=(0,) * 13 + (n * 2,),
            partial=(5,) * 14,
            scans=tuple(4000 + 100 * i for i in range(14)),
        ),
    )


def test_full_digest_is_valid_and_within_limits() -> None:
    for n, recovered in ((1, 0), (3, 2), (12, 0), (500, 0), (500, 500), (0, 3)):
        payload = build_digest(_big_digest(n, recovered))
        assert_valid_message(payload)
        assert len(payload["blocks"]) <= 50
        assert total_text(payload["blocks"]) <= 11_000
    text = _texts(build_digest(_big_digest(500)))
    assert "…and 490 more failing projects" in text
    # more failures is worse, fewer is better, more scans finished is neither
    assert ":small_red_triangle: 500 more than before (worse)" in text
    assert ":small_red_triangle_down: 3 fewer than before (better)" in text
    assert "▲ 100 more than before" in text and "no change" in text
    assert "`▁▂▂▃▃▄▄▅▅▆▆▇▇█` _14 days_" in text  # failing projects 0..13
    assert "`▁▁▁▁▁▁▁▁▁▁▁▁▁█` _14 days_" in text  # failed scans: only the last day
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


def test_still_failing_and_recovered_are_told_apart() -> None:
    still = _project(
        1,
        name="web",
        failing_since=END - timedelta(days=2, hours=3),
        alert_link="https://standin.slack.com/archives/CALERTS/p1",
    )
    back = _project(
        2,
        name="etl",
        recovered=True,
        failing_since=END - timedelta(hours=10),
        recovered_at=END - timedelta(hours=5),
        categories=(ErrorCategory.INVALID_CREDENTIALS,),
    )
    data = DigestData(
        START,
        END,
        current=PeriodCounts(scans=5, failed=2, failing_projects=1),
        previous=PeriodCounts(scans=5, failed=2, failing_projects=1),
        projects=(still, back),
    )
    payload = build_digest(data)
    assert_valid_message(payload)
    text = _texts(payload)
    assert text.index("*Still failing*") < text.index("*web*") < text.index("*Recovered during")
    assert "(2 d 3 h)" in text and "|alert thread>" in text
    recovered = text[text.index("*Recovered during") :]
    assert "*etl* — recovered" in recovered and "after 5 h 0 min" in recovered
    assert "connector.replace" not in recovered and ":red_circle:" not in recovered
    assert payload["text"].startswith("CSPM digest: 1 project(s) still failing, 1 recovered")
    only_recovered = _texts(build_digest(DigestData(START, END, projects=(back,))))
    assert "*Still failing*: none" in only_recovered


def test_sparkline() -> None:
    from bot.views.digest import sparkline

    assert sparkline([]) == "" and sparkline([0, 0]) == "▁▁"
    assert sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"


def test_digest_gives_the_assume_role_cause_its_next_step() -> None:
    data = _big_digest(2)
    groups = (CauseGroup(ErrorCategory.ASSUME_ROLE_FAILED, 2, ("acme-prod", "acme-dev")),)
    payload = build_digest(DigestData(**{**data.__dict__, "causes": groups}))
    assert_valid_message(payload)
    text = _texts(payload)
    assert "Role assumption failed* — 2 scans" in text
    assert "fix the role's trust policy or the external ID" in text
