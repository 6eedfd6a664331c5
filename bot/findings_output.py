"""`cspm-bot scan findings`: a scan's findings written to a stream as they are read.

Formats (every one streams, nothing is capped or held in memory):

- ``table``: a summary line, then one aligned row per finding (fixed-width columns, the
  resource last, so rows print as they come).
- ``json``: one JSON object: the scan, the counts and ``findings``, a list of every finding.
- ``csv``: a header row, then one row per finding (`csv` module quoting).
- ``ocsf``: one JSON array of OCSF Compliance Finding events (`bot.ocsf`), one event per
  line inside the array.

Findings come most severe first, then in the order the scan recorded them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO

from bot.clioutput import jsonable
from bot.ocsf import compliance_finding
from bot.providers.catalogue import FRAMEWORKS
from bot.records import FindingItem
from bot.services.findings import FindingCounts, ScanSource

FORMATS = ("table", "json", "csv", "ocsf")

CSV_HEADER = (
    "scan_id",
    "project",
    "provider",
    "account_id",
    "check_id",
    "title",
    "severity",
    "status",
    "muted_until",
    "resource",
    "region",
    "controls",
    "detail",
)

_WIDTHS = (8, 6, 44, 14, 24)  # SEVERITY, STATUS, CHECK, REGION, CONTROLS; RESOURCE last


def product_version() -> str:
    """cspm-bot's installed version ("0" when it is not installed as a package)."""
    try:
        return version("cspm-bot")
    except PackageNotFoundError:
        return "0"


def _status(item: FindingItem) -> str:
    if item.passed:
        return "PASS"
    return "MUTED" if item.muted_until is not None else "FAIL"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def summary_line(source: ScanSource, counts: FindingCounts, include_passed: bool) -> str:
    """``Scan #12 of web (Completed): failing critical 3, high 1; 2 muted; 40 passed``."""
    scan = source.scan
    failing = ", ".join(f"{sev.value} {n}" for sev, n in counts.failed.items() if n)
    line = (
        f"Scan #{scan.scan_id} of {scan.project_name} ({scan.status.label}): "
        f"failing {failing or 'none'}"
    )
    if counts.muted:
        line += f"; {counts.muted} muted"
    line += f"; {counts.passed} passed"
    if counts.passed and not include_passed:
        line += " (--all lists them)"
    return line


def write_table(out: TextIO, head: str, items: Iterable[FindingItem]) -> int:
    """The summary line and a fixed-width row per finding; returns the rows written."""
    headers = ("SEVERITY", "STATUS", "CHECK", "REGION", "CONTROLS", "RESOURCE")

    def row(cells: tuple[str, ...]) -> str:
        fixed = [c.ljust(w)[: max(w, len(c))] for c, w in zip(cells[:-1], _WIDTHS, strict=True)]
        return "  ".join([*fixed, cells[-1]]).rstrip()

    out.write(head + "\n")
    written = 0
    for item in items:
        if not written:
            out.write(
                "\n" + row(headers) + "\n" + row(tuple("-" * w for w in (*_WIDTHS, 8))) + "\n"
            )
        controls = ", ".join(item.control_ids) or "-"
        cells = (
            item.severity.value,
            _status(item),
            item.check_id,
            item.region or "-",
            controls,
            _one_line(item.resource),
        )
        out.write(row(cells) + "\n")
        written += 1
    if written:
        out.write(f"\n({written} finding{'' if written == 1 else 's'})\n")
    return written


def write_csv(out: TextIO, source: ScanSource, items: Iterable[FindingItem]) -> int:
    """A header row, then one row per finding; returns the rows written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    scan = source.scan
    written = 0
    for item in items:
        writer.writerow(
            (
                scan.scan_id,
                scan.project_name,
                scan.provider or "",
                source.account_id,
                item.check_id,
                item.title,
                item.severity.value,
                "PASS" if item.passed else "FAIL",
                item.muted_until.isoformat() if item.muted_until else "",
                item.resource,
                item.region,
                "; ".join(item.control_ids),
                item.detail,
            )
        )
        written += 1
    return written


def _array(out: TextIO, objects: Iterator[Any], indent: str = "") -> int:
    """Write `objects` as the elements of a JSON array, one per line; returns how many."""
    out.write("[")
    written = 0
    for obj in objects:
        out.write(("," if written else "") + "\n" + indent + json.dumps(obj, sort_keys=True))
        written += 1
    out.write(("\n" + indent[:-2] if written else "") + "]")
    return written


def write_json(
    out: TextIO, source: ScanSource, counts: FindingCounts, items: Iterable[FindingItem]
) -> int:
    """One JSON object: the scan, its counts and every finding; returns the findings written."""
    scan = source.scan
    head = {
        "scan_id": scan.scan_id,
        "project_name": scan.project_name,
        "provider": scan.provider,
        "account_id": source.account_id,
        "status": scan.status.value,
        "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
        "failed_counts": {sev.value: n for sev, n in counts.failed.items()},
        "muted": counts.muted,
        "passed": counts.passed,
    }
    text = json.dumps(head, indent=2, sort_keys=True)
    out.write(text[:-2] + ',\n  "findings": ')
    written = _array(
        out, (jsonable(i) | {"control_ids": list(i.control_ids)} for i in items), "    "
    )
    out.write("\n}\n")
    return written


def write_ocsf(out: TextIO, source: ScanSource, items: Iterable[FindingItem]) -> int:
    """One JSON array of OCSF Compliance Finding events; returns the events written."""
    release = product_version()
    events = (
        compliance_finding(
            item,
            source.scan,
            source.account_id,
            product_version=release,
            standards=FRAMEWORKS,
        )
        for item in items
    )
    written = _array(out, events, "  ")
    out.write("\n")
    return written


__all__ = [
    "CSV_HEADER",
    "FORMATS",
    "product_version",
    "summary_line",
    "write_csv",
    "write_json",
    "write_ocsf",
    "write_table",
]
