"""The rule for connector and project names."""

from __future__ import annotations

import re

from bot.errors import InputError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$")


def check_name(name: str) -> str:
    """Validate a connector or project name; returns it stripped."""
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise InputError(
            "A name is 1-63 letters, digits, spaces, '.', '_' or '-', starting with a letter "
            "or digit.",
            {"name": "Use 1-63 letters, digits, spaces, '.', '_' or '-'."},
        )
    return name
