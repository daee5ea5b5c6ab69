"""Every write of the provisioning app: catalog sync and policy, requests and their lifecycle,
the AWS steps workers run, and the reconciler.

Services take the acting user (``actor``; ``SYSTEM`` for workers) keyword-only, check permission
and state, change rows, write an audit event and notifications, and schedule the next task after
commit, all in one transaction. AWS calls are made outside transactions; their results are
written with compare-and-set under ``select_for_update``, so a repeated or concurrent step is a
no-op.
"""
import logging
import re
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import retry
from portal.audit import audit_record
from portal.budgets import budget_excess
from portal.errors import DomainError, InvalidTransition
from portal.models import AwsAccount, Team, TeamRole
from portal.notifications import notify
from portal.permissions import SYSTEM, has_perm, is_platform_admin, require, team_roles, users_with_perm
from portal.selectors import decided_by_label, delegation_principal
from portal.workflow import step_log, transition
from provisioning import aws
from provisioning.models import (
    HOURS_PER_MONTH, CatalogProduct, CatalogVersion, ParameterPreset, ProvisionedProduct, ProvisioningRequest,
    ReconcileRun, RequestState as S, RequestStep, new_token, product_name_validator,
)
from provisioning.policies import check_guardrails, presets_for, resolve_values
from provisioning.transitions import MACHINE

log = logging.getLogger(__name__)
Op = ProvisioningRequest.Operation
POLL_BASE_SECONDS = 2.0
POLL_CAP_SECONDS = 60.0
CALL_MAX_ATTEMPTS = 6
ACCOUNT_FACTORY_NAMES = {"AWS Control Tower Account Factory"}


def backoff_seconds(attempt: int, *, base: float = POLL_BASE_SECONDS, cap: float = POLL_CAP_SECONDS) -> float:
    """The wait before polling again (``portal.retry``), with provisioning's defaults."""
    return retry.backoff_seconds(attempt, base=base, cap=cap)


