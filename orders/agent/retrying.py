"""How long the agent waits: while the database is unavailable, and before an order's
next attempt."""

from django.db import InterfaceError, OperationalError

# What the database being away looks like (restarted, failed over, the network cut):
# the agent waits it out rather than stopping.
DATABASE_ERRORS = (OperationalError, InterfaceError)


class Backoff:
    """Waits between tries at an unavailable database, doubling from a quarter of a poll.

    It never waits longer than one poll, so work resumes within a poll of the database
    coming back.
    """

    def __init__(self, poll_seconds: float) -> None:
        self.first_seconds = max(poll_seconds / 4, 0.05)
        self.longest_seconds = max(poll_seconds, 0.1)
        self._next_seconds = self.first_seconds

    def next_wait(self) -> float:
        """How long to wait after this failure; the next one waits longer."""
        seconds = self._next_seconds
        self._next_seconds = min(seconds * 2, self.longest_seconds)
        return seconds

    def reset(self) -> None:
        """The database answered: the next outage starts from the first wait again."""
        self._next_seconds = self.first_seconds


def retry_delay(*, attempts: int, base_seconds: float) -> float:
    """How long a failed order waits before its next attempt: `base_seconds` after the
    first, twice as long after each further one."""
    return base_seconds * 2 ** (attempts - 1)
