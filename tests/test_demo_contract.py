"""The demo contract: what `make run` builds works as shipped.

After the real ``seed_demo --sync`` against a fresh fast sandbox, every product of the demo
catalog is requested in each of a team's accounts by a persona the product policy allows, with the
presets and defaults a user leaves as they are, approved where needed by someone allowed to (never
the requester), and reaches Available; then an update and a termination succeed. Every account
request the demo invites (the team lead leaving the root e-mail to the platform's pattern, a
second dev account included) reaches Ready. The products and parameters come from the catalog, so
a product or preset added later is covered without touching this file.
"""
import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.conftest import start_fast_sandbox

pytestmark = pytest.mark.django_db(transaction=True)
TEAM = "fraud-detection"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def demo_sandbox():
    """A sandbox of its own: the demo links every account of the organization, so no other test's
    accounts may be there."""
    server = start_fast_sandbox()
    yield server
    server.stop()


@pytest.fixture
def demo(demo_sandbox, settings, eager_tasks):
    """The demo exactly as `make run` seeds it, with Celery tasks run in-process."""
    from portal import aws

    settings.AWS_ENDPOINT_URL = demo_sandbox.url
    aws.reset_caches()
    call_command("seed_demo", "--sync")
    yield demo_sandbox
    aws.reset_caches()


def _users():
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(is_active=True).order_by("username"))


def _requester(product, team):
    """The first demo user the product policy lets request it for the team (team members first)."""
    from portal.permissions import team_roles
    from provisioning.services import product_allows

    users = sorted(_users(), key=lambda user: team.pk not in team_roles(user))
    requester = next((user for user in users if product_allows(product, user, team)), None)
    assert requester is not None, f"no demo persona may request {product.name} for {team.slug}"
    return requester


def _decide(request):
    """Approve as the first demo user allowed to, other than the requester (separation of duties)."""
    from provisioning import services

    approver = next((user for user in _users() if services.may_approve(user, request)), None)
    assert approver is not None, f"nobody in the demo may approve request {request.pk} ({request.product.name})"
    assert approver.pk != request.requester_id
    return services.request_approve(actor=approver, request=request)


def _typed_value(parameter: dict, outputs: dict) -> str:
    """What a user types for a required parameter the platform leaves open: a value an earlier
    product of the account gives as an output (a domain id for a user profile), else a fresh name."""
    key = parameter["ParameterKey"]
    if key in outputs:
        return outputs[key]
    name = f"demo{next(_numbers)}"
    pattern = (parameter.get("ParameterConstraints") or {}).get("AllowedPattern")
    assert not pattern or re.fullmatch(pattern, name), (
        f"the contract test cannot type a value for {key} (pattern {pattern}): teach _typed_value")
    return name


def _presets(product, account) -> dict:
    from provisioning.policies import presets_for

    return presets_for(product, account)


def _current_version(product):
    """The version the request form offers first (what request_create picks without one)."""
    return product.versions.filter(in_catalog=True).exclude(guidance="DEPRECATED").order_by("-created_time").first()


def _needs_an_output(product, account, others, outputs) -> bool:
    """Whether the product needs a value one of the other products outputs, and none has yet."""
    produced = {o["Key"] for p in others if p != product for o in _current_version(p).outputs}
    return any(p["ParameterKey"] in produced - set(outputs)
               for p in _required_open(_current_version(product), _presets(product, account)))


def _required_open(version, presets) -> list[dict]:
    return [p for p in version.parameters
            if "DefaultValue" not in p and not {"hidden", "default"} & set(presets.get(p["ParameterKey"], {}))]


def _update_values(request, presets) -> list[dict]:
    """Changes a user could make on the update form: another allowed value of a visible parameter,
    then a new value of an optional free-text one (the environment name last: it renames things)."""
    from provisioning.policies import allowed_values

    choices, texts = [], []
    for parameter in request.version.parameters:
        key = parameter["ParameterKey"]
        if "hidden" in presets.get(key, {}):
            continue
        allowed = allowed_values(parameter, presets)
        others = [v for v in allowed if v != request.parameters.get(key)]
        if others:
            choices.append({key: others[0]})
        elif not allowed and parameter.get("DefaultValue"):
            pattern = (parameter.get("ParameterConstraints") or {}).get("AllowedPattern")
            value = f"demo{next(_numbers)}"
            if not pattern or re.fullmatch(pattern, value):
                texts.append({key: value})
    return sorted(choices, key=lambda change: "EnvironmentName" in change) + texts


def _update(request, presets) -> str:
    """Make the first change a user would: one the guardrails accept and whose preview replaces
    nothing (a replacement of a named resource fails in CloudFormation, and the preview says so).
    Returns a problem, or "" when the update reached Available."""
    from portal.errors import DomainError
    from provisioning import services

    for change in _update_values(request, presets):
        try:
            preview = services.request_update_preview(actor=request.requester, request=request, parameters=change)
            if any(c["replacement"] == "TRUE" for c in preview["changes"]):
                continue
            services.request_update(actor=request.requester, request=request, parameters=change)
        except DomainError:     # a guardrail refuses this change here (e.g. prod): try the next
            continue
        request = _settled(request)
        return "" if request.state == "available" else f"update {change}: {request.state}: {request.error_message}"
    return "no change a user could make was accepted"


