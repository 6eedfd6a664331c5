"""manifest.yml matches what the bot listens to, with minimal scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.commands import COMMAND

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


def test_manifest_declares_what_the_bot_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "usergroups:read",
    }
    assert len(manifest["display_information"]["name"]) <= 35
