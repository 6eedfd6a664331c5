"""`cspm-bot`: the command line. Heavy imports happen inside the commands so `--help` is quick.

Exit codes: 0 success (a scan Completed), 1 error, 2 bad usage or input, 3 scan Partially
Completed, 4 scan Failed, 5 scan Stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bot.clioutput import emit, table
from bot.clioutput import when as _when

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.settings import Settings

EXIT_ERROR, EXIT_USAGE = 1, 2
SCAN_EXIT = {"completed": 0, "partially_completed": 3, "failed": 4, "stopped": 5}

READ, WRITE, MAINTAIN, SECRETS, RESET = "read", "write", "maintain", "secrets", "reset"
"""What a command does with the data folder and the key (`_runtime_options`): read-only
commands create neither; only commands that store secrets or start the service generate a
key; `db upgrade` and `key reset` may create the database but read no key at start."""


def _runtime_options(access: str) -> dict[str, Any]:
    """`build_runtime` options for a command's access (READ, WRITE, ...)."""
    from bot.services.keys import KeyUse

    key_use = {
        READ: KeyUse.NONE,
        WRITE: KeyUse.LOAD,
        MAINTAIN: KeyUse.LOAD,
        SECRETS: KeyUse.CREATE,
        RESET: KeyUse.NONE,
    }[access]
    return {"key_use": key_use, "create_database": access in (MAINTAIN, SECRETS, RESET)}


def _database_hint(rt: Runtime) -> str:
    """ " (database: …)", password hidden: says which database an empty answer came from."""
    from sqlalchemy.engine import make_url

    url = make_url(rt.settings.database_url).render_as_string(hide_password=True)
    return f" (database: {url})"


