"""The one redaction function: used wherever an error text is stored, logged or shown.

It removes the connector's own secret values (passed in explicitly) and anything that looks
like a credential whoever it belongs to: AWS secret keys and session tokens, Azure client
secrets, PEM blocks and private keys, bearer tokens, JWTs and Slack tokens.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

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


def _variants(secret: str) -> Iterable[str]:
    """A secret as it may appear in text: raw, JSON-escaped, with escaped newlines."""
    yield secret
    if "\n" in secret:
        yield secret.replace("\n", "\\n")
        for line in secret.splitlines():
            if len(line) >= 8 and not line.startswith("-----"):
                yield line
    if '"' in secret or "\\" in secret:
        yield secret.replace("\\", "\\\\").replace('"', '\\"')


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return `text` with every known secret and every credential-shaped value replaced.

    `secrets` are the connector's own secret values; they are removed first, verbatim and in
    their usual escaped forms, so a secret never survives even where no pattern would match.
    Values shorter than 4 characters are ignored (they would shred ordinary words).
    """
    if not text:
        return text
    own = sorted(
        {v for s in secrets if s and len(s) >= 4 for v in _variants(s)}, key=len, reverse=True
    )
    for value in own:
        text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = _sub(pattern, text)
    return text


def redact_one_line(text: str, secrets: Iterable[str] = (), limit: int = 300) -> str:
    """`redact`, then fold whitespace to one line and cut to `limit` characters."""
    line = " ".join(redact(text, secrets).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
