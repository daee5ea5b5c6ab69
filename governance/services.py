"""Every write of the governance app: permission and gate checks, the chain transition, audit
event, notifications and the next background step (after commit), in one transaction.

Gates live here so no page, API call or admin path can skip them:
- nobody decides a version they registered;
- the stage-2 approver differs from the stage-1 approver (and covers the team's line of business);
- stage 2 needs an Approved model card when the policy asks for one (selectors.model_card_*);
- production needs the stage-3 sign-off (only prod_approved versions deploy to prod);
- a rejection needs a comment.
"""
from __future__ import annotations

import logging
import re
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from governance import conf, selectors
from governance.models import (
    ApprovalDecision, ApprovalStatus, Decision, Deployment, DeploymentStatus, ModelGroup, ModelVersion, Stage,
)
from governance.transitions import DECISION_ACTIONS, WAITING_FOR
from portal.audit import audit_record
from portal.workflow import transition
from portal.errors import DomainError, InvalidTransition
from portal.models import AwsAccount, Environment, GlobalRole, Membership, RoleAssignment, Team, TeamRole
from portal.notifications import notify
from portal.permissions import SYSTEM, has_perm, require

log = logging.getLogger(__name__)
STAGE_OF = {state: stage for stage, state in WAITING_FOR.items()}
DECIDING = {action for pair in DECISION_ACTIONS.values() for action in pair}
STAGE_ACTIONS = {1: "approve_stage1", 2: "approve_stage2", 3: "signoff"}


def _version_url(version: ModelVersion) -> str:
    return f"/models/versions/{version.pk}/"


def _move(version: ModelVersion, action: str, *, actor, **fields) -> str:
    """Apply one chain transition (``portal.workflow``) to a row locked by the caller; audited.
    Who may decide is checked by ``_check_gates`` (delegates decide for their principal), so the
    engine checks the permission of every other action only. Returns the new stage."""
    return transition(version, action, actor=actor, changes=fields, check_permission=action not in DECIDING,
                      after=lambda changed: {"stage": changed.stage, **{k: str(v) for k, v in fields.items()}})


def _locked(version_id: int) -> ModelVersion:
    return ModelVersion.objects.select_for_update(of=("self",)).select_related("group", "team").get(pk=version_id)


def _team_users(team: Team | None, role: str):
    if team is None:
        return []
    return [m.user for m in Membership.objects.filter(team=team, role=role).select_related("user")]


def _approvers_for(team: Team | None):
    lines = [""] + ([team.line_of_business] if team else [])
    return [a.user for a in RoleAssignment.objects.filter(role=GlobalRole.MODEL_APPROVER,
                                                          line_of_business__in=lines).select_related("user")]


def _dispatch(task_name: str, *args) -> None:
    """Send a governance task after commit (by name: tasks import services)."""
    from governance import tasks
    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(*args))


def _refresh_usage(account_id: str) -> None:
    """After commit, have the costs app (when installed) re-read the endpoints of ``account_id``,
    so the usage report shows a deployment at once instead of at the next beat."""
    import importlib

    from django.apps import apps
    if account_id and apps.is_installed("costs"):
        task = importlib.import_module("costs.tasks").usage_sync
        transaction.on_commit(lambda: task.delay(account_ids=[account_id]))


# -- decisions --------------------------------------------------------------------------------
def _check_gates(*, actor, version: ModelVersion, stage: int, outcome: str, comment: str):
    """Raise unless ``actor`` may take this decision; returns the delegator the actor stands in
    for (None when deciding in their own right)."""
    principal = None
    if not has_perm(actor, STAGE_ACTIONS[stage], ModelVersion, version.team_id):
        principal = selectors.delegator_for(actor, STAGE_ACTIONS[stage], version)
        if principal is None:
            require(actor, STAGE_ACTIONS[stage], ModelVersion, version.team_id)
    if outcome == Decision.REJECT and not comment.strip():
        raise DomainError("Say why you reject this version: the team reads your comment.",
                          fields={"comment": ["A rejection needs a comment."]})
    if actor is SYSTEM:
        return None
    people = [actor] + ([principal] if principal else [])
    if version.registered_by_id and version.registered_by_id in {person.pk for person in people}:
        raise PermissionDenied("You registered this version, so someone else must decide it."
                               if version.registered_by_id == actor.pk else
                               f"{principal} registered this version; their delegate cannot decide it either.")
    if stage == 2:
        if principal is None and not selectors.is_model_approver_for(actor, version):
            raise PermissionDenied("Your model approver role does not cover this team's line of business.")
        if version.decisions.filter(stage=1).filter(Q(actor__in=people) | Q(on_behalf_of__in=people)).exists():
            raise PermissionDenied("You approved this version at stage 1; another model approver must take stage 2.")
        if outcome == Decision.APPROVE and selectors.model_card_required(version) \
                and not selectors.model_card_approved(version):
            raise DomainError("This line of business needs an approved model card before stage 2: "
                              "have the team's model card approved first.", code="model_card_required")
    return principal


