"""Slack Web API clients configured the one way the bot uses them.

Every client retries rate-limited calls (HTTP 429) after the ``Retry-After`` Slack sends, and
connection resets once; slack_sdk retries only connection errors unless told.
`SLACK_API_URL` points the clients at another Web API root (a proxy, a test stand-in).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from bot.settings import Settings, reveal

RATE_LIMIT_RETRIES = 3
"""How many times one call is retried after a 429 (each waits Retry-After plus jitter)."""
TIMEOUT_SECONDS = 15


def retry_handlers(rate_limit: RetryHandler | None = None) -> list[RetryHandler]:
    """The retry policy shared by Web API and response_url clients (`rate_limit` replaces
    the default 429 handler, e.g. one that waits on an injected clock)."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=1),
        rate_limit or RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
    ]


def api_base_url(settings: Settings) -> str:
    """The Web API root, always ending in a slash (slack_sdk joins method names onto it)."""
    url = settings.slack_api_url or WebClient.BASE_URL
    return url if url.endswith("/") else url + "/"


def make_web_client(
    settings: Settings, token: str | None = None, *, rate_limit: RetryHandler | None = None
) -> WebClient:
    """A `WebClient` for the bot token (or `token`), honouring `SLACK_API_URL`; `rate_limit`
    replaces the default handler of 429 answers."""
    return WebClient(
        token=token if token is not None else (reveal(settings.slack_bot_token) or None),
        base_url=api_base_url(settings),
        timeout=TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(rate_limit),
    )


def make_webhook_client(url: str) -> WebhookClient:
    """A client for one interaction's response_url, with the same retry policy."""
    return WebhookClient(url, timeout=TIMEOUT_SECONDS, retry_handlers=retry_handlers())
