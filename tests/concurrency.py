"""Run one piece of work in several threads at once, each on its own database connection (PostgreSQL races)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_in_threads(count: int, work: Callable[[int], T], *, timeout: float = 120) -> list[T | None]:
    """Start `count` threads that wait at a barrier, then each calls work(i); returns their results in order.

    Each thread closes its own connection when done, so the test database can be dropped afterwards. A thread that
    raised leaves None in its slot (the exception is printed by threading's excepthook).
    """
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results
