"""Secrets echoed back by a cloud in another form (encoded, escaped, cut) never survive."""

from __future__ import annotations

import base64
import random
from urllib.parse import quote, quote_plus

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.redaction import redact
from tests.support.secret_shapes import FRAGMENT, SHAPES, TRANSFORMS, echo, material, survivors

# Every secret shape is built once per seed, so 10,000 examples stay fast.
_SECRETS = {
    name: [build(random.Random(seed)) for seed in range(20)] for name, build in SHAPES.items()
}


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    shape=st.sampled_from(sorted(SHAPES)),
    index=st.integers(0, 19),
    transform=st.sampled_from(TRANSFORMS),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_window_of_a_transformed_echo_survives(
    shape: str, index: int, transform: str, seed: int
) -> None:
    secret = _SECRETS[shape][index]
    text = echo(secret, transform, random.Random(seed))
    out = redact(text, [secret])
    assert survivors(out, secret) == 0, (shape, transform, out)
    assert "[REDACTED]" in out


def test_every_twelve_character_window_of_each_secret_is_redacted() -> None:
    for build in SHAPES.values():
        secret = build(random.Random(7))
        body = material(secret)
        for start in range(0, len(body) - FRAGMENT + 1):
            window = body[start : start + FRAGMENT]
            out = redact(f"bad value '{window}' here", [secret])
            assert window not in out


def test_encoded_forms_are_redacted_and_ordinary_text_is_kept() -> None:
    secret = SHAPES["aws"](random.Random(3))
    for shown in (
        quote(secret, safe=""),
        quote_plus(secret),
        secret.replace("/", "\\/"),
        base64.b64encode(b"x" + secret.encode()).decode(),
        base64.urlsafe_b64encode(b"xy" + secret.encode()).decode(),
    ):
        out = redact(f"The request was rejected: {shown} (code 403).", [secret])
        assert out.startswith("The request was rejected: ")
        assert out.endswith(" (code 403).")
        assert survivors(out, secret) == 0
