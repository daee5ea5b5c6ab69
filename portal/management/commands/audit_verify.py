"""python manage.py audit_verify: recompute the audit hash chain and compare it with the signed
checkpoints anchored outside the database; exit 1 at the first event that is missing or differs."""
from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_verify


class Command(BaseCommand):
    help = ("Verify the audit log's hash chain against its signed checkpoints and report the first "
            "missing or different event, or 'intact'.")

    def handle(self, *args, **options):
        result = audit_verify()
        if not result.intact:
            where = f"event #{result.broken_seq}" if result.broken_seq else "the checkpoint store"
            raise CommandError(f"broken at {where}: {result.reason} "
                               f"({result.checked} events before it are intact)")
        anchor = (f"{result.anchored} anchored by {result.last_checkpoint}" if result.anchored
                  else "none anchored yet")
        self.stdout.write(f"intact ({result.checked} events; {anchor})")
