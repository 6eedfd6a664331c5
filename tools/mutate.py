"""Mutation testing of the critical modules with mutmut: `make mutate` (or
`.venv/bin/python tools/mutate.py [TARGET ...] [--jobs N]`).

Each target runs in a scratch copy of the project under `.mutants/<target>/`, with mutmut set
to mutate only that target's file(s) and to run only that target's tests (mutmut then picks,
for each mutant, the tests that reach the mutated function). Mutants of functions outside a
target's `functions` patterns are not generated. The PostgreSQL variants are left out
(SQLite only) to keep a run short.

Prints, per target, killed/total and the score, then every surviving mutant as a diff.
Exit status 0 whatever the score (it reports; it is not a gate).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".mutants"
MUTMUT = Path(sys.executable).with_name("mutmut")
COPIED = ("bot", "handlers", "storage", "tests")

# mutmut's exit codes of a mutant's test run (mutmut.stats.status_by_exit_code)
KILLED = {1: "killed", 3: "killed", 36: "timeout", -24: "timeout", 24: "timeout", 152: "timeout"}
KILLED.update({255: "timeout", 37: "caught by type check"})


@dataclass(frozen=True)
class Target:
    """A critical module: the file(s) mutated, the tests that guard them."""

    name: str
    files: tuple[str, ...]
    tests: tuple[str, ...]
    functions: tuple[str, ...] = field(default=())  # mutant name patterns; () = every function


def _fn(module: str, *names: str) -> tuple[str, ...]:
    """mutmut's name patterns of top-level functions and `Class.method`s (a pattern matches
    both the function, which mutmut maps to its tests, and each of its mutants)."""
    patterns = []
    for name in names:
        mangled = "x" + "ǁ".join(["", *name.split(".")]) if "." in name else "x_" + name
        patterns.append(f"{module}.{mangled}*")
    return tuple(patterns)


TARGETS = (
    Target("status", ("bot/engine/status.py",), ("tests/engine/test_status.py",)),
    Target(
        "redaction",
        ("bot/redaction.py",),
        (
            "tests/test_redaction_forms.py",
            "tests/test_redaction.py",
            "tests/test_redaction_echoes.py",
        ),
    ),
    Target(
        "guards",
        ("bot/slack/guards.py", "bot/slack/permissions.py", "bot/slack/app.py"),
        (
            "tests/slack/test_permissions.py",
            "tests/slack/test_workspace_guard.py",
            "tests/slack/test_app.py",
            "tests/handlers/test_scans.py",  # refused clicks (told after the ack)
            "tests/handlers/test_errorlog.py",  # a refused view submission (an error view)
            "tests/handlers/test_support.py",
            "tests/handlers/test_mutes.py",  # a refused view submission (the refusal as its ack)
        ),
        functions=(
            "bot.slack.guards.*",
            "bot.slack.permissions.*",
            *_fn("bot.slack.app", "_team_of", "workspace_guard"),
        ),
    ),
    Target("codec", ("bot/codec.py",), ("tests/test_codec.py", "tests/slack/test_decoding.py")),
    Target(
        "replace",
        ("bot/services/connectors.py",),
        ("tests/services/test_connector_replace.py",),
        functions=_fn(
            "bot.services.connectors",
            "_name_taken",
            "_redacted",
            "ConnectorService.prepare_replace",
            "ConnectorService.replace",
            "ConnectorService.apply_replace",
            "ConnectorService._tombstone",
        ),
    ),
    Target(
        "digest-claim",
        ("storage/repositories/digests.py",),
        ("tests/storage/test_digest_outbox.py", "tests/scheduling/test_digests.py"),
        functions=_fn(
            "storage.repositories.digests",
            "DeliveryRepo.claim",
            "DeliveryRepo.reclaim_stale",
            "DeliveryRepo.pending",
        ),
    ),
    Target(
        "request-verification",
        ("bot/slack/front.py",),
        ("tests/slack/test_front.py", "tests/slack/test_hostile_requests.py"),
        functions=_fn(
            "bot.slack.front",
            "read_body",
            "parse_request",
            "_headers",
            "check_signature",
            "SlackFront.refuse",
            "SlackFront.__call__",
        ),
    ),
    Target(
        "ownership",
        ("bot/engine/ownership.py",),
        ("tests/engine/test_ownership_facts.py", "tests/engine/test_ownership.py"),
    ),
    Target(
        "scan-results",  # job completion on both engines: claim, result, fan-in, finalise once
        ("storage/results.py",),
        ("tests/storage/test_job_completion.py", "tests/storage/test_results.py"),
        functions=_fn(
            "storage.results",
            "_counts",
            "ResultWriter.claim_job",
            "ResultWriter.finish_job",
            "ResultWriter.interrupt",
            "ResultWriter._finalize",
        ),
    ),
)


FRESH_CACHES = """

