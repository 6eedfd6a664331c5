"""Bad input to the command line, run in process through `bot.cli.main`: credential files that
are binary, Latin-1, UTF-16, start with a byte-order mark or nest JSON 100,000 deep; ids and
pages beyond the database's integer range; and property-based fuzzing of arguments and
credential files. Each gets a specific message and exit 2 (or 1 for a refused cloud call),
never a traceback or "unexpected failure"."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli import main
from bot.playground.aws import refused_url

HUGE = "999999999999999999999999"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings for an in-process `main()`; every cloud endpoint refuses connections."""
    nowhere = refused_url()
    monkeypatch.setenv("CSPM_ENCRYPTION_KEY", Fernet.generate_key().decode())
    for name in ("AWS_ENDPOINT_URL", "CSPM_AZURE_AUTHORITY_HOST", "CSPM_AZURE_ARM_URL",
                 "CSPM_GCP_TOKEN_URI", "CSPM_GCP_API_BASE"):  # fmt: skip
        monkeypatch.setenv(name, nowhere)
    monkeypatch.setenv("CSPM_CLOUD_MAX_ATTEMPTS", "1")
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:  # main() logs to the stderr of the test that ran it
            root.removeHandler(handler)


@pytest.fixture
def on_both(cli_env: None, database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CSPM_DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def on_sqlite(cli_env: None, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CSPM_DATABASE_URL", sqlite_url)
    return sqlite_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`cspm-bot argv…` in process: (exit code, stdout + stderr)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        code = exc.code if isinstance(exc.code, int) else 2
    out = capsys.readouterr()
    return code, out.out + out.err


def _assert_clear(code: int, output: str, what: object) -> None:
    assert "Traceback" not in output and "unexpected failure" not in output, (what, output)
    assert code in (0, 1, 2, 3, 4, 5), (what, code, output)


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("provider", ["aws", "gcp"])
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xff\xfe\x00\x01binary\x00\x9c", "is not UTF-8 text (byte 0xff at offset 0)"),
        ('{"access_key_id": "café"}'.encode("latin-1"), "is not UTF-8 text (byte 0xe9"),
        ('{"access_key_id": "x"}'.encode("utf-16"), "is not UTF-8 text"),
        (DEEP.encode(), "nested too deeply"),
        (b"\x00" * 2_000_000, "over 1024 KiB"),
    ],
)
def test_unreadable_credential_files_are_named(
    on_sqlite: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    provider: str,
    content: bytes,
    expected: str,
) -> None:
    path = tmp_path / "creds.json"
    path.write_bytes(content)
    code, output = run(capsys, "connector", "add", "--provider", provider, "--name", "x",
                       "--file", str(path))  # fmt: skip
    if provider == "gcp" and expected == "nested too deeply":
        expected = "too long for a service account key file"  # 200 KB: refused before parsing
    assert code == 2, output
    assert expected in output, output
    _assert_clear(code, output, content[:20])


