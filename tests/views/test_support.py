"""Contact support: the redacted, pre-filled bundle, the channel post and the confirmation."""

from __future__ import annotations

from bot import ids
from bot.codec import SupportRef, decode
from bot.domain import ErrorCategory, ScanStatus
from bot.records import SupportBundle, SupportTicket
from bot.views.support import (
    BUNDLE_MAX,
    build_support_confirmation,
    build_support_modal,
    build_support_post,
    render_bundle,
)
from tests.support import assert_valid_message, assert_valid_view
from tests.support.query import all_text, inputs
from tests.views.factories import NASTY, T0, entry

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def bundle(**kw) -> SupportBundle:
    values = {
        "scan_id": 42,
        "project_name": "prod-aws",
        "provider": "aws",
        "connector_name": "prod-key",
        "account_id": "123456789012",
        "status": ScanStatus.FAILED,
        "status_message": "17 of 17 jobs failed: unknown processing error",
        "started_at": T0,
        "finished_at": T0,
        "entries": [
            entry(1, ErrorCategory.UNKNOWN, message="Internal failure"),
            entry(2, ErrorCategory.TEMPORARY, message="Rate exceeded"),
        ],
        "reruns": 2,
    }
    values.update(kw)
    return SupportBundle(**values)


def test_bundle_text_has_what_support_needs() -> None:
    text = render_bundle(bundle())
    assert "Project: prod-aws" in text
    assert "Scan: #42 (Failed): 17 of 17 jobs failed" in text
    assert "Connector: prod-key (aws, account 123456789012)" in text
    assert "Re-runs: 2" in text
    assert "[1] us-east-1 · unknown · InternalFailure · 2024-05-01 12:00:00 UTC" in text
    assert "message: Rate exceeded" in text


def test_bundle_is_redacted_again_and_bounded() -> None:
    leaky = entry(
        1, ErrorCategory.UNKNOWN, message=f"secret={SECRET}", detail=f"signing with {SECRET} " * 20
    )
    text = render_bundle(bundle(entries=[leaky] * 100))
    assert SECRET not in text
    assert len(text) <= BUNDLE_MAX
    assert "more entries" in text


def test_modal_is_prefilled_and_editable() -> None:
    ref = SupportRef(scan_id=42, connector_id=7, entry_id=1, channel_id="C1")
    v = build_support_modal(bundle(), ref)
    assert_valid_view(v)
    assert v["callback_id"] == ids.SupportView.SUBMIT
    assert decode(v["private_metadata"], SupportRef) == ref
    fields = inputs(v)
    details = fields[ids.SupportInput.DETAILS]["element"]
    assert details["multiline"] is True
    assert details["initial_value"] == render_bundle(bundle())
    assert "initial_value" not in fields[ids.SupportInput.DESCRIPTION]["element"]
    assert "Redacted" in all_text(v)


def test_modal_without_a_scan() -> None:
    assert_valid_view(build_support_modal(SupportBundle(None, "p", "gcp"), SupportRef()))


def test_post_to_the_support_channel() -> None:
    ticket = SupportTicket(
        "CSPM-7F3A",
        "U024BE7LH",
        f"It keeps failing {NASTY} aws_secret_access_key={SECRET}",
        render_bundle(bundle()) + f"\npasted: {SECRET}",
        "prod-aws",
        42,
    )
    m = build_support_post(ticket)
    assert_valid_message(m)
    text = all_text(m)
    assert "Support request CSPM-7F3A" in text
    assert "<@U024BE7LH>" in text and "#42" in text
    assert SECRET not in text
    assert "<!channel>" not in text
    assert "```Project: prod-aws" in text


def test_confirmation_quotes_the_reference() -> None:
    m = build_support_confirmation("CSPM-7F3A")
    assert_valid_message(m)
    assert "Reference: `CSPM-7F3A`" in all_text(m)
