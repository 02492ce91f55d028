import random

from django.core.management.base import BaseCommand, CommandError

from orders import demo


class Command(BaseCommand):
    help = (
        "Creates demo data: an admin, levels, products with price tiers, customers with "
        "balances and a history of orders. Idempotent: only what is missing is created."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, help="Customers in total (default: orders / 200, 20 to 10,000).")
        parser.add_argument("--orders", type=int, default=2_000, help="Orders in total (default 2,000).")
        parser.add_argument(
            "--password",
            help="Password for the new accounts. Without it, passwords are generated and printed once.",
        )
        parser.add_argument(
            "--pending",
            type=int,
            default=0,
            help="How many of the new orders are the newest, paid and pending: a queue for agents (benchmarks).",
        )
        parser.add_argument("--seed", type=int, help="Random seed, for a reproducible history.")

    def handle(self, *args, customers, orders, password, pending, seed, **options):
        if orders < 0 or (customers is not None and customers < 1):
            raise CommandError("--orders must be >= 0 and --customers >= 1.")
        if not 0 <= pending <= orders:
            raise CommandError("--pending must be between 0 and --orders.")
        if customers is None:
            customers = min(max(orders // 200, 20), 10_000)
        self.stdout.write(f"Seeding demo data: {customers:,} customers, {orders:,} orders in total.")
        report = demo.seed(
            customers=customers,
            orders=orders,
            password=password,
            progress=self.progress,
            rng=random.Random(seed),
            pending=pending,
        )
        if not report.created or not any(report.created.values()):
            self.stdout.write("Nothing to add: the demo data is already there.")
        else:
            made = ", ".join(f"{what}: {count:,}" for what, count in report.created.items() if count)
            self.stdout.write(self.style.SUCCESS(f"Created {made}."))
        for username, chosen in report.passwords:
            self.stdout.write(self.style.WARNING(f"Password for {username}: {chosen}"))
        if report.passwords:
            self.stdout.write("Passwords are shown only now. Change one with: python manage.py changepassword USERNAME")

    def progress(self, stage: str, count: int, seconds: float) -> None:
        rate = f" ({count / seconds:,.0f}/s)" if seconds > 0 else ""
        self.stdout.write(f"  {stage:<10} {count:>10,} in {seconds:6.1f}s{rate}")