def _schedule(task, request_id: int, countdown: float, **kwargs) -> None:
    """Run ``task`` later. Eager mode (tests, the browser journey) ignores countdowns, so wait a
    little here instead of polling a running record in a tight loop."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        time.sleep(min(countdown, 0.3))
    retry.later(task, request_id, countdown=countdown, **kwargs)


def _on_commit_execute(request_id: int) -> None:
    from provisioning.tasks import request_execute
    transaction.on_commit(lambda: request_execute.delay(request_id))


# =====================================================================================
# Catalog
# =====================================================================================
def catalog_sync(*, actor) -> dict:
    """Mirror Service Catalog into CatalogProduct/CatalogVersion (hub account; SearchProducts,
    DescribeProduct, ListLaunchPaths, DescribeProvisioningParameters, all paged), then
    ``catalog_apply``. Repeat: a second run with an unchanged catalog changes nothing."""
    require(actor, "sync", CatalogProduct)
    return catalog_apply(actor=actor, snapshot=aws.catalog_snapshot())


def catalog_apply(*, actor, snapshot: list[dict]) -> dict:
    """Upsert a catalog snapshot by id; products and versions gone from AWS are marked, never
    deleted; policy fields are never touched. One audit event per run that changed something."""
    require(actor, "sync", CatalogProduct)
    fetched = [(item["summary"], item["paths"], item["versions"]) for item in snapshot]
    now = timezone.now()
    counts = {"products": 0, "created": 0, "changed": 0, "versions": 0, "removed": 0}
    with transaction.atomic():
        seen = set()
        for summary, paths, versions in fetched:
            seen.add(summary["ProductId"])
            fields = {
                "view_id": summary.get("Id", ""), "name": summary.get("Name", ""), "owner": summary.get("Owner", ""),
                "short_description": summary.get("ShortDescription", ""), "product_type": summary.get("Type", ""),
                "distributor": summary.get("Distributor", ""), "support_email": summary.get("SupportEmail", ""),
                "support_description": summary.get("SupportDescription", ""),
                "support_url": summary.get("SupportUrl", ""), "launch_paths": paths, "in_catalog": True,
                "kind": (CatalogProduct.Kind.ACCOUNT_FACTORY if summary.get("Name") in ACCOUNT_FACTORY_NAMES
                         else CatalogProduct.Kind.SERVICE),
            }
            product = CatalogProduct.objects.select_for_update().filter(product_id=summary["ProductId"]).first()
            if product is None:
                product = CatalogProduct.objects.create(product_id=summary["ProductId"], synced_at=now, **fields)
                counts["created"] += 1
            elif any(getattr(product, k) != v for k, v in fields.items()):
                for key, value in fields.items():
                    setattr(product, key, value)
                product.synced_at = now
                product.save()
                counts["changed"] += 1
            counts["products"] += 1
            seen_versions = set()
            for version in versions:
                seen_versions.add(version["id"])
                created = version["created"]
                if isinstance(created, str):
                    created = parse_datetime(created)
                values = {"name": version["name"], "description": version["description"],
                          "guidance": version["guidance"], "created_time": created,
                          "parameters": version["parameters"], "outputs": version["outputs"], "in_catalog": True}
                row = CatalogVersion.objects.filter(product=product, artifact_id=version["id"]).first()
                if row is None:
                    CatalogVersion.objects.create(product=product, artifact_id=version["id"], **values)
                    counts["changed"] += 1
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for key, value in values.items():
                        setattr(row, key, value)
                    row.save()
                    counts["changed"] += 1
                counts["versions"] += 1
            counts["removed"] += CatalogVersion.objects.filter(product=product, in_catalog=True).exclude(
                artifact_id__in=seen_versions).update(in_catalog=False)
        counts["removed"] += CatalogProduct.objects.filter(in_catalog=True).exclude(
            product_id__in=seen).update(in_catalog=False)
        if counts["created"] or counts["changed"] or counts["removed"]:
            audit_record(actor=actor, action="catalog.sync", target_type="provisioning.catalogproduct",
                         target_label="Service Catalog", after=counts)
    return counts


POLICY_FIELDS = ("enabled", "allowed_roles", "requires_approval", "hourly_price_usd", "lifetime_days")


def catalog_policy_update(*, actor, product: CatalogProduct, enabled: bool, allowed_teams, allowed_roles: list,
                          requires_approval: bool, hourly_price_usd: Decimal,
                          lifetime_days: int | None = None) -> CatalogProduct:
    """Change who may request a product, whether it needs approval and its price. Audited with
    before/after. Repeat: the same values write nothing."""
    require(actor, "change", CatalogProduct)
    bad_roles = set(allowed_roles) - set(TeamRole.values)
    if bad_roles:
        raise DomainError(f"Unknown team roles: {', '.join(sorted(bad_roles))}.", fields={"allowed_roles": ["Unknown role."]})
    if hourly_price_usd < 0:
        raise DomainError("The hourly price cannot be negative.", fields={"hourly_price_usd": ["Must be 0 or more."]})
    with transaction.atomic():
        product = CatalogProduct.objects.select_for_update().get(pk=product.pk)
        before = {**{f: getattr(product, f) for f in POLICY_FIELDS},
                  "allowed_teams": sorted(product.allowed_teams.values_list("slug", flat=True))}
        after = {"enabled": enabled, "allowed_roles": sorted(allowed_roles), "requires_approval": requires_approval,
                 "hourly_price_usd": Decimal(hourly_price_usd), "lifetime_days": lifetime_days,
                 "allowed_teams": sorted(t.slug for t in allowed_teams)}
        if {**before, "allowed_roles": sorted(before["allowed_roles"])} == after:
            return product
        for field in POLICY_FIELDS:
            setattr(product, field, after[field])
        product.save()
        product.allowed_teams.set(allowed_teams)
        audit_record(actor=actor, action="catalog.policy_update", target=product, before=before, after=after)
    return product


def preset_set(*, actor, product: CatalogProduct, key: str, mode: str, value: str, team=None,
               environment: str = "", account: AwsAccount | None = None) -> ParameterPreset:
    """Add or change a parameter preset (default, hidden or allowed values) for every account, a
    team and/or environment, or one account (which implies its team and environment). Idempotent
    per (product, team, environment, account, key, mode). Audited."""
    require(actor, "change", ParameterPreset)
    known = {p["ParameterKey"] for v in product.versions.all() for p in v.parameters}
    if key not in known:
        raise DomainError(f"The product has no parameter '{key}'. Choose one of: {', '.join(sorted(known))}.",
                          fields={"key": ["Unknown parameter."]})
    if mode not in ParameterPreset.Mode.values:
        raise DomainError("Choose default, hidden or allowed.", fields={"mode": ["Unknown mode."]})
    if account is not None and (team is not None or environment):
        raise DomainError("Choose one account, or a team and environment, not both.",
                          fields={"account": ["An account already names its team and environment."]})
    with transaction.atomic():
        preset, created = ParameterPreset.objects.select_for_update().get_or_create(
            product=product, team=team, environment=environment, account=account, key=key, mode=mode,
            defaults={"value": value})
        if not created and preset.value == value:
            return preset
        before = None if created else {"value": preset.value}
        preset.value = value
        preset.save()
        audit_record(actor=actor, action="catalog.preset_set", target=preset,
                     team=team or (account.team if account else None), before=before,
                     after={"product": product.name, "key": key, "mode": mode, "value": value,
                            "team": team.slug if team else "", "environment": environment,
                            "account": account.account_id if account else ""})
    return preset


NETWORK_PARAMETERS = ("VpcId", "SubnetIds", "SecurityGroupIds")


def preset_account_networks(*, actor, accounts=None) -> dict:
    """Set, per team account (or the ``accounts`` given), hidden presets of the network parameters
    (NETWORK_PARAMETERS) of every catalog product that takes them, to the network read from that
    account (``aws.account_network``: EC2 in the member account). A changed network replaces the
    old values; an unchanged one writes nothing (``preset_set``). An account AWS will not let the
    portal read (still being created, role missing) is logged and skipped. Returns {"accounts": how
    many got a network, "unreadable": their ids}."""
    require(actor, "change", ParameterPreset)
    products = [(product, {p["ParameterKey"] for v in product.versions.filter(in_catalog=True) for p in v.parameters}
                 & set(NETWORK_PARAMETERS))
                for product in CatalogProduct.objects.filter(in_catalog=True).prefetch_related("versions")]
    products = [(product, keys) for product, keys in products if keys]
    outcome = {"accounts": 0, "unreadable": []}
    if not products:
        return outcome
    if accounts is None:
        accounts = AwsAccount.objects.filter(team__isnull=False, status="ACTIVE").order_by("account_id")
    for account in accounts:
        try:
            network = aws.account_network(account.account_id)
        except aws.AwsCallError as error:
            log.warning("Could not read the network of account %s: %s", account.account_id, error)
            outcome["unreadable"].append(account.account_id)
            continue
        if not network:
            continue
        for product, keys in products:
            for key in sorted(keys):
                if network.get(key):
                    preset_set(actor=actor, product=product, key=key, mode=ParameterPreset.Mode.HIDDEN,
                               value=network[key], account=account)
        outcome["accounts"] += 1
    return outcome


def preset_delete(*, actor, preset: ParameterPreset) -> None:
    """Remove a preset. Audited."""
    require(actor, "change", ParameterPreset)
    with transaction.atomic():
        audit_record(actor=actor, action="catalog.preset_delete", target=preset, team=preset.team,
                     before={"key": preset.key, "mode": preset.mode, "value": preset.value})
        preset.delete()


# =====================================================================================
# Requests: people's actions
# =====================================================================================
def product_allows(product: CatalogProduct, user, team) -> bool:
    """Whether the product policy lets ``user`` request it for ``team``."""
    if not product.enabled or not product.in_catalog or product.kind != CatalogProduct.Kind.SERVICE:
        return False
    if is_platform_admin(user):
        return True
    role = team_roles(user).get(team.pk)
    if role is None or (product.allowed_roles and role not in product.allowed_roles):
        return False
    allowed = [t.pk for t in product.allowed_teams.all()]
    return not allowed or team.pk in allowed


def _step(request: ProvisioningRequest, action: str, outcome: str, detail: str = "", started=None) -> RequestStep:
    return step_log(MACHINE, request, action, outcome, detail, started)


def _url(request: ProvisioningRequest) -> str:
    return reverse("provisioning:request_detail", args=[request.pk])


def _approvers(request: ProvisioningRequest):
    """Who may decide the request: anyone the policy lets approve in its team but the requester."""
    return users_with_perm("approve", ProvisioningRequest, request.team_id).exclude(pk=request.requester_id)


def approver_ids(team_id: int) -> set[int]:
    """Ids of the people the policy lets decide the team's requests (the requester excepted later)."""
    return set(users_with_perm("approve", ProvisioningRequest, team_id).values_list("pk", flat=True))


