"""Rows of the fault benchmark and the table they print as."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass
class Row:
    """What one fault did on one database."""

    fault: str
    database: str
    happened: str
    figures: str
    ok: bool | None  # None: skipped

    @property
    def verdict(self) -> str:
        """PASS, FAIL or SKIP."""
        return "SKIP" if self.ok is None else ("PASS" if self.ok else "FAIL")


WIDTHS = (26, 10, 58, 44, 5)


def _cells(row: Row) -> list[list[str]]:
    values = (row.fault, row.database, row.happened, row.figures, row.verdict)
    return [textwrap.wrap(v, w) or [""] for v, w in zip(values, WIDTHS, strict=True)]


def line(row: Row) -> str:
    """One row, wrapped into as many lines as its longest cell needs."""
    cells = _cells(row)
    height = max(len(c) for c in cells)
    out = []
    for i in range(height):
        parts = [(c[i] if i < len(c) else "").ljust(w) for c, w in zip(cells, WIDTHS, strict=True)]
        out.append(" | ".join(parts).rstrip())
    return "\n".join(out)


def table(rows: list[Row]) -> str:
    """The whole table with a header."""
    header = Row("fault", "database", "what happened", "figures", None)
    head = " | ".join(
        v.ljust(w)
        for v, w in zip(
            (header.fault, header.database, header.happened, header.figures, "ok"),
            WIDTHS,
            strict=True,
        )
    )
    rule = "-+-".join("-" * w for w in WIDTHS)
    body = f"\n{rule}\n".join(line(r) for r in rows)
    return f"{head}\n{rule}\n{body}"