def model_version_decide(*, actor, version: ModelVersion, outcome: str, comment: str = "") -> ApprovalDecision:
    """Take the decision the version waits for (stage 1, 2 or 3) — approve or reject.

    Side effects: an ApprovalDecision row, the chain transition, an audit event, notifications;
    after commit the decision is mirrored to SageMaker (UpdateModelPackage, ApprovalDescription
    carries the decision id) and an approval starts the next step (copy to central, deploy to
    test, deploy to prod). Repeat: the version no longer waits for that stage → InvalidTransition
    (HTTP 409); concurrent callers are serialized on the row lock, exactly one decides.
    """
    if outcome not in Decision.values:
        raise DomainError("Choose approve or reject.", fields={"outcome": ["approve or reject"]})
    comment = (comment or "").strip()
    stage = STAGE_OF.get(version.stage)
    if stage is None or version.promoted_from_id is not None:
        raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; nothing waits for a decision.")
    principal = _check_gates(actor=actor, version=version, stage=stage, outcome=outcome, comment=comment)
    with transaction.atomic():
        version = _locked(version.pk)
        if STAGE_OF.get(version.stage) != stage:
            raise InvalidTransition(f"This version is now {version.get_stage_display().lower()}; "
                                    "someone decided it before you.")
        action = DECISION_ACTIONS[stage][0 if outcome == Decision.APPROVE else 1]
        try:
            with transaction.atomic():
                decision = ApprovalDecision.objects.create(
                    version=version, stage=stage, outcome=outcome, actor=actor if actor is not SYSTEM else None,
                    on_behalf_of=principal, comment=comment,
                    actor_label=actor.get_username() + (f" (for {principal.get_username()})" if principal else ""))
        except IntegrityError:
            raise InvalidTransition("This stage of the version has already been decided.") from None
        _move(version, action, actor=actor, last_error="")
        audit_record(actor=actor, action="model_version.decision", target=decision, team=version.team,
                     after={"version": version.pk, "stage": stage, "outcome": outcome, "comment": comment})
        _notify_decision(version, decision)
        _dispatch("decision_mirror", decision.pk)
        if outcome == Decision.APPROVE:
            _dispatch({1: "copy_to_central", 2: "deploy_version", 3: "deploy_version"}[stage], version.pk)
    return decision


def model_version_approve(*, actor, version: ModelVersion, comment: str = "") -> ApprovalDecision:
    """Approve (or sign off, at stage 3) the decision the version waits for. See model_version_decide."""
    return model_version_decide(actor=actor, version=version, outcome=Decision.APPROVE, comment=comment)


def model_version_reject(*, actor, version: ModelVersion, comment: str) -> ApprovalDecision:
    """Reject at the version's current stage (a comment is required); the version returns to its team."""
    return model_version_decide(actor=actor, version=version, outcome=Decision.REJECT, comment=comment)


def model_version_signoff(*, actor, version: ModelVersion, comment: str = "") -> ApprovalDecision:
    """The ML engineer's stage-3 sign-off after testing; refuses versions not in test."""
    if version.stage != Stage.IN_TEST:
        raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; only a version in "
                                "test can be signed off for production.")
    return model_version_approve(actor=actor, version=version, comment=comment)


def _notify_decision(version: ModelVersion, decision: ApprovalDecision) -> None:
    url = _version_url(version)
    if decision.outcome == Decision.REJECT:
        users = _team_users(version.team, TeamRole.LEAD) + [version.registered_by]
        notify(users=users, kind="model.rejected", team=version.team, url=url,
               subject=f"{version} was rejected at {decision.get_stage_display().lower()}",
               body=f"{decision.actor_label}: {decision.comment}")
        return
    if decision.stage == 1:
        return   # the approvers hear about it when the copy reaches the central registry
    if decision.stage == 2:
        notify(users=_team_users(version.team, TeamRole.ML_ENGINEER), kind="model.deploying_test",
               team=version.team, url=url, subject=f"{version} was approved and is deploying to test")
    else:
        notify(users=_team_users(version.team, TeamRole.LEAD) + [version.registered_by], kind="model.deploying_prod",
               team=version.team, url=url, subject=f"{version} was signed off and is deploying to production")


def decision_mirror(*, decision_id: int) -> bool:
    """Tell SageMaker about a portal decision: UpdateModelPackage on the dev package (stage 1) or
    the central package (stages 2 and 3; stage 3 as customer metadata, SageMaker has no such
    status). ClientToken = the decision id, so a repeat changes nothing. Marks the decision
    mirrored (or records the error and re-raises so the task retries). Returns True when mirrored now."""
    from governance import aws
    decision = ApprovalDecision.objects.select_related("version", "version__group").get(pk=decision_id)
    if decision.mirrored_at:
        return False
    version = decision.version
    description = f"{decision.token}: {decision.get_outcome_display().lower()} by {decision.actor_label}"
    if decision.comment:
        description += f": {decision.comment}"
    status = ApprovalStatus.APPROVED if decision.outcome == Decision.APPROVE else ApprovalStatus.REJECTED
    try:
        mirrored_arn = None
        if decision.stage == 1:
            aws.set_approval(version.group.account.account_id, version.arn, status=status, description=description,
                             client_token=str(decision.client_token))
            mirrored_arn = version.arn
        else:
            target = version.central_arn or (version.arn if version.group.is_central else "")
            if not target:
                raise DomainError("The version has no central registry package to record the decision on.")
            if decision.stage == 2:
                aws.set_approval(conf.central_account_id(), target, status=status, description=description,
                                 client_token=str(decision.client_token))
                mirrored_arn = target
            else:
                aws.set_approval(conf.central_account_id(), target, status=None, description="",
                                 client_token=str(decision.client_token),
                                 metadata={"portal-stage3-decision": decision.token,
                                           "portal-stage3-outcome": decision.outcome})
    except Exception as error:
        ApprovalDecision.objects.filter(pk=decision.pk).update(mirror_error=str(error)[:2000])
        raise
    ApprovalDecision.objects.filter(pk=decision.pk, mirrored_at__isnull=True).update(
        mirrored_at=timezone.now(), mirror_error="")
    if mirrored_arn:   # what SageMaker now says (the next poll would bring the same)
        ModelVersion.objects.filter(arn=mirrored_arn).update(approval_status=status,
                                                            approval_description=description[:1024])
    return True


