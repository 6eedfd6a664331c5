"""The bounded pool of per-resource cloud calls (`bot.providers._pool.CallPool`)."""

from __future__ import annotations

import threading
import time

import pytest

from bot.domain import CancelToken, ScanCancelled
from bot.providers._pool import CallPool


class Gauge:
    """Counts calls running at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = self.peak = self.started = 0

    def call(self, item: int) -> int:
        with self.lock:
            self.now += 1
            self.started += 1
            self.peak = max(self.peak, self.now)
        time.sleep(0.02)
        with self.lock:
            self.now -= 1
        return item * 10


def test_results_in_order_with_at_most_workers_at_once() -> None:
    gauge = Gauge()
    pool = CallPool(4, CancelToken())
    try:
        assert pool.map(gauge.call, range(20)) == [i * 10 for i in range(20)]
    finally:
        pool.close()
    assert gauge.peak == 4


def test_one_worker_runs_inline_in_order() -> None:
    seen: list[str] = []
    pool = CallPool(1, CancelToken())
    assert pool.map(lambda i: seen.append(threading.current_thread().name) or i, [1, 2]) == [1, 2]
    assert seen == [threading.current_thread().name] * 2


def test_the_first_failing_item_in_order_is_raised_and_later_items_are_dropped() -> None:
    gauge = Gauge()

    def call(item: int) -> int:
        if item in (3, 5):
            raise ValueError(f"item {item}")
        return gauge.call(item)

    pool = CallPool(2, CancelToken())
    try:
        with pytest.raises(ValueError, match="item 3"):
            pool.map(call, range(200))
        assert gauge.now == 0  # nothing still running once map has raised
        assert gauge.started < 100
    finally:
        pool.close()


def test_stop_is_seen_before_each_item() -> None:
    token = CancelToken()
    gauge = Gauge()

    def call(item: int) -> int:
        if item == 2:
            token.cancel()
        return gauge.call(item)

    pool = CallPool(2, token)
    try:
        with pytest.raises(ScanCancelled):
            pool.map(call, range(100))
    finally:
        pool.close()
    assert gauge.started <= 4  # only those already past their checkpoint


def test_a_map_inside_a_pool_thread_runs_inline() -> None:
    pool = CallPool(2, CancelToken())
    try:
        nested = pool.map(lambda i: pool.map(lambda j: i * j, [1, 2, 3]), [1, 2, 3])
    finally:
        pool.close()
    assert nested == [[1, 2, 3], [2, 4, 6], [3, 6, 9]]
