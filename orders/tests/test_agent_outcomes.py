"""The counts an agent's heartbeat sends (orders/agent/outcomes.py)."""

from orders.agent.outcomes import Tally


def test_a_heartbeat_takes_the_counts_since_the_last_one():
    tally = Tally()
    tally.add("completed", 3)
    tally.add("failed")
    tally.add("retried")
    tally.add("retried")
    assert tally.take() == {"completed": 3, "failed": 1, "retried": 2}
    assert tally.take() == {"completed": 0, "failed": 0, "retried": 0}
