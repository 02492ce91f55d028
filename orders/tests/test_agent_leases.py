"""The agent's copy of its leases (orders/agent/leases.py): no database, times made up."""

from orders.agent.leases import Leases


def test_a_claimed_lease_runs_out_a_lease_after_the_claim_was_asked_for():
    leases = Leases(lease_seconds=30)
    leases.claim([1, 2], asked_at=100.0)
    assert 1 in leases and 2 in leases and len(leases) == 2
    assert not leases.expired(1, now=129.9)
    assert leases.expired(1, now=130.0) and leases.expired(2, now=130.0)


def test_an_order_never_held_or_lost_is_not_expired():
    leases = Leases(lease_seconds=30)
    assert not leases.expired(1, now=1_000.0)
    leases.claim([1], asked_at=0.0)
    leases.lose(1)
    assert 1 not in leases and not leases.expired(1, now=1_000.0)


def test_a_renewal_moves_on_what_is_still_held_and_forgets_what_was_lost():
    leases = Leases(lease_seconds=30)
    leases.claim([1, 2, 3], asked_at=0.0)
    lost = leases.renew({1, 3, 99}, asked_at=20.0)
    assert lost == [2]
    assert sorted(leases.order_ids()) == [1, 3], "an id the database names but we never held is not taken"
    assert not leases.expired(1, now=49.9) and leases.expired(1, now=50.0)
    assert not leases.expired(2, now=1_000.0)


def test_a_renewal_that_holds_nothing_loses_everything():
    leases = Leases(lease_seconds=30)
    leases.claim([1, 2], asked_at=0.0)
    assert sorted(leases.renew(set(), asked_at=10.0)) == [1, 2]
    assert not leases and leases.order_ids() == []


def test_losing_is_idempotent():
    leases = Leases(lease_seconds=30)
    leases.claim([1], asked_at=0.0)
    leases.lose(1)
    leases.lose(1)
    assert len(leases) == 0