# -- copy to the central registry --------------------------------------------------------------
def model_version_promote(*, actor, version: ModelVersion) -> ModelVersion:
    """Ask again for the copy of a lead-approved version to the central registry (e.g. after a
    failure, or for a version approved in SageMaker before the portal). Side effects: audit event,
    the copy task after commit. Repeat: harmless, the copy is idempotent."""
    require(actor, "promote", ModelVersion, version.team_id)
    if version.stage != Stage.DEV_APPROVED or version.promoted_from_id:
        raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; only a version approved "
                                "by its team lead and not yet in the central registry can be copied there.")
    with transaction.atomic():
        audit_record(actor=actor, action="model_version.promote", target=version, team=version.team)
        _dispatch("copy_to_central", version.pk)
    return version


def central_copy_prepare(*, version_id: int) -> ModelVersion | None:
    """Store the ClientToken of the central copy on the row BEFORE calling CreateModelPackage (its
    own commit), so a retried or redelivered copy re-uses it. None when there is nothing to copy."""
    with transaction.atomic():
        version = _locked(version_id)
        if version.stage != Stage.DEV_APPROVED or version.group.is_central:
            return None
        if not version.central_client_token:
            version.central_client_token = str(uuid.uuid4())
            version.save(update_fields=["central_client_token", "synced_at"])
    return version


def version_error_record(*, version_id: int, message: str) -> None:
    """Record why a background step failed, for people (shown on the version). Not audited: the
    step's own transition is; this is a status line. A repeat overwrites it."""
    ModelVersion.objects.filter(pk=version_id).update(last_error=message[:2000])


def central_copy_done(*, version_id: int, central_data: dict) -> ModelVersion:
    """The copy exists in the central registry: record it (central group and version rows, link
    back) and move the chain to in_central; notify the model approvers. Repeat (or the event that
    announced the copy first): no second transition."""
    central = _central_account()
    with transaction.atomic():
        version = _locked(version_id)
        group = _group_for(central, central_data["group_name"], team=version.team, is_central=True)
        copy = _store_version(group, central_data, promoted_from=version)
        if version.stage == Stage.DEV_APPROVED:
            _move(version, "copied_to_central", actor=SYSTEM, central_arn=copy.arn, last_error="")
            notify(users=_approvers_for(version.team), kind="approval.needed", team=version.team,
                   url=_version_url(version), subject=f"{version} waits for model approval (stage 2)")
        elif not version.central_arn:
            version.central_arn = copy.arn
            version.save(update_fields=["central_arn", "synced_at"])
    return version


def central_copy_run(*, version_id: int) -> str | None:
    """Copy a lead-approved dev version to the central registry: token stored first (own commit),
    then DescribeModelPackage (dev), the central group (created with its resource policy if
    missing), CreateModelPackage with the token, and the rows. Returns the central ARN, or None
    when there is nothing to copy (a repeat). AWS errors are recorded on the version and re-raised
    (the task retries with the same token)."""

    from governance import aws
    version = central_copy_prepare(version_id=version_id)
    if version is None:
        return None
    team = version.team
    accounts = list(team.accounts.values_list("environment", "account_id")) if team else []
    try:
        source = aws.describe_version_raw(version.group.account.account_id, version.arn)
        aws.ensure_central_group(
            conf.central_account_id(), version.group.name, description=version.group.description or version.group.name,
            team_slug=team.slug if team else "", writer_accounts=[a for e, a in accounts if e == Environment.DEV],
            reader_accounts=[a for e, a in accounts if e in (Environment.TEST, Environment.PROD)])
        central_arn = aws.copy_to_central(
            conf.central_account_id(), version.group.name, source, client_token=version.central_client_token,
            extra_metadata={"portal-version-id": str(version.pk), "portal-team": team.slug if team else ""})
        central_data = aws.describe_version(conf.central_account_id(), central_arn)
    except aws.AWS_ERRORS as error:
        version_error_record(version_id=version_id, message=f"Copy to the central registry failed: {error}; retrying.")
        raise
    central_copy_done(version_id=version_id, central_data=central_data)
    return central_arn


