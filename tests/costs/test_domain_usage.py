"""Cost per SageMaker domain (the ``domain`` tag, end to end from the sandbox's meters) and the
usage report (active users, domains, profiles, projects, models in production, endpoints by
instance type)."""
import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from costs import services
from costs.models import CostFact, CostTagDaily, EndpointVariant
from portal import aws as portal_aws
from portal.models import Team
from tests.costs.test_sync import counted  # noqa: F401  (fixture)
from tests.provisioning.conftest import catalog, catalog_snapshot, make_request, run_to_settled  # noqa: F401

pytestmark = pytest.mark.usefixtures("boundary_clock")     # each test at every boundary day




@pytest.fixture
def domain_name(boundary_clock):
    """The domain outlives the test in the session's sandbox: a name no other test (or run at
    another boundary day) uses."""
    return f"cost-report-studio-{boundary_clock:%Y%m%d}"


def _backdate_meters(sandbox, arns, days: int = 3) -> list[str]:
    """Start the meters of ``arns`` ``days`` ago (Cost Explorer only shows completed hours)."""
    meters = sandbox.engine.state["meters"]
    started = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat()
    keys = [key for key in meters if key.split("#", 1)[0] in arns]
    for key in keys:
        meters[key]["start"] = started
    return keys


@pytest.fixture
def studio_domain(cost_world, catalog, make_request, domain_name):  # noqa: F811
    """A SageMaker domain provisioned through the portal in fraud-detection-dev, with a user
    profile in it, both billed for the last three days; the meters are removed afterwards."""
    from provisioning import services as provisioning_services

    world, sandbox = catalog["world"], catalog["sandbox"]
    request = make_request(world["ds"], parameters={"DomainName": domain_name})
    provisioning_services.request_approve(actor=world["lead"], request=request)
    assert run_to_settled(request.pk) == "available"
    request.refresh_from_db()
    outputs = {o["OutputKey"]: o["OutputValue"] for o in request.outputs}
    profile_arn = portal_aws.client("sagemaker", world.account.account_id).create_user_profile(
        DomainId=outputs["DomainId"], UserProfileName="alice",
        Tags=[{"Key": "team", "Value": "fraud-detection"}, {"Key": "portal-request", "Value": "profile-1"}],
    )["UserProfileArn"]
    keys = _backdate_meters(sandbox, {outputs["DomainArn"], profile_arn})
    assert len(keys) == 2
    meters = sandbox.engine.state["meters"]
    yield {"request": request, "outputs": outputs, "name": domain_name, "hourly": sum(meters[key]["hourly_usd"] for key in keys),
           "meters": [dict(meters[key]) for key in keys]}
    for key in keys:
        meters.pop(key, None)


