"""The forms a known secret is recognised in, checked exactly: each echo of a secret becomes one
marker with the text around it intact, not a marker with a stray character of the secret at an
edge (which the window tests in test_redaction.py would let through)."""

from __future__ import annotations

import base64
import json
import random
import re
from urllib.parse import quote

import pytest

from bot.redaction import REDACTED, _base64_forms, redact, secret_forms
from tests.support.secret_shapes import gcp_private_key

PEM = gcp_private_key(random.Random("redaction-forms"))  # a random body, built at run time
PEM_HEADER, *PEM_BODY, _ = PEM.splitlines()


def _stable_chars(align: int, size: int) -> int:
    """How many base64 characters are made of the secret's bits alone, counted bit by bit:
    character k holds bits 6k..6k+5 of the message; the secret holds bits 8*align up to
    8*(align+size)."""
    first, stop = 8 * align, 8 * (align + size)
    return sum(1 for k in range((stop + 5) // 6) if 6 * k >= first and 6 * k + 6 <= stop)


@pytest.mark.parametrize("align", [0, 1, 2])
@pytest.mark.parametrize("size", [12, 13, 14, 40])
def test_base64_forms_are_every_stable_character_and_nothing_else(align: int, size: int) -> None:
    rng = random.Random(f"{align}-{size}")
    data = bytes(rng.randrange(256) for _ in range(size))
    every = list(_base64_forms(data))
    assert len(every) == 6  # standard and URL-safe alphabets at each of three alignments
    forms = every[2 * align : 2 * align + 2]
    for _ in range(20):  # any bytes before (this many modulo 3) and after the secret
        before = bytes(rng.randrange(256) for _ in range(align + 3 * rng.randrange(3)))
        after = bytes(rng.randrange(256) for _ in range(rng.randrange(5)))
        message = before + data + after
        encoded = {base64.b64encode(message).decode(), base64.urlsafe_b64encode(message).decode()}
        for form in forms:
            assert len(form) == _stable_chars(align, size)
            assert any(form in blob for blob in encoded), (form, encoded)


def test_a_pem_body_is_its_lines_between_the_markers() -> None:
    forms = secret_forms(PEM)
    assert "".join(PEM_BODY) in forms
    assert "\n".join(PEM_BODY) in forms
    assert all(line in forms for line in PEM_BODY)


def test_a_truncated_pem_block_of_one_body_line_still_counts() -> None:
    truncated = PEM_HEADER + "\n" + PEM_BODY[0]
    assert PEM_BODY[0] in secret_forms(truncated)


def test_a_pem_block_with_blank_lines_joins_its_body_without_them() -> None:
    spaced = PEM.replace(PEM_BODY[1], "\n" + PEM_BODY[1] + "\n")
    assert "\n".join(PEM_BODY) in secret_forms(spaced)


def test_lines_of_a_multi_line_secret_that_is_not_pem_are_not_separate_forms() -> None:
    secret = "first line of the secret\nsecond line of it"
    assert "first line of the secret" not in secret_forms(secret)


@pytest.mark.parametrize("joiner", ["", "\n", "\r\n", "\\n", "\\r\\n"])
def test_a_pem_body_echoed_with_any_line_break_becomes_one_marker(joiner: str) -> None:
    echo = joiner.join(PEM_BODY)
    assert redact(f"bad key <{echo}> given", [PEM]) == f"bad key <{REDACTED}> given"


SPECIAL = 'q"W\\e/rTy7 uI9o"P\\a/z'
"""A secret with every character JSON, slash and URL escaping change (quote, backslash, slash,
space) near both ends."""


@pytest.mark.parametrize(
    "echo",
    [
        json.dumps(SPECIAL)[1:-1],  # inside a JSON string
        json.dumps(SPECIAL)[1:-1].replace("/", "\\/"),  # and with slashes escaped
        quote(SPECIAL, safe=""),  # a query parameter
        quote(SPECIAL),  # a path (slashes kept)
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(SPECIAL, safe="")),
    ],
    ids=["json", "json-slash", "query", "path", "lower-percent"],
)
def test_an_escaped_echo_becomes_exactly_one_marker(echo: str) -> None:
    assert redact(f'{{"msg": "{echo}"}}', [SPECIAL]) == f'{{"msg": "{REDACTED}"}}'


def test_an_empty_secret_before_a_real_one_does_not_end_the_list() -> None:
    secret = "Real-secret-value-0001"
    assert redact(f"x {secret} y", ["", "abc", secret]) == f"x {REDACTED} y"


def test_a_short_secret_inside_a_longer_short_one_sorting_before_it() -> None:
    """Longest first by length, not by alphabet: "wxyz" sorts after "awxyzq"."""
    assert redact("id awxyzq end", ["wxyz", "awxyzq"]) == f"id {REDACTED} end"


def test_patterns_keep_the_name_before_the_value() -> None:
    assert redact("Authorization: Bearer abc.def-ghi") == f"Authorization: Bearer {REDACTED}"
    assert redact("auth basic dXNlcjpwYXNz") == f"auth basic {REDACTED}"
    assert redact('{"private_key": "c2VjcmV0LXZhbHVl"}') == f'{{"private_key": "{REDACTED}}}'
    assert redact("password=hunter22 next") == f"password={REDACTED} next"


def test_a_short_secret_echoed_as_a_query_parameter_is_removed_whole() -> None:
    """Too short for windows: only the exact form matches, with both "/" and " " encoded."""
    secret = "a/ bc"
    assert redact(f"x {quote(secret, safe='')} y", [secret]) == f"x {REDACTED} y"