class DeploymentPending(Exception):
    """The deployment's Service Catalog record (or the provisioned product) is still busy: poll later."""


def deployment_advance(*, deployment: Deployment, give_up: bool = False) -> str:
    """One step of a deployment: start it through the deploy product (once; the token is the
    Deployment's), then read its record. Returns "succeeded" or "failed" once settled (recorded by
    deployment_finish); raises DeploymentPending while it runs, and AWS errors (the task retries;
    with ``give_up`` an AWS error fails the deployment instead)."""

    from governance import aws
    if deployment.status != DeploymentStatus.IN_PROGRESS:
        return deployment.status
    try:
        if not deployment.record_id:
            params = deployment_params(deployment)
            status = aws.provisioned_product_status(conf.central_account_id(), params["provisioned_name"])
            if status == "UNDER_CHANGE":
                raise DeploymentPending()
            if status == "ERROR":   # a failed first deployment cannot be updated: remove it, then provision
                aws.terminate_provisioned_product(conf.central_account_id(), params["provisioned_name"],
                                                  token=str(deployment.token))
                raise DeploymentPending()
            started = aws.start_deployment(conf.central_account_id(), **params)
            deployment_started(deployment_id=deployment.pk, record_id=started["record_id"],
                               provisioned_product_id=started["provisioned_product_id"])
            deployment.refresh_from_db()
        record = aws.describe_record(conf.central_account_id(), deployment.record_id)
    except DomainError as error:
        deployment_finish(deployment_id=deployment.pk, succeeded=False, error=error.message)
        return "failed"
    except aws.AWS_ERRORS as error:
        if not give_up:
            raise
        deployment_finish(deployment_id=deployment.pk, succeeded=False, error=str(error))
        return "failed"
    if record["status"] == "SUCCEEDED":
        deployment_finish(deployment_id=deployment.pk, succeeded=True, outputs=record["outputs"])
        return "succeeded"
    if record["status"] == "FAILED":
        deployment_finish(deployment_id=deployment.pk, succeeded=False,
                          error="; ".join(record["errors"]) or "the Service Catalog record failed")
        return "failed"
    raise DeploymentPending()


# -- deployments ------------------------------------------------------------------------------
def model_version_deploy(*, actor, version: ModelVersion) -> ModelVersion:
    """Start (or restart after a failure) the deployment the version's stage calls for: test after
    stage 2, prod after the stage-3 sign-off. Side effects: audit event, deploy task after commit."""
    require(actor, "deploy", ModelVersion, version.team_id)
    if version.stage not in (Stage.CENTRAL_APPROVED, Stage.PROD_APPROVED, Stage.DEPLOYING_TEST,
                             Stage.DEPLOYING_PROD):
        raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; it is not ready to deploy.")
    with transaction.atomic():
        audit_record(actor=actor, action="model_version.deploy_requested", target=version, team=version.team)
        _dispatch("deploy_version", version.pk)
    return version


def _stage_accounts(team: Team | None) -> dict[str, str]:
    found = dict(AwsAccount.objects.filter(team=team, environment__in=[Environment.TEST, Environment.PROD])
                 .values_list("environment", "account_id")) if team else {}
    return found


def deployment_start(*, version_id: int) -> Deployment | None:
    """Move the version to deploying_<env> and create its Deployment row (token stored before any
    AWS call); a version already deploying gets its in-progress Deployment back. None: nothing to do.
    Refuses prod without the stage-3 sign-off."""
    with transaction.atomic():
        version = _locked(version_id)
        if version.stage in (Stage.DEPLOYING_TEST, Stage.DEPLOYING_PROD):
            environment = "test" if version.stage == Stage.DEPLOYING_TEST else "prod"
            return version.deployments.filter(environment=environment,
                                              status=DeploymentStatus.IN_PROGRESS).first() or _new_deployment(
                version, environment, started_by=None)
        if version.stage == Stage.CENTRAL_APPROVED:
            environment, action = "test", "deploy_test"
        elif version.stage == Stage.PROD_APPROVED:
            if not version.decisions.filter(stage=3, outcome=Decision.APPROVE).exists():
                raise DomainError("Production needs the ML engineer's sign-off after testing.")
            environment, action = "prod", "deploy_prod"
        else:
            return None
        _move(version, action, actor=SYSTEM, last_error="")
        return _new_deployment(version, environment, started_by=None)


def _new_deployment(version: ModelVersion, environment: str, *, started_by, is_rollback: bool = False) -> Deployment:
    deployment = Deployment.objects.create(
        version=version, environment=environment, started_by=started_by, is_rollback=is_rollback,
        provisioned_product_name=f"model-deploy-{version.group.name}"[:128])
    audit_record(actor=started_by or SYSTEM, action="deployment.start", target=deployment, team=version.team,
                 after={"version": version.pk, "environment": environment, "token": str(deployment.token)})
    return deployment


