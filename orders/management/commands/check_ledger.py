from django.core.management.base import BaseCommand, CommandError

from orders.invariants import run_checks


class Command(BaseCommand):
    help = "Verifies the money invariants I1–I6 (docs/invariants.md) over the whole database; exits 1 naming offending rows."

    def handle(self, *args, **options):
        failed = 0
        for result in run_checks():
            rate = result.examined / result.seconds if result.seconds else 0
            line = (
                f"{result.invariant} {result.title}: {result.examined:,} examined "
                f"in {result.seconds:.1f}s ({rate:,.0f}/s)"
            )
            if result.ok:
                self.stdout.write(self.style.SUCCESS(f"ok   {line}"))
                continue
            failed += 1
            self.stdout.write(self.style.ERROR(f"FAIL {line}: {result.violations:,} violations"))
            for offender in result.offenders:
                self.stdout.write(f"       {offender}")
            if result.violations > len(result.offenders):
                self.stdout.write(f"       … and {result.violations - len(result.offenders):,} more")
        if failed:
            raise CommandError(f"{failed} invariant(s) violated.")
        self.stdout.write(self.style.SUCCESS("All invariants hold."))
