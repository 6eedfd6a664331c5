"""The one typed codec for Slack ``value`` and ``private_metadata`` strings.

Every piece of data that rides along with an interaction is one of the frozen dataclasses
below. `encode` turns it into compact JSON with a short type tag (``{"t":"s","scan_id":42}``);
`decode` checks the tag, the field names and every field's type and raises
`bot.errors.InputError` on anything tampered, stale or malformed. Size limits are enforced when
encoding, so an oversized payload is a bug caught in tests, not a Slack API error in production.

Nothing here may carry a secret: field names that look like one are refused at import time,
and credentials never have a dataclass here.

Slack identifiers of the objects (project, scan, connector and entry ids) are database ids:
whoever acts on a decoded value must still check that the caller may see and change it.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from bot import providers
from bot.domain import DB_ID_MAX, ScanStatus
from bot.errors import InputError

OPTION_VALUE_MAX = 75
"""Option values (overflow menus, selects): Slack allows 150, we keep to the safe side."""
BUTTON_VALUE_MAX = 2000
"""Button values."""
PRIVATE_METADATA_MAX = 3000
"""A view's private_metadata."""

_MAX_STR = 255  # longest string field accepted on decode (channel ids, timestamps)
_MAX_INT = DB_ID_MAX  # ids and page numbers: what the database's integer columns hold
_MAX_SET = 500  # most members of a decoded set
_TAG_KEY = "t"
_SECRETISH = re.compile(r"secret|password|passwd|private|token|credential|key", re.I)

T = TypeVar("T")


class CodecLimitError(ValueError):
    """An encoded value would exceed the Slack limit of the place it is meant for."""


_PROVIDER = "registered provider"
ProviderName = Annotated[str, _PROVIDER]
"""A provider name that decodes only if that provider is registered."""


class PageKind(StrEnum):
    """Which paged list a `PageRef` belongs to."""

    PROJECTS = "projects"
    HISTORY = "history"
    CONNECTORS = "connectors"


class MenuChoice(StrEnum):
    """The options of the overflow menu on a history row."""

    ERROR = "error"  # open the error log (Partially Completed / Failed only)
    FINDINGS = "findings"  # findings summary of that scan
    RERUN = "rerun"  # run the project again


_BY_TAG: dict[str, type[Any]] = {}
_TAG_OF: dict[type[Any], str] = {}