def deployment_params(deployment: Deployment) -> dict:
    """What governance.aws.start_deployment needs for this deployment (raises DomainError with a
    sentence for people when the team's test/prod accounts are unknown)."""
    version = deployment.version
    accounts = _stage_accounts(version.team)
    missing = [env for env in ("test", "prod") if env not in accounts]
    if missing:
        raise DomainError(f"The team has no {' or '.join(missing)} account in the portal; link it "
                          "(Admin → Teams) and deploy again.")
    package_arn = version.central_arn or (version.arn if version.group.is_central else "")
    if not package_arn:
        raise DomainError("The version has no package in the central registry to deploy.")
    group_name = package_arn.split("/")[-2]
    return {"product_name": conf.deploy_product_name(), "product_version": conf.deploy_product_version(),
            "provisioned_name": deployment.provisioned_product_name,
            "project_name": re.sub(r"[^a-zA-Z0-9-]", "-", group_name)[:32].strip("-") or "model",
            "group_name": group_name, "package_arn": package_arn, "stage": deployment.environment,
            "test_account": accounts["test"], "prod_account": accounts["prod"],
            "instance_type": conf.endpoint_instance_type(), "token": str(deployment.token)}


def deployment_started(*, deployment_id: int, record_id: str, provisioned_product_id: str) -> None:
    Deployment.objects.filter(pk=deployment_id, record_id="").update(
        record_id=record_id, provisioned_product_id=provisioned_product_id)


def deployment_finish(*, deployment_id: int, succeeded: bool, outputs: dict | None = None,
                      error: str = "") -> Deployment:
    """Record the outcome of a deployment: the endpoint, the chain transition (in_test / in_prod,
    the previous prod version superseded) or back to approved with the error; audit and notify;
    after commit the usage report re-reads the endpoint's account.
    Repeat: the deployment is no longer in progress → no-op."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        if deployment.status != DeploymentStatus.IN_PROGRESS:
            return deployment
        version = _locked(deployment.version_id)
        prefix = "Test" if deployment.environment == "test" else "Prod"
        outputs = outputs or {}
        deployment.status = DeploymentStatus.SUCCEEDED if succeeded else DeploymentStatus.FAILED
        deployment.endpoint_name = outputs.get(f"{prefix}EndpointName", "")
        deployment.endpoint_arn = outputs.get(f"{prefix}EndpointArn", "")
        deployment.account_id = deployment.endpoint_arn.split(":")[4] if deployment.endpoint_arn else ""
        deployment.error = error[:2000]
        deployment.finished_at = timezone.now()
        deployment.save()
        audit_record(actor=SYSTEM, action="deployment.finish", target=deployment, team=version.team,
                     after={"status": deployment.status, "endpoint": deployment.endpoint_arn, "error": error})
        _refresh_usage(deployment.account_id)
        expected = Stage.DEPLOYING_TEST if deployment.environment == "test" else Stage.DEPLOYING_PROD
        if version.stage != expected:
            return deployment
        if succeeded:
            if deployment.environment == "prod":
                for previous in (ModelVersion.objects.select_for_update()
                                 .filter(group_id=version.group_id, stage=Stage.IN_PROD).exclude(pk=version.pk)):
                    _move(previous, "supersede", actor=SYSTEM)
            _move(version, "deployed", actor=SYSTEM, last_error="")
            users = _team_users(version.team, TeamRole.ML_ENGINEER) if deployment.environment == "test" \
                else _team_users(version.team, TeamRole.LEAD)
            notify(users=users, kind=f"model.in_{deployment.environment}", team=version.team, url=_version_url(version),
                   subject=f"{version} is live on {deployment.endpoint_name or deployment.environment}"
                   + (" — test it and sign it off" if deployment.environment == "test" else ""))
        else:
            _move(version, "deploy_failed", actor=SYSTEM, last_error=f"Deploying to {deployment.environment} "
                  f"failed: {error}. Fix the cause and deploy again.")
            notify(users=_team_users(version.team, TeamRole.ML_ENGINEER) + _team_users(version.team, TeamRole.LEAD),
                   kind="model.deploy_failed", team=version.team, url=_version_url(version),
                   subject=f"Deploying {version} to {deployment.environment} failed", body=error)
    return deployment


def model_version_rollback(*, actor, version: ModelVersion, comment: str = "") -> ModelVersion:
    """Roll production back to the version that was there before: this one becomes rolled_back,
    the previous one deploys to prod again (a Deployment marked rollback, task after commit).
    One action; audited. Repeat: this version is no longer in prod → InvalidTransition."""
    require(actor, "rollback", ModelVersion, version.team_id)
    with transaction.atomic():
        version = _locked(version.pk)
        if version.stage != Stage.IN_PROD:
            raise InvalidTransition(f"This version is {version.get_stage_display().lower()}; only the version in "
                                    "production can be rolled back.")
        previous = selectors.previous_prod_version(version)
        if previous is None:
            raise DomainError("No earlier version of this model has been in production; there is nothing to roll "
                              "back to.")
        previous = _locked(previous.pk)
        _move(version, "rollback", actor=actor)
        _move(previous, "restore", actor=actor)
        _new_deployment(previous, "prod", started_by=actor if actor is not SYSTEM else None, is_rollback=True)
        audit_record(actor=actor, action="model_version.rollback_to", target=previous, team=version.team,
                     after={"from_version": version.pk, "comment": comment})
        notify(users=_team_users(version.team, TeamRole.LEAD) + _team_users(version.team, TeamRole.ML_ENGINEER),
               kind="model.rollback", team=version.team, url=_version_url(previous),
               subject=f"Production of {version.group.name} is rolling back from v{version.version} to "
                       f"v{previous.version}", body=comment)
        _dispatch("deploy_version", previous.pk)
    return previous


# -- registry observations (sync and events) ---------------------------------------------------
def _central_account() -> AwsAccount:
    """The central registry's account row (recorded through the core service, audited, the first time)."""
    from portal.services import account_link
    account = AwsAccount.objects.filter(account_id=conf.central_account_id()).first()
    if account is None:
        account = account_link(actor=SYSTEM, account_id=conf.central_account_id(), name="shared-services",
                               environment=Environment.SHARED, team=None, ou_path="Infrastructure")
    return account


