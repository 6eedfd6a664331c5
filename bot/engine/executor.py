"""Where scan jobs run. The default is an in-process thread pool; a distributed backend only
has to provide `submit` and `shutdown` with the same meaning."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol


class JobExecutor(Protocol):
    """Runs job callables and hands back futures."""

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Schedule `fn(*args)`."""
        ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work."""
        ...


def thread_pool(concurrency: int) -> JobExecutor:
    """The default executor: `concurrency` worker threads in this process."""
    return ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="cspm-job")
