"""Network presets per account, read from the account itself, and what a request says when AWS
refuses a value the platform set."""
import pytest

from portal.models import AuditEvent, Notification
from portal.permissions import SYSTEM
from tests.provisioning.conftest import run_to_settled

pytestmark = pytest.mark.django_db


def test_account_networks_become_hidden_presets_of_that_account_and_win_over_wider_ones(catalog, aws_endpoint):
    from portal import aws as portal_aws
    from provisioning import services
    from provisioning.policies import presets_for

    world = catalog["world"]          # the fixture read the networks already, as the demo does
    assert services.preset_account_networks(actor=SYSTEM) == {"accounts": 2, "unreadable": []}   # the world's two
    ec2 = portal_aws.client("ec2", world.account.account_id)
    vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
    subnets = {s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]}
    mine, other = presets_for(catalog["domain"], world.account), presets_for(catalog["domain"], world.other_account)
    assert mine["VpcId"]["hidden"] == vpc and set(mine["SubnetIds"]["hidden"].split(",")) == subnets
    assert mine["SecurityGroupIds"]["hidden"].startswith("sg-")
    assert other["VpcId"]["hidden"] != vpc                               # each account its own network
    written = AuditEvent.objects.filter(action="catalog.preset_set").count()
    services.preset_account_networks(actor=SYSTEM)                       # a repeat changes nothing
    assert AuditEvent.objects.filter(action="catalog.preset_set").count() == written
    assert catalog["domain"].presets.filter(account__isnull=False).count() == 6


def test_an_account_aws_will_not_let_the_portal_read_is_skipped(catalog):
    from portal.services import account_link
    from provisioning import services

    world = catalog["world"]
    missing = account_link(actor=SYSTEM, account_id="999999999999", name="gone", environment="dev", team=world.team)
    outcome = services.preset_account_networks(actor=SYSTEM)
    assert outcome == {"accounts": 2, "unreadable": ["999999999999"]}
    assert not catalog["domain"].presets.filter(account=missing).exists()


def test_preset_for_one_account_names_no_team_or_environment_besides(catalog):
    from portal.errors import DomainError
    from provisioning import services

    world = catalog["world"]
    with pytest.raises(DomainError, match="not both"):
        services.preset_set(actor=SYSTEM, product=catalog["domain"], key="VpcId", mode="hidden", value="vpc-0a1b2c3d",
                            team=world.team, account=world.account)


def test_a_refused_platform_value_says_who_can_fix_it_and_tells_the_platform_admins(catalog, make_request):
    from provisioning import services
    from provisioning.policies import presets_for

    world = catalog["world"]
    # The preset the demo once shipped: not a VPC id the account has (not even a well-formed one).
    services.preset_set(actor=SYSTEM, product=catalog["domain"], key="VpcId", mode="hidden",
                        value="vpc-0de0000000000001", account=world.account)
    request = make_request()
    services.request_approve(actor=world["platform_admin"], request=request)
    assert run_to_settled(request.pk) == "failed"
    request.refresh_from_db()
    message = request.error_message
    assert "vpc-0de0000000000001" in message                                 # AWS's reason stays
    assert "The value of VpcId is set by the platform, not by you" in message
    assert "a platform admin (platform-admin) must correct the preset" in message
    assert "retrying before sends the same one" in message and "Fix the cause, then retry" not in message
    told = Notification.objects.filter(kind="request.preset_failed")
    assert list(told.values_list("user__username", flat=True)) == ["platform-admin"]
    # The platform admin corrects the preset (reads the account's network again); Retry takes it.
    services.preset_account_networks(actor=SYSTEM, accounts=[world.account])
    services.request_retry(actor=world["lead"], request=request)
    assert run_to_settled(request.pk) == "available"
    request.refresh_from_db()
    assert request.parameters["VpcId"] == presets_for(catalog["domain"], world.account)["VpcId"]["hidden"]
    assert request.steps.filter(detail__contains="platform-set values now VpcId=vpc-").exists()


def test_a_refused_value_the_requester_typed_keeps_the_plain_message(catalog, make_request):
    from provisioning import services

    request = make_request(parameters={"DomainName": "taken-name"})
    other = make_request(parameters={"DomainName": "taken-name"})
    for item in (request, other):
        services.request_approve(actor=catalog["world"]["platform_admin"], request=item)
        run_to_settled(item.pk)
    other.refresh_from_db()
    assert other.state == "failed", other.state
    assert "set by the platform" not in other.error_message
    assert not Notification.objects.filter(kind="request.preset_failed").exists()


def test_a_platform_admin_sets_one_accounts_preset_on_the_policy_page(catalog, client):
    world, domain = catalog["world"], catalog["domain"]
    client.force_login(world["platform_admin"])
    url = f"/catalog/{domain.product_id}/policy/"
    add = f"/catalog/{domain.product_id}/presets/"
    response = client.post(add, {"preset-key": "KmsKeyId", "preset-mode": "hidden",
                                              "preset-value": "alias/fraud-dev", "preset-account": "333333333311"})
    assert response.status_code == 302, response.content.decode()[:500]
    preset = domain.presets.get(key="KmsKeyId")
    assert preset.account == world.account and preset.team is None and preset.environment == ""
    page = client.get(url).content.decode()
    assert "fraud-detection-dev (333333333311)" in page and "alias/fraud-dev" in page
    refused = client.post(add, {"preset-key": "KmsKeyId", "preset-mode": "hidden", "preset-value": "x",
                                             "preset-account": "333333333311", "preset-environment": "dev"})
    assert refused.status_code == 400 and "An account already names its team and environment." in refused.content.decode()