def _group_for(account: AwsAccount, name: str, *, team: Team | None, is_central: bool,
               description: str = "", created_at=None, region: str | None = None) -> ModelGroup:
    from django.conf import settings
    arn = f"arn:aws:sagemaker:{region or settings.AWS_REGION}:{account.account_id}:model-package-group/{name}"
    group, created = ModelGroup.objects.get_or_create(arn=arn, defaults={
        "account": account, "name": name, "team": team, "is_central": is_central, "description": description,
        "created_at": created_at})
    changed = [field for field, value in (("team", team), ("description", description), ("created_at", created_at))
               if value and getattr(group, field) != value and not (field == "team" and group.team_id)]
    if changed:
        for field in changed:
            setattr(group, field, {"team": team, "description": description, "created_at": created_at}[field])
        group.save(update_fields=changed + ["synced_at"])
    return group


def _user_for_identity(identity: str):
    """The portal user behind a SageMaker CreatedBy identity: the session name of an assumed role
    (…:assumed-role/Role/<session>) or a Studio user profile name, matched to a username or the
    local part of an e-mail address."""
    name = identity.rsplit("/", 1)[-1] if identity else ""
    if not name or name == "ml-platform-portal":
        return None
    User = get_user_model()
    return (User.objects.filter(username__iexact=name).first()
            or User.objects.filter(email__istartswith=f"{name}@").first())


def _store_version(group: ModelGroup, data: dict, *, promoted_from: ModelVersion | None = None,
                   initial_stage: str | None = None) -> ModelVersion:
    """Insert or refresh the row of a package from ``data`` (governance.aws.package_from_aws); the
    caller holds the transaction. Never changes ``stage`` of an existing row."""
    fields = {key: data[key] for key in ("description", "approval_status", "approval_description", "metrics",
                                         "custom_metadata", "source", "inference_specification", "model_metrics",
                                         "metadata_properties", "created_at", "last_modified_at")
              if data.get(key) not in (None, "") or key in ("approval_description",)}
    version = ModelVersion.objects.select_for_update().filter(arn=data["arn"]).first()
    if version is None:
        try:
            with transaction.atomic():
                version = ModelVersion.objects.create(
                    group=group, team=group.team, version=data["version"], arn=data["arn"],
                    stage=initial_stage or Stage.REGISTERED, stage_changed_at=data.get("last_modified_at") or timezone.now(),
                    created_by_arn=data.get("created_by_arn", ""), registered_by=_user_for_identity(
                        data.get("created_by_arn", "")), promoted_from=promoted_from, **fields)
            return version
        except IntegrityError:   # created by a concurrent event or poll: refresh it below
            version = ModelVersion.objects.select_for_update().get(arn=data["arn"])
    for name, value in fields.items():
        setattr(version, name, value)
    if data.get("created_by_arn") and not version.created_by_arn:
        version.created_by_arn = data["created_by_arn"]
        version.registered_by = version.registered_by or _user_for_identity(data["created_by_arn"])
    if promoted_from is not None and version.promoted_from_id is None:
        version.promoted_from = promoted_from
    if version.team_id is None and group.team_id:
        version.team = group.team
    version.save()
    return version


def _observed_decision(version: ModelVersion, stage: int, status: str, data: dict) -> None:
    """A decision taken in SageMaker itself (Studio, CLI): record it and move the chain once."""
    outcome = Decision.APPROVE if status == ApprovalStatus.APPROVED else Decision.REJECT
    decision, created = ApprovalDecision.objects.get_or_create(version=version, stage=stage, defaults={
        "outcome": outcome, "actor": None, "actor_label": "SageMaker",
        "comment": data.get("approval_description", ""), "mirrored_at": timezone.now()})
    if not created:
        return
    _move(version, DECISION_ACTIONS[stage][0 if outcome == Decision.APPROVE else 1], actor=SYSTEM)
    audit_record(actor=SYSTEM, action="model_version.decision_observed", target=decision, team=version.team,
                 after={"version": version.pk, "stage": stage, "outcome": outcome})
    _notify_decision(version, decision)
    if outcome == Decision.APPROVE:
        _dispatch("copy_to_central" if stage == 1 else "deploy_version", version.pk)


def _initial_stage(status: str, *, central: bool) -> str:
    if central:
        return {ApprovalStatus.APPROVED: Stage.CENTRAL_APPROVED,
                ApprovalStatus.REJECTED: Stage.CENTRAL_REJECTED}.get(status, Stage.IN_CENTRAL)
    return {ApprovalStatus.APPROVED: Stage.DEV_APPROVED,
            ApprovalStatus.REJECTED: Stage.DEV_REJECTED}.get(status, Stage.REGISTERED)


