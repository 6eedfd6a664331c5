"""Cold start benchmark: `cspm-bot --help` beside `python -c pass`, same run.

Target: `cspm-bot --help` under 300 ms; cloud SDKs and Slack are not imported for it.

    .venv/bin/python bench/bench_cold_start.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "boto3",
    "botocore",
    "azure",
    "google",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "pydantic",
)


def timed(cmd: list[str], runs: int) -> list[float]:
    """Wall times in ms of `runs` fresh processes."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        times.append((time.perf_counter() - start) * 1000)
    return times


def heavy_imports_for_help() -> list[str]:
    """Which heavy packages `--help` imports (should be none)."""
    probe = (
        "import sys\nfrom bot.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("HEAVY="))
    return [m for m in line.removeprefix("HEAVY=").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("cspm-bot")
    base = timed([sys.executable, "-c", "pass"], args.runs)
    cli = timed([str(script), "--help"], args.runs)
    print(f"cold start, median of {args.runs} fresh processes:")
    print(f"  python -c pass        {statistics.median(base):6.1f} ms  (baseline)")
    print(
        f"  cspm-bot --help       {statistics.median(cli):6.1f} ms  (target < 300 ms; "
        f"{statistics.median(cli) - statistics.median(base):+.1f} ms over the interpreter)"
    )
    heavy = heavy_imports_for_help()
    print(f"  heavy imports for --help: {', '.join(heavy) if heavy else 'none'}")


if __name__ == "__main__":
    main()