def test_a_gcp_key_file_nested_too_deeply_is_named(
    on_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "key.json"
    path.write_text("[" * 1500 + "]" * 1500)
    code, output = run(capsys, "connector", "add", "--provider", "gcp", "--name", "g",
                       "--file", str(path))  # fmt: skip
    assert code == 2 and "nested too deeply" in output, output


def test_a_credentials_file_with_a_byte_order_mark_is_accepted(
    on_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "aws.json"
    creds = {"access_key_id": "AKIA" + "A" * 16, "secret_access_key": "s" * 40}
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(creds).encode())
    code, output = run(capsys, "connector", "add", "--provider", "aws", "--name", "x",
                       "--file", str(path))  # fmt: skip
    # read and parsed: it went on to the live validation (refused here), not a JSON error
    assert "not valid JSON" not in output and "not UTF-8" not in output, output
    assert "Validating the credentials against the cloud" in output
    assert code == 1
    _assert_clear(code, output, "bom")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("scan", "errors", HUGE), f"No scan #{HUGE}."),
        (("scan", "errors", "99999999999"), "No scan #99999999999."),
        (("scan", "errors", "#99999999999"), "No scan #99999999999."),
        (("scan", "status", "2147483648"), "No scan #2147483648."),
        (("scan", "findings", "99999999999"), "No scan #99999999999."),
        (("scan", "stop", HUGE), f"No scan #{HUGE}."),
        (("scan", "stop", "#99999999999"), "No scan #99999999999."),
        (("scan", "history", HUGE), f"No project named '{HUGE}'."),
        (("connector", "validate", "99999999999"), "No connector named '99999999999'."),
        (("project", "list", "--page", "99999999999999999999"), "--page 99999999999999999999 is"),
        (("project", "list", "--page", "2147483648"), "pages go up to 2147483647"),
        (("project", "list", "--per-page", "99999999999"), "at most 1000 rows a page"),
        (("scan", "history", "web", "--page", "99999999999999999999"), "out of range"),
    ],
)
def test_ids_and_pages_beyond_the_database_range(
    on_both: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    code, output = run(capsys, *argv)
    assert code == 2, output
    assert expected in output, output
    _assert_clear(code, output, argv)


# --- property-based fuzzing ---------------------------------------------------------------

_WORD = st.one_of(
    st.text(max_size=30),
    st.sampled_from([HUGE, "#" + HUGE, "99999999999", "2147483648", "-1", "0", "#0", "²",
                     "١٢", "web", "prod", "\u202e", "<!channel>", "x" * 300, "--json"]),
)  # fmt: skip
_NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.sampled_from(["1", "0", "-0", "1e3", "², ", "١٢", "0x10", " 7 ", ""]),
)
_ARGV = st.one_of(
    st.tuples(st.just("scan"), st.sampled_from(["errors", "status", "findings", "stop"]), _WORD),
    st.tuples(st.just("scan"), st.just("history"), _WORD, st.just("--page"), _NUMBER),
    st.tuples(
        st.just("project"),
        st.just("list"),
        st.just("--page"),
        _NUMBER,
        st.just("--per-page"),
        _NUMBER,
    ),
    st.tuples(st.just("project"), st.just("list"), st.just("--status"), _WORD),
    st.tuples(
        st.just("project"),
        st.just("add"),
        _WORD,
        st.just("--connector"),
        _WORD,
        st.just("--scope"),
        _WORD,
    ),
    st.tuples(st.just("connector"), st.sampled_from(["validate", "delete"]), _WORD),
    st.tuples(st.just("schedule"), st.just("set"), _WORD, _WORD),
    st.lists(_WORD, max_size=4).map(tuple),
)


@FUZZ
@given(argv=_ARGV)
def test_fuzz_cli_arguments(
    on_sqlite: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    if any("\x00" in a for a in argv):
        return  # a real command line cannot carry a NUL byte
    code, output = run(capsys, *argv)
    _assert_clear(code, output, argv)


_JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=20), inner, max_size=4)
    ),
    max_leaves=10,
)
_FIELDS = st.dictionaries(
    st.sampled_from(["access_key_id", "secret_access_key", "role_arn", "external_id",
                     "tenant_id", "client_id", "client_secret", "type", "project_id",
                     "private_key", "client_email", "private_key_id"]),
    _JSON_VALUE,
    max_size=6,
)  # fmt: skip
_CREDENTIAL_BYTES = st.one_of(
    st.binary(max_size=400),
    _FIELDS.map(lambda d: json.dumps(d).encode()),
    st.tuples(_FIELDS, st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"])).map(
        lambda t: json.dumps(t[0], ensure_ascii=False).encode(t[1], errors="replace")
    ),
    st.integers(min_value=900, max_value=5000).map(lambda n: ("[" * n + "]" * n).encode()),
    st.text(max_size=200).map(str.encode),
)


@FUZZ
@given(provider=st.sampled_from(["aws", "azure", "gcp"]), content=_CREDENTIAL_BYTES)
def test_fuzz_credential_files(
    on_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], provider: str,
    content: bytes,
) -> None:  # fmt: skip
    path = tmp_path / "creds.json"
    path.write_bytes(content)
    code, output = run(capsys, "connector", "add", "--provider", provider, "--name", "fuzz",
                       "--file", str(path))  # fmt: skip
    _assert_clear(code, output, content[:80])
    assert code in (1, 2), output