def registry_observe(*, account: AwsAccount, data: dict, source: str = "poll") -> ModelVersion:
    """Apply what SageMaker says about one package (from the poll or an event), in one transaction.

    New dev versions enter the chain at the stage their approval status implies; a status change
    of a version waiting in SageMaker (stage 1 on the dev package, stage 2 on the central copy) is
    recorded as a decision taken there and moves the chain. An event and a poll for the same change
    make one transition: the second finds the chain already moved (row lock + decision uniqueness).
    A central package linked to a dev version (SourceUri) moves that version to in_central once.
    """
    central = account.account_id == conf.central_account_id()
    region = data["arn"].split(":")[3]
    with transaction.atomic():
        source_version = None
        if central and data.get("source_uri"):
            source_version = (ModelVersion.objects.select_for_update(of=("self",)).select_related("team", "group")
                              .filter(arn=data["source_uri"]).first())
        team = source_version.team if source_version else account.team
        group = _group_for(account, data["group_name"], team=team, is_central=central, region=region)
        existing = ModelVersion.objects.filter(arn=data["arn"]).values_list("approval_status", flat=True).first()
        version = _store_version(group, data, promoted_from=source_version,
                                 initial_stage=_initial_stage(data["approval_status"], central=central))
        status = data["approval_status"]
        if existing is None and source_version is None:
            audit_record(actor=SYSTEM, action="model_version.registered", target=version, team=version.team,
                         after={"arn": version.arn, "stage": version.stage, "via": source})
            if version.stage == Stage.REGISTERED:
                notify(users=_team_users(version.team, TeamRole.LEAD), kind="approval.needed", team=version.team,
                       url=_version_url(version), subject=f"{version} waits for team lead approval (stage 1)")
        if source_version is not None:
            chain = source_version
            if chain.stage == Stage.DEV_APPROVED:
                _move(chain, "copied_to_central", actor=SYSTEM, central_arn=version.arn, last_error="")
                if status == ApprovalStatus.PENDING:
                    notify(users=_approvers_for(chain.team), kind="approval.needed", team=chain.team,
                           url=_version_url(chain), subject=f"{chain} waits for model approval (stage 2)")
            elif not chain.central_arn:
                chain.central_arn = version.arn
                chain.save(update_fields=["central_arn", "synced_at"])
            if chain.stage == Stage.IN_CENTRAL and status != ApprovalStatus.PENDING:
                if existing is None:   # first sight of a copy decided long ago: take it as found
                    _move(chain, DECISION_ACTIONS[2][0 if status == ApprovalStatus.APPROVED else 1], actor=SYSTEM)
                else:
                    _observed_decision(chain, 2, status, data)
        elif existing is not None and status != ApprovalStatus.PENDING \
                and STAGE_OF.get(version.stage) == (2 if central else 1):
            _observed_decision(version, 2 if central else 1, status, data)
    return version


def registry_event_apply(*, event: dict) -> str:
    """Apply an EventBridge "SageMaker Model Package State Change" event at once (one
    DescribeModelPackage for the creator, which the event does not carry, unless known). Returns
    "applied", "duplicate" (this event id was applied before) or "ignored" (another kind of
    event, or an account the portal does not know)."""
    from governance import aws
    from governance.models import ProcessedEvent
    if event.get("detail-type") != "SageMaker Model Package State Change" or not event.get("detail"):
        return "ignored"
    account = AwsAccount.objects.filter(account_id=str(event.get("account", ""))).select_related("team").first()
    if account is None or (account.account_id != conf.central_account_id() and account.environment != Environment.DEV):
        return "ignored"
    try:
        data = aws.package_from_aws(event["detail"])
    except (KeyError, ValueError) as error:
        raise DomainError(f"The event's detail is not a model package state change: {error}") from None
    if not data["created_by_arn"]:
        data["created_by_arn"] = _creator_of(account, data["arn"])
    with transaction.atomic():
        if event.get("id"):
            _processed, created = ProcessedEvent.objects.get_or_create(event_id=str(event["id"])[:100])
            if not created:
                return "duplicate"
        registry_observe(account=account, data=data, source="event")
    return "applied"


def _creator_of(account: AwsAccount, arn: str) -> str:
    """The CreatedBy identity of a package the event announces: AWS's event detail does not carry
    it, so ask DescribeModelPackage once (nothing when the portal already knows it). One AWS call;
    on an AWS error "" (the next poll fills it in)."""
    from governance import aws
    known = ModelVersion.objects.filter(arn=arn).values_list("created_by_arn", flat=True).first()
    if known:
        return known
    try:
        return aws.describe_version(account.account_id, arn)["created_by_arn"]
    except aws.AWS_ERRORS:
        return ""


