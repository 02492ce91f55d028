"""What an agent runs by: the AGENT_* settings, each overridable (by run_agent's options
and by tests)."""

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings


def _setting(name: str) -> Any:
    # Read when an AgentSettings is made, not at import: tests override settings.
    return field(default_factory=lambda: getattr(settings, name))


@dataclass(frozen=True, kw_only=True)
class AgentSettings:
    concurrency: int = _setting("AGENT_CONCURRENCY")
    poll_seconds: float = _setting("AGENT_POLL_SECONDS")
    batch_size: int = _setting("AGENT_BATCH_SIZE")
    lease_seconds: int = _setting("AGENT_LEASE_SECONDS")
    max_attempts: int = _setting("AGENT_MAX_ATTEMPTS")
    retry_base_seconds: float = _setting("AGENT_RETRY_BASE_SECONDS")
    shutdown_seconds: float = _setting("AGENT_SHUTDOWN_SECONDS")
    # The agent's sweep also cancels the card and ATM orders left unpaid this long.
    payment_timeout_minutes: int = _setting("PAYMENT_TIMEOUT_MINUTES")

    @property
    def beat_seconds(self) -> float:
        """How often the agent renews its leases, beats and sweeps: three times a lease."""
        return self.lease_seconds / 3

    def __post_init__(self) -> None:
        for name in ("concurrency", "batch_size", "lease_seconds", "max_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("poll_seconds", "retry_base_seconds", "shutdown_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative, not {getattr(self, name)}")
