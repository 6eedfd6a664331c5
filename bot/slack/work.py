"""Where a listener's post-ack work runs: here, or in the worker process.

Every listener is an ack function, which answers Slack at once, plus a work function
(`bot.slack.listeners`). The work function is registered as a Bolt *lazy listener*, and runs
in one of two ways:

- in this process: Bolt starts it once the ack function returned, through
  `LocalWorkRunner`, on a thread pool (tests, and the worker process itself);
- in the worker process of `cspm-bot serve` (`bot.slack.worker`): the serving process
  registers no lazy listener at all; its ack function hands the request, as a `WorkItem`, to a
  `Relay`, and the worker dispatches it again through the same Bolt app with Bolt's own
  lazy-only headers, the way Bolt's AWS Lambda adapter re-invokes a function. The serving
  process then only verifies, acks and relays.

A listener whose ack reported an error (inline form errors, say) marks its request with
`skip_work`, and no work starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import BoltRequest
from slack_bolt.lazy_listener import LazyListenerRunner
from slack_bolt.lazy_listener.internals import build_runnable_function

log = logging.getLogger(__name__)

_SKIP_WORK = "cspm_skip_work"
LAZY_ONLY_HEADER = "x-slack-bolt-lazy-only"
LAZY_NAME_HEADER = "x-slack-bolt-lazy-function-name"
_LAZY_HEADERS = (LAZY_ONLY_HEADER, LAZY_NAME_HEADER)


def skip_work(context: Any) -> None:
    """Mark a request so that its work is not started (its ack reported an error)."""
    context[_SKIP_WORK] = True


def wants_work(request: BoltRequest) -> bool:
    """False when the request's ack asked for its work to be skipped."""
    return not request.context.get(_SKIP_WORK)


@dataclass(frozen=True)
class WorkItem:
    """One work function to run for one request, in a form that crosses processes.

    `body` is the raw HTTP body (signed text, as Slack sent it) or the Socket Mode payload;
    it can hold what a user typed into a form, credentials included, so it is never logged.
    """

    body: str | dict[str, Any]
    headers: dict[str, list[str]]
    mode: str
    function: str

    @classmethod
    def of(cls, request: BoltRequest, function: str) -> WorkItem:
        """The item that runs work function `function` for `request`."""
        body: str | dict[str, Any] = request.raw_body if request.mode == "http" else request.body
        headers = {k: list(v) for k, v in request.headers.items() if k not in _LAZY_HEADERS}
        return cls(body, headers, request.mode, function)

    def to_request(self) -> BoltRequest:
        """A lazy-only Bolt request: `App.dispatch` runs just the named work function."""
        headers: dict[str, Any] = dict(self.headers)
        headers[LAZY_ONLY_HEADER] = "1"
        headers[LAZY_NAME_HEADER] = self.function
        return BoltRequest(body=self.body, headers=headers, mode=self.mode)


class Relay(Protocol):
    """Takes work items to another process (`bot.slack.worker.WorkerProcess`)."""

    def submit(self, item: WorkItem) -> bool:
        """Queue `item`; False when it cannot be taken (stopping, or the queue is full)."""
        ...


class LocalWorkRunner(LazyListenerRunner):
    """Runs work functions on `executor`, in this process."""

    def __init__(self, logger: logging.Logger, executor: Executor) -> None:
        self.logger = logger
        self.executor = executor

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        if wants_work(request):
            self.executor.submit(build_runnable_function(function, self.logger, request))
