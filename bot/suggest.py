""" "Did you mean" suggestions for mistyped names and subcommands."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to `word`, case-insensitively; prefix matches come first."""
    pool = list(dict.fromkeys(candidates))
    lowered = {c.lower(): c for c in pool}
    needle = word.strip().lower()
    prefix = [c for c in pool if needle and c.lower().startswith(needle)]
    fuzzy = [
        lowered[m] for m in difflib.get_close_matches(needle, list(lowered), n=limit, cutoff=0.6)
    ]
    return list(dict.fromkeys(prefix + fuzzy))[:limit]
