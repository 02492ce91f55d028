"""What an agent runs by (orders/agent/settings.py)."""

import dataclasses

import pytest
from django.core.management import CommandError, call_command

from orders.agent import AgentSettings


def test_the_defaults_are_the_settings_when_the_agent_is_made(settings):
    settings.AGENT_LEASE_SECONDS = 7
    settings.AGENT_CONCURRENCY = 2
    settings.PAYMENT_TIMEOUT_MINUTES = 11
    made = AgentSettings()
    assert (made.lease_seconds, made.concurrency, made.payment_timeout_minutes) == (7, 2, 11)
    assert made.batch_size == settings.AGENT_BATCH_SIZE and made.poll_seconds == settings.AGENT_POLL_SECONDS
    settings.AGENT_LEASE_SECONDS = 9
    assert AgentSettings().lease_seconds == 9


def test_an_override_wins_and_leaves_the_others_alone(settings):
    made = AgentSettings(lease_seconds=3, retry_base_seconds=0)
    assert made.lease_seconds == 3 and made.retry_base_seconds == 0
    assert made.max_attempts == settings.AGENT_MAX_ATTEMPTS


def test_they_cannot_change_under_a_running_agent():
    with pytest.raises(dataclasses.FrozenInstanceError):
        AgentSettings().lease_seconds = 1  # type: ignore[misc]


def test_the_agent_beats_three_times_a_lease():
    assert AgentSettings(lease_seconds=30).beat_seconds == 10


@pytest.mark.parametrize("name", ["concurrency", "batch_size", "lease_seconds", "max_attempts"])
def test_a_count_of_zero_is_refused(name):
    with pytest.raises(ValueError, match=name):
        AgentSettings(**{name: 0})


@pytest.mark.parametrize("name", ["poll_seconds", "retry_base_seconds", "shutdown_seconds"])
def test_a_time_may_be_zero_but_not_negative(name):
    assert getattr(AgentSettings(**{name: 0}), name) == 0
    with pytest.raises(ValueError, match=name):
        AgentSettings(**{name: -1})


def test_run_agent_refuses_a_concurrency_of_zero_before_it_starts():
    with pytest.raises(CommandError, match="concurrency must be at least 1"):
        call_command("run_agent", "--concurrency", "0", "--executor", "instant")
