"""The one redaction function: property-based proof that secrets never survive."""

from __future__ import annotations

import base64
import json
import random
import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.redaction import REDACTED, redact, redact_one_line
from tests.support.secret_shapes import gcp_private_key

B64 = string.ascii_letters + string.digits + "/+"
aws_secret = st.text(alphabet=B64, min_size=40, max_size=40)
aws_session_token = st.text(alphabet=B64 + "=", min_size=60, max_size=200).map(lambda s: "IQoJ" + s)
azure_secret = st.tuples(
    st.text(alphabet=string.ascii_letters + string.digits, min_size=3, max_size=3),
    st.integers(0, 9),
    st.text(alphabet=string.ascii_letters + string.digits + "_~.-", min_size=31, max_size=34),
).map(lambda t: f"{t[0]}{t[1]}Q~{t[2]}")
jwt = st.tuples(
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=10, max_size=60),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=10, max_size=200),
    st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=10, max_size=80),
).map(lambda t: f"eyJ{t[0]}.{t[1]}.{t[2]}")
# Arbitrary connector-specific secrets: anything printable of a useful length.
own_secret = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=8, max_size=64
).filter(
    # a secret that is part of the marker itself cannot be told from the marker
    lambda s: s.strip() == s and len(set(s)) > 3 and s not in REDACTED
)
prose = st.text(alphabet=string.ascii_letters + string.digits + " .,:;-_()[]{}'\"\n", max_size=200)


def embed(before: str, secret: str, after: str, style: int, glued: bool = True) -> str:
    sep = "" if glued else " "
    forms = [
        f"{before}{sep}{secret}{sep}{after}",
        f"{before} secret={secret} {after}",
        f'{before} {{"client_secret": "{secret}"}} {after}',
        f"{before}\nAuthorization: Bearer {secret}\n{after}",
        f"{before} {json.dumps({'detail': secret})} {after}",
    ]
    return forms[style % len(forms)]


@settings(max_examples=300)
@given(prose, aws_secret, prose, st.integers(0, 4))
def test_aws_secret_key_never_survives_even_unknown(
    before: str, secret: str, after: str, style: int
) -> None:
    # Without a hint, a key is recognised by its shape, so it must stand apart from other text.
    text = embed(before, secret, after, style, glued=False)
    assert secret not in redact(text)


@settings(max_examples=200)
@given(prose, st.one_of(aws_session_token, azure_secret, jwt), prose, st.integers(0, 4))
def test_structured_tokens_never_survive(before: str, secret: str, after: str, style: int) -> None:
    out = redact(embed(before, secret, after, style, glued=False))
    assert secret not in out


@settings(max_examples=300)
@given(prose, own_secret, prose, st.integers(0, 4))
def test_connector_own_secret_never_survives(
    before: str, secret: str, after: str, style: int
) -> None:
    text = embed(before, secret, after, style)
    out = redact(text, [secret])
    assert secret not in out
    assert secret not in redact_one_line(text, [secret])


def test_private_key_pem_block_is_removed_whole() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    body_line = pem.splitlines()[3]
    for text in (
        f"bad key: {pem}",
        json.dumps({"private_key": pem, "x": 1}),
        "truncated " + pem[:200],
    ):
        out = redact(text)
        assert body_line not in out
        assert "BEGIN PRIVATE KEY" not in out or REDACTED in out


def test_ordinary_error_text_is_kept() -> None:
    text = (
        "User: arn:aws:iam::123456789012:user/scanner is not authorized to perform: "
        "iam:GetAccountSummary on resource: *"
    )
    assert redact(text) == text


def test_generic_key_and_token_assignments_are_redacted() -> None:
    secret = "a" * 20 + "B/" * 10
    assert secret not in redact(f"key={secret}")
    assert "abc.def-ghi" not in redact("token=abc.def-ghi")
    assert redact("The specified key does not exist.") == "The specified key does not exist."


def test_one_line_folds_whitespace_and_cuts_at_the_limit() -> None:
    assert redact_one_line("  a\n\tb   c \r\n") == "a b c"
    assert redact_one_line("x" * 10, limit=10) == "x" * 10  # exactly the limit: kept whole
    assert redact_one_line("x" * 11, limit=10) == "x" * 9 + "…"  # one over: cut, 10 long
    assert len(redact_one_line("word " * 200)) == 300  # the default limit
    secret = "Zq8-very-private-token-value"
    assert redact_one_line(f"token\n{secret}\nend", [secret]) == f"token {REDACTED} end"


def test_every_secret_given_is_removed_not_only_the_last() -> None:
    first, second = "first-Secret-value-0001", "second-Secret-value-0002"
    out = redact(f"a={first} b={second}", [first, second])
    assert out == f"a={REDACTED} b={REDACTED}"


def test_secrets_of_four_characters_count_and_shorter_ones_do_not() -> None:
    assert redact("pin abcd here", ["abcd"]) == f"pin {REDACTED} here"
    assert redact("pin xyz here", ["xyz"]) == "pin xyz here"
    assert redact("code eHl6 here", ["xyz"]) == "code eHl6 here"  # nor its base64 form


def test_short_secrets_are_removed_longest_first() -> None:
    """A short secret that is the start of a longer one must not leave the rest behind."""
    assert redact("key abcdefgh end", ["abcd", "abcdefgh"]) == f"key {REDACTED} end"


def test_adjacent_pieces_of_secrets_become_one_marker_and_text_between_stays() -> None:
    x, y = "Xq7-first-piece", "Yz9-second-piece"
    assert redact(x + y, [x, y]) == REDACTED
    assert redact(f"{x} kept {y}", [x, y]) == f"{REDACTED} kept {REDACTED}"


def test_a_lowercase_percent_encoded_echo_is_removed() -> None:
    secret = "ab/cd+ef=gh/ij+kl=mn"
    lower = quote(secret, safe="").lower()
    out = redact(f"echo {lower} end", [secret])
    assert all(lower[i : i + 12] not in out for i in range(len(lower) - 11)), out


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab"])
def test_a_secret_base64_encoded_inside_a_larger_blob_is_removed_at_every_alignment(
    prefix: bytes,
) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        blob = encode(prefix + secret.encode() + b"|trailing context").decode()
        out = redact(f"body={blob}", [secret])
        first = (len(prefix) * 4 + 2) // 3 + 1  # the characters made of the secret alone
        last = ((len(prefix) + len(secret)) * 4) // 3 - 1
        assert all(blob[i : i + 12] not in out for i in range(first, last - 12)), out


def test_a_pem_key_is_removed_line_by_line() -> None:
    pem = gcp_private_key(random.Random("pem-lines"))  # a random body, built at run time
    header, *body, _ = pem.splitlines()
    out = redact(f"line one {body[0]}\nline two {body[1]}", [pem])
    assert body[0] not in out and body[1] not in out
    # a single line is not a PEM block: the header alone is redacted once, as a pattern
    assert redact(f"say {header} here", [header]).count(REDACTED) == 1