def undecidable_reason(request: ProvisioningRequest, approvers: set[int] | None = None) -> str:
    """A sentence when a request waiting for approval has nobody who may decide it (no platform
    admin, and the requester is the team's only lead), else "". Shown on its page and in the API.
    ``approvers``: ``approver_ids`` of its team, when the caller has them (lists)."""
    if request.state != S.PENDING_APPROVAL:
        return ""
    approvers = approver_ids(request.team_id) if approvers is None else approvers
    if approvers - {request.requester_id}:
        return ""
    return ("Nobody can decide this request: only a lead of the team (other than the requester) or a platform "
            "admin may, and none exists. A platform admin must make someone a lead of the team; otherwise "
            "cancel it.")


def _notify_requester(request: ProvisioningRequest, kind: str, subject: str, body: str = "") -> None:
    notify(users=[request.requester], kind=kind, subject=subject, body=body, url=_url(request), team=request.team)


def _transition(request: ProvisioningRequest, action: str, *, actor, detail: str = "",
                check_permission: bool = True, **changes) -> str:
    """Move a locked request along its machine (``portal.workflow``): the edge and the permission
    registry are checked there (``check_permission=False`` when the service checked the policy on
    a delegate's principal); services add their own rules (requester or lead, separation of
    duties) before calling. State, step and audit event in the caller's transaction."""
    return transition(request, action, actor=actor, detail=detail, changes=changes,
                      check_permission=check_permission)


def _locked(request_or_id) -> ProvisioningRequest:
    pk = getattr(request_or_id, "pk", request_or_id)
    return (ProvisioningRequest.objects.select_for_update(of=("self",))
            .select_related("team", "requester", "account").get(pk=pk))


def _require_operator(actor, request: ProvisioningRequest, verb: str) -> None:
    """Requester, a lead of the team, or a platform admin."""
    require(actor, "change", ProvisioningRequest, request.team_id)
    if actor is SYSTEM or is_platform_admin(actor) or actor.pk == request.requester_id:
        return
    if team_roles(actor).get(request.team_id) == TeamRole.LEAD:
        return
    raise PermissionDenied(f"Only the requester, a team lead or a platform admin may {verb} this request.")


def request_validate(*, actor, product: CatalogProduct, account: AwsAccount, version: CatalogVersion | None,
                     name: str, parameters: dict) -> dict:
    """Everything a request needs, checked: {version, values, secrets, estimate}. Raises
    DomainError with per-field messages (parameter keys) so forms keep their input. No writes."""
    team = account.team
    if team is None:
        raise DomainError("Choose one of your team's accounts.", fields={"account": ["Not a team account."]})
    require(actor, "add", ProvisioningRequest, team.pk)
    if not product_allows(product, actor, team):
        raise PermissionDenied(f"The product policy does not let you request {product.name} for {team.name}.")
    problems = {}
    if version is None:
        version = (product.versions.filter(in_catalog=True).exclude(guidance="DEPRECATED")
                   .order_by("-created_time").first())
    if version is None or version.product_id != product.pk or not version.in_catalog:
        raise DomainError("This product has no version that can be provisioned; ask a platform admin to sync "
                          "the catalog.", fields={"version": ["Choose a current version."]})
    if version.deprecated:
        problems["version"] = "This version is deprecated; choose the current version."
    try:
        product_name_validator(name)
    except Exception:
        problems["name"] = product_name_validator.message
    else:
        clash = ProvisioningRequest.objects.filter(account=account, name=name).exclude(
            state__in=[S.REJECTED, S.CANCELLED, S.TERMINATED]).exists()
        if clash:
            problems["name"] = "A product with this name already exists (or is requested) in this account."
    presets = presets_for(product, account)
    values, secrets, parameter_problems = resolve_values(version.parameters, presets, parameters)
    problems.update(parameter_problems)
    estimate = (product.hourly_price_usd * HOURS_PER_MONTH).quantize(Decimal("0.01"))
    problems.update(check_guardrails(account=account, values=values))
    if problems:
        general = problems.pop("__all__", None)
        message = general or "Some fields need attention: " + "; ".join(f"{k}: {v}" for k, v in problems.items())
        fields = {key: [value] for key, value in problems.items()}
        if general:
            fields["__all__"] = [general]
        raise DomainError(message, code="validation_error", fields=fields)
    return {"version": version, "values": values, "secrets": secrets, "estimate": estimate}


def budget_warning(team: Team, estimate: Decimal) -> str:
    """A sentence when ``estimate`` would overrun what is left of the team's budget this month
    (read from local cost data), else "". Such requests wait for approval."""
    excess = budget_excess(team, estimate)
    return excess.sentence(team.name) if excess else ""


def request_create(*, actor, product: CatalogProduct, account: AwsAccount, name: str, parameters: dict,
                   version: CatalogVersion | None = None, project: str = "", submit: bool = True) -> ProvisioningRequest:
    """Create a request (draft), and submit it unless ``submit`` is False. Writes the request, its
    steps, audit events, notifications, and schedules provisioning when no approval is needed.
    Not idempotent by itself: the API's Idempotency-Key makes repeated POSTs safe."""
    checked = request_validate(actor=actor, product=product, account=account, version=version, name=name,
                               parameters=parameters)
    with transaction.atomic():
        request = ProvisioningRequest.objects.create(
            team=account.team, requester=actor, product=product, version=checked["version"], account=account,
            name=name, project=project[:100], parameters=checked["values"], secret_parameters=checked["secrets"],
            estimated_monthly_usd=checked["estimate"], provision_token=new_token())
        _step(request, "create", RequestStep.Outcome.OK, f"Draft created by {actor.get_username()}")
        audit_record(actor=actor, action="provisioning_request.create", target=request, team=request.team,
                     after={"product": product.name, "account": account.account_id, "name": name,
                            "parameters": checked["values"], "estimated_monthly_usd": checked["estimate"]})
        if submit:
            _submit(request, actor)
    return request


