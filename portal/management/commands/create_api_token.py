"""python manage.py create_api_token USERNAME [--expires-in DAYS] [--read-only]: print a new token once."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.errors import DomainError
from portal.models import ApiToken
from portal.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it (it cannot be shown again)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--expires-in", type=int, default=90, metavar="DAYS")
        parser.add_argument("--name", default="created by manage.py create_api_token")
        parser.add_argument("--read-only", action="store_true")

    def handle(self, *args, username, expires_in, name, read_only, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user is called '{username}'.")
        scope = ApiToken.Scope.READ if read_only else ApiToken.Scope.WRITE
        try:
            _token, secret = api_token_create(actor=user, name=name, scope=scope, expires_in_days=expires_in)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(secret)