def _register(tag: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: give a codec dataclass its short, unique type tag."""

    def wrap(cls: type[T]) -> type[T]:
        if tag in _BY_TAG:
            raise TypeError(f"codec tag {tag!r} is used twice")
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name == _TAG_KEY or _SECRETISH.search(f.name):
                raise TypeError(f"codec field {cls.__name__}.{f.name} is not allowed")
        _BY_TAG[tag] = cls
        _TAG_OF[cls] = tag
        return cls

    return wrap


# --------------------------------------------------------------------------------------------
# The context types
# --------------------------------------------------------------------------------------------


@_register("p")
@dataclass(frozen=True)
class ProjectRef:
    """A project (Run, History, Findings of the latest scan)."""

    project_id: int


@_register("s")
@dataclass(frozen=True)
class ScanRef:
    """A scan (Stop, Re-run, open its error log or findings)."""

    scan_id: int


@_register("c")
@dataclass(frozen=True)
class ConnectorRef:
    """A connector (Replace, Validate, Delete, re-run its projects)."""

    connector_id: int


@_register("e")
@dataclass(frozen=True)
class EntryRef:
    """One error-log entry (expand / collapse); the scan is in the modal's ErrorLogState."""

    entry_id: int


@_register("f")
@dataclass(frozen=True)
class FilterRef:
    """An option of the projects status filter; ``None`` means every status."""

    status: ScanStatus | None = None


@_register("pg")
@dataclass(frozen=True)
class PageRef:
    """A page of a paged list (Prev / Next / Refresh).

    `page` is 0-based. `status_filter` applies to the projects list, `project_id` to a
    project's history.
    """

    kind: PageKind
    page: int = 0
    status_filter: ScanStatus | None = None
    project_id: int | None = None


@_register("r")
@dataclass(frozen=True)
class RowState:
    """The Jobs button of one projects row: which row, and how the list currently looks.

    The handler toggles `project_id` in `expanded` and re-renders the same page in place.
    """

    project_id: int
    page: int = 0
    status_filter: ScanStatus | None = None
    expanded: frozenset[int] = frozenset()

    def toggled(self) -> frozenset[int]:
        """The expanded rows after pressing this button (expand, or collapse if open)."""
        return self.expanded ^ {self.project_id}


@_register("h")
@dataclass(frozen=True)
class HistoryChoice:
    """An option of a history row's overflow menu."""

    choice: MenuChoice
    scan_id: int


@_register("el")
@dataclass(frozen=True)
class ErrorLogState:
    """The error log modal's private_metadata: the scan and the expanded entries."""

    scan_id: int
    expanded: frozenset[int] = frozenset()

    def with_expanded(self, entry_id: int, expanded: bool = True) -> ErrorLogState:
        """This state with one entry expanded (or collapsed)."""
        ids = self.expanded | {entry_id} if expanded else self.expanded - {entry_id}
        return dataclasses.replace(self, expanded=ids)


@_register("cf")
@dataclass(frozen=True)
class CreateFlowState:
    """The new-connector modal's private_metadata.

    `provider` is the provider whose fields are shown (None until one is chosen);
    `channel_id` is where the result is reported; `attempts` counts failed validations.
    """

    provider: ProviderName | None = None
    channel_id: str | None = None
    attempts: int = 0


@_register("rf")
@dataclass(frozen=True)
class ReplaceFlowState:
    """The guided replacement's private_metadata, carried through every step.

    `connector_id`/`provider` name the connector being replaced; `channel_id`/`thread_ts` say
    where progress of the re-run is reported; `scan_id` is the failed scan the flow started
    from (if any); `attempts` counts failed validations (two or more → offer Contact support).
    """

    connector_id: int
    provider: ProviderName
    channel_id: str | None = None
    thread_ts: str | None = None
    scan_id: int | None = None
    attempts: int = 0


@_register("sp")
@dataclass(frozen=True)
class SupportRef:
    """What a support request is about: the Contact support button and the modal's metadata."""

    scan_id: int | None = None
    connector_id: int | None = None
    entry_id: int | None = None
    channel_id: str | None = None


@_register("sub")
@dataclass(frozen=True)
class SubscriptionRef:
    """A channel subscription (Remove in `/cspm subscriptions`)."""

    subscription_id: int


@_register("fi")
@dataclass(frozen=True)
class FindingRef:
    """A finding (Mute; the mute modal's metadata).

    From the findings view, `scan_id` and `page` name the page the Mute button was on, and
    the mute modal's metadata adds where that view is, so it is redrawn once the finding is
    muted: `view_id` (a findings modal), or `channel_id` with `message_ts` (a posted message)
    or `response_url` (an ephemeral reply).
    """

    finding_id: int
    scan_id: int | None = None
    page: int = 0
    view_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    response_url: str | None = None


@_register("fp")
@dataclass(frozen=True)
class FindingsPageRef:
    """A page of a scan's findings view (Prev / Next; the findings modal's metadata)."""

    scan_id: int
    page: int = 0


@_register("mu")
@dataclass(frozen=True)
class MuteRef:
    """A finding mute (Unmute in `/cspm mutes`)."""

    mute_id: int


CodecType = (
    ProjectRef
    | ScanRef
    | ConnectorRef
    | EntryRef
    | FilterRef
    | PageRef
    | RowState
    | HistoryChoice
    | ErrorLogState
    | CreateFlowState
    | ReplaceFlowState
    | SupportRef
    | SubscriptionRef
    | FindingRef
    | FindingsPageRef
    | MuteRef
)
"""Every type the codec carries."""


# --------------------------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, StrEnum):
        return str(value)
    return value


def encode(obj: Any, limit: int = BUTTON_VALUE_MAX) -> str:
    """Encode a codec dataclass as compact JSON, raising `CodecLimitError` above `limit`.

    Fields equal to their default are left out, so values stay short.
    """
    tag = _TAG_OF.get(type(obj))
    if tag is None:
        raise TypeError(f"{type(obj).__name__} is not a codec type")
    payload: dict[str, Any] = {_TAG_KEY: tag}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        payload[f.name] = _to_json(value)
    text = json.dumps(payload, separators=(",", ":"), sort_keys=False)
    if len(text) > limit:
        raise CodecLimitError(
            f"encoded {type(obj).__name__} is {len(text)} characters, the limit is {limit}"
        )
    return text


def encode_option(obj: Any) -> str:
    """Encode for an option value (overflow menus, selects): at most 75 characters."""
    return encode(obj, OPTION_VALUE_MAX)


def encode_metadata(obj: Any) -> str:
    """Encode for a view's private_metadata: at most 3000 characters."""
    return encode(obj, PRIVATE_METADATA_MAX)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


class _Malformed(Exception):
    """Internal: why a payload was refused (becomes an InputError)."""


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` (parsed JSON) against the annotation `tp` and convert it."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *marks = typing.get_args(tp)
        value = _coerce(value, base, where)
        if _PROVIDER in marks and value not in providers.names():
            raise _Malformed(f"{where} is not a known provider")
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) != 1:
            raise TypeError(f"unsupported annotation {tp!r}")
        return _coerce(value, non_none[0], where)
    if origin is frozenset:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list) or len(value) > _MAX_SET:
            raise _Malformed(f"{where} must be a list of at most {_MAX_SET} items")
        return frozenset(_coerce(v, item_tp, where) for v in value)
    if isinstance(tp, type) and issubclass(tp, StrEnum):
        if not isinstance(value, str):
            raise _Malformed(f"{where} must be a string")
        try:
            return tp(value)
        except ValueError:
            raise _Malformed(f"{where} has an unknown value") from None
    if tp is bool:
        if not isinstance(value, bool):
            raise _Malformed(f"{where} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_INT:
            raise _Malformed(f"{where} must be a non-negative integer")
        return value
    if tp is str:
        if not isinstance(value, str) or len(value) > _MAX_STR:
            raise _Malformed(f"{where} must be a string of at most {_MAX_STR} characters")
        return value
    raise TypeError(f"unsupported annotation {tp!r}")


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls, include_extras=True)
    return _HINTS[cls]


def _decode(text: str) -> Any:
    if not isinstance(text, str) or not text:
        raise _Malformed("empty")
    if len(text) > PRIVATE_METADATA_MAX:
        raise _Malformed("too long")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise _Malformed("not JSON") from None
    if not isinstance(payload, dict):
        raise _Malformed("not an object")
    tag = payload.pop(_TAG_KEY, None)
    cls = _BY_TAG.get(tag) if isinstance(tag, str) else None
    if cls is None:
        raise _Malformed("unknown type tag")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(payload) - set(fields)
    if unknown:
        raise _Malformed(f"unknown field {sorted(unknown)[0]!r}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name in payload:
            kwargs[name] = _coerce(payload[name], hints[name], name)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise _Malformed(f"missing field {name!r}")
    return cls(**kwargs)


def decode_any(text: str) -> CodecType:
    """Decode whatever codec type `text` holds; `InputError` if it is not a valid one."""
    try:
        return typing.cast(CodecType, _decode(text))
    except _Malformed as exc:
        raise InputError(
            f"This button or form carries data the bot cannot read ({exc}). "
            "Please run the command again."
        ) from None


def decode(text: str, expected_type: type[T]) -> T:
    """Decode `text`, which must hold an `expected_type`; `InputError` otherwise."""
    obj = decode_any(text)
    if not isinstance(obj, expected_type):
        raise InputError(
            "This button or form carries data of the wrong kind. Please run the command again."
        )
    return obj
