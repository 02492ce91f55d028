from django.conf import settings
from django.core.management.base import BaseCommand

from orders import services


class Command(BaseCommand):
    help = "Cancel card and ATM orders still unpaid after PAYMENT_TIMEOUT_MINUTES (the agent also does this)."

    def add_arguments(self, parser):
        parser.add_argument("--minutes", type=int, default=None, help="Overrides PAYMENT_TIMEOUT_MINUTES.")

    def handle(self, *args, **options):
        minutes = options["minutes"] if options["minutes"] is not None else settings.PAYMENT_TIMEOUT_MINUTES
        total = 0
        while settled := services.payment_expire_unpaid(older_than_minutes=minutes):
            total += settled
        self.stdout.write(f"Settled {total:,} unpaid gateway payment(s) older than {minutes} minutes.")
