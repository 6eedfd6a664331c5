"""The typed codec: compact round trips, size limits, and clear errors on tampered input."""

from __future__ import annotations

import contextlib
import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import codec, providers
from bot.codec import (
    BUTTON_VALUE_MAX,
    OPTION_VALUE_MAX,
    PRIVATE_METADATA_MAX,
    CodecLimitError,
    ConnectorRef,
    CreateFlowState,
    EntryRef,
    ErrorLogState,
    FilterRef,
    HistoryChoice,
    MenuChoice,
    PageKind,
    PageRef,
    ProjectRef,
    ReplaceFlowState,
    RowState,
    ScanRef,
    SupportRef,
    decode,
    decode_any,
    encode,
    encode_metadata,
    encode_option,
)
from bot.domain import DB_ID_MAX, ScanStatus
from bot.errors import InputError

ids_ = st.integers(min_value=0, max_value=DB_ID_MAX)
small_ids = st.integers(min_value=1, max_value=DB_ID_MAX)
opt_status = st.none() | st.sampled_from(ScanStatus)
slack_ids = st.none() | st.from_regex(r"[CDG][A-Z0-9]{8,11}", fullmatch=True)
id_sets = st.frozensets(small_ids, max_size=40)

ANY_CODEC = st.one_of(
    st.builds(ProjectRef, ids_),
    st.builds(ScanRef, ids_),
    st.builds(ConnectorRef, ids_),
    st.builds(EntryRef, ids_),
    st.builds(FilterRef, opt_status),
    st.builds(PageRef, st.sampled_from(PageKind), st.integers(0, 10**6), opt_status,
              st.none() | small_ids),
    st.builds(RowState, small_ids, st.integers(0, 10**6), opt_status, id_sets),
    st.builds(HistoryChoice, st.sampled_from(MenuChoice), ids_),
    st.builds(ErrorLogState, small_ids, id_sets),
    st.builds(CreateFlowState, st.none() | st.sampled_from(providers.names()), slack_ids,
              st.integers(0, 100)),
    st.builds(ReplaceFlowState, small_ids, st.sampled_from(providers.names()), slack_ids,
              st.none() | st.from_regex(r"\d{10}\.\d{6}", fullmatch=True),
              st.none() | small_ids, st.integers(0, 100)),
    st.builds(SupportRef, st.none() | small_ids, st.none() | small_ids, st.none() | small_ids,
              slack_ids),
)  # fmt: skip


@given(ANY_CODEC)
def test_every_type_round_trips(obj: object) -> None:
    text = encode_metadata(obj)
    assert decode(text, type(obj)) == obj
    assert decode_any(text) == obj
    assert text == text.strip() and "\n" not in text


@given(st.builds(HistoryChoice, st.sampled_from(MenuChoice), ids_))
def test_history_menu_options_fit_an_option_value(obj: HistoryChoice) -> None:
    assert len(encode_option(obj)) <= OPTION_VALUE_MAX


@given(st.builds(FilterRef, opt_status))
def test_status_filter_options_fit_an_option_value(obj: FilterRef) -> None:
    assert len(encode_option(obj)) <= OPTION_VALUE_MAX


def test_encoding_is_compact_and_drops_defaults() -> None:
    assert encode(ScanRef(42)) == '{"t":"s","scan_id":42}'
    assert encode(PageRef(PageKind.PROJECTS)) == '{"t":"pg","kind":"projects"}'
    assert json.loads(encode(RowState(7, expanded=frozenset({9, 3})))) == {
        "t": "r",
        "project_id": 7,
        "expanded": [3, 9],
    }


def test_size_limits_are_enforced_at_encode_time() -> None:
    big = ErrorLogState(1, frozenset(range(10**6, 10**6 + 200)))  # ~1600 characters
    with pytest.raises(CodecLimitError, match="limit is 75"):
        encode_option(big)
    encode(big)  # fits a button value
    bigger = ErrorLogState(1, frozenset(range(10**9, 10**9 + 250)))  # ~2750 characters
    with pytest.raises(CodecLimitError, match=f"limit is {BUTTON_VALUE_MAX}"):
        encode(bigger)
    encode_metadata(bigger)  # fits private_metadata
    with pytest.raises(CodecLimitError, match=f"limit is {PRIVATE_METADATA_MAX}"):
        encode_metadata(ErrorLogState(1, frozenset(range(10**9, 10**9 + 300))))