@pytest.fixture(autouse=True)
def _mutmut_fresh_caches() -> None:
    # mutmut forks each mutant's run from a process that already ran the original code:
    # results cached there (functools caches) would hide a mutant of what they cached.
    import importlib

    for name in {modules!r}:
        for value in list(vars(importlib.import_module(name)).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
"""
"""Appended to the scratch copy's tests/conftest.py (never to the project's own)."""


def _prepare(target: Target) -> Path:
    """A fresh scratch copy of the project configured for `target`."""
    work = SCRATCH / target.name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for name in COPIED:
        shutil.copytree(ROOT / name, work / name, ignore=ignore)
    config = (ROOT / "pyproject.toml").read_text()
    config += (
        "\n[tool.mutmut]\n"
        'source_paths = ["bot", "handlers", "storage"]\n'
        f"only_mutate = {json.dumps(list(target.files))}\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        f"pytest_add_cli_args_test_selection = {json.dumps(list(target.tests))}\n"
    )
    (work / "pyproject.toml").write_text(config)
    modules = [f[:-3].replace("/", ".") for f in target.files]
    with (work / "tests" / "conftest.py").open("a") as conftest:
        conftest.write(FRESH_CACHES.format(modules=modules))
    return work


def _results(work: Path, target: Target) -> dict[str, int]:
    """Exit code of every mutant of the target (filtered by its function patterns)."""
    codes: dict[str, int] = {}
    for file in target.files:
        meta = work / "mutants" / (file + ".meta")
        if meta.exists():
            codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    if target.functions:
        codes = {
            k: v for k, v in codes.items() if any(fnmatch.fnmatch(k, p) for p in target.functions)
        }
    return codes


def _diff(work: Path, target: Target, mutant: str) -> str:
    """The mutated lines of `mutant` (what `mutmut show` prints, without a process each)."""
    from mutmut.configuration import reset_config
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    path = next(f for f in target.files if mutant.startswith(f[:-3].replace("/", ".") + "."))
    old = Path.cwd()
    os.chdir(work)
    try:
        reset_config()
        shown = get_diff_for_mutant(mutant, path=path)
    except Exception as exc:  # a diff is a courtesy: never lose the scores over one
        shown = f"+ (no diff: {exc})"
    finally:
        os.chdir(old)
    lines = [
        line
        for line in shown.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join("      " + line for line in lines)


def run_target(target: Target, jobs: int) -> tuple[int, int, list[tuple[str, str]]]:
    """Run mutmut on one target; (killed, total, [(survivor, its status)])."""
    work = _prepare(target)
    env = {k: v for k, v in os.environ.items() if k != "CSPM_TEST_DATABASE_URL"}
    cmd = [str(MUTMUT), "run", "--max-children", str(jobs), *target.functions]
    with open(work / "mutmut.log", "w") as log:
        subprocess.run(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    codes = _results(work, target)
    killed = sum(1 for code in codes.values() if code in KILLED)
    survivors = [
        (name, "survived" if code == 0 else ("no tests" if code in (5, 33) else f"exit {code}"))
        for name, code in sorted(codes.items())
        if code not in KILLED
    ]
    return killed, len(codes), survivors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the critical modules.")
    parser.add_argument("targets", nargs="*", help=", ".join(t.name for t in TARGETS))
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (2)")
    args = parser.parse_args(argv)
    by_name = {t.name: t for t in TARGETS}
    unknown = [n for n in args.targets if n not in by_name]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(by_name)}")
    chosen = [by_name[n] for n in args.targets] if args.targets else list(TARGETS)
    if not MUTMUT.exists():
        parser.error(f"{MUTMUT} is missing: run `make dev` first")

    rows = []
    for target in chosen:
        started = time.monotonic()
        killed, total, survivors = run_target(target, args.jobs)
        minutes = (time.monotonic() - started) / 60
        score = 100.0 * killed / total if total else 0.0
        rows.append((target, killed, total, score, minutes))
        print(f"\n== {target.name}: {killed}/{total} killed ({score:.1f}%) in {minutes:.1f} min")
        print(f"   files: {', '.join(target.files)}; tests: {', '.join(target.tests)}")
        work = SCRATCH / target.name
        for name, status in survivors:
            print(f"   {status}: {name}")
            print(_diff(work, target, name))
        sys.stdout.flush()

    print("\nMutation score per module")
    print(f"{'target':<14} {'killed':>7} {'total':>6} {'score':>7} {'minutes':>8}")
    for target, killed, total, score, minutes in rows:
        print(f"{target.name:<14} {killed:>7} {total:>6} {score:>6.1f}% {minutes:>8.1f}")
    all_killed = sum(r[1] for r in rows)
    all_total = sum(r[2] for r in rows)
    if all_total:
        print(f"{'all':<14} {all_killed:>7} {all_total:>6} {100.0 * all_killed / all_total:>6.1f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