def _submit(request: ProvisioningRequest, actor) -> None:
    # Judged at submission against the budget as stored now (the caller's team object may be older).
    warning = budget_warning(Team.objects.get(pk=request.team_id), request.estimated_monthly_usd)
    reasons = (["The product's policy requires approval."] if request.product.requires_approval else []) + [warning]
    _transition(request, "submit", actor=actor, submitted_at=timezone.now(), over_budget=bool(warning),
                approval_reason=" ".join(reason for reason in reasons if reason))
    _notify_requester(request, "request.submitted", f"Request submitted: {request.name}",
                      f"{request.product.name} in {request.account.name}.")
    if request.approval_reason:
        _transition(request, "require_approval", actor=SYSTEM, detail=request.approval_reason)
        notify(users=_approvers(request), kind="approval.needed", subject=f"Approval needed: {request.name}",
               body=f"{request.requester.get_username()} asks for {request.product.name} in {request.account.name} "
                    f"(estimated ${request.estimated_monthly_usd}/month). {request.approval_reason}",
               url=_url(request), team=request.team)
        reason = undecidable_reason(request)
        if reason:     # no platform admin exists (they could decide): the page and the API say so
            _step(request, "undecidable", RequestStep.Outcome.WAITING, reason)
    else:
        _transition(request, "auto_approve", actor=SYSTEM,
                    detail="the product needs no approval and the estimate fits the team's budget")
        _on_commit_execute(request.pk)


def request_submit(*, actor, request: ProvisioningRequest) -> ProvisioningRequest:
    """Submit a draft. Repeat: InvalidTransition (it is no longer a draft)."""
    _require_operator(actor, request, "submit")
    with transaction.atomic():
        request = _locked(request)
        _submit(request, actor)
    return request


def _decider(actor, request: ProvisioningRequest, on_behalf_of) -> tuple:
    """(principal, label): whom the actor decides for (a delegator, portal.selectors.delegation_principal)
    after the policy and separation-of-duties checks on both people."""
    principal = delegation_principal(actor, on_behalf_of)
    require(principal, "approve", ProvisioningRequest, request.team_id)
    if request.requester_id in {actor.pk, principal.pk}:
        raise PermissionDenied("You cannot decide on your own request; another team lead or a platform admin must."
                               if actor.pk == request.requester_id else
                               f"{principal} asked for this request; their delegate cannot decide it either.")
    return principal, decided_by_label(actor, principal)


def _with_principal(actor, principal, comment: str) -> str:
    """The step detail: "for bob: comment" when a delegate decided (the step reads "by alice: for bob")."""
    if principal is actor:
        return comment
    return f"for {principal.get_username()}" + (f": {comment}" if comment else "")


def request_approve(*, actor, request: ProvisioningRequest, comment: str = "",
                    on_behalf_of=None) -> ProvisioningRequest:
    """Approve a pending request (a team lead or platform admin other than the requester, or their
    delegate: ``on_behalf_of`` names the delegator, recorded "by X for Y"), then schedule
    provisioning after commit. Concurrent or repeated calls: one wins, the others get
    InvalidTransition."""
    principal, label = _decider(actor, request, on_behalf_of)
    with transaction.atomic():
        request = _locked(request)
        _transition(request, "approve", actor=actor, detail=_with_principal(actor, principal, comment),
                    check_permission=False,   # checked on the principal by _decider
                    decided_by=actor, decided_at=timezone.now(), decision_comment=comment)
        _notify_requester(request, "request.approved", f"Request approved: {request.name}",
                          f"Approved by {label}. Provisioning starts now.")
        _on_commit_execute(request.pk)
    return request


def request_reject(*, actor, request: ProvisioningRequest, comment: str,
                   on_behalf_of=None) -> ProvisioningRequest:
    """Reject a pending request with a comment the requester reads. Same rules as approve."""
    principal, _label = _decider(actor, request, on_behalf_of)
    if not (comment or "").strip():
        raise DomainError("Say why the request is rejected, so the requester can fix it.",
                          fields={"comment": ["A comment is required to reject."]})
    with transaction.atomic():
        request = _locked(request)
        _transition(request, "reject", actor=actor, detail=_with_principal(actor, principal, comment.strip()),
                    check_permission=False,   # checked on the principal by _decider
                    decided_by=actor, decided_at=timezone.now(), decision_comment=comment.strip(),
                    secret_parameters={})
        _notify_requester(request, "request.rejected", f"Request rejected: {request.name}", comment.strip())
    return request


def request_cancel(*, actor, request: ProvisioningRequest) -> ProvisioningRequest:
    """Cancel before provisioning starts. Repeat or too late: InvalidTransition."""
    _require_operator(actor, request, "cancel")
    with transaction.atomic():
        request = _locked(request)
        _transition(request, "cancel", actor=actor, secret_parameters={})
    return request


