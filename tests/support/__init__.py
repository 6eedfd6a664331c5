"""Shared test helpers: the Block Kit validator every Slack-facing test uses."""

from bot.playground.blockkit import (
    BlockKitError,
    assert_valid_blocks,
    assert_valid_message,
    assert_valid_view,
    assert_valid_view_response,
    total_text,
    validate_api_call,
)

__all__ = [
    "BlockKitError",
    "assert_valid_blocks",
    "assert_valid_message",
    "assert_valid_view",
    "assert_valid_view_response",
    "total_text",
    "validate_api_call",
]
