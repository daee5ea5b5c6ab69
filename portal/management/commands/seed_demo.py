"""python manage.py seed_demo: the demo organization (teams, users, roles, accounts). Idempotent.

With ``--sync`` (what `make run` uses) each app in PORTAL_APPS that has a ``demo`` module primes
its data now (``<app>.demo.prime()``: catalog, registries, cost history…) rather than at the first
beat, hours later; portal itself knows no app.
"""
import importlib
import importlib.util
import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from portal import aws, services
from portal.demo import DEMO_PASSWORD, DEMO_TEAMS, GLOBAL_DEMO_USERS, TEAM_USER_SUFFIXES
from portal.models import Environment, GlobalRole, Team, TeamRole
from portal.permissions import SYSTEM

TEAMS = [
    {"slug": "fraud-detection", "name": "Fraud Detection", "line_of_business": "Retail Banking",
     "cost_center": "CC-1001", "monthly_budget_usd": Decimal("25000")},
    {"slug": "credit-risk", "name": "Credit Risk", "line_of_business": "Risk",
     "cost_center": "CC-2001", "monthly_budget_usd": Decimal("18000")},
    {"slug": "marketing-ml", "name": "Marketing ML", "line_of_business": "Marketing",
     "cost_center": "CC-3001", "monthly_budget_usd": Decimal("9000")},
]
assert tuple(spec["slug"] for spec in TEAMS) == DEMO_TEAMS
GLOBAL_USERS = list(zip(GLOBAL_DEMO_USERS, (GlobalRole.PLATFORM_ADMIN, GlobalRole.PLATFORM_ADMIN, GlobalRole.PLATFORM_ADMIN,
                                             GlobalRole.MODEL_APPROVER, GlobalRole.EXECUTIVE, GlobalRole.AUDITOR),
                        strict=True))
TEAM_USERS = list(zip(TEAM_USER_SUFFIXES, (TeamRole.LEAD, TeamRole.DATA_SCIENTIST, TeamRole.ML_ENGINEER)))
ENVIRONMENTS = set(Environment.values)


class Command(BaseCommand):
    help = "Create the demo organization: three teams, demo users and roles, links to AWS accounts."

    def add_arguments(self, parser):
        parser.add_argument("--sync", action="store_true",
                            help="Also read AWS now: catalog, model registries, model cards, cost history, usage.")

    def handle(self, *args, **options):
        show_passwords = getattr(settings, "SHOW_DEMO_PASSWORDS", False)
        created_users = []
        teams = {spec["slug"]: Team.objects.filter(slug=spec["slug"]).first()
                 or services.team_create(actor=SYSTEM, **spec) for spec in TEAMS}
        for username, role in GLOBAL_USERS:
            user = self._user(username, show_passwords, created_users)
            services.role_grant(actor=SYSTEM, user=user, role=role)
        for slug, team in teams.items():
            for suffix, role in TEAM_USERS:
                user = self._user(f"{slug}-{suffix}", show_passwords, created_users)
                services.membership_set(actor=SYSTEM, team=team, user=user, role=role)
        linked = self._link_accounts(teams)
        self.stdout.write(self.style.SUCCESS(
            f"Demo organization ready: {len(teams)} teams, {len(created_users)} new users, {linked} accounts linked."))
        if show_passwords:
            names = ", ".join(u for u, _r in GLOBAL_USERS) + ", <team>-lead, <team>-ds, <team>-mle"
            self.stdout.write(f"Demo sign-ins: {names} (teams: {', '.join(teams)}); password: {DEMO_PASSWORD}")
        if options["sync"] and linked:
            self._prime_apps()

    def _prime_apps(self) -> None:
        for app in settings.PORTAL_APPS:
            if not importlib.util.find_spec(f"{app}.demo"):
                continue
            try:
                outcome = importlib.import_module(f"{app}.demo").prime()
            except Exception as error:  # one app's AWS trouble must not stop the demo; say what to do
                self.stderr.write(self.style.WARNING(
                    f"{app}: could not prime the demo data ({error}); the scheduled sync will try again."))
            else:
                self.stdout.write(f"{app}: {outcome}")

    def _user(self, username, show_passwords, created_users):
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.user_create(actor=SYSTEM, username=username, email=f"{username}@example.com",
                                        password=DEMO_PASSWORD if show_passwords else secrets.token_urlsafe(24),
                                        first_name=username.split("-")[0].title())
            created_users.append(username)
        return user

    def _link_accounts(self, teams) -> int:
        try:
            accounts = aws.organization_accounts()
        except Exception as error:  # the demo still works without AWS; say how to finish the job
            self.stderr.write(self.style.WARNING(
                f"Could not read the organization from AWS ({error}). Teams are not linked to accounts yet: "
                "start the sandbox (make run does) and run seed_demo again."))
            return 0
        for account in accounts:
            tags = account["tags"]
            environment = tags.get("environment")
            services.account_link(
                actor=SYSTEM, account_id=account["account_id"], name=account["name"], email=account["email"],
                environment=environment if environment in ENVIRONMENTS else Environment.SHARED,
                team=teams.get(tags.get("team", "")), ou_path=account["ou_path"], status=account["state"])
        return len(accounts)
