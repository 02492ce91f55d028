import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from orders.agent import AgentLoop, AgentSettings
from orders.executors import get_executor


class Command(BaseCommand):
    help = "Fulfil orders: claim pending orders, execute them, complete or fail them (the Procfile's worker)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency", type=int, help="Orders executed at once (threads). Default AGENT_CONCURRENCY."
        )
        parser.add_argument(
            "--poll-interval", type=float, help="Seconds between looks at an empty queue. Default AGENT_POLL_SECONDS."
        )
        parser.add_argument("--batch-size", type=int, help="Orders claimed at a time. Default AGENT_BATCH_SIZE.")
        parser.add_argument(
            "--lease-seconds", type=int, help="How long a claim lasts unless renewed. Default AGENT_LEASE_SECONDS."
        )
        parser.add_argument(
            "--executor", help="Overrides ORDER_EXECUTOR: simulated, webhook, instant, or a dotted path."
        )
        parser.add_argument("--worker-id", help="A name for this agent (default: host-pid-random).")
        parser.add_argument("--once", action="store_true", help="Drain the queue, then exit.")

    def handle(self, *args, **options):
        given = {
            "concurrency": options["concurrency"],
            "poll_seconds": options["poll_interval"],
            "batch_size": options["batch_size"],
            "lease_seconds": options["lease_seconds"],
        }
        try:
            agent_settings = AgentSettings(**{name: value for name, value in given.items() if value is not None})
        except ValueError as error:
            raise CommandError(error) from error
        agent = AgentLoop(
            settings=agent_settings,
            worker_id=options["worker_id"],
            executor=get_executor(options["executor"]),
            once=options["once"],
        )
        signal.signal(signal.SIGTERM, agent.stop)
        signal.signal(signal.SIGINT, agent.stop)
        self.stdout.write(
            f"Agent {agent.worker_id}: executor {type(agent.executor).__name__}, {agent.settings.concurrency} at a time."
        )
        agent.run()
        self.stdout.write(f"Agent {agent.worker_id} stopped; {len(agent.unfinished)} unfinished order(s) released.")
        self.stdout.flush()
        if any(thread.name.startswith("agent") for thread in threading.enumerate()):
            # An executor still running a released order: its result would be refused
            # anyway; do not wait for it.
            os._exit(0)