def test_domain_cost_is_attributed_from_the_sandbox_meters_to_the_team_report(
        studio_domain, cost_world, catalog, client, api_client, counted):  # noqa: F811
    pp = catalog["sandbox"].engine.state["servicecatalog"]["provisioned"][studio_domain["request"].provisioned_product_id]
    assert pp["tags"]["domain"] == studio_domain["name"]                 # the portal tags the domain product
    assert all(meter["tags"]["domain"] == studio_domain["name"] for meter in studio_domain["meters"])   # profile inherits
    # The first sync reads the project and model breakdowns; the domain one waits for the next run.
    first = services.cost_sync_window()
    assert first.status == "succeeded" and first.requests_made == len(counted) <= 10, (first.error, counted)
    assert "Skipped the team x domain breakdown" in first.notes
    counted.clear()
    second = services.cost_sync_window()
    assert second.status == "succeeded" and second.requests_made == len(counted) <= 10, (second.error, counted)
    assert "team_domain" in second.groupings and "domain" not in second.notes
    assert CostFact.objects.filter(grouping="team_domain", tag_value=studio_domain["name"], team_tag="fraud-detection").exists()
    domain_cost = CostTagDaily.objects.filter(team=cost_world.team, key="domain", value=studio_domain["name"]) \
        .aggregate(s=Sum("unblended"))["s"]
    expected = Decimal(str(studio_domain["hourly"])) * 72
    assert expected * Decimal("0.9") < domain_cost <= expected * Decimal("1.01")   # ~3 days of EFS + Studio app
    assert not CostTagDaily.objects.filter(key="domain").exclude(team=cost_world.team).exists()
    # The same run read the portal-request breakdown: cost per provisioned product.
    request = studio_domain["request"]
    product_cost = CostTagDaily.objects.filter(team=cost_world.team, key="request", value=str(request.pk)) \
        .aggregate(s=Sum("unblended"))["s"]
    assert "team_request" in second.groupings and product_cost and product_cost < domain_cost   # the profile is not it

    client.force_login(cost_world["lead"])
    start = (services.today() - timedelta(days=5)).isoformat()
    response = client.get(reverse("costs:team_report", args=["fraud-detection"]), {"start": start})
    assert [t["value"] for t in response.context["report"]["domains"]] == [studio_domain["name"]]
    assert "By SageMaker domain" in response.content.decode()
    products = {t["value"]: t for t in response.context["report"]["products"]}
    assert products[str(request.pk)]["request"] == request and products["profile-1"]["request"] is None
    assert f'href="{reverse("provisioning:request_detail", args=[request.pk])}"' in response.content.decode()
    api_client.force_login(cost_world["lead"])
    rows = api_client.get(reverse("cost-by-tag-list"), {"key": "domain", "start": start}).json()["results"]
    assert [(r["team"], r["key"], r["value"]) for r in rows] == [("fraud-detection", "domain", studio_domain["name"])]
    assert Decimal(rows[0]["amount"]) == domain_cost.quantize(Decimal("0.01"))
    bad = api_client.get(reverse("cost-by-tag-list"), {"key": "account"})
    assert bad.status_code == 400 and "key" in bad.json()["error"]["fields"]
    # The usage report counts the domain the portal provisioned.
    client.force_login(cost_world["executive"])
    usage = {r["slug"]: r for r in client.get(reverse("costs:usage")).context["rows"]}
    assert usage["fraud-detection"]["domains"] == 1 and usage["credit-risk"]["domains"] == 0


@pytest.fixture
def endpoints(cost_world, aws_endpoint):
    """Two endpoints in fraud-detection-prod (ml.m5.large x1, ml.g5.xlarge x2), one in
    credit-risk-prod (ml.m5.large); their meters are removed afterwards."""
    import uuid

    made = []
    for account_id, instance_type, count in (("333333333313", "ml.m5.large", 1), ("333333333313", "ml.g5.xlarge", 2),
                                             ("333333333323", "ml.m5.large", 1)):
        sagemaker = portal_aws.client("sagemaker", account_id)
        name = f"usage-{uuid.uuid4().hex[:8]}"
        sagemaker.create_model(ModelName=name, PrimaryContainer={"Image": "123.dkr.ecr.us-east-1.amazonaws.com/m:1"},
                               ExecutionRoleArn=f"arn:aws:iam::{account_id}:role/SageMakerModelExecutionRole")
        sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": name, "InstanceType": instance_type,
             "InitialInstanceCount": count}])
        made.append(sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)["EndpointArn"])
    yield made
    meters = aws_endpoint.engine.state["meters"]
    for key in [key for key in meters if key.split("#", 1)[0] in made]:
        meters.pop(key)
    for arn in made:
        portal_aws.client("sagemaker", arn.split(":")[4]).delete_endpoint(EndpointName=arn.rsplit("/", 1)[1])


