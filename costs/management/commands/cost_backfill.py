"""python manage.py cost_backfill [--months 13]: load history from Cost Explorer, month by month."""
from django.core.management.base import BaseCommand

from costs import services


class Command(BaseCommand):
    help = "Load daily cost history from Cost Explorer in monthly windows (default: 13 months), then the forecast."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=13, help="Whole months before the current one (1-13).")

    def handle(self, *args, months, **options):
        months = max(0, min(months, 13))
        runs = services.cost_backfill(months=months, stdout=self.stdout)
        failed = [run for run in runs if run.status != "succeeded"]
        total = sum(run.requests_made for run in runs)
        self.stdout.write(f"{len(runs)} windows, {total} Cost Explorer requests, {len(failed)} failed.")
        if failed:
            raise SystemExit(1)
