"""The agent: claims pending orders, executes them, and reports the outcome through
the services (`manage.py run_agent`).

Any number of agents, on any number of machines, share the queue: a claim is a
conditional update (with `SKIP LOCKED` on PostgreSQL) that gives each order to one
agent, with a lease the agent renews while it works. An agent that dies stops
renewing; any agent's sweep then returns the order to the queue (or fails and
refunds it once its attempts are used up). Results are reported only by the agent
that still holds the claim, so no order is completed twice.

`loop` is the loop itself (`AgentLoop`); `settings` what it runs by; `leases` which
orders it holds and until when; `outcomes` what it has to report; `retrying` how long
it waits while the database is away, and before an order's next attempt.
"""

from orders.agent.loop import AgentLoop
from orders.agent.settings import AgentSettings

__all__ = ["AgentLoop", "AgentSettings"]