def registry_sync_account(*, account: AwsAccount, full: bool = False) -> dict:
    """Poll one account's registry: every group, every version summary; describe versions that are
    new or whose approval status changed (all of them when ``full``). Returns counts."""
    from governance import aws
    from governance.models import RegistrySyncCursor
    started = timezone.now()
    cursor, _ = RegistrySyncCursor.objects.get_or_create(account=account)
    full = full or cursor.last_full_sync_at is None or (
        (started - cursor.last_full_sync_at).total_seconds() > conf.full_sync_hours() * 3600)
    known = dict(ModelVersion.objects.filter(group__account=account).values_list("arn", "approval_status"))
    counts = {"groups": 0, "described": 0}
    central = account.account_id == conf.central_account_id()
    for group_data in aws.list_groups(account.account_id):
        counts["groups"] += 1
        team = account.team
        if central and not ModelGroup.objects.filter(arn=group_data["arn"]).exists():
            slug = aws.group_tags(account.account_id, group_data["arn"]).get("team")
            team = Team.objects.filter(slug=slug).first() if slug else None
        with transaction.atomic():
            _group_for(account, group_data["name"], team=team, is_central=central,
                       description=group_data["description"], created_at=group_data["created_at"],
                       region=group_data["arn"].split(":")[3])
        for summary in aws.list_versions(account.account_id, group_data["name"]):
            if not full and known.get(summary["arn"]) == summary["approval_status"]:
                continue
            data = aws.describe_version(account.account_id, summary["arn"])
            if summary["arn"] not in known:
                try:
                    data_count = aws.upstream_dataset_count(account.account_id, summary["arn"])
                except Exception:   # lineage is context, never a reason to miss a version
                    data_count = None
                data["upstream_dataset_count"] = data_count
            version = registry_observe(account=account, data=data, source="poll")
            if data.get("upstream_dataset_count") is not None and version.upstream_dataset_count is None:
                ModelVersion.objects.filter(pk=version.pk).update(upstream_dataset_count=data["upstream_dataset_count"])
            counts["described"] += 1
    RegistrySyncCursor.objects.filter(pk=cursor.pk).update(
        last_synced_at=started, last_error="", **({"last_full_sync_at": started} if full else {}))
    return counts


def registry_sync_accounts() -> list[AwsAccount]:
    """Every team dev account, then the central registry account (dev rows exist before their copies)."""
    accounts = list(AwsAccount.objects.filter(environment=Environment.DEV, team__isnull=False).order_by("account_id"))
    accounts.append(_central_account())
    return accounts


def registry_sync_request(*, actor) -> None:
    """A platform admin asks for a sync now (audited; the task runs after commit)."""
    require(actor, "sync", ModelGroup)
    with transaction.atomic():
        audit_record(actor=actor, action="model_registry.sync_requested", target_type="governance.modelgroup")
        _dispatch("registry_sync_now")


# -- reminders and escalation ------------------------------------------------------------------
def _deciders(version: ModelVersion, stage: int) -> list:
    if stage == 1:
        return _team_users(version.team, TeamRole.LEAD)
    if stage == 2:
        return _approvers_for(version.team)
    return _team_users(version.team, TeamRole.ML_ENGINEER)


def approval_reminders_send(*, now=None) -> dict:
    """Remind the deciders of versions waiting at least GOVERNANCE_REMINDER_DAYS (again every as
    many days), and escalate those waiting GOVERNANCE_ESCALATION_DAYS to the model approvers of the
    team's line of business (once per wait). Side effects: notifications, reminded_at/escalated_at,
    an audit event per escalation. Repeat within the interval: nothing new is sent."""
    from datetime import timedelta
    now = now or timezone.now()
    remind_after, escalate_after = timedelta(days=conf.reminder_days()), timedelta(days=conf.escalation_days())
    sent = {"reminded": 0, "escalated": 0}
    waiting = ModelVersion.objects.filter(stage__in=list(STAGE_OF), promoted_from__isnull=True,
                                          stage_changed_at__lte=now - remind_after)
    for version_id in waiting.values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            version = _locked(version_id)
            stage = STAGE_OF.get(version.stage)
            if stage is None or version.stage_changed_at is None or version.stage_changed_at > now - remind_after:
                continue
            days = (now - version.stage_changed_at).days
            fields = []
            if version.reminded_at is None or version.reminded_at < max(version.stage_changed_at,
                                                                        now - remind_after):
                notify(users=_deciders(version, stage), kind="approval.reminder", team=version.team,
                       url=_version_url(version), subject=f"Reminder: {version} has waited {days} days for stage {stage}")
                version.reminded_at = now
                fields.append("reminded_at")
                sent["reminded"] += 1
            if version.stage_changed_at <= now - escalate_after and (
                    version.escalated_at is None or version.escalated_at < version.stage_changed_at):
                notify(users=_approvers_for(version.team), kind="approval.escalated", team=version.team,
                       url=_version_url(version),
                       subject=f"Escalated: {version} has waited {days} days for stage {stage}",
                       body=f"Line of business: {version.team.line_of_business if version.team else 'none'}.")
                version.escalated_at = now
                fields.append("escalated_at")
                audit_record(actor=SYSTEM, action="model_version.escalate", target=version, team=version.team,
                             after={"stage": stage, "days_waiting": days})
                sent["escalated"] += 1
            if fields:
                version.save(update_fields=fields + ["synced_at"])
    return sent
