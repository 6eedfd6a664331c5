"""Slack Web API clients configured the one way the bot uses them.

Every client retries rate-limited calls (HTTP 429) after the ``Retry-After`` Slack sends, and
calls that Slack did not answer: a connection reset or refused once, a call with no answer
within ``CSPM_SLACK_TIMEOUT_SECONDS`` up to ``TIMEOUT_RETRIES`` times (slack_sdk retries neither
timeouts nor more than one connection error unless told). A timed-out call may have reached
Slack, so a retry can, rarely, show a message twice: better than an answer that never comes.
A call that still gets no answer raises `SlackUnreachable`, which the one error mapping
(`bot.slack.failures`) logs as what it is and tells the user, where it still can.
`SLACK_API_URL` points the clients at another Web API root (a proxy, a test stand-in).
"""

from __future__ import annotations

import http.client
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.slack_response import SlackResponse
from slack_sdk.webhook import WebhookClient, WebhookResponse

from bot.settings import Settings, reveal

RATE_LIMIT_RETRIES = 3
"""How many times one call is retried after a 429 (each waits Retry-After plus jitter)."""
TIMEOUT_RETRIES = 2
"""How many times a call Slack did not answer in time is sent again (attempts: this + 1)."""

TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    URLError,
    ConnectionError,
    http.client.HTTPException,
)
"""What the HTTP layer raises when Slack did not answer (no status, no body)."""


def _timed_out(error: BaseException | None) -> bool:
    if isinstance(error, URLError) and not hasattr(error, "code"):  # not an HTTPError
        return isinstance(error.reason, TimeoutError)
    return isinstance(error, TimeoutError)


class SlackUnreachable(OSError):
    """A Slack call got no answer after every retry: `what` is the API method, or
    ``response_url``. The cause is chained; the message holds no URL and no token. An
    `OSError`, like the network errors it replaces, so callers that handle those still do."""

    def __init__(self, what: str, cause: BaseException, timeout: float) -> None:
        self.what = what
        self.timed_out = _timed_out(cause)
        if self.timed_out:
            detail = f"no answer within {timeout:g} s, {TIMEOUT_RETRIES + 1} attempts"
        else:
            detail = f"{type(cause).__name__}: {cause}"
        super().__init__(f"Slack did not answer {what} ({detail})")


class TimeoutRetryHandler(RetryHandler):
    """Sends a call again when Slack did not answer it within the client's timeout."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is None and _timed_out(error)


def retry_handlers(rate_limit: RetryHandler | None = None) -> list[RetryHandler]:
    """The retry policy shared by Web API and response_url clients (`rate_limit` replaces
    the default 429 handler, e.g. one that waits on an injected clock). The attempt count is
    shared: a call is sent at most ``1 + max(RATE_LIMIT_RETRIES, TIMEOUT_RETRIES)`` times."""
    return [
        TimeoutRetryHandler(max_retry_count=TIMEOUT_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=1),
        rate_limit or RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def api_base_url(settings: Settings) -> str:
    """The Web API root, always ending in a slash (slack_sdk joins method names onto it)."""
    url = settings.slack_api_url or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


class BotWebClient(WebClient):
    """`WebClient` whose calls that Slack never answered raise `SlackUnreachable`."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        try:
            return super().api_call(api_method, **kwargs)
        except TRANSPORT_ERRORS as exc:
            raise SlackUnreachable(api_method, exc, self.timeout) from exc


class BotWebhookClient(WebhookClient):
    """`WebhookClient` (a response_url) whose posts that Slack never answered raise
    `SlackUnreachable`."""

    def send_dict(
        self, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> WebhookResponse:
        try:
            return super().send_dict(body, headers)
        except TRANSPORT_ERRORS as exc:
            raise SlackUnreachable("response_url", exc, self.timeout) from exc


def make_web_client(
    settings: Settings, token: str | None = None, *, rate_limit: RetryHandler | None = None
) -> WebClient:
    """A `WebClient` for the bot token (or `token`), honouring `SLACK_API_URL`; `rate_limit`
    replaces the default handler of 429 answers."""
    return BotWebClient(
        token=token if token is not None else (reveal(settings.slack_bot_token) or None),
        base_url=api_base_url(settings),
        timeout=settings.slack_timeout_seconds,
        retry_handlers=retry_handlers(rate_limit),
    )


def make_webhook_client(url: str, timeout: int) -> WebhookClient:
    """A client for one interaction's response_url, with the same timeout (the Web API
    client's) and retry policy."""
    return BotWebhookClient(url, timeout=timeout, retry_handlers=retry_handlers())
