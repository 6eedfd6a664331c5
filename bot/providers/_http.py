"""HTTP plumbing shared by the REST-based adapters (Azure ARM, Google APIs)."""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.domain import CloudEndpoints

BACKOFF_FACTOR = 0.5  # seconds; urllib3: 0, 1, 2, ... between attempts
RETRY_AFTER_MAX = 30  # never sleep longer than this on a server's Retry-After
RETRY_STATUSES = (429, 500, 502, 503, 504)


def retry_adapter(endpoints: CloudEndpoints) -> HTTPAdapter:
    """An adapter retrying connection errors, read timeouts (GET) and 429/5xx answers up to
    `max_attempts - 1` times with exponential backoff, honouring Retry-After (capped). After
    the last attempt the error response itself is returned, not an exception."""
    retry = Retry(
        total=max(0, endpoints.max_attempts - 1),
        backoff_factor=BACKOFF_FACTOR,
        backoff_max=10,
        status_forcelist=RETRY_STATUSES,
        respect_retry_after_header=True,
        retry_after_max=RETRY_AFTER_MAX,
        raise_on_status=False,
    )
    return HTTPAdapter(max_retries=retry)


def verify_setting(endpoints: CloudEndpoints) -> str | bool:
    """The `verify=` value for requests: the configured CA bundle, else the default store.

    requests lets REQUESTS_CA_BUNDLE override `session.verify`, so callers also pass
    `verify=` on every request.
    """
    return endpoints.ca_bundle or True


def retrying_session(endpoints: CloudEndpoints) -> requests.Session:
    """A `requests.Session` with the bounded retry budget of `endpoints` and its CA bundle."""
    session = requests.Session()
    adapter = retry_adapter(endpoints)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.verify = verify_setting(endpoints)
    return session
