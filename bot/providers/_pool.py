"""A bounded pool for the per-resource cloud calls of one job (one call per bucket, per user,
per key…), shared by every collector of the job's session.

- At most `workers` calls at once (`CloudEndpoints.concurrency`, from
  `CSPM_SCAN_CONCURRENCY`); the threads are started on first use and stopped with the session.
- Each call keeps the adapter's retry budget: it goes through the same cached SDK client, so
  its bounded attempts, backoff and (botocore) retry quota are those of a sequential call,
  and the quota is shared by the pool's threads.
- Stop: the cancel token is checked before each item, and the SDK hooks check it before
  every call and retry, as everywhere else; once one item fails (or the scan is stopped)
  the items not yet started are dropped and the running ones are waited for, so no call of
  this job outlives the collector that asked for it.
- Results come back in the items' order, and the error raised is that of the first failing
  item in that order: what the sequential loop this replaces would have raised.
- A `map` from inside a pool thread runs inline (sequentially): a collector nested in
  another never waits for a pool its caller is holding.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

from bot.domain import CancelToken

T = TypeVar("T")
R = TypeVar("R")

_in_pool = threading.local()


def _mark_pool_thread() -> None:
    _in_pool.active = True


class CallPool:
    """Runs one function over many resources with at most `workers` calls at once."""

    def __init__(self, workers: int, cancel: CancelToken, name: str = "cspm-call") -> None:
        self.workers = max(1, int(workers))
        self.cancel = cancel
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the call pool is closed")
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.workers,
                    thread_name_prefix=self._name,
                    initializer=_mark_pool_thread,
                )
            return self._executor

    def _one(self, fn: Callable[[T], R], item: T) -> R:
        self.cancel.checkpoint()
        return fn(item)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """`[fn(item) for item in items]`, up to `workers` at once, in the items' order."""
        listed = list(items)
        if self.workers == 1 or len(listed) <= 1 or getattr(_in_pool, "active", False):
            return [self._one(fn, item) for item in listed]
        pool = self._pool()
        futures: list[Future[R]] = [pool.submit(self._one, fn, item) for item in listed]
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            wait(futures)  # the started ones: no call of this job outlives its collector
            raise

    def close(self) -> None:
        """Stop the threads (idempotent); items still queued are dropped."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
