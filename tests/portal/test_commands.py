"""Management commands: the demo seed (idempotent, linked to the sandbox's accounts)."""
from django.core.management import call_command

from portal.models import AuditEvent, AwsAccount, Membership, RoleAssignment, Team


FRAUD_ACCOUNTS = ["333333333311", "333333333312", "333333333313"]


def counts():
    return (Team.objects.count(), Membership.objects.count(), RoleAssignment.objects.count(),
            AwsAccount.objects.count())


def test_seed_demo_is_idempotent_and_links_the_organization(db, aws_endpoint, capsys):
    call_command("seed_demo")
    first, events = counts(), AuditEvent.objects.count()
    call_command("seed_demo")
    assert counts() == first and AuditEvent.objects.count() == events
    assert first[:3] == (3, 9, 4)
    # The seeded organization's fraud accounts (other tests may have vended more in this sandbox).
    fraud = {a.account_id: (a.environment, a.ou_path)
             for a in AwsAccount.objects.filter(team__slug="fraud-detection", account_id__in=FRAUD_ACCOUNTS)}
    assert fraud == {"333333333311": ("dev", "Workloads/NonProd"), "333333333312": ("test", "Deployments/NonProd"),
                     "333333333313": ("prod", "Deployments/Prod")}
    shared = AwsAccount.objects.get(account_id="222222222203")
    assert shared.team is None and shared.environment == "shared"
    out = capsys.readouterr().out
    assert "3 teams" in out and "password" not in out   # demo passwords print only in development


def test_seed_demo_without_aws_still_creates_the_org_and_says_how_to_finish(db, capsys):
    call_command("seed_demo")
    assert counts()[:3] == (3, 9, 4) and AwsAccount.objects.count() == 0
    assert "run seed_demo again" in capsys.readouterr().err
