"""Secret-shaped strings built at run time, and the echoes a cloud may send back of them.

Shared by the redaction property test and `bench/bench_redaction.py` so both measure the same
inputs. Nothing here is a real credential: the values are random strings of the right shape.
"""

from __future__ import annotations

import base64
import json
import random
import string
import textwrap
from functools import lru_cache
from urllib.parse import quote, quote_plus

from bot.redaction import REDACTED

FRAGMENT = 12
"""No run of this many characters of any form of a secret may remain after redaction."""

_B64 = string.ascii_letters + string.digits + "+/"
_AZURE = string.ascii_letters + string.digits + "_~.-"


def aws_secret_key(rng: random.Random) -> str:
    """40 base64-alphabet characters, like an AWS secret access key."""
    return "".join(rng.choice(_B64) for _ in range(40))


def azure_client_secret(rng: random.Random) -> str:
    """An Azure client secret: 3 characters, a digit, 'Q~', 34 characters."""
    head = "".join(rng.choice(_AZURE) for _ in range(3)) + rng.choice(string.digits)
    return head + "Q~" + "".join(rng.choice(_AZURE) for _ in range(34))


def gcp_private_key(rng: random.Random) -> str:
    """A PEM private key of the size a GCP service-account key has (random body)."""
    body = base64.b64encode(rng.randbytes(1216)).decode("ascii")
    lines = textwrap.wrap(body, 64)
    label = "PRIVATE KEY"
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n"


SHAPES = {"aws": aws_secret_key, "azure": azure_client_secret, "gcp": gcp_private_key}

TRANSFORMS = (
    "raw",
    "quote",
    "quote_plus",
    "json",
    "slash",
    "base64",
    "urlsafe_base64",
    "fragment",
    "pem_line_fragment",
)


def material(secret: str) -> str:
    """The secret's material: the base64 body for a PEM key, the value itself otherwise."""
    if secret.startswith("-----BEGIN"):
        return "".join(line for line in secret.splitlines() if not line.startswith("-----"))
    return secret


def echo(secret: str, transform: str, rng: random.Random) -> str:
    """An error text from a cloud that echoes `secret` in the form `transform`."""
    body = material(secret)
    if transform == "raw":
        shown = secret
    elif transform == "quote":
        shown = quote(secret, safe="")
    elif transform == "quote_plus":
        shown = quote_plus(secret)
    elif transform == "json":
        shown = json.dumps({"secret": secret})
    elif transform == "slash":
        shown = json.dumps(secret)[1:-1].replace("/", "\\/")
    elif transform in ("base64", "urlsafe_base64"):
        encode = base64.b64encode if transform == "base64" else base64.urlsafe_b64encode
        prefix = rng.randbytes(rng.randrange(0, 7))
        shown = encode(prefix + secret.encode() + rng.randbytes(rng.randrange(0, 7))).decode()
    elif transform == "fragment":
        size = rng.randrange(20, 25)
        start = rng.randrange(0, max(1, len(body) - size))
        shown = body[start : start + size]
    else:  # a fragment of one PEM line, or of the body across lines
        lines = [line for line in secret.splitlines() if line and not line.startswith("-----")]
        line = rng.choice(lines) if lines else secret
        size = rng.randrange(FRAGMENT, max(FRAGMENT + 1, len(line) + 1))
        start = rng.randrange(0, max(1, len(line) - size + 1))
        shown = line[start : start + size]
    return f"Request failed ({rng.randrange(400, 600)}): invalid value {shown!s} rejected."


def _stable_base64(data: bytes) -> list[str]:
    """The base64 text of `data` inside a larger message, at each of the 3 byte alignments."""
    forms = []
    for align, front in ((0, 0), (1, 2), (2, 3)):
        back = 4 * ((align + len(data)) // 3)
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.append(encode(b"\0" * align + data).decode()[front:back])
    return forms


def forms_of(secret: str) -> set[str]:
    """Every form of a secret a redactor must catch (written independently of the product)."""
    bases = {secret, material(secret)}
    bases |= {line for line in secret.splitlines() if line and not line.startswith("-----")}
    forms: set[str] = set()
    for base in bases:
        escaped = json.dumps(base)[1:-1]
        forms |= {base, escaped, escaped.replace("/", "\\/"), base.replace("/", "\\/")}
        forms |= {quote(base, safe=""), quote_plus(base)}
        forms |= set(_stable_base64(base.encode()))
    return forms


@lru_cache(maxsize=128)
def _windows(secret: str) -> frozenset[str]:
    return frozenset(
        form[i : i + FRAGMENT] for form in forms_of(secret) for i in range(len(form) - FRAGMENT + 1)
    )


def survivors(text: str, secret: str) -> int:
    """How many FRAGMENT-long windows of any form of `secret` remain in `text`."""
    windows = _windows(secret)
    return sum(
        1
        for i in range(len(text) - FRAGMENT + 1)
        if text[i : i + FRAGMENT] in windows and REDACTED not in text[i : i + FRAGMENT]
    )
