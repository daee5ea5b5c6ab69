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
    assert first[:3] == (3, 9, 6)
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
    assert counts()[:3] == (3, 9, 6) and AwsAccount.objects.count() == 0
    assert "run seed_demo again" in capsys.readouterr().err


def test_seed_demo_sync_primes_every_app_once(db, aws_endpoint, capsys):
    """`make run` seeds with --sync: catalog (priced, network preset), registries, cards, 13 months
    of cost history and usage are there at once; a second run adds nothing (no audit event)."""
    from costs.models import CostSyncRun, CostTeamDay
    from governance.models import ModelVersion
    from provisioning.models import CatalogProduct, ParameterPreset

    call_command("seed_demo", "--sync")
    out = capsys.readouterr()
    assert "could not prime" not in out.err, out.err
    for app in ("provisioning", "governance", "governance.cards", "costs"):
        assert f"\n{app}: " in "\n" + out.out, out.out
    domain = CatalogProduct.objects.get(name="SageMaker Studio Domain")
    assert domain.hourly_price_usd > 0
    assert set(ParameterPreset.objects.filter(product=domain, mode="hidden").values_list("key", flat=True)) == {
        "VpcId", "SubnetIds", "SecurityGroupIds"}
    assert ModelVersion.objects.exists()
    assert CostSyncRun.objects.filter(kind="backfill", status="succeeded").count() >= 13
    assert CostTeamDay.objects.filter(team__slug="fraud-detection").exists()
    events, runs = AuditEvent.objects.count(), CostSyncRun.objects.count()
    call_command("seed_demo", "--sync")
    assert AuditEvent.objects.count() == events and CostSyncRun.objects.count() == runs
    assert "cost history already loaded" in capsys.readouterr().out
