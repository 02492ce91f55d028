"""Which orders an agent holds, and until when by its own clock.

The database is the judge of a claim; this is the agent's conservative copy. Each
deadline is counted from before the call that set the lease in the database, so the
agent's never outlasts the database's: past it, the order may already be another
agent's, and its result is not reported.
"""


class Leases:
    """Each held order's deadline, a `time.monotonic()` value so that setting the
    machine's clock does not move it."""

    def __init__(self, lease_seconds: float) -> None:
        self.lease_seconds = lease_seconds
        self._until: dict[int, float] = {}

    def __contains__(self, order_id: int) -> bool:
        return order_id in self._until

    def __len__(self) -> int:
        return len(self._until)

    def order_ids(self) -> list[int]:
        return list(self._until)

    def claim(self, order_ids: list[int], *, asked_at: float) -> None:
        """The orders a claim asked for at `asked_at` gave this agent."""
        for order_id in order_ids:
            self._until[order_id] = asked_at + self.lease_seconds

    def renew(self, held: set[int], *, asked_at: float) -> list[int]:
        """Moves on the leases the database still gives this agent (`held`, asked for at
        `asked_at`) and forgets the rest; returns the lost ones."""
        lost = [order_id for order_id in self._until if order_id not in held]
        for order_id in lost:
            del self._until[order_id]
        for order_id in self._until:
            self._until[order_id] = asked_at + self.lease_seconds
        return lost

    def lose(self, order_id: int) -> None:
        """The order is no longer this agent's: reported, released, or its lease run out."""
        self._until.pop(order_id, None)

    def expired(self, order_id: int, *, now: float) -> bool:
        """Whether this agent held the order but its lease has run out by `now`."""
        return order_id in self._until and self._until[order_id] <= now