def request_retry(*, actor, request: ProvisioningRequest) -> ProvisioningRequest:
    """Retry the failed operation. A failed provisioning whose product exists in AWS (ERROR) is
    first removed, then provisioned again with a new token. Platform-set (hidden preset) values are
    taken as they are now, so a preset a platform admin corrected reaches AWS. Schedules the work
    after commit."""
    _require_operator(actor, request, "retry")
    with transaction.atomic():
        request = _locked(request)
        operation = request.operation
        if operation == Op.CLEANUP:
            operation = Op.PROVISION
        attempt = request.attempt + 1
        changes = {"attempt": attempt, "record_id": "", "error_message": "", "poll_attempt": 0}
        field = "pending_parameters" if operation == Op.UPDATE else "parameters"
        sent = getattr(request, field)
        corrected = {key: rules["hidden"] for key, rules in presets_for(request.product, request.account).items()
                     if "hidden" in rules and key in sent and sent[key] != rules["hidden"]}
        if corrected and operation in (Op.PROVISION, Op.UPDATE):
            changes[field] = {**sent, **corrected}
            changes["detail"] = "platform-set values now " + ", ".join(f"{k}={v}" for k, v in corrected.items())
        if operation == Op.PROVISION:
            action = "retry_provision"
            if request.provisioned_product_id:
                changes.update(operation=Op.CLEANUP, operation_token=f"{request.provision_token}-c{attempt}")
            else:
                changes.update(operation=Op.PROVISION, operation_token=f"{request.provision_token}-p{attempt}")
        elif operation == Op.UPDATE:
            action = "retry_update"
            changes.update(operation_token=f"{request.provision_token}-u{attempt}")
        else:
            action = "retry_terminate"
            changes.update(operation_token=f"{request.provision_token}-t{attempt}")
        _transition(request, action, actor=actor, **changes)
        _on_commit_execute(request.pk)
    return request


def request_update(*, actor, request: ProvisioningRequest, parameters: dict,
                   version: CatalogVersion | None = None) -> ProvisioningRequest:
    """Start an update of an available product with changed parameters (UpdateProvisionedProduct
    with a new stored token). Raises DomainError when nothing changed or a value is invalid."""
    _require_operator(actor, request, "update")
    version = version or request.version
    presets = presets_for(request.product, request.account)
    merged = {**request.parameters, **{k: v for k, v in parameters.items() if v not in (None, "")}}
    values, secrets, problems = resolve_values(version.parameters, presets, merged)
    problems.update(check_guardrails(account=request.account, values=values))
    if problems:
        raise DomainError("Some fields need attention: " + "; ".join(f"{k}: {v}" for k, v in problems.items()),
                          code="validation_error", fields={k: [v] for k, v in problems.items()})
    if values == request.parameters and version.pk == request.version_id and not secrets:
        raise DomainError("Nothing changed: change at least one value to update the product.")
    with transaction.atomic():
        request = _locked(request)
        attempt = request.attempt + 1
        _transition(request, "update", actor=actor, detail=", ".join(
            f"{k}={v}" for k, v in values.items() if request.parameters.get(k) != v),
            operation=Op.UPDATE, pending_parameters=values, secret_parameters=secrets, version=version,
            attempt=attempt, operation_token=f"{request.provision_token}-u{attempt}", record_id="",
            error_message="", poll_attempt=0)
        _on_commit_execute(request.pk)
    return request


def request_update_preview(*, actor, request: ProvisioningRequest, parameters: dict) -> dict:
    """What an update would change: the changed parameters and the resource changes of a
    provisioned-product plan (created, read and deleted in the product's account). No portal writes."""
    _require_operator(actor, request, "update")
    if request.state != S.AVAILABLE:
        raise InvalidTransition("Only an available product can be updated.")
    presets = presets_for(request.product, request.account)
    merged = {**request.parameters, **{k: v for k, v in parameters.items() if v not in (None, "")}}
    values, _secrets, problems = resolve_values(request.version.parameters, presets, merged)
    if problems:
        raise DomainError("Some fields need attention.", code="validation_error",
                          fields={k: [v] for k, v in problems.items()})
    diff = [{"key": k, "old": request.parameters.get(k, ""), "new": v}
            for k, v in values.items() if request.parameters.get(k) != v]
    preview = {"parameters": diff, "changes": [], "plan_status": "", "plan_message": ""}
    if not diff:
        return preview
    path = request.product.default_path or {}
    token = new_token()
    try:
        plan_id = aws.plan_update(account_id=request.account.account_id, name=request.name, token=token,
                                  product_id=request.product.product_id, artifact_id=request.version.artifact_id,
                                  path_id=path.get("id", ""), parameters=values)
        plan = {"status": "CREATE_IN_PROGRESS"}
        for _ in range(20):
            plan = aws.describe_plan(account_id=request.account.account_id, plan_id=plan_id)
            if plan["status"] != "CREATE_IN_PROGRESS":
                break
            time.sleep(0.25)
        aws.delete_plan(account_id=request.account.account_id, plan_id=plan_id)
        preview.update(changes=plan.get("changes", []), plan_status=plan["status"], plan_message=plan.get("message", ""))
    except aws.AwsCallError as error:
        preview["plan_message"] = f"AWS could not preview the change: {error.message}"
    return preview


def request_terminate(*, actor, request: ProvisioningRequest, confirm_name: str) -> ProvisioningRequest:
    """Terminate the product (the requester types its name to confirm). Schedules
    TerminateProvisionedProduct with a new stored token."""
    _require_operator(actor, request, "terminate")
    if (confirm_name or "").strip() != request.name:
        raise DomainError(f"Type the product's name, {request.name}, to confirm.",
                          fields={"confirm_name": [f"The name does not match: type {request.name}."]})
    if not request.provisioned_product_id:
        raise InvalidTransition("Nothing exists in AWS for this request, so there is nothing to terminate.")
    with transaction.atomic():
        request = _locked(request)
        attempt = request.attempt + 1
        _transition(request, "terminate", actor=actor, operation=Op.TERMINATE, attempt=attempt,
                    operation_token=f"{request.provision_token}-t{attempt}", record_id="", error_message="",
                    poll_attempt=0)
        _on_commit_execute(request.pk)
    return request


# =====================================================================================
# Worker steps
# =====================================================================================
WORK_STATES = {S.PROVISIONING, S.UPDATING, S.TERMINATING}


