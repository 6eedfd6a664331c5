"""Redaction of secrets a cloud echoes back in another form: survivors before/after, and cost.

For each secret shape (AWS secret key, Azure client secret, GCP private key PEM) it builds
echoes of the secret (raw, URL-encoded, JSON- and slash-escaped, base64 at random offsets,
20-24 character fragments, PEM line fragments) and counts the 12-character windows of any form
of the secret that remain after redaction, with the previous redaction (verbatim and escaped
values only) and the current one, on the same inputs in the same run. It also counts, per
shape, how many 12-character windows of the secret survive when echoed alone. Last, the cost
of one `redact` call on a 4 KB message carrying 3 secrets.

    .venv/bin/python -m bench.bench_redaction [--echoes 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import sys
import timeit
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.redaction import _PATTERNS, REDACTED, _sub, redact  # noqa: E402
from tests.support.secret_shapes import (  # noqa: E402
    FRAGMENT,
    SHAPES,
    TRANSFORMS,
    echo,
    material,
    survivors,
)


def _previous_variants(secret: str) -> Iterable[str]:
    yield secret
    if "\n" in secret:
        yield secret.replace("\n", "\\n")
        for line in secret.splitlines():
            if len(line) >= 8 and not line.startswith("-----"):
                yield line
    if '"' in secret or "\\" in secret:
        yield secret.replace("\\", "\\\\").replace('"', '\\"')


def previous_redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The redaction as it was before: known secrets verbatim and JSON-escaped, then patterns."""
    own = sorted(
        {v for s in secrets if s and len(s) >= 4 for v in _previous_variants(s)},
        key=len,
        reverse=True,
    )
    for value in own:
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = _sub(pattern, text)
    return text


Redactor = Callable[[str, Iterable[str]], str]


def _window_survival(redactor: Redactor, secret: str) -> tuple[int, int]:
    body = material(secret)
    starts = range(0, len(body) - FRAGMENT + 1)
    kept = 0
    for start in starts:
        window = body[start : start + FRAGMENT]
        if window in redactor(f"invalid value '{window}' in request", [secret]):
            kept += 1
    return kept, len(starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--echoes", type=int, default=300, help="echoes per shape and form")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    redactors: dict[str, Redactor] = {"before": previous_redact, "after": redact}

    print("12-character windows of the secret that survive when echoed alone")
    print(f"{'shape':<6} {'before':>14} {'after':>14}")
    for shape, build in SHAPES.items():
        secret = build(rng)
        cells = []
        for redactor in redactors.values():
            kept, total = _window_survival(redactor, secret)
            cells.append(f"{kept:,} of {total:,}")
        print(f"{shape:<6} {cells[0]:>14} {cells[1]:>14}")

    print(f"\nEchoes with surviving windows ({args.echoes} per shape and form)")
    print(f"{'shape':<6} {'form':<18} {'before':>8} {'after':>8}")
    totals = {name: 0 for name in redactors}
    for shape, build in SHAPES.items():
        secret = build(rng)
        for transform in TRANSFORMS:
            texts = [echo(secret, transform, rng) for _ in range(args.echoes)]
            counts = {
                name: sum(1 for text in texts if survivors(redactor(text, [secret]), secret))
                for name, redactor in redactors.items()
            }
            for name, count in counts.items():
                totals[name] += count
            print(f"{shape:<6} {transform:<18} {counts['before']:>8} {counts['after']:>8}")
    print(f"{'total':<25} {totals['before']:>8} {totals['after']:>8}")

    secrets = [build(rng) for build in SHAPES.values()]
    filler = "The cloud rejected the request: InvalidParameterValue at /v1/resource. "
    message = (filler * 60)[:4000]
    message = message[:1000] + secrets[0] + message[1000:2000] + secrets[1] + message[2000:]
    message = message[:4096]
    print(f"\nCost per message ({len(message):,} characters, 3 secrets)")
    for name, redactor in redactors.items():
        runs = 200
        seconds = min(timeit.repeat(lambda r=redactor: r(message, secrets), number=runs, repeat=5))
        print(f"{name:<8} {seconds / runs * 1e6:>10,.0f} µs")


if __name__ == "__main__":
    main()
