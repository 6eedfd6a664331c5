"""The `/cspm` parser on its own: subcommands, aliases, arguments, usage errors."""

from __future__ import annotations

import pytest

from bot.domain import ScanStatus
from handlers.command_parser import (
    HELP,
    SPECS,
    DigestCommand,
    DigestVerb,
    Sub,
    UsageError,
    parse,
    parse_digest,
)


@pytest.mark.parametrize(
    ("text", "sub", "argument"),
    [
        ("", Sub.HELP, ""),
        ("   ", Sub.HELP, ""),
        ("help", Sub.HELP, ""),
        ("HELP", Sub.HELP, ""),
        ("projects", Sub.PROJECTS, ""),
        ("ls", Sub.PROJECTS, ""),
        ("history web", Sub.HISTORY, "web"),
        ("history   prod   web ", Sub.HISTORY, "prod web"),
        ('history "prod web"', Sub.HISTORY, "prod web"),
        ("history “prod web”", Sub.HISTORY, "prod web"),
        ("errors #12", Sub.ERRORS, "#12"),
        ("log web", Sub.ERRORS, "web"),
        ("scan web", Sub.SCAN, "web"),
        ("run web", Sub.SCAN, "web"),
        ("stop web", Sub.STOP, "web"),
        ("connectors", Sub.CONNECTORS, ""),
        ("integrations", Sub.CONNECTORS, ""),
        ("connect", Sub.CONNECT, ""),
        ("support 7", Sub.SUPPORT, "7"),
        ("findings web", Sub.FINDINGS, "web"),
        ("digest subscribe daily 09:00", Sub.DIGEST, "subscribe daily 09:00"),
    ],
)
def test_subcommands_and_aliases(text: str, sub: Sub, argument: str) -> None:
    parsed = parse(text)
    assert (parsed.sub, parsed.argument) == (sub, argument)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("projects", None),
        ("projects all", None),
        ("projects failed", ScanStatus.FAILED),
        ("projects partial", ScanStatus.PARTIALLY_COMPLETED),
        ("projects Partially Completed", ScanStatus.PARTIALLY_COMPLETED),
        ("projects running", ScanStatus.RUNNING),
        ("projects stopped", ScanStatus.STOPPED),
    ],
)
def test_projects_status_filter(text: str, status: ScanStatus | None) -> None:
    assert parse(text).status is status


def test_scan_ids() -> None:
    assert parse("errors #12").scan_id == 12
    assert parse("errors 12").scan_id == 12
    assert parse("errors web").scan_id is None
    assert parse("errors #web").scan_id is None


def test_unknown_subcommand_suggests() -> None:
    with pytest.raises(UsageError) as caught:
        parse("histroy web")
    assert caught.value.suggestions[0] == "history"
    with pytest.raises(UsageError) as caught:
        parse("prjects")
    assert "projects" in caught.value.suggestions
    with pytest.raises(UsageError) as caught:
        parse("zzzzzz")
    assert caught.value.suggestions == []


def test_argument_errors() -> None:
    with pytest.raises(UsageError, match="needs a project"):
        parse("history")
    with pytest.raises(UsageError, match="needs a scan"):
        parse("errors")
    with pytest.raises(UsageError, match="takes no argument"):
        parse("connectors now")
    with pytest.raises(UsageError, match="too long"):
        parse("history " + "x" * 300)
    with pytest.raises(UsageError) as caught:
        parse("projects faild")
    assert "failed" in caught.value.suggestions


def test_a_long_unknown_word_is_cut_in_the_message() -> None:
    with pytest.raises(UsageError) as caught:
        parse("x" * 500)
    assert len(caught.value.message) < 100


def test_help_table_matches_the_specs() -> None:
    assert [h.name for h in HELP] == [s.sub.value for s in SPECS]
    assert {s.sub for s in SPECS} == set(Sub)


@pytest.mark.parametrize(
    ("text", "verb", "schedule", "quiet"),
    [
        ("", DigestVerb.HELP, (), False),
        ("digest", DigestVerb.HELP, (), False),
        ("?", DigestVerb.HELP, (), False),
        ("digest subscribe daily 09:00 Europe/Berlin", DigestVerb.SUBSCRIBE,
         ("daily", "09:00", "Europe/Berlin"), False),
        ("subscribe weekly mon 08:30 quiet", DigestVerb.SUBSCRIBE,
         ("weekly", "mon", "08:30"), True),
        ("subscribe daily no-all-clear 07:00", DigestVerb.SUBSCRIBE, ("daily", "07:00"), True),
        ("unsubscribe", DigestVerb.UNSUBSCRIBE, (), False),
        ("STOP", DigestVerb.UNSUBSCRIBE, (), False),
        ("off", DigestVerb.UNSUBSCRIBE, (), False),
        ("ls", DigestVerb.LIST, (), False),
        ("digest now", DigestVerb.NOW, (), False),
    ],
)  # fmt: skip
def test_digest_words(text: str, verb: DigestVerb, schedule: tuple[str, ...], quiet: bool) -> None:
    assert parse_digest(text) == DigestCommand(verb, schedule, quiet)


def test_digest_changes_are_subscribe_unsubscribe_and_now() -> None:
    assert {v for v in DigestVerb if v.changes} == {
        DigestVerb.SUBSCRIBE,
        DigestVerb.UNSUBSCRIBE,
        DigestVerb.NOW,
    }


def test_an_unknown_digest_verb_suggests_the_closest() -> None:
    with pytest.raises(UsageError) as caught:
        parse_digest("digest subscibe daily 09:00")
    assert "Unknown digest command 'subscibe'" in caught.value.message
    assert caught.value.suggestions[0] == "subscribe"
