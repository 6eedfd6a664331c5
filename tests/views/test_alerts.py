"""Failure alerts to a project's channel and the scheduled digest."""

from __future__ import annotations

import pytest

from bot import ids
from bot.codec import ConnectorRef, ScanRef, decode
from bot.domain import ErrorCategory, ScanStatus
from bot.views.alerts import build_failure_alert
from bot.views.models import FailureAlert
from tests.support import assert_valid_message
from tests.support.query import all_text, button_texts, buttons_with
from tests.views.factories import (
    LONG_NAME,
    NASTY,
    entry,
    project,
    scan_row,
)


@pytest.mark.parametrize("category", list(ErrorCategory))
def test_failure_alert(category: ErrorCategory) -> None:
    m = build_failure_alert(FailureAlert(project(), scan_row(42), entry(1, category)))
    assert_valid_message(m)
    text = all_text(m)
    assert ":red_circle: *prod-aws*: scan #42 Failed" in text
    assert "jobs: 15 ok, 2 failed of 17" in text
    assert decode(buttons_with(m, ids.ErrorLogAction.OPEN)[0].value, ScanRef) == ScanRef(42)
    fix = buttons_with(m, ids.ConnectorAction.REPLACE)
    if category is ErrorCategory.INVALID_CREDENTIALS:
        assert decode(fix[0].value, ConnectorRef) == ConnectorRef(7)
    else:
        assert not fix
    assert "Re-run" in button_texts(m) and "History" in button_texts(m)


def test_alert_without_entries_or_error_log() -> None:
    m = build_failure_alert(
        FailureAlert(project(name=LONG_NAME), scan_row(3, ScanStatus.STOPPED, status_message=NASTY))
    )
    assert_valid_message(m)
    assert not buttons_with(m, ids.ErrorLogAction.OPEN)
