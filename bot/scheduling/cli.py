"""Operator commands: ``cspm-bot digest send|list`` and ``cspm-bot schedule list|set|clear``.

`add_cli(subparsers)` adds both groups to the parser of `bot.cli.build_parser`; every command
is ``fn(rt, args) -> exit code`` like the others, prints text or ``--json``, and raises domain
errors for `bot.cli.main` to report. Schedule changes write the table and the job store, so a
running bot picks them up on its next scheduler tick.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.settings import reveal

if TYPE_CHECKING:
    from bot.runtime import Runtime


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z").strip() if value else "-"


def cmd_digest_send(rt: Runtime, args: argparse.Namespace) -> int:
    """Send the digest of the running period to a channel now (or print it: --dry-run)."""
    from bot.clioutput import emit
    from bot.errors import InputError
    from bot.scheduling.config import SchedulingConfig
    from bot.scheduling.delivery import Deliverer
    from bot.scheduling.ops import scheduling_ops
    from bot.slack.client import make_web_client

    channel = args.channel.strip()
    if not channel:
        raise InputError("Give the channel id with --channel, e.g. --channel C0123ABCD.")
    with scheduling_ops(rt) as ops:
        data, payload = ops.digests.on_demand(channel)
    summary: dict[str, Any] = {
        "channel": channel,
        "period_start": data.period_start,
        "period_end": data.period_end,
        "failing_projects": len(data.still_failing),
        "failed_scans": data.current.failed,
        "partially_completed_scans": data.current.partial,
        "credential_problems": len(data.credentials),
        "support_cases": len(data.support),
        "all_clear": data.is_empty,
    }
    if args.dry_run:
        emit(args, {**summary, "payload": payload}, lambda: _json_text(payload))
        return 0
    token = reveal(rt.settings.slack_bot_token) or None
    if not token:
        raise InputError("SLACK_BOT_TOKEN is not set: cannot send. Use --dry-run to print it.")
    config = SchedulingConfig.from_settings(rt.settings)
    deliverer = Deliverer(
        make_web_client(rt.settings, token),
        channel_interval=config.slack_channel_interval_seconds,
        max_attempts=config.slack_max_attempts,
    )
    result = deliverer.post(channel, payload)
    summary.update(ok=result.ok, ts=result.ts, error=result.error, attempts=result.attempts)
    emit(
        args,
        summary,
        lambda: (
            f"Digest sent to {channel} (ts {result.ts}): {summary['failing_projects']} failing "
            f"project(s) between {_when(data.period_start)} and {_when(data.period_end)}."
            if result.ok
            else f"Digest NOT sent to {channel}: {result.error}"
        ),
    )
    return 0 if result.ok else 1


def _json_text(payload: Any) -> str:
    import json

    return json.dumps(payload, indent=2)


def cmd_digest_list(rt: Runtime, args: argparse.Namespace) -> int:
    """Every digest subscription with its next run and its latest deliveries."""
    from bot.clioutput import emit, table
    from bot.scheduling.ops import scheduling_ops

    with scheduling_ops(rt) as ops:
        views = ops.list_subscriptions()
        deliveries = ops.digests.deliveries()
    rows = [
        [
            v.subscription.channel_id,
            v.subscription.schedule.label,
            "yes" if v.subscription.all_clear else "no",
            _when(v.subscription.last_period_end),
            _when(v.next_run),
        ]
        for v in views
    ]
    data = {"subscriptions": views, "deliveries": deliveries[:50]}
    emit(
        args,
        data,
        lambda: (
            table(rows, ["CHANNEL", "SCHEDULE", "ALL-CLEAR", "LAST PERIOD END", "NEXT RUN"])
            if rows
            else "No digest subscriptions: `/cspm digest subscribe daily 09:00` in a channel."
        ),
    )
    return 0


def cmd_schedule_list(rt: Runtime, args: argparse.Namespace) -> int:
    """Scan schedules, digest subscriptions and pending retries with their next run times."""
    from bot.clioutput import emit, table
    from bot.scheduling.ops import scheduling_ops

    with scheduling_ops(rt) as ops:
        scans = ops.list_scan_schedules()
        digests = ops.list_subscriptions()
        retries = ops.retries()

    def text() -> str:
        parts = []
        if scans:
            parts.append(
                table(
                    [[s.project_name, s.cron, s.timezone, _when(s.next_run)] for s in scans],
                    ["PROJECT", "CRON", "TIME ZONE", "NEXT RUN"],
                )
            )
        else:
            parts.append('No scan schedules: `cspm-bot schedule set PROJECT "0 6 * * *"`.')
        if digests:
            parts.append(
                table(
                    [
                        [
                            d.subscription.channel_id,
                            d.subscription.schedule.label,
                            _when(d.next_run),
                        ]
                        for d in digests
                    ],
                    ["DIGEST CHANNEL", "SCHEDULE", "NEXT RUN"],
                )
            )
        if retries:
            parts.append(
                table(
                    [[r.project, _when(r.at)] for r in retries],
                    ["RETRY OF PROJECT", "AT"],
                )
            )
        return "\n\n".join(parts)

    emit(args, {"scans": scans, "digests": digests, "retries": retries}, text)
    return 0


def cmd_schedule_set(rt: Runtime, args: argparse.Namespace) -> int:
    """Give a project a cron schedule (standard crontab: 0 and 7 are Sunday)."""
    from bot.clioutput import emit
    from bot.scheduling.ops import scheduling_ops

    with scheduling_ops(rt) as ops:
        info = ops.set_scan_schedule(args.project, args.cron, args.tz, actor=args.actor)
    emit(
        args,
        info,
        lambda: (
            f"Project {info.project_name!r} is scanned on {info.cron!r} ({info.timezone}); "
            f"next run {_when(info.next_run)}."
        ),
    )
    return 0


def cmd_schedule_clear(rt: Runtime, args: argparse.Namespace) -> int:
    """Remove a project's schedule."""
    from bot.clioutput import emit
    from bot.scheduling.ops import scheduling_ops

    with scheduling_ops(rt) as ops:
        info = ops.clear_scan_schedule(args.project, actor=args.actor)
    emit(args, info, lambda: f"Project {info.project_name!r} is no longer scanned on a schedule.")
    return 0