def request_execute(*, request_id: int, attempt: int = 0) -> str:
    """Run the request's next AWS operation once. ``approved`` starts provisioning; the token is
    on the row before the call. A repeat (or a concurrent duplicate) after the record is stored
    only schedules the poll; a concurrent duplicate call reuses the token, so AWS makes one
    product. Throttling and transient errors are retried with backoff; AWS refusing the input
    fails the request with AWS's message. Returns what it did (for logs and tests)."""
    from provisioning.tasks import request_execute as execute_task, request_poll

    with transaction.atomic():
        request = _locked(request_id)
        if request.state == S.APPROVED:
            _transition(request, "start", actor=SYSTEM, operation=Op.PROVISION,
                        operation_token=request.operation_token or request.provision_token)
        if request.state not in WORK_STATES:
            return "nothing to do"
        if request.record_id:
            transaction.on_commit(lambda: request_poll.delay(request.pk))
            return "already started"
        request.last_step_at = timezone.now()
        request.save(update_fields=["last_step_at"])
    operation, token = request.operation, request.operation_token
    action = {Op.PROVISION: "ProvisionProduct", Op.UPDATE: "UpdateProvisionedProduct",
              Op.TERMINATE: "TerminateProvisionedProduct", Op.CLEANUP: "TerminateProvisionedProduct"}[operation]
    started = timezone.now()
    try:
        record = _start_operation(request)
    except aws.AwsCallError as error:
        with transaction.atomic():
            request = _locked(request_id)
            if request.state not in WORK_STATES or request.record_id or request.operation_token != token:
                return "superseded"
            if error.kind != "invalid" and attempt + 1 < CALL_MAX_ATTEMPTS:
                delay = backoff_seconds(attempt)
                _step(request, action, RequestStep.Outcome.RETRY,
                      f"{'AWS is throttling calls' if error.kind == 'throttled' else 'AWS did not answer'} "
                      f"({error.code}); trying again in {delay:.0f} s", started)
                request.last_step_at = timezone.now()
                request.save(update_fields=["last_step_at"])
                transaction.on_commit(lambda: _schedule(execute_task, request_id, delay, attempt=attempt + 1))
                return "retry"
            _step(request, action, RequestStep.Outcome.ERROR, f"{error.code}: {error.message}", started)
            _fail(request, f"AWS refused the request: {error.message}" if error.kind == "invalid"
                  else f"AWS kept failing ({error.code}: {error.message}); retry later.",
                  aws_message=error.message if error.kind == "invalid" else "")
            return "failed"
    with transaction.atomic():
        request = _locked(request_id)
        if request.state not in WORK_STATES or request.operation_token != token:
            return "superseded"
        if request.record_id:
            return "duplicate"
        request.record_id = record["record_id"]
        if operation == Op.PROVISION:
            request.provisioned_product_id = record["pp_id"]
        request.secret_parameters = {}
        request.poll_attempt = 0
        request.last_step_at = timezone.now()
        request.save()
        _step(request, action, RequestStep.Outcome.OK,
              f"AWS accepted: record {record['record_id']} ({record['status']}), token {token}", started)
        transaction.on_commit(lambda: _schedule(request_poll, request_id, backoff_seconds(0)))
    return "started"


def _start_operation(request: ProvisioningRequest) -> dict:
    account_id = request.account.account_id
    if request.operation == Op.PROVISION:
        path = request.product.default_path or {}
        tags = {"team": request.team.slug, "environment": request.account.environment,
                "portal-request": str(request.pk), "project": request.project,
                "domain": request.parameters.get("DomainName", "")}   # domain products: the name chosen
        return aws.provision_product(
            account_id=account_id, name=request.name, token=request.operation_token,
            product_id=request.product.product_id, artifact_id=request.version.artifact_id,
            path_id=path.get("id", ""), parameters={**request.parameters, **request.secret_parameters}, tags=tags)
    if request.operation == Op.UPDATE:
        return aws.update_provisioned_product(
            account_id=account_id, pp_id=request.provisioned_product_id, token=request.operation_token,
            artifact_id=request.version.artifact_id,
            parameters={**request.pending_parameters, **request.secret_parameters})
    return aws.terminate_provisioned_product(
        account_id=account_id, pp_id=request.provisioned_product_id, token=request.operation_token,
        ignore_errors=request.operation == Op.CLEANUP)


IN_PROGRESS = {"CREATED", "IN_PROGRESS", "IN_PROGRESS_IN_ERROR"}


def request_poll(*, request_id: int, attempt: int = 0) -> str:
    """Read the current record once (DescribeRecord). Still running: poll again later with capped
    exponential backoff and jitter. SUCCEEDED/FAILED: settle the request (compare-and-set on the
    record id, so a duplicate poll settles nothing twice)."""
    from provisioning.tasks import request_poll as poll_task

    request = ProvisioningRequest.objects.select_related("account").get(pk=request_id)
    if request.state not in WORK_STATES or not request.record_id:
        return "nothing to do"
    record_id = request.record_id
    started = timezone.now()
    try:
        record = aws.describe_record(account_id=request.account.account_id, record_id=record_id)
    except aws.AwsCallError as error:
        with transaction.atomic():
            request = _locked(request_id)
            if request.record_id != record_id or request.state not in WORK_STATES:
                return "superseded"
            if error.kind == "invalid":
                _step(request, "DescribeRecord", RequestStep.Outcome.ERROR, f"{error.code}: {error.message}", started)
                _fail(request, f"AWS could not report on the operation: {error.message}")
                return "failed"
            delay = backoff_seconds(attempt)
            _step(request, "DescribeRecord", RequestStep.Outcome.RETRY, f"{error.code}; asking again in {delay:.0f} s",
                  started)
            request.last_step_at = timezone.now()
            request.save(update_fields=["last_step_at"])
            transaction.on_commit(lambda: _schedule(poll_task, request_id, delay, attempt=attempt + 1))
        return "retry"
    with transaction.atomic():
        request = _locked(request_id)
        if request.record_id != record_id or request.state not in WORK_STATES:
            return "superseded"
        if record["status"] in IN_PROGRESS:
            waiting = request.steps.filter(action="DescribeRecord", outcome=RequestStep.Outcome.WAITING).last()
            note = f"Record {record_id} is {record['status']}; checked {attempt + 1} time(s)"
            if waiting and waiting.detail.startswith(f"Record {record_id} "):
                RequestStep.objects.filter(pk=waiting.pk).update(detail=note, finished_at=timezone.now())
            else:
                _step(request, "DescribeRecord", RequestStep.Outcome.WAITING, note, started)
            request.poll_attempt = attempt + 1
            request.last_step_at = timezone.now()
            request.save(update_fields=["poll_attempt", "last_step_at"])
            delay = backoff_seconds(attempt + 1)
            transaction.on_commit(lambda: _schedule(poll_task, request_id, delay, attempt=attempt + 1))
            return "waiting"
        if record["status"] == "SUCCEEDED":
            _step(request, "DescribeRecord", RequestStep.Outcome.OK, f"Record {record_id} SUCCEEDED", started)
            _succeed(request, record)
            return "succeeded"
        _step(request, "DescribeRecord", RequestStep.Outcome.ERROR,
              f"Record {record_id} {record['status']}: " + "; ".join(
                  f"{e['code']}: {e['description']}" for e in record["errors"]), started)
        _fail(request, plain_record_errors(request.operation, record["errors"]),
              aws_message=" ".join(e["description"] for e in record["errors"]))
        return "failed"


