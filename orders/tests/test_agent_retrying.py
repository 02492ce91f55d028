"""How long the agent waits (orders/agent/retrying.py): no database."""

import pytest
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError

from orders.agent.retrying import DATABASE_ERRORS, Backoff, retry_delay


def test_the_backoff_doubles_from_a_quarter_of_a_poll_up_to_one_poll():
    backoff = Backoff(poll_seconds=1.0)
    assert [backoff.next_wait() for _ in range(5)] == [0.25, 0.5, 1.0, 1.0, 1.0]


def test_a_short_poll_still_waits_a_little():
    backoff = Backoff(poll_seconds=0.01)
    assert [backoff.next_wait() for _ in range(3)] == [0.05, 0.1, 0.1]


def test_a_long_poll_starts_from_a_quarter_of_it():
    backoff = Backoff(poll_seconds=8.0)
    assert [backoff.next_wait() for _ in range(4)] == [2.0, 4.0, 8.0, 8.0]


def test_after_the_database_answers_the_next_outage_starts_from_the_first_wait():
    backoff = Backoff(poll_seconds=1.0)
    backoff.next_wait(), backoff.next_wait(), backoff.next_wait()
    backoff.reset()
    assert backoff.next_wait() == 0.25


@pytest.mark.parametrize(("attempts", "delay"), [(1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0)])
def test_each_retry_waits_twice_as_long_as_the_one_before(attempts, delay):
    assert retry_delay(attempts=attempts, base_seconds=5.0) == delay


def test_no_base_means_no_wait():
    assert retry_delay(attempts=3, base_seconds=0) == 0


def test_only_an_unavailable_database_is_waited_out():
    assert isinstance(OperationalError("gone"), DATABASE_ERRORS)
    assert isinstance(InterfaceError("closed"), DATABASE_ERRORS)
    # A refused write is a bug to see, not an outage to wait for.
    assert not isinstance(IntegrityError("duplicate"), DATABASE_ERRORS)
    assert not isinstance(DatabaseError("other"), DATABASE_ERRORS)