def test_usage_sync_reads_endpoints_by_instance_type_per_team(endpoints, cost_world, client, api_client):
    result = services.usage_sync()
    assert result["errors"] == {} and result["accounts"] == 6
    mine = EndpointVariant.objects.filter(endpoint_name__in=[arn.rsplit("/", 1)[1] for arn in endpoints])
    assert mine.count() == 3
    assert services.usage_sync()["variants"] == result["variants"]                # a repeat converges
    assert EndpointVariant.objects.count() == result["variants"]

    client.force_login(cost_world["executive"])
    response = client.get(reverse("costs:usage"))
    html = response.content.decode()
    assert "Usage by team" in html and 'data-chart="count"' in html and "nonce=" in html
    rows = {r["slug"]: r for r in response.context["rows"]}
    fraud = {e["instance_type"]: (e["endpoints"], e["instances"]) for e in rows["fraud-detection"]["by_instance_type"]}
    assert fraud["ml.m5.large"][0] >= 1 and fraud["ml.g5.xlarge"] >= (1, 2)
    assert rows["fraud-detection"]["endpoints"] >= 2 and rows["credit-risk"]["endpoints"] >= 1
    assert rows["fraud-detection"]["active_users"] == 3               # lead, ds, mle

    Team.objects.filter(slug="credit-risk").update(line_of_business="=HYPERLINK(\"http://x\")")   # typed by an admin
    exported = list(csv.DictReader(io.StringIO(
        b"".join(client.get(reverse("costs:usage_csv")).streaming_content).decode())))
    assert {r["team"] for r in exported} == {"fraud-detection", "credit-risk"}
    assert next(r for r in exported if r["team"] == "credit-risk")["line_of_business"].startswith("'=")
    assert "ml.g5.xlarge=" in next(r for r in exported if r["team"] == "fraud-detection")["endpoints_by_instance_type"]

    api_client.force_login(cost_world["lead"])                          # a team lead: their team only
    body = api_client.get(reverse("cost-usage-list")).json()
    assert body["count"] == 1 and body["results"][0]["team"] == "fraud-detection"
    assert {"ml.g5.xlarge", "ml.m5.large"} <= {e["instance_type"] for e in body["results"][0]["by_instance_type"]}
    assert api_client.get(reverse("cost-usage-list"), {"team": "credit-risk"}).status_code == 404


def test_usage_sync_keeps_an_unreadable_accounts_rows(cost_world, settings):
    EndpointVariant.objects.create(team=cost_world.team, account_id="333333333311", endpoint_name="kept",
                                   variant_name="AllTraffic", status="InService", instance_type="ml.m5.large",
                                   instance_count=1, synced_at=datetime.now(timezone.utc))
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_MAX_ATTEMPTS = 1
    portal_aws.reset_caches()
    try:
        result = services.usage_sync()
    finally:
        portal_aws.reset_caches()
    assert "333333333311" in result["errors"] and result["accounts"] == 0
    assert EndpointVariant.objects.filter(endpoint_name="kept").exists()


def test_usage_queries_do_not_grow_with_the_number_of_teams(cost_world, client, api_client):
    from portal import services as portal_services
    from portal.permissions import SYSTEM

    def add_teams(first, last):
        for i in range(first, last):
            team = Team.objects.create(name=f"Usage {i}", slug=f"usage-{i}", line_of_business="Retail", cost_center="CC")
            portal_services.membership_set(actor=SYSTEM, team=team, user=cost_world["outsider"], role="data_scientist")
            EndpointVariant.objects.create(team=team, account_id=f"4444444444{i:02d}", endpoint_name=f"e{i}",
                                           variant_name="AllTraffic", status="InService",
                                           instance_type="ml.m5.large" if i % 2 else "ml.c5.xlarge", instance_count=i,
                                           synced_at=datetime.now(timezone.utc))

    client.force_login(cost_world["auditor"])
    api_client.force_login(cost_world["auditor"])
    urls = [(client, reverse("costs:usage")), (client, reverse("costs:usage_csv")),
            (api_client, reverse("cost-usage-list"))]

    def queries():
        counts = []
        for who, url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert who.get(url).status_code == 200
            counts.append(len(captured))
        return counts
    assert Team.objects.count() == 2
    with_two = queries()
    add_teams(0, 4)
    assert queries() == with_two
    rows = api_client.get(reverse("cost-usage-list")).json()["results"]
    assert len(rows) == 6 and {r["endpoints"] for r in rows if r["team"].startswith("usage-")} == {1}


def test_the_usage_task_calls_the_service(monkeypatch):
    from costs.tasks import usage_sync
    monkeypatch.setattr(services, "usage_sync", lambda: {"accounts": 0, "variants": 0, "errors": {}})
    assert usage_sync.apply(kwargs={"unexpected": 1}).get()["accounts"] == 0