def test_only_codec_types_are_encoded() -> None:
    with pytest.raises(TypeError):
        encode({"scan_id": 1})


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        "42",
        '"s"',
        "{}",
        '{"t":"zz","scan_id":1}',
        '{"t":7}',
        '{"t":"s"}',
        '{"t":"s","scan_id":"1"}',
        '{"t":"s","scan_id":1.5}',
        '{"t":"s","scan_id":true}',
        '{"t":"s","scan_id":-1}',
        '{"t":"s","scan_id":null}',
        '{"t":"s","scan_id":1,"admin":true}',
        '{"t":"s","scan_id":99999999999999999999999}',
        '{"t":"f","status":"broken"}',
        '{"t":"f","status":3}',
        '{"t":"r","project_id":1,"expanded":{"a":1}}',
        '{"t":"r","project_id":1,"expanded":["1"]}',
        '{"t":"rf","connector_id":1,"provider":"oracle"}',
        '{"t":"rf","connector_id":1,"provider":"aws","channel_id":"' + "C" * 300 + '"}',
        '{"t":"el","scan_id":1,"expanded":' + json.dumps(list(range(501))) + "}",
        "{" * 5000,
        '{"t":"s","scan_id":1}' + " " * 3000,
    ],
)
def test_malformed_or_tampered_input_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError, match="run the command again"):
        decode_any(text)


def test_the_wrong_type_is_an_input_error() -> None:
    with pytest.raises(InputError, match="wrong kind"):
        decode(encode(ProjectRef(1)), ScanRef)


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_anything_but_input_error(text: str) -> None:
    with contextlib.suppress(InputError):
        decode_any(text)


@given(st.dictionaries(st.text(max_size=8), st.none() | st.integers() | st.text(max_size=8)))
def test_arbitrary_objects_never_raise_anything_but_input_error(payload: dict) -> None:
    for tag in ("s", "rf", "el", "pg", "r"):
        with contextlib.suppress(InputError):
            decode_any(json.dumps({**payload, "t": tag}))


def test_no_codec_type_has_a_field_that_could_hold_a_secret() -> None:
    for cls in codec._BY_TAG.values():
        for f in dataclasses.fields(cls):
            assert not codec._SECRETISH.search(f.name), f"{cls.__name__}.{f.name}"


def test_secret_looking_fields_are_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Leaky:
        client_secret: str

    with pytest.raises(TypeError, match="not allowed"):
        codec._register("leaky")(Leaky)


def test_tags_are_unique() -> None:
    with pytest.raises(TypeError, match="used twice"):
        codec._register("s")(dataclasses.make_dataclass("Again", [("x", int)], frozen=True))


def test_row_state_toggles_its_own_row() -> None:
    assert RowState(5, expanded=frozenset({1})).toggled() == {1, 5}
    assert RowState(5, expanded=frozenset({1, 5})).toggled() == {1}


def test_error_log_state_expands_and_collapses() -> None:
    state = ErrorLogState(9).with_expanded(3).with_expanded(4)
    assert state.expanded == {3, 4}
    assert state.with_expanded(3, expanded=False).expanded == {4}
    assert state.scan_id == 9


@pytest.mark.parametrize("value", [DB_ID_MAX + 1, 10**24, -1])
def test_ids_beyond_the_database_range_are_refused(value: int) -> None:
    with pytest.raises(InputError, match="non-negative integer"):
        decode(f'{{"t":"s","scan_id":{value}}}', ScanRef)
    with pytest.raises(InputError):
        decode(f'{{"t":"pg","kind":"projects","page":{value}}}', PageRef)


READ = "This button or form carries data the bot cannot read ({}). Please run the command again."


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ('{"t":"s","scan_id":1}' + " " * 3000, "too long"),
        ("not json", "not JSON"),
        ("[" * 2000, "not JSON"),
        ("[]", "not an object"),
        ("{}", "unknown type tag"),
        ('{"t":7}', "unknown type tag"),
        ('{"t":"zz","scan_id":1}', "unknown type tag"),
        ('{"t":"s","scan_id":1,"admin":true,"zed":1}', "unknown field 'admin'"),
        ('{"t":"s"}', "missing field 'scan_id'"),
        ('{"t":"s","scan_id":"1"}', "scan_id must be a non-negative integer"),
        ('{"t":"s","scan_id":true}', "scan_id must be a non-negative integer"),
        ('{"t":"s","scan_id":-1}', "scan_id must be a non-negative integer"),
        ('{"t":"s","scan_id":9223372036854775808}', "scan_id must be a non-negative integer"),
        ('{"t":"f","status":"broken"}', "status has an unknown value"),
        ('{"t":"f","status":3}', "status must be a string"),
        ('{"t":"h","choice":"error"}', "missing field 'scan_id'"),
        (
            '{"t":"r","project_id":1,"expanded":{"a":1}}',
            "expanded must be a list of at most 500 items",
        ),
        (
            '{"t":"el","scan_id":1,"expanded":' + json.dumps(list(range(501))) + "}",
            "expanded must be a list of at most 500 items",
        ),
        ('{"t":"r","project_id":1,"expanded":["1"]}', "expanded must be a non-negative integer"),
        ('{"t":"rf","connector_id":1,"provider":"oracle"}', "provider is not a known provider"),
        (
            '{"t":"rf","connector_id":1,"provider":5}',
            "provider must be a string of at most 255 characters",
        ),
        (
            '{"t":"sp","channel_id":"' + "C" * 256 + '"}',
            "channel_id must be a string of at most 255 characters",
        ),
    ],
)
def test_the_refusal_says_what_was_wrong(text: str, reason: str) -> None:
    with pytest.raises(InputError) as refused:
        decode_any(text)
    assert str(refused.value) == READ.format(reason)