def add_cli(subparsers: Any) -> None:
    """Add the ``digest`` and ``schedule`` command groups to `bot.cli`'s subparsers."""

    def cmd(parent: Any, name: str, fn: Callable[..., int], help: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.set_defaults(fn=fn)
        return sp

    digest = subparsers.add_parser("digest", help="failure digests").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    send = cmd(digest, "send", cmd_digest_send, "send the digest of the running period now")
    send.add_argument("--channel", required=True, help="Slack channel id, e.g. C0123ABCD")
    send.add_argument(
        "--dry-run", action="store_true", help="print the Block Kit payload instead of sending"
    )
    cmd(digest, "list", cmd_digest_list, "digest subscriptions and recent deliveries").set_defaults(
        access="read"  # bot.cli.READ: no key, no data folder created
    )

    schedule = subparsers.add_parser("schedule", help="scan schedules").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    cmd(
        schedule, "list", cmd_schedule_list, "scan schedules, digests and retries, next runs"
    ).set_defaults(access="read")  # bot.cli.READ
    st = cmd(schedule, "set", cmd_schedule_set, "scan a project on a cron schedule")
    st.add_argument("project")
    st.add_argument("cron", help='5-field crontab expression, e.g. "0 6 * * 1-5"')
    st.add_argument("--tz", default=None, help="IANA time zone (default UTC)")
    cl = cmd(schedule, "clear", cmd_schedule_clear, "remove a project's scan schedule")
    cl.add_argument("project")