def _plural(count: int, noun: str) -> str:
    """ "1 project", "2 projects"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def read_credentials(args: argparse.Namespace, provider: str) -> dict[str, str]:
    """Credentials from --file or standard input (never argv): JSON, or a GCP key file."""
    from bot.errors import InputError

    source = args.file
    if source in (None, "-"):
        if sys.stdin.isatty():
            print(f"Paste the {provider} credentials JSON, then Ctrl-D:", file=sys.stderr)
        stream = getattr(sys.stdin, "buffer", None)  # bytes: decoded below, BOM and all
        data: bytes | str = stream.read() if stream is not None else sys.stdin.read()
        where = "The credentials on standard input are"
    else:
        try:
            with open(source, "rb") as fh:
                data = fh.read(MAX_CREDENTIALS_BYTES + 1)
        except OSError as exc:
            raise InputError(f"Cannot read credentials file {source!r}: {exc.strerror}.") from None
        where = f"The credentials file {source!r} is"
    text = _credentials_text(data, where)
    if not text.strip():
        raise InputError("No credentials given: pass --file PATH or pipe the JSON on stdin.")
    from bot import providers

    spec = providers.get(provider)
    if spec.raw_credentials is not None:
        return spec.raw_credentials(text)
    try:
        fields = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"The credentials are not valid JSON (line {exc.lineno}, column {exc.colno})."
        ) from None
    except RecursionError:
        raise InputError(
            "The credentials JSON is nested too deeply: it must be one object of field names "
            "to values."
        ) from None
    if not isinstance(fields, dict):
        raise InputError("The credentials JSON must be an object of field names to values.")
    return {str(k): "" if v is None else str(v) for k, v in fields.items()}


MAX_CREDENTIALS_BYTES = 1024 * 1024
"""Largest credentials file read (a service-account key file is about 2.5 KiB)."""


def _credentials_text(data: bytes | str, where: str) -> str:
    """Credentials as text: UTF-8, a leading byte-order mark dropped; `InputError` naming the
    first bad byte for anything else (a binary file, Latin-1 or UTF-16 text)."""
    from bot.errors import InputError

    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if len(data) > MAX_CREDENTIALS_BYTES:
        raise InputError(f"{where} over {MAX_CREDENTIALS_BYTES // 1024} KiB: not credentials.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where} not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): "
            "save it as UTF-8 JSON (a binary, Latin-1 or UTF-16 file cannot be read)."
        ) from None


# --- commands ------------------------------------------------------------------------------
def cmd_db_upgrade(rt: Runtime, args: argparse.Namespace) -> int:
    from storage.migrate import current_revision

    print(f"Database is at revision {current_revision(rt.db.engine)} (head).")
    return 0


def _connector_rows(items: Sequence[Any]) -> list[list[Any]]:
    rows = []
    for c in items:
        if c.last_validation_ok is None:
            state = "never validated"
        else:
            state = ("ok " if c.last_validation_ok else "FAILED ") + _when(c.last_validated_at)
        rows.append(
            [
                c.name,
                c.provider,
                c.fingerprint,
                c.account_id or "-",
                ", ".join(c.projects) or "-",
                state,
            ]
        )
    return rows


CONNECTOR_HEADERS = ["NAME", "PROVIDER", "FINGERPRINT", "ACCOUNT", "PROJECTS", "LAST VALIDATION"]


def cmd_connector_add(rt: Runtime, args: argparse.Namespace) -> int:
    from bot import providers

    provider = providers.parse(args.provider)
    raw = read_credentials(args, provider)
    print("Validating the credentials against the cloud…", file=sys.stderr)
    info = rt.connectors.create(provider, args.name, raw, actor=args.actor)
    emit(
        args,
        info,
        lambda: (
            f"Connector {info.name!r} created: {info.provider} account "
            f"{info.account_id}, {info.fingerprint}."
        ),
    )
    return 0


def cmd_connector_list(rt: Runtime, args: argparse.Namespace) -> int:
    items = rt.connectors.list()
    emit(
        args,
        items,
        lambda: (
            table(_connector_rows(items), CONNECTOR_HEADERS)
            if items
            else "No connectors yet: add one with `cspm-bot connector add`." + _database_hint(rt)
        ),
    )
    return 0


def cmd_connector_validate(rt: Runtime, args: argparse.Namespace) -> int:
    info = rt.connectors.validate(args.name, actor=args.actor)
    emit(
        args,
        info,
        lambda: (
            f"Connector {info.name!r}: "
            + (
                "credentials are valid."
                if info.last_validation_ok
                else f"validation FAILED: {_error_text(info.last_error)}"
            )
        ),
    )
    return 0 if info.last_validation_ok else EXIT_ERROR


def _error_text(error: Any) -> str:
    """A classified error on one line: category, message, provider code, missing permissions."""
    if error is None:
        return "rejected"
    text = f"{error.category.label}: {error.message}" + (f" ({error.code})" if error.code else "")
    if error.missing_permissions:
        text += f"; missing {', '.join(error.missing_permissions)}"
    return text


def cmd_connector_delete(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.errors import InputError

    if not args.yes:
        raise InputError(f"Deleting {args.name!r} destroys its credentials: add --yes to confirm.")
    info = rt.connectors.delete(args.name, actor=args.actor)
    emit(args, info, lambda: f"Connector {info.name!r} deleted; its credentials were destroyed.")
    return 0


def cmd_connector_replace(rt: Runtime, args: argparse.Namespace) -> int:
    current = rt.connectors.get(args.name)
    raw = read_credentials(args, current.provider)
    request = rt.connectors.prepare_replace(current, raw, args.new_name)
    print("Validating the new credentials against the cloud…", file=sys.stderr)
    result = rt.connectors.apply_replace(request, actor=args.actor)
    emit(
        args,
        result,
        lambda: (
            f"Connector {result.old.name!r} replaced by {result.new.name!r} "
            f"({result.new.fingerprint}); {_plural(len(result.projects), 'project')} repointed: "
            f"{', '.join(result.projects) or '-'}. Re-run them with `cspm-bot scan run PROJECT`."
        ),
    )
    return 0


def cmd_connector_discover(rt: Runtime, args: argparse.Namespace) -> int:
    print("Listing the connector's accounts in the cloud…", file=sys.stderr)
    scope = [u for u in (args.scope or "").split(",") if u.strip()]
    result = rt.connectors.discover(args.name, actor=args.actor, parent=args.parent, scope=scope)

    def text() -> str:
        c = result.connector
        head = (
            f"Connector {c.name!r} ({c.provider}): {_plural(len(result.projects), 'account')} "
            f"found; {result.count('created')} project(s) created, {result.count('updated')} "
            f"updated, {result.count('unchanged')} unchanged."
        )
        if not result.projects:
            return head
        rows = [[p.name, p.target_id, p.target_name, p.change] for p in result.projects]
        return head + "\n" + table(rows, ["PROJECT", "ACCOUNT", "NAME", "CHANGE"])

    emit(args, result, text)
    return 0


def cmd_project_add(rt: Runtime, args: argparse.Namespace) -> int:
    scope = [u for u in (args.scope or "").split(",") if u.strip()]
    checks = [c.strip() for c in (args.checks or "").split(",") if c.strip()]
    info = rt.projects.add(
        args.name,
        args.connector,
        actor=args.actor,
        scope=scope,
        check_ids=checks,
        alert_channel=args.alert_channel,
        owner=args.owner,
    )
    emit(
        args,
        info,
        lambda: (
            f"Project {info.name!r} created on connector "
            f"{info.connector_name!r} (scope: {', '.join(info.scope) or 'everything reachable'})"
            + (f", owner {info.owner}." if info.owner else ".")
        ),
    )
    return 0


def cmd_project_owner(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.errors import InputError

    if args.clear == bool(args.owner):
        raise InputError("Give an owner (a user or user group id) or --clear, not both.")
    info = rt.projects.set_owner(args.project, None if args.clear else args.owner, args.actor)
    emit(
        args,
        info,
        lambda: (
            f"Alerts of {info.name!r} now mention {info.owner}."
            if info.owner
            else f"{info.name!r} has no owner: its alerts mention CSPM_ALERT_MENTION (if set)."
        ),
    )
    return 0


def cmd_project_list(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.domain import ScanStatus

    status = _parse_status(args.status) if args.status else None
    items, total = rt.projects.page(status, page=args.page - 1, per_page=args.per_page)

    def text() -> str:
        if not items:
            where = _database_hint(rt)
            if status:
                return f"No projects with status {status.label}.{where}"
            return (
                "No projects. Add one with `cspm-bot project add NAME --connector CONNECTOR`"
                f" (see `cspm-bot connector list`).{where}"
            )
        rows = [
            [
                p.name,
                p.connector_name,
                p.provider,
                p.last_status.label if p.last_status else "Never scanned",
                _when(p.last_scan_at),
                p.last_status_message,
            ]
            for p in items
        ]
        pages = max(1, -(-total // args.per_page))
        return (
            table(rows, ["PROJECT", "CONNECTOR", "PROVIDER", "STATUS", "LAST SCAN", "MESSAGE"])
            + f"\n(page {args.page} of {pages}, {_plural(total, 'project')})"
        )

    emit(args, {"projects": items, "total": total}, text)
    _ = ScanStatus
    return 0


def _parse_status(value: str) -> Any:
    from bot.domain import ScanStatus
    from bot.errors import InputError

    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {"partial": "partially_completed", "partially": "partially_completed"}
    try:
        return ScanStatus(aliases.get(key, key))
    except ValueError:
        raise InputError(
            f"Unknown status {value!r}: use one of " + ", ".join(s.value for s in ScanStatus) + "."
        ) from None


def _print_scan(scan: Any, jobs: Sequence[Any]) -> str:
    head = (
        f"Scan #{scan.scan_id} of {scan.project_name}: {scan.status.label} — "
        f"{scan.status_message}\n  trigger {scan.trigger} by {scan.requested_by}, "
        f"started {_when(scan.started_at)}, finished {_when(scan.finished_at)}"
    )
    if not jobs:
        return head
    rows = [
        [j.unit, j.status.value, f"{j.findings_failed}/{j.findings_total}", j.message] for j in jobs
    ]
    return head + "\n\n" + table(rows, ["JOB", "STATUS", "FAILING", "MESSAGE"])


def cmd_scan_run(rt: Runtime, args: argparse.Namespace) -> int:
    scan = rt.scans.start(args.project, trigger="cli", actor=args.actor)
    print(f"Scan #{scan.scan_id} of {scan.project_name} queued.", file=sys.stderr)
    last = ""
    try:
        while rt.scans.wait(scan.scan_id, timeout=0.5) is None:
            line = rt.scans.get(scan.scan_id).status_message
            if line != last and not args.json:
                print(f"  … {line}", file=sys.stderr)
                last = line
    except KeyboardInterrupt:
        print("Stopping the scan (jobs stop at their next cloud call)…", file=sys.stderr)
        rt.scans.stop(scan.scan_id, actor=args.actor, by_scan_id=True)
        rt.scans.wait(scan.scan_id)
    final = rt.scans.get(scan.scan_id)
    jobs = rt.scans.jobs(scan.scan_id)
    emit(
        args,
        {"scan": final, "jobs": jobs},
        lambda: (
            _print_scan(final, jobs)
            + (
                "\n\nSee why: cspm-bot scan errors " + str(final.scan_id)
                if final.status.has_errors
                else ""
            )
        ),
    )
    return SCAN_EXIT.get(final.status.value, 0)


def cmd_scan_stop(rt: Runtime, args: argparse.Namespace) -> int:
    ref = args.target
    by_id = ref.startswith("#") or ref.isdigit()
    info = rt.scans.stop(ref.lstrip("#"), actor=args.actor, by_scan_id=by_id)
    emit(
        args,
        info,
        lambda: (
            f"Stop requested for scan #{info.scan_id} of {info.project_name}: "
            "pending jobs are cancelled, running jobs stop at their next cloud call."
        ),
    )
    return 0


def _scan_ref(rt: Runtime, ref: str) -> int:
    """A scan id, or a project name meaning its newest scan."""
    return rt.scans.resolve(ref)


def cmd_scan_status(rt: Runtime, args: argparse.Namespace) -> int:
    scan = rt.scans.get(_scan_ref(rt, args.target))
    jobs = rt.scans.jobs(scan.scan_id)
    emit(args, {"scan": scan, "jobs": jobs}, lambda: _print_scan(scan, jobs))
    return 0


def cmd_scan_history(rt: Runtime, args: argparse.Namespace) -> int:
    history = rt.scans.history(args.project, page=args.page - 1, per_page=args.per_page)
    items, total = list(history.scans.items), history.scans.total_items
    rows = [
        [
            f"#{s.scan_id}",
            _when(s.queued_at),
            s.status.label,
            s.trigger,
            s.requested_by,
            f"{s.jobs_ok}/{s.jobs_failed}/{s.jobs_total}",
            s.status_message,
        ]
        for s in items
    ]
    emit(
        args,
        {"scans": items, "total": total},
        lambda: (
            table(rows, ["SCAN", "DATE", "STATUS", "TRIGGER", "BY", "OK/FAILED/TOTAL", "MESSAGE"])
            + f"\n({_plural(total, 'scan')})"
            if items
            else f"No scans yet. Start one with `cspm-bot scan run {args.project}`."
        ),
    )
    return 0


def cmd_scan_errors(rt: Runtime, args: argparse.Namespace) -> int:
    scan = rt.scans.get(_scan_ref(rt, args.target))
    entries = rt.scans.errors(scan.scan_id)

    def text() -> str:
        if not entries:
            return (
                f"Scan #{scan.scan_id} is {scan.status.label}: only Partially Completed and "
                "Failed scans have error logs."
            )
        out = [f"Error log of scan #{scan.scan_id} ({scan.project_name}, {scan.status.label}):"]
        for e in entries:
            out.append(
                f"\n[{e.category.value}] {e.job_unit}{' / ' + e.check_id if e.check_id else ''}"
                f" — {e.code}\n  {e.message}\n  Next step: {e.remediation}"
            )
            if e.missing_permission:
                out.append(f"  Missing permission: {e.missing_permission}")
            if args.verbose and e.detail:
                out.append("  Detail: " + e.detail.replace("\n", "\n  "))
        return "\n".join(out)

    emit(args, {"scan": scan, "errors": entries}, text)
    return 0


def cmd_scan_findings(rt: Runtime, args: argparse.Namespace) -> int:
    """Every failing finding of a scan (every finding with --all), streamed to stdout as a
    table, JSON, CSV or OCSF (`bot.findings_output`)."""
    import os

    from bot import findings_output as out
    from bot.services.findings import FindingsService

    fmt = args.format or ("json" if args.json else "table")
    if args.json and fmt != "json":
        print(f"error: --json and --format {fmt} disagree: choose one.", file=sys.stderr)
        return EXIT_USAGE
    service = FindingsService(rt.db)
    source = service.source(_scan_ref(rt, args.target))
    items = service.stream(source, include_passed=args.all)
    try:
        if fmt == "csv":
            out.write_csv(sys.stdout, source, items)
        elif fmt == "ocsf":
            out.write_ocsf(sys.stdout, source, items)
        else:
            counts = service.counts(source.scan)
            if fmt == "json":
                out.write_json(sys.stdout, source, counts, items)
            else:
                out.write_table(sys.stdout, out.summary_line(source, counts, args.all), items)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left (`| head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def cmd_checks(settings: Settings, args: argparse.Namespace) -> int:
    """The checks with their benchmark controls, counts and permissions: no database, no key."""
    from bot import providers
    from bot.errors import InputError
    from bot.providers.catalogue import (
        catalogue,
        controls_text,
        counts_line,
        markdown,
        parse_framework,
    )

    try:
        chosen = [providers.parse(args.provider)] if args.provider else list(providers.names())
        framework = parse_framework(args.framework) if args.framework else None
    except InputError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    checks = catalogue(chosen, framework)
    permissions = {p: list(providers.get(p).required_permissions()) for p in chosen}
    if args.markdown:
        print(markdown(checks, permissions), end="")
        return 0

    def text() -> str:
        rows = [
            [m.provider, m.id, m.severity.value, controls_text(m) or "-", m.title] for m in checks
        ]
        perms = "\n".join(f"{p}: {', '.join(v)}" for p, v in permissions.items())
        return (
            table(rows, ["PROVIDER", "CHECK", "SEVERITY", "CONTROLS", "TITLE"])
            + f"\n\nChecks: {counts_line(checks)}."
            + "\n\nRead-only permissions the connector needs:\n"
            + perms
        )

    emit(args, {"checks": checks, "permissions": permissions}, text)
    return 0


def cmd_key_rotate(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.services.keys import KeyService

    result = KeyService(rt.db, rt.settings).rotate(rt.box, actor=args.actor)

    def text() -> str:
        done = (
            f"Re-encrypted {_plural(result.connectors, 'connector')} and the key check value "
            f"with key id {result.key_id}, the first key of {result.source}."
        )
        if result.retired_key_ids:
            return done + (
                f" Nothing needs key id {', '.join(result.retired_key_ids)} any more: remove "
                f"it from {result.source}."
            )
        return done + (
            " Only one key is configured, so none was retired: to rotate, put a new key "
            "first (see README → The encryption key)."
        )

    emit(args, result, text)
    return 0


def cmd_key_reset(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.errors import InputError
    from bot.services.keys import KeyService

    if not args.yes:
        raise InputError(
            "Resetting the key destroys the saved credentials of every connector: add --yes "
            "to confirm."
        )
    result = KeyService(rt.db, rt.settings).reset(actor=args.actor)

    def text() -> str:
        names = ", ".join(result.emptied_connectors)
        aside = result.set_aside
        out = (
            f"Started over with key id {result.key_id} from {result.source}"
            + (f" (the unusable key file was moved to {aside})" if aside else "")
            + f". Credentials destroyed: {_plural(len(result.emptied_connectors), 'connector')}"
            + (f" ({names})" if names else "")
            + "."
        )
        if result.emptied_connectors:
            out += (
                " Replace each with `cspm-bot connector replace NAME --file F`: its projects "
                "follow."
            )
        return out

    emit(args, result, text)
    return 0


def cmd_serve(rt: Runtime, args: argparse.Namespace) -> int:
    from bot.serve import serve

    return serve(
        rt,
        port=args.port,
        host=args.host,
        health_port=args.health_port,
        no_worker=getattr(args, "no_worker", False),
    )


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    """`cspm-bot worker`: Celery workers for the queues (needs CSPM_BROKER_URL)."""
    if not settings.distributed:
        print(
            "error: CSPM_BROKER_URL is not set: a worker takes its work from the broker "
            "(e.g. CSPM_BROKER_URL=redis://127.0.0.1:6379/0). Without a broker, "
            "`cspm-bot serve` runs the work in its own worker process.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.distributed.worker import parse_queues, run

    try:
        queues = parse_queues(args.queues)
    except ValueError as exc:
        print(f"error: --queues: {exc}.", file=sys.stderr)
        return EXIT_USAGE
    if args.concurrency is not None and not 1 <= args.concurrency <= 256:
        print("error: --concurrency must be between 1 and 256.", file=sys.stderr)
        return EXIT_USAGE
    from bot.settings import reveal

    if "slack" in queues and not reveal(settings.slack_bot_token):
        print(
            "error: SLACK_BOT_TOKEN is not set: a worker consuming queue slack answers Slack "
            "with the bot token (xoxb-…). Set it, or consume only --queues scans.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from bot.errors import CspmError

    try:
        return run(settings, queues, args.concurrency)
    except CspmError as exc:  # the key does not decrypt the database's connectors…
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR


def preflight_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Before `serve` opens the database: its settings and a free port (0: go on)."""
    from bot.serve import preflight

    return preflight(
        settings, args.host, args.port, args.health_port, getattr(args, "no_worker", False)
    )