def _settled(request):
    from provisioning.models import IN_FLIGHT_STATES

    request.refresh_from_db()
    assert request.state not in IN_FLIGHT_STATES, f"{request.name} is still {request.state}"
    return request


def test_every_demo_product_reaches_available_then_updates_and_terminates_in_every_team_account(demo):
    from portal.models import AwsAccount, Team
    from provisioning import services
    from provisioning.models import CatalogProduct

    team = Team.objects.get(slug=TEAM)
    products = list(CatalogProduct.objects.filter(in_catalog=True, enabled=True,
                                                  kind=CatalogProduct.Kind.SERVICE).order_by("name"))
    assert len(products) >= 4, [p.name for p in products]
    accounts = list(AwsAccount.objects.filter(team=team).order_by("account_id"))
    assert {a.environment for a in accounts} >= {"dev", "test", "prod"}
    problems = []
    for account in accounts:
        outputs: dict[str, str] = {}
        waiting = list(products)
        while waiting:   # a product whose input another one outputs (DomainId) goes after it
            product = next((p for p in waiting if not _needs_an_output(p, account, waiting, outputs)), waiting[0])
            waiting.remove(product)
            presets = _presets(product, account)
            version = _current_version(product)
            if _needs_an_output(product, account, products, outputs):
                problems.append(f"{product.name} in {account.name}: blocked, it needs an output of a product "
                                "that did not become available")
                continue
            parameters = {p["ParameterKey"]: _typed_value(p, outputs) for p in _required_open(version, presets)}
            name = f"demo-{next(_numbers)}"
            request = services.request_create(actor=_requester(product, team), product=product, account=account,
                                              name=name, parameters=parameters)
            if request.state == "pending_approval":
                _decide(request)
            request = _settled(request)
            if request.state != "available":
                problems.append(f"{product.name} in {account.name}: {request.state}: {request.error_message}")
                continue
            outputs.update({o["OutputKey"]: o["OutputValue"] for o in request.outputs})
            problem = _update(request, presets)
            if problem:
                problems.append(f"{product.name} in {account.name}: {problem}")
        for request in services.ProvisioningRequest.objects.filter(account=account, state="available"):
            services.request_terminate(actor=request.requester, request=request, confirm_name=request.name)
            request = _settled(request)
            if request.state != "terminated":
                problems.append(f"terminate {request.product.name} in {account.name}: {request.state}: "
                                f"{request.error_message}")
    assert not problems, "\n".join(problems)


def test_every_account_request_the_demo_invites_reaches_ready(demo):
    from portal.errors import DomainError
    from portal.models import AwsAccount, Team
    from portal.permissions import has_perm
    from provisioning.models import CatalogProduct
    from provisioning.policies import presets_for
    from provisioning.accounts import services
    from provisioning.accounts.models import VENDING_ENVIRONMENTS, AccountRequest

    team = Team.objects.get(slug=TEAM)
    lead = next(user for user in _users() if user.username == f"{TEAM}-lead")
    environments = [value for value, _label in VENDING_ENVIRONMENTS] + ["dev"]     # a second dev account
    items = []
    for environment in environments:
        try:
            items.append(services.account_request_create(
                actor=lead, team=team, environment=environment, purpose="More room for fraud models",
                account_name=f"{TEAM}-{environment}-{next(_numbers)}", sso_first_name="Fraud", sso_last_name="Lead",
                sso_email=lead.email, monthly_budget_usd=Decimal("2000"),
                lease_end=timezone.localdate() + timedelta(days=30) if environment == "sandbox" else None))
        except DomainError as error:
            pytest.fail(f"the lead's request for a {environment} account was refused: {error.fields}")
    for item in items:
        item.refresh_from_db()
        while item.state in ("pending_approval", "pending_second_approval"):
            approver = next(user for user in _users() if has_perm(user, "approve", AccountRequest, team.pk)
                            and user.pk != item.requester_id
                            and not item.approvals.filter(decided_by=user).exists())
            item = services.account_request_approve(actor=approver, request=item)
    for _ in range(30):
        services.account_queue_dispatch()
        if not AccountRequest.objects.filter(pk__in=[i.pk for i in items]).exclude(
                state__in=["ready", "failed"]).exists():
            break
    states = {i.account_name: (i.state, i.email, i.error_message)
              for i in AccountRequest.objects.filter(pk__in=[i.pk for i in items])}
    assert all(state == "ready" for state, _email, _error in states.values()), states
    assert len({email for _state, email, _error in states.values()}) == len(items)
    # Each new account got its own network as presets, ready for the team's first domain there.
    domain = CatalogProduct.objects.get(name="SageMaker Studio Domain")
    vended = AccountRequest.objects.filter(pk__in=[i.pk for i in items]).values_list("account_id", flat=True)
    networks = {presets_for(domain, account)["VpcId"]["hidden"]
                for account in AwsAccount.objects.filter(account_id__in=vended)}
    assert len(networks) == len(items) and all(vpc.startswith("vpc-") for vpc in networks)