_WHAT = {Op.PROVISION: "create the product", Op.UPDATE: "update the product",
         Op.TERMINATE: "terminate the product", Op.CLEANUP: "remove the failed product"}


def plain_record_errors(operation: str, errors: list[dict]) -> str:
    """RecordErrors as a sentence a requester can act on."""
    if not errors:
        return f"AWS could not {_WHAT[operation]} and gave no reason. Retry, or ask the platform team."
    parts = []
    for error in errors:
        description = error["description"].rstrip(".")
        if error["code"] in ("ValidationError", "ValidationException"):
            parts.append(f"a parameter was not accepted ({description})")
        elif error["code"].endswith("_FAILED"):
            parts.append(f"a resource could not be built ({description})")
        else:
            parts.append(f"{description} ({error['code']})")
    return f"AWS could not {_WHAT[operation]}: " + "; ".join(parts) + ". Fix the cause, then retry."


def _succeed(request: ProvisioningRequest, record: dict) -> None:
    now = timezone.now()
    operation = request.operation
    if operation == Op.CLEANUP:
        # The failed product is gone: provision again under a fresh stored token.
        request.provisioned_product_id = ""
        request.record_id = ""
        request.operation = Op.PROVISION
        request.operation_token = f"{request.provision_token}-p{request.attempt}"
        request.last_step_at = now
        request.save()
        _step(request, "cleanup", RequestStep.Outcome.OK, "The failed product was removed; provisioning again")
        _on_commit_execute(request.pk)
        return
    if operation == Op.TERMINATE:
        _transition(request, "succeed", actor=SYSTEM, detail=f"record {record['record_id']}")
        ProvisionedProduct.objects.filter(request=request).update(status="TERMINATED", terminated_at=now,
                                                                  last_record_id=record["record_id"], drift="")
        _notify_requester(request, "request.terminated", f"Terminated: {request.name}")
        return
    changes = {"outputs": record["outputs"]}
    if operation == Op.PROVISION and request.product.lifetime_days:
        changes["expires_at"] = now + timedelta(days=request.product.lifetime_days)
    if operation == Op.UPDATE:
        changes.update(parameters=request.pending_parameters, pending_parameters={})
    _transition(request, "succeed", actor=SYSTEM, detail=f"record {record['record_id']}", **changes)
    ProvisionedProduct.objects.update_or_create(request=request, defaults={
        "team": request.team, "account": request.account, "product": request.product, "owner": request.requester,
        "name": request.name, "pp_id": request.provisioned_product_id, "artifact_id": request.version.artifact_id,
        "status": "AVAILABLE", "status_message": "", "outputs": record["outputs"],
        "last_record_id": record["record_id"], "drift": "", "drift_report": "", "checked_at": now})
    _notify_requester(request, "request.available", f"Available: {request.name}",
                      "Outputs: " + ", ".join(f"{o['OutputKey']}={o['OutputValue']}" for o in record["outputs"]))


def _platform_set_keys(request: ProvisioningRequest, aws_message: str) -> list[str]:
    """The parameters AWS's message names (by key or value) whose value the platform set (a hidden
    preset the requester cannot change)."""
    presets = presets_for(request.product, request.account)
    sent = request.pending_parameters if request.operation == Op.UPDATE else request.parameters
    return [key for key, value in sent.items() if "hidden" in presets.get(key, {}) and (
        re.search(rf"\b{re.escape(key)}\b", aws_message) or (value and value in aws_message))]


def _fail(request: ProvisioningRequest, message: str, aws_message: str = "") -> None:
    """Fail the request and tell the requester. When AWS refused a platform-set value, the message
    says so and who can fix it (retrying alone would send the same value), and the platform admins
    are told too."""
    keys = _platform_set_keys(request, aws_message) if aws_message else []
    if keys:
        admins = users_with_perm("change", ParameterPreset)
        names = ", ".join(admin.get_username() for admin in admins) or "none exists: ask your portal operator"
        message = (f"{message.removesuffix(' Fix the cause, then retry.')} The value of {', '.join(keys)} is set "
                   f"by the platform, not by you: a platform admin ({names}) must correct the preset of "
                   f"{request.product.name} for {request.account.name}. Retry after that: it takes the corrected "
                   "value (retrying before sends the same one).")
        notify(users=admins, kind="request.preset_failed", team=request.team, url=_url(request),
               subject=f"A platform preset broke {request.name}: {', '.join(keys)} of {request.product.name} "
                       f"in {request.account.name}", body=message)
    _transition(request, "fail", actor=SYSTEM, detail=message, error_message=message, secret_parameters={})
    if request.operation == Op.UPDATE:
        ProvisionedProduct.objects.filter(request=request).update(status="TAINTED", status_message=message)
    _notify_requester(request, "request.failed", f"Failed: {request.name}", message)


