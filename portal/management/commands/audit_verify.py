"""python manage.py audit_verify: recompute the audit hash chain; exit 1 at the first broken event."""
from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and report the first broken event, or 'intact'."

    def handle(self, *args, **options):
        result = audit_verify()
        if not result.intact:
            raise CommandError(f"broken at event #{result.broken_seq}: {result.reason} "
                               f"({result.checked} events before it are intact)")
        self.stdout.write(f"intact ({result.checked} events)")