def test_the_largest_values_still_decode() -> None:
    assert decode(f'{{"t":"s","scan_id":{DB_ID_MAX}}}', ScanRef) == ScanRef(DB_ID_MAX)
    assert decode('{"t":"s","scan_id":0}', ScanRef) == ScanRef(0)
    channel = "C" * 255
    assert decode(encode(SupportRef(channel_id=channel)), SupportRef).channel_id == channel
    full = ErrorLogState(1, frozenset(range(500)))
    assert decode(encode_metadata(full), ErrorLogState) == full
    at_limit = '{"t":"s","scan_id":1}' + " " * (PRIVATE_METADATA_MAX - 21)
    assert len(at_limit) == PRIVATE_METADATA_MAX and decode(at_limit, ScanRef) == ScanRef(1)


def test_the_wrong_kind_message() -> None:
    with pytest.raises(InputError) as refused:
        decode(encode(ProjectRef(1)), ScanRef)
    assert str(refused.value) == (
        "This button or form carries data of the wrong kind. Please run the command again."
    )


def test_encoding_of_every_field_kind() -> None:
    state = ReplaceFlowState(3, "aws", channel_id="C0123", scan_id=0, attempts=2)
    assert json.loads(encode(state)) == {
        "t": "rf", "connector_id": 3, "provider": "aws", "channel_id": "C0123", "scan_id": 0,
        "attempts": 2,
    }  # fmt: skip
    assert encode(FilterRef(ScanStatus.FAILED)) == '{"t":"f","status":"failed"}'
    assert encode(RowState(1, expanded=frozenset())) == '{"t":"r","project_id":1}'
    assert encode(HistoryChoice(MenuChoice.RERUN, 5)) == '{"t":"h","choice":"rerun","scan_id":5}'
    assert encode(ErrorLogState(2, frozenset({5, 1}))) == '{"t":"el","scan_id":2,"expanded":[1,5]}'
    limit = len(encode(ScanRef(12345)))
    assert encode(ScanRef(12345), limit) == '{"t":"s","scan_id":12345}'
    with pytest.raises(CodecLimitError, match=f"encoded ScanRef is {limit} characters"):
        encode(ScanRef(12345), limit - 1)
    with pytest.raises(TypeError, match="dict is not a codec type"):
        encode({"scan_id": 1})


def test_a_new_clean_type_registers_and_its_fields_are_checked() -> None:
    @dataclasses.dataclass(frozen=True)
    class Probe:
        probe_id: int
        loud: bool = False
        tags: tuple[str, ...] = ()

    try:
        assert codec._register("probe")(Probe) is Probe
        assert json.loads(encode(Probe(4, loud=True))) == {
            "t": "probe",
            "probe_id": 4,
            "loud": True,
        }
        assert decode('{"t":"probe","probe_id":4,"loud":true}', Probe) == Probe(4, True)
        assert encode(Probe(4, tags=("b", "a"))) == '{"t":"probe","probe_id":4,"tags":["b","a"]}'
        with pytest.raises(InputError, match=r"\(loud must be true or false\)"):
            decode('{"t":"probe","probe_id":4,"loud":1}', Probe)
    finally:
        codec._BY_TAG.pop("probe", None)
        codec._TAG_OF.pop(Probe, None)

    @dataclasses.dataclass(frozen=True)
    class Tagged:
        t: int

    with pytest.raises(TypeError, match=r"codec field Tagged\.t is not allowed"):
        codec._register("tagged")(Tagged)
    assert "tagged" not in codec._BY_TAG


def test_an_explicit_null_is_none_where_a_field_is_optional_and_refused_elsewhere() -> None:
    assert decode('{"t":"sp","scan_id":null,"channel_id":null}', SupportRef) == SupportRef()
    assert decode('{"t":"sp","scan_id":7,"channel_id":"C1"}', SupportRef) == SupportRef(
        scan_id=7, channel_id="C1"
    )
    for text, reason in [
        ('{"t":"s","scan_id":null}', "scan_id must be a non-negative integer"),
        ('{"t":"sp","scan_id":"7"}', "scan_id must be a non-negative integer"),
        ('{"t":"sp","channel_id":5}', "channel_id must be a string of at most 255 characters"),
    ]:
        with pytest.raises(InputError) as refused:
            decode_any(text)
        assert str(refused.value) == READ.format(reason)
