"""Delivering messages to many channels within Slack's rate limits.

Slack allows about one chat.postMessage per second per channel and answers 429 with a
Retry-After header when a caller goes faster. Two layers keep us inside that:

- the `WebClient` carries a `PacedRateLimitHandler` (a `RateLimitErrorRetryHandler` whose wait
  is injectable) so any call that meets a 429 waits Retry-After and tries again;
- the `Deliverer` paces each channel (at most one message per `channel_interval` seconds),
  and when a 429 still comes through it pushes that channel's next slot past Retry-After and
  tries again, up to `max_attempts`. `send_all` works on several channels in parallel, so one
  throttled channel does not hold the others up, while each channel keeps its order.

The clock and the sleep are injected: tests run 429 storms without waiting.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.scheduling.clock import Now, Sleep, system_now, system_sleep

log = logging.getLogger(__name__)

POST = "chat.postMessage"
HELD = "held: an earlier message to this channel is not delivered yet"
UPDATE = "chat.update"

# Errors that no retry will fix: give up on the message at once.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
        "restricted_action",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
    }
)


def retry_after_seconds(headers: Mapping[str, Any] | None, default: float = 1.0) -> float:
    """The Retry-After of a response (header values may be strings or lists of strings)."""
    for name, value in (headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(str(raw).strip()))
            except ValueError:
                return default
    return default


class PacedRateLimitHandler(RateLimitErrorRetryHandler):  # type: ignore[misc]
    """Retry 429 answers after exactly Retry-After seconds, waiting with an injected sleep."""

    def __init__(self, max_retry_count: int = 2, sleep: Sleep = system_sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep
        self.waited: list[float] = []

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """Wait Retry-After (1 s when absent), then let the client try again."""
        if response is None:
            raise error or RuntimeError("rate limit retry without a response")
        state.next_attempt_requested = True
        duration = retry_after_seconds(response.headers)
        self.waited.append(duration)
        self._sleep(duration)
        state.increment_current_attempt()


def ensure_rate_limit_handler(client: WebClient, sleep: Sleep = system_sleep) -> WebClient:
    """Give a client built elsewhere a 429 handler if it has none (slack_sdk adds none)."""
    if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(PacedRateLimitHandler(2, sleep))
    return client


@dataclass(frozen=True)
class Outgoing:
    """One message to send: a new post (optionally in a thread) or an update of `ts`."""

    channel: str
    payload: Mapping[str, Any]  # text + blocks (+ thread_ts / reply_broadcast for posts)
    ts: str | None = None  # set: chat.update of that message
    key: str = ""  # the caller's correlation id, handed back in the result

    @property
    def method(self) -> str:
        """chat.update when `ts` is set, else chat.postMessage."""
        return UPDATE if self.ts else POST


@dataclass(frozen=True)
class Delivered:
    """What happened to one `Outgoing`."""

    key: str
    channel: str
    ok: bool
    ts: str | None = None
    error: str | None = None
    permanent: bool = False  # the error will not go away by retrying
    attempts: int = 0


@dataclass
class _Slots:
    next_at: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Deliverer:
    """Sends messages through a WebClient, paced per channel, patient with 429s."""

    def __init__(
        self,
        client: WebClient,
        *,
        now: Now = system_now,
        sleep: Sleep = system_sleep,
        channel_interval: float = 1.0,
        max_attempts: int = 6,
        workers: int = 4,
    ) -> None:
        self.client = client
        self._now = now
        self._sleep = sleep
        self.channel_interval = channel_interval
        self.max_attempts = max_attempts
        self.workers = workers
        self._slots = _Slots()

    def _clock(self) -> float:
        return self._now().timestamp()

    def _reserve(self, channel: str) -> float:
        """Book the channel's next slot; returns how long to wait for it."""
        with self._slots.lock:
            now = self._clock()
            start = max(now, self._slots.next_at.get(channel, now))
            self._slots.next_at[channel] = start + self.channel_interval
            return start - now

    def _push_back(self, channel: str, seconds: float) -> None:
        with self._slots.lock:
            later = self._clock() + seconds
            if self._slots.next_at.get(channel, 0.0) < later:
                self._slots.next_at[channel] = later

    def _call(self, item: Outgoing) -> Any:
        body = dict(item.payload)
        if item.ts:
            return self.client.chat_update(channel=item.channel, ts=item.ts, **body)
        return self.client.chat_postMessage(channel=item.channel, **body)

    def send(self, item: Outgoing) -> Delivered:
        """Send one message, waiting for its channel's slot and through 429s."""
        error = "not sent"
        for attempt in range(1, self.max_attempts + 1):
            wait = self._reserve(item.channel)
            if wait > 0:
                self._sleep(wait)
            try:
                response = self._call(item)
            except SlackApiError as exc:
                status = getattr(exc.response, "status_code", 0)
                error = str(exc.response.get("error", "") or f"http_{status}")
                if status == 429 or error == "ratelimited":
                    delay = retry_after_seconds(getattr(exc.response, "headers", None))
                    log.info("429 on %s, retrying in %.1fs", item.channel, delay)
                    self._push_back(item.channel, delay)
                    continue
                if error in PERMANENT_ERRORS or 400 <= status < 500:
                    return Delivered(item.key, item.channel, False, None, error, True, attempt)
                self._push_back(item.channel, min(30.0, 2.0**attempt))
                continue
            except OSError as exc:  # connection errors the client's own retries did not fix
                error = f"connection: {exc}"
                self._push_back(item.channel, min(30.0, 2.0**attempt))
                continue
            ts = response.get("ts") if hasattr(response, "get") else None
            return Delivered(item.key, item.channel, True, ts or item.ts, None, False, attempt)
        return Delivered(item.key, item.channel, False, None, error, False, self.max_attempts)

    def post(
        self, channel: str, payload: Mapping[str, Any], thread_ts: str | None = None
    ) -> Delivered:
        """chat.postMessage (a thread reply when `thread_ts` is given)."""
        body = dict(payload)
        if thread_ts:
            body["thread_ts"] = thread_ts
        return self.send(Outgoing(channel, body))

    def update(self, channel: str, ts: str, payload: Mapping[str, Any]) -> Delivered:
        """chat.update of an earlier message."""
        return self.send(Outgoing(channel, dict(payload), ts=ts))

    def permalink(self, channel: str, ts: str) -> str | None:
        """The link to a posted message (chat.getPermalink); None when Slack gives none."""
        try:
            response = self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except (SlackApiError, OSError) as exc:
            log.info("no permalink for %s/%s: %s", channel, ts, exc)
            return None
        link = response.get("permalink") if hasattr(response, "get") else None
        return str(link) if link else None

    def send_all(self, items: Sequence[Outgoing]) -> list[Delivered]:
        """Send many messages: channels in parallel, each channel in order and paced.

        A message that could not be sent (and may be sent later) holds back the rest of its
        channel's messages, returned not sent with the error `HELD`: sending them would put
        them before it."""
        by_channel: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            by_channel[item.channel].append(index)
        results: list[Delivered | None] = [None] * len(items)

        def run(indexes: list[int]) -> None:
            blocked: Delivered | None = None
            for index in indexes:
                item = items[index]
                if blocked is not None:  # keep the channel's order: send nothing past a gap
                    results[index] = Delivered(item.key, item.channel, False, error=HELD)
                    continue
                results[index] = result = self.send(item)
                if not result.ok and not result.permanent:
                    blocked = result

        workers = max(1, min(self.workers, len(by_channel)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cspm-send") as pool:
            list(pool.map(run, by_channel.values()))
        return [r for r in results if r is not None]