def cmd_playground(settings: Settings, args: argparse.Namespace) -> int:
    """The bot with a local Slack emulator and sandbox clouds (no real database touched)."""
    try:
        from bot.playground.run import run_playground
    except ImportError as exc:
        print(
            f"error: the playground needs its extra ({exc.name} is missing): "
            "pip install -e '.[playground]' (make install does it).",
            file=sys.stderr,
        )
        return EXIT_ERROR
    return run_playground(port=args.port)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """`make run`: the bot when Slack is configured, else the playground."""
    from bot.settings import reveal

    if reveal(settings.slack_bot_token):
        return -1  # main() goes on to `serve` with a runtime
    print(
        "cspm-bot: SLACK_BOT_TOKEN is not set, so this starts the playground (a local Slack "
        "and sandbox clouds). To connect a workspace, see README → Connect your workspace.",
        file=sys.stderr,
    )
    return cmd_playground(settings, args)


# --- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and docs)."""
    from bot import providers  # the registry only: no cloud SDK is imported here

    p = argparse.ArgumentParser(
        prog="cspm-bot",
        description="Slack chat-ops bot and self-hosted CSPM scan service.",
        epilog="Exit codes: 0 ok/Completed, 1 error, 2 bad input, 3 Partially Completed, "
        "4 Failed, 5 Stopped.",
    )
    p.add_argument("--actor", default=None, help="who to record in the audit log (default: $USER)")
    sub = p.add_subparsers(dest="group", metavar="COMMAND", required=True)

    def cmd(
        parent: Any, name: str, fn: Callable[..., int], help: str, access: str = WRITE
    ) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.set_defaults(fn=fn, access=access)
        return sp

    play = cmd(
        sub,
        "playground",
        cmd_serve,
        "try the bot in a browser: a local Slack emulator and sandbox clouds, on loopback",
        SECRETS,
    )
    play.add_argument("--port", type=int, default=3000, help="the page's port (default 3000)")
    play.set_defaults(standalone=cmd_playground)
    run = cmd(
        sub,
        "run",
        cmd_serve,
        "serve when SLACK_BOT_TOKEN is set, otherwise start the playground",
        SECRETS,
    )
    run.set_defaults(
        standalone=cmd_run,
        preflight=preflight_serve,
        host="0.0.0.0",  # noqa: S104 - a server binds publicly
        health_port=None,
    )
    run.add_argument("--port", type=int, default=3000)

    serve = cmd(sub, "serve", cmd_serve, "run the Slack bot (Socket Mode or HTTP)", SECRETS)
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument("--host", default="0.0.0.0")  # noqa: S104 - a server binds publicly
    serve.add_argument(
        "--health-port",
        type=int,
        default=None,
        metavar="N",
        help="Socket Mode: serve GET /healthz on port N (HTTP mode serves it beside the events)",
    )
    serve.set_defaults(preflight=preflight_serve)
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="with CSPM_BROKER_URL: only serve (ack and enqueue); `cspm-bot worker` runs the work",
    )
    work = cmd(
        sub,
        "worker",
        cmd_serve,
        "run Celery workers taking Slack work and scan jobs from CSPM_BROKER_URL",
    )
    work.add_argument(
        "--queues",
        default="slack,scans",
        help="comma-separated queues to consume: slack, scans (default: both, one process each)",
    )
    work.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help="threads per queue (default: 16 for slack, CSPM_SCAN_CONCURRENCY for scans)",
    )
    work.set_defaults(standalone=cmd_worker)

    db = sub.add_parser("db", help="database maintenance").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    cmd(db, "upgrade", cmd_db_upgrade, "apply database migrations", MAINTAIN)

    key = sub.add_parser("key", help="the credentials encryption key").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    cmd(
        key,
        "rotate",
        cmd_key_rotate,
        "re-encrypt every connector and the key check value with the first key, so the "
        "others can be removed",
    )
    kr = cmd(
        key,
        "reset",
        cmd_key_reset,
        "start over with a new key: destroys every connector's saved credentials",
        RESET,
    )
    kr.add_argument("--yes", action="store_true", help="confirm")

    con = sub.add_parser("connector", help="cloud connectors").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    a = cmd(con, "add", cmd_connector_add, "validate and save a new connector", SECRETS)
    a.add_argument("--provider", required=True, help=providers.choices_text())
    a.add_argument("--name", required=True)
    a.add_argument(
        "--file",
        help="credentials file; default: stdin. "
        + "; ".join(f"{spec.name}: {spec.credentials_file}" for spec in providers.specs()),
    )
    cmd(con, "list", cmd_connector_list, "list connectors", READ)
    cmd(con, "validate", cmd_connector_validate, "validate a connector again").add_argument("name")
    d = cmd(con, "delete", cmd_connector_delete, "delete a connector no project uses")
    d.add_argument("name")
    d.add_argument("--yes", action="store_true", help="confirm")
    r = cmd(
        con,
        "replace",
        cmd_connector_replace,
        "replace a connector's credentials (validated first) and repoint its projects",
        SECRETS,
    )
    r.add_argument("name")
    r.add_argument("--file", help="new credentials file; default: stdin")
    dis = cmd(
        con,
        "discover",
        cmd_connector_discover,
        "one project per account the connector's organization has (AWS member accounts, "
        "Azure subscriptions, GCP projects): created, or updated when run again",
    )
    dis.add_argument("name")
    dis.add_argument(
        "--parent",
        help="only under this parent: an AWS OU or root id (ou-…, r-…), a GCP folders/N or "
        "organizations/N (default: every account the connector can list)",
    )
    dis.add_argument(
        "--scope",
        help="scope of the AWS projects it creates, e.g. us-east-1,eu-west-1 (default: every "
        "enabled region)",
    )
    r.add_argument("--new-name", help="name for the new connector (default: the same)")

    proj = sub.add_parser("project", help="scan projects").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    pa = cmd(proj, "add", cmd_project_add, "create a scan project")
    pa.add_argument("name")
    pa.add_argument("--connector", required=True)
    pa.add_argument(
        "--scope",
        help="comma-separated AWS regions / Azure subscriptions / GCP "
        "projects (default: all reachable)",
    )
    pa.add_argument("--checks", help="comma-separated check ids (default: all)")
    pa.add_argument("--alert-channel", help="Slack channel id for failure alerts")
    pa.add_argument(
        "--owner", help="who its alerts mention: a Slack user id (U…) or user-group id (S…)"
    )
    po = cmd(proj, "owner", cmd_project_owner, "set who a project's failure alerts mention")
    po.add_argument("project")
    po.add_argument("owner", nargs="?", help="a Slack user id (U…) or user-group id (S…)")
    po.add_argument("--clear", action="store_true", help="remove the owner")
    pl = cmd(proj, "list", cmd_project_list, "list projects with their last scan status", READ)
    pl.add_argument("--status", help="completed, partially_completed, failed, stopped, running")
    pl.add_argument("--page", type=int, default=1)
    pl.add_argument("--per-page", type=int, default=50)

    scan = sub.add_parser("scan", help="scans").add_subparsers(
        dest="cmd", metavar="ACTION", required=True
    )
    cmd(scan, "run", cmd_scan_run, "run a scan now and show its progress").add_argument("project")
    cmd(scan, "stop", cmd_scan_stop, "stop a project's running scan (or #SCAN_ID)").add_argument(
        "target"
    )
    cmd(
        scan, "status", cmd_scan_status, "a scan's status and jobs (SCAN_ID or PROJECT)", READ
    ).add_argument("target")
    h = cmd(scan, "history", cmd_scan_history, "a project's scans, newest first", READ)
    h.add_argument("project")
    h.add_argument("--page", type=int, default=1)
    h.add_argument("--per-page", type=int, default=20)
    e = cmd(scan, "errors", cmd_scan_errors, "a scan's error log (SCAN_ID or PROJECT)", READ)
    e.add_argument("target")
    e.add_argument("-v", "--verbose", action="store_true", help="include full details")
    f = cmd(
        scan,
        "findings",
        cmd_scan_findings,
        "a scan's failing findings (all with --all), most severe first, streamed (SCAN_ID or "
        "PROJECT)",
        READ,
    )
    f.add_argument("target")
    f.add_argument("--all", action="store_true", help="passing findings too")
    f.add_argument(
        "--format",
        choices=("table", "json", "csv", "ocsf"),
        default=None,
        help="table (default), json (same as --json), csv (with a header row) or ocsf (a JSON "
        "array of OCSF 1.3.0 Compliance Finding events)",
    )

    ch = cmd(sub, "checks", cmd_serve, "list the checks, their controls and permissions", READ)
    ch.add_argument("--provider", help=f"only one provider ({providers.choices_text()})")
    ch.add_argument("--framework", help="only checks mapped to a framework, e.g. cis-aws-3.0")
    ch.add_argument(
        "--markdown", action="store_true", help="the catalogue as Markdown (docs/CHECKS.md)"
    )
    ch.set_defaults(standalone=cmd_checks)

    from bot.scheduling.cli import add_cli  # digest and schedule groups (light imports)

    add_cli(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `cspm-bot` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    import getpass
    import logging
    import uuid

    from bot.errors import CspmError, NotFoundError
    from bot.logs import configure_logging
    from bot.secretbox import SecretBoxError
    from bot.settings import load_settings

    try:
        settings = load_settings()
    except Exception as exc:  # SettingsError names the bad variable
        print(f"error: invalid configuration: {_short_settings_error(exc)}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level)
    standalone = getattr(args, "standalone", None)
    if standalone is not None:  # commands that must not open the configured database
        code = int(standalone(settings, args))
        if code >= 0:
            return code
    preflight = getattr(args, "preflight", None)
    if preflight is not None:  # checks that need no database (serve: settings, port)
        code = int(preflight(settings, args))
        if code:
            return code
    args.actor = args.actor or f"cli:{getpass.getuser()}"
    problem = _paging_problem(args)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    rt = None
    try:
        from bot.runtime import build_runtime

        rt = build_runtime(settings, **_runtime_options(getattr(args, "access", WRITE)))
        return int(args.fn(rt, args))
    except SecretBoxError as exc:  # the key: missing, malformed or not the database's
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except NotFoundError as exc:
        hint = f" Did you mean: {', '.join(exc.suggestions)}?" if exc.suggestions else ""
        print(f"error: {exc.message}{hint}", file=sys.stderr)
        return EXIT_USAGE
    except CspmError as exc:
        fields = getattr(exc, "fields", {}) or {}
        detail = "".join(f"\n  {k}: {v}" for k, v in fields.items())
        print(f"error: {exc.message}{detail}", file=sys.stderr)
        return EXIT_USAGE if type(exc).__name__ == "InputError" else EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logging.getLogger("bot.cli").exception("unexpected error (reference %s)", ref)
        print(f"error: unexpected failure (reference {ref}); see the log above.", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if rt is not None:
            rt.close()


PER_PAGE_MAX = 1000
"""Most rows a page may ask for."""


def _paging_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--page`` / ``--per-page`` (None if nothing): each must be 1 or
    more, a page at most the database's largest id, a page size at most `PER_PAGE_MAX`."""
    from bot.domain import DB_ID_MAX

    page, per_page = getattr(args, "page", 1), getattr(args, "per_page", 1)
    if page < 1 or per_page < 1:
        return "--page and --per-page must be 1 or more."
    if page > DB_ID_MAX:
        return f"--page {page} is out of range: pages go up to {DB_ID_MAX}."
    if per_page > PER_PAGE_MAX:
        return f"--per-page {per_page} is out of range: at most {PER_PAGE_MAX} rows a page."
    return None


def _short_settings_error(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors()
        )
    return str(exc).splitlines()[0]


if __name__ == "__main__":
    raise SystemExit(main())
