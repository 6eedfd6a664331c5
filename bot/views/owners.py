"""The reply of ``/cspm owner``: who a project's failure alerts mention now. Pure."""

from __future__ import annotations

from bot.views.common import Payload, context, md, message, section


def build_owner_reply(project_name: str, mention: str | None, fallback: str | None) -> Payload:
    """Ephemeral confirmation: the new owner (`mention`, e.g. ``<!subteam^S…>``), or that the
    owner was cleared and alerts mention `fallback` (the default, None: nobody)."""
    name = md(project_name, 80)
    if mention:
        text = f":bust_in_silhouette: Failure alerts of *{name}* now mention {mention}."
        plain = f"Alerts of {project_name} now mention its owner"
    else:
        who = fallback or "nobody (no default mention is configured)"
        text = f":bust_in_silhouette: *{name}* has no owner: its failure alerts mention {who}."
        plain = f"{project_name} has no owner"
    note = (
        "Alerts mention the owner only when a person is needed: not while an automatic "
        "retry is pending."
    )
    return message(plain, [section(text), context(note)])
