"""The one redaction function: used wherever an error text is stored, logged or shown.

It removes the connector's own secret values (passed in explicitly) and anything that looks
like a credential whoever it belongs to: AWS secret keys and session tokens, Azure client
secrets, PEM blocks and private keys, bearer tokens, JWTs and Slack tokens.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"

FRAGMENT = 12
"""A run of this many characters of any form of a known secret is redacted wherever it occurs."""

# Order matters: whole PEM blocks first, then structured tokens, then loose key shapes.
_PATTERNS: tuple[re.Pattern[str], ...] = (
    # PEM blocks (private keys, certificates), also when their newlines were escaped as "\n".
    re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|$)", re.S),
    # "private_key": "..." inside JSON, even a truncated one.
    re.compile(r'("private_key(?:_id)?"\s*:\s*")[^"]*("?)', re.I),
    # Authorization headers and bearer tokens.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"),
    # JWTs: three base64url segments, the first starting with '{"' encoded.
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # Slack tokens.
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{6,}"),
    re.compile(r"\bxapp-[A-Za-z0-9-]{6,}"),
    # key=value / "key": "value" pairs whose key names a secret.
    re.compile(
        r"(?i)((?:aws_secret_access_key|secret_access_key|secretaccesskey|aws_session_token|"
        r"session_token|sessiontoken|x-amz-security-token|client_secret|clientsecret|"
        r"password|passwd|access_token|refresh_token|id_token|assertion|signature|"
        r"x-amz-signature|api_key|apikey|secret|token|key)[\"']?\s*[:=]\s*[\"']?)([^\s\"'&,;}]+)"
    ),
    # AWS session tokens (long base64 blobs starting with the usual prefixes).
    re.compile(r"(?:FwoG|IQoJ|AQoD|AgoJ)[A-Za-z0-9/+=]{20,}"),
    # Azure client secrets: 3-char prefix, a digit, "Q~", then 31+ chars.
    re.compile(r"[A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}"),
    # AWS secret access keys: exactly 40 base64-ish characters standing alone.
    re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"),
)


def _sub(pattern: re.Pattern[str], text: str) -> str:
    if pattern.groups >= 2:
        # keep the "key=" part, hide the value
        return pattern.sub(lambda m: m.group(1) + REDACTED, text)
    if pattern.groups == 1:
        return pattern.sub(lambda m: m.group(1) + " " + REDACTED, text)
    return pattern.sub(REDACTED, text)


_PEM_LINE = re.compile(r"^-----(BEGIN|END) [A-Z0-9 ]+-----$")


def _pem_body_lines(secret: str) -> list[str]:
    """The base64 body lines of a PEM block (its secret material), or [] if it is not one."""
    lines = [line.strip() for line in secret.strip().splitlines()]
    if len(lines) < 2 or not _PEM_LINE.match(lines[0]):
        return []
    return [line for line in lines if line and not _PEM_LINE.match(line)]


def _base64_forms(data: bytes) -> Iterable[str]:
    """The base64 text `data` becomes inside any larger encoded message, at each alignment.

    Inside a message, the secret starts at byte offset 0, 1 or 2 of a 3-byte group; only the
    characters made of the secret's bits alone are stable, so the edges are cut off: character
    k holds bits 6k to 6k+5, so it is stable when 6k >= 8 * align and 6k + 6 <= 8 * total.
    """
    for align in range(3):
        total = align + len(data)
        front = -(-4 * align // 3)  # ceil(8 * align / 6)
        back = 4 * total // 3  # floor(8 * total / 6)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            stable = encode(b"\0" * align + data).decode("ascii")[front:back]
            if stable:
                yield stable


def _lower_percent(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def secret_forms(secret: str) -> set[str]:
    """Every form a secret may be echoed in: raw, URL-encoded, JSON- and slash-escaped, base64.

    For a PEM private key the secret material is its base64 body: the body joined without
    newlines, joined with real or escaped newlines, and each line.
    """
    bases = {secret}
    body = _pem_body_lines(secret)
    if body:
        # (their JSON-escaped forms below give the bodies joined with escaped newlines)
        bases |= {"".join(body), "\n".join(body), "\r\n".join(body)}
        bases |= set(body)
    forms: set[str] = set()
    for base in bases:
        escaped_json = json.dumps(base)[1:-1]
        for form in (base, escaped_json):
            forms |= {form, form.replace("/", "\\/")}
        for encoded in (quote(base, safe=""), quote(base), quote_plus(base)):
            forms |= {encoded, _lower_percent(encoded)}
        forms |= set(_base64_forms(base.encode("utf-8")))
    return {form for form in forms if form}


@lru_cache(maxsize=256)
def _fragments(secret: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """(every FRAGMENT-long window of every form, the forms shorter than FRAGMENT)."""
    windows: set[str] = set()
    short: set[str] = set()
    for form in secret_forms(secret):
        if len(form) < FRAGMENT:
            short.add(form)
            continue
        windows.update(form[i : i + FRAGMENT] for i in range(len(form) - FRAGMENT + 1))
    return frozenset(windows), tuple(sorted(short, key=len, reverse=True))


def _redact_known(text: str, secrets: Iterable[str]) -> str:
    """Replace every run of text covered by a FRAGMENT-long window of a known secret's forms."""
    windows: set[str] = set()
    short: set[str] = set()
    for secret in secrets:
        if not secret or len(secret) < 4:
            continue
        secret_windows, secret_short = _fragments(secret)
        windows |= secret_windows
        short.update(s for s in secret_short if len(s) >= 4)
    for value in sorted(short, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    if not windows or len(text) < FRAGMENT:
        return text
    spans: list[list[int]] = []  # [start, end) runs covered by windows, overlaps merged
    for start in range(len(text) - FRAGMENT + 1):
        if text[start : start + FRAGMENT] in windows:
            end = start + FRAGMENT
            if spans and start <= spans[-1][1]:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    for start, end in reversed(spans):  # from the end, so earlier offsets stay valid
        text = text[:start] + REDACTED + text[end:]
    return text


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every known secret and every credential-shaped value replaced.

    `secrets` are the connector's own secret values; they are removed first, in every form a
    cloud may echo them (`secret_forms`) and as any fragment of `FRAGMENT` or more characters
    of such a form, so a secret never survives even where no pattern would match. Values
    shorter than 4 characters are ignored (they would shred ordinary words).
    """
    if not text:
        return text
    text = _redact_known(text, secrets)
    for pattern in _PATTERNS:
        text = _sub(pattern, text)
    return text


def redact_one_line(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """`redact`, then fold whitespace to one line and cut to `limit` characters."""
    line = " ".join(redact(text, secrets).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