# =====================================================================================
# Reconciler
# =====================================================================================
def reconcile(*, actor=SYSTEM, stale_after: timedelta | None = None) -> ReconcileRun:
    """Compare the inventory with Service Catalog and flag drift (TAINTED, ERROR, changed or
    deleted outside the portal) with a readable report; re-enqueue in-flight requests whose last
    step is stale. Never writes to AWS (DescribeProvisionedProduct only). A second run with
    nothing new changes no inventory row and re-enqueues nothing."""
    require(actor, "add", ReconcileRun)
    stale_after = stale_after or timedelta(seconds=getattr(settings, "PROVISIONING_STALE_SECONDS", 600))
    run = ReconcileRun(started_at=timezone.now())
    lines = []
    products = list(ProvisionedProduct.objects.filter(terminated_at__isnull=True)
                    .select_related("account", "request", "team"))
    for item in products:
        if item.request.state in WORK_STATES:
            continue
        run.checked += 1
        try:
            detail = aws.describe_provisioned_product(account_id=item.account.account_id, pp_id=item.pp_id)
        except aws.AwsCallError as error:
            lines.append(f"{item.team.slug}/{item.name}: could not check ({error.code}); will try next run")
            continue
        drift, report, status, message = _drift_of(item, detail)
        if (drift, report, status, message) == (item.drift, item.drift_report, item.status, item.status_message):
            continue
        with transaction.atomic():
            before = {"drift": item.drift, "status": item.status}
            ProvisionedProduct.objects.filter(pk=item.pk).update(drift=drift, drift_report=report, status=status,
                                                                 status_message=message, checked_at=timezone.now())
            audit_record(actor=actor, action="provisioned_product.reconcile", target=item, team=item.team,
                         before=before, after={"drift": drift, "status": status, "report": report})
            if drift:
                notify(users=[item.owner], kind="inventory.drift", subject=f"Drift: {item.name}", body=report,
                       url=_url(item.request), team=item.team, email=False)
        run.flagged += 1 if drift else 0
        lines.append(f"{item.team.slug}/{item.name}: {report or 'back in sync'}")
    cutoff = timezone.now() - stale_after
    stale = list(ProvisioningRequest.objects.filter(
        state__in=[S.APPROVED, *WORK_STATES], last_step_at__lt=cutoff).values_list("pk", flat=True))
    for request_id in stale:
        with transaction.atomic():
            request = _locked(request_id)
            if request.state not in (S.APPROVED, *WORK_STATES) or request.last_step_at >= cutoff:
                continue
            request.last_step_at = timezone.now()
            request.save(update_fields=["last_step_at"])
            _step(request, "reconcile", RequestStep.Outcome.RETRY,
                  "No progress was recorded for a while; the reconciler picked the request up again")
            _on_commit_execute(request.pk)
        run.requeued += 1
        lines.append(f"request {request_id}: re-enqueued (no progress since {cutoff:%Y-%m-%d %H:%M} UTC)")
    run.finished_at = timezone.now()
    run.report = "\n".join(lines) or "Everything matches Service Catalog."
    run.save()
    return run


def _drift_of(item: ProvisionedProduct, detail: dict | None) -> tuple[str, str, str, str]:
    D = ProvisionedProduct.Drift
    if detail is None:
        return D.DELETED, "It no longer exists in Service Catalog: it was terminated outside the portal.", "DELETED", ""
    status, message = detail["status"], detail["status_message"]
    if status == "TAINTED":
        return D.TAINTED, f"Service Catalog reports TAINTED: the last change did not apply. {message}".strip(), status, message
    if status == "ERROR":
        return D.ERROR, f"Service Catalog reports ERROR: {message or 'no reason given'}.", status, message
    if detail["last_record_id"] and detail["last_record_id"] != item.last_record_id:
        return (D.CHANGED, f"It was changed outside the portal (record {detail['last_record_id']}); "
                "check it and update it through the portal.", status, message)
    if detail["artifact_id"] and item.artifact_id and detail["artifact_id"] != item.artifact_id:
        return D.CHANGED, "Its product version was changed outside the portal.", status, message
    return D.NONE, "", status, message


# =====================================================================================
# Expiry
# =====================================================================================
EXPIRY_REMINDER = timedelta(days=3)


def expiry_check(*, actor=SYSTEM, now=None) -> dict:
    """Remind owners of products expiring within three days (once), and terminate expired ones
    through the normal terminate service (type-to-confirm filled in by the portal). Repeats
    remind nobody twice and terminate nothing twice (the state moves on)."""
    require(actor, "change", ProvisioningRequest)
    now = now or timezone.now()
    counts = {"reminded": 0, "terminated": 0}
    due = ProvisioningRequest.objects.filter(state=S.AVAILABLE, expires_at__isnull=False,
                                             expires_at__lte=now + EXPIRY_REMINDER, expiry_reminded_at__isnull=True)
    for request_id in due.values_list("pk", flat=True):
        with transaction.atomic():
            request = _locked(request_id)
            if request.state != S.AVAILABLE or request.expiry_reminded_at:
                continue
            request.expiry_reminded_at = now
            request.save(update_fields=["expiry_reminded_at"])
            _step(request, "expiry", RequestStep.Outcome.OK, f"Owner reminded: expires {request.expires_at:%Y-%m-%d %H:%M} UTC")
            notify(users=[request.requester], kind="request.expiring", subject=f"Expiring: {request.name}",
                   body=f"{request.product.name} {request.name} expires on {request.expires_at:%Y-%m-%d %H:%M} UTC "
                        "and will then be terminated.", url=_url(request), team=request.team)
        counts["reminded"] += 1
    expired = ProvisioningRequest.objects.filter(state=S.AVAILABLE, expires_at__lte=now).select_related(
        "team", "account", "product")
    for request in expired:
        try:
            request_terminate(actor=actor, request=request, confirm_name=request.name)
        except DomainError as error:
            log.warning("expiry: could not terminate request %s: %s", request.pk, error.message)
            continue
        counts["terminated"] += 1
    return counts


def may_approve(user, request: ProvisioningRequest) -> bool:
    return (request.state == S.PENDING_APPROVAL and user.pk != request.requester_id
            and has_perm(user, "approve", ProvisioningRequest, request.team_id))


def may_operate(user, request: ProvisioningRequest) -> bool:
    if not has_perm(user, "change", ProvisioningRequest, request.team_id):
        return False
    return (is_platform_admin(user) or user.pk == request.requester_id
            or team_roles(user).get(request.team_id) == TeamRole.LEAD)
