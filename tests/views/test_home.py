"""App Home: status counts, failing projects, connectors needing attention, quick actions."""

from __future__ import annotations

from bot import ids
from bot.codec import ConnectorRef, PageKind, PageRef, ScanRef, decode
from bot.domain import CloudError, ErrorCategory, ScanStatus
from bot.records import HomeData
from bot.views.home import ATTENTION_MAX, FAILING_MAX, build_home
from tests.support import assert_valid_view, total_text
from tests.support.query import all_text, button_texts, buttons_with
from tests.views.factories import LONG_NAME, NASTY, T0, connector, project_row


def home(data: HomeData):
    v = build_home(data)
    assert_valid_view(v)
    assert v["type"] == "home"
    return v


def test_dashboard() -> None:
    data = HomeData(
        status_counts={ScanStatus.FAILED: 2, ScanStatus.COMPLETED: 10, None: 1},
        failing=[project_row(1, status=ScanStatus.FAILED, last_scan_id=9)],
        attention=[connector()],
        running=3,
        as_of=T0,
    )
    v = home(data)
    text = all_text(v)
    assert "13 projects · 3 scans running now · as of <!date^1714564800^" in text
    assert "*:red_circle: Failed*\n2" in text
    assert "*:large_green_circle: Completed*\n10" in text
    assert "*:heavy_minus_sign: Never scanned*\n1" in text
    assert ":red_circle: *prod-aws-1*" in text
    assert decode(buttons_with(v, ids.ErrorLogAction.OPEN)[0].value, ScanRef) == ScanRef(9)
    fix = buttons_with(v, ids.ConnectorAction.REPLACE)[0]
    assert fix.text == "Fix credentials" and decode(fix.value, ConnectorRef) == ConnectorRef(7)
    assert button_texts(v)[:5] == ["Projects", "Connectors", "New connector", "Refresh", "Help"]
    shows = [decode(b.value, PageRef) for b in buttons_with(v, ids.ProjectAction.SHOW)]
    assert PageRef(PageKind.PROJECTS, 0, ScanStatus.FAILED) in shows


def test_an_empty_workspace() -> None:
    v = home(HomeData())
    text = all_text(v)
    assert "0 projects" in text
    assert "No project's latest scan failed." in text
    assert "Every connector passed its last validation." in text


def test_long_lists_are_cut_within_limits() -> None:
    failing = [
        project_row(i, name=LONG_NAME, status=ScanStatus.FAILED, status_message=NASTY * 9)
        for i in range(200)
    ]
    attention = [
        connector(
            i, name=LONG_NAME, last_error=CloudError(ErrorCategory.UNKNOWN, NASTY, NASTY * 9, NASTY)
        )
        for i in range(50)
    ]
    v = home(HomeData({ScanStatus.FAILED: 200}, failing, attention))
    text = all_text(v)
    assert f"…and {200 - FAILING_MAX} more failing projects." in text
    assert f"…and {50 - ATTENTION_MAX} more connectors." in text
    assert total_text(v["blocks"]) <= 12_000 and len(v["blocks"]) <= 100
    assert "<!channel>" not in text
    # The query reads only the connectors shown, and says how many there are in all.
    first = [connector(i, project_count=900) for i in range(ATTENTION_MAX)]
    text = all_text(home(HomeData({}, [], first, attention_total=75)))
    assert f"…and {75 - ATTENTION_MAX} more connectors." in text and "used by 900 projects" in text
