import pytest

from orders.invariants import run_checks


def assert_invariants() -> None:
    broken = [result for result in run_checks() if not result.ok]
    assert not broken, "\n".join(
        f"{result.invariant}: {offender}" for result in broken for offender in result.offenders
    )


@pytest.fixture
def invariants(db):
    """Call the fixture's value after money operations; it also runs once at teardown."""
    yield assert_invariants
    assert_invariants()
