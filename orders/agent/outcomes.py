"""What the agent has to report: each finished order's outcome, and the counts its
heartbeat sends."""

import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from orders.models import Order


class Outcome(NamedTuple):
    """What a worker thread found; the loop reports it while the lease lasts."""

    order: Order
    error: str | None  # None: done


@dataclass
class Tally:
    """Outcomes since the last heartbeat."""

    completed: int = 0
    failed: int = 0
    retried: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str, count: int = 1) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + count)

    def take(self) -> dict[str, int]:
        with self.lock:
            counts = {"completed": self.completed, "failed": self.failed, "retried": self.retried}
            self.completed = self.failed = self.retried = 0
            return counts
