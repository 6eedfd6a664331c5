"""The app manifests (Socket Mode and HTTP) match what the bot listens to, with minimal
scopes, and their usage hint names every subcommand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.command_parser import Sub
from handlers.commands import COMMAND

ROOT = Path(__file__).resolve().parents[2]
SOCKET, HTTP = ROOT / "manifest.yml", ROOT / "manifest.http.yml"


def _load(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("path", [SOCKET, HTTP], ids=["socket", "http"])
def test_manifest_declares_what_the_bot_uses(path: Path) -> None:
    manifest = _load(path)
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "usergroups:read",
    }
    assert len(manifest["display_information"]["name"]) <= 35


@pytest.mark.parametrize("path", [SOCKET, HTTP], ids=["socket", "http"])
def test_usage_hint_lists_every_subcommand(path: Path) -> None:
    hint = _load(path)["features"]["slash_commands"][0]["usage_hint"]
    words = {part.split()[0] for part in hint.split(" | ")}
    assert words == {sub.value for sub in Sub}, hint
    assert len(hint) <= 1000


def test_socket_mode_manifest_needs_no_url() -> None:
    settings = _load(SOCKET)["settings"]
    assert settings["socket_mode_enabled"] is True
    assert "request_url" not in settings["interactivity"]


def test_http_manifest_points_every_request_at_the_events_path() -> None:
    manifest = _load(HTTP)
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    urls = {
        manifest["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert urls == {"https://YOUR-HOST/slack/events"}
    # everything else is the same app as the Socket Mode manifest
    socket = _load(SOCKET)
    assert manifest["oauth_config"] == socket["oauth_config"]
    assert manifest["display_information"] == socket["display_information"]
