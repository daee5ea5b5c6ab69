"""Celery entry points of the governance app. Thin: ids in, services do the work; each is
idempotent (the services re-read rows under lock and compare states, so a repeat is a no-op)."""
import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from governance import services
from governance.aws import AWS_ERRORS
from governance.models import ApprovalDecision, ModelVersion, Stage
from portal.errors import DomainError
from portal.retry import task_retry

log = logging.getLogger(__name__)
MAX_RETRIES = 8
DEPLOY_POLLS = 40   # about half an hour of polling with the capped backoff; the reconciler resumes after


def _retry(task, error=None, retries=None):
    """Retry ``task`` after ``portal.retry``'s backoff: from 1 s, capped at five minutes."""
    return task_retry(task, base=1.0, cap=300.0, exc=error, retries=retries)


@shared_task(name="governance.registry_sync", acks_late=True)
def registry_sync(full: bool = False, **_ignored):
    """Poll every team dev registry and the central registry (beat). One account failing does not
    stop the others; its cursor keeps the error."""
    from governance.models import RegistrySyncCursor
    results = {}
    for account in services.registry_sync_accounts():
        try:
            results[account.account_id] = services.registry_sync_account(account=account, full=full)
        except AWS_ERRORS as error:
            log.warning("registry sync of %s failed: %s", account.account_id, error)
            RegistrySyncCursor.objects.update_or_create(account=account, defaults={"last_error": str(error)[:2000]})
            results[account.account_id] = {"error": str(error)}
    return results


@shared_task(name="governance.registry_sync_now", acks_late=True)
def registry_sync_now(**_ignored):
    return registry_sync(full=True)


@shared_task(name="governance.decision_mirror", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def decision_mirror(self, decision_id: int, **_ignored):
    """Record a portal decision in SageMaker (UpdateModelPackage with the decision's ClientToken)."""
    try:
        services.decision_mirror(decision_id=decision_id)
    except AWS_ERRORS as error:
        raise _retry(self, error) from None
    except DomainError as error:
        log.warning("decision %s cannot be mirrored: %s", decision_id, error)


@shared_task(name="governance.copy_to_central", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def copy_to_central(self, version_id: int, **_ignored):
    """Copy a lead-approved dev version to the central registry. The ClientToken is committed on the
    row before CreateModelPackage, so a retry or a redelivered message makes no second package."""
    try:
        return services.central_copy_run(version_id=version_id)
    except AWS_ERRORS as error:
        raise _retry(self, error) from None


@shared_task(name="governance.deploy_version", bind=True, acks_late=True, max_retries=DEPLOY_POLLS)
def deploy_version(self, version_id: int, **_ignored):
    """Deploy a version to the stage its chain is at (test after stage 2, prod after the sign-off)
    through the multi-account deploy product, then poll its record until it settles."""
    try:
        deployment = services.deployment_start(version_id=version_id)
    except DomainError as error:
        services.version_error_record(version_id=version_id, message=error.message)
        return None
    if deployment is None:
        return None
    try:
        return services.deployment_advance(deployment=deployment, give_up=self.request.retries >= DEPLOY_POLLS)
    except services.DeploymentPending:
        raise _retry(self, retries=min(self.request.retries, 6)) from None
    except AWS_ERRORS as error:
        raise _retry(self, error) from None


@shared_task(name="governance.reconcile", acks_late=True)
def reconcile(stale_minutes: int = 5, **_ignored):
    """Re-enqueue chain work whose message was lost (beat): unmirrored decisions, approved versions
    not yet copied, deployments still in progress. Every task it sends is idempotent."""
    cutoff = timezone.now() - timedelta(minutes=stale_minutes)
    sent = {"mirror": 0, "copy": 0, "deploy": 0}
    for decision_id in ApprovalDecision.objects.filter(mirrored_at__isnull=True, decided_at__lt=cutoff,
                                                       actor__isnull=False).values_list("pk", flat=True)[:200]:
        transaction.on_commit(lambda pk=decision_id: decision_mirror.delay(pk))
        sent["mirror"] += 1
    copied = ModelVersion.objects.filter(stage=Stage.DEV_APPROVED, stage_changed_at__lt=cutoff,
                                         decisions__stage=1, decisions__actor__isnull=False)
    for version_id in copied.values_list("pk", flat=True)[:200]:
        transaction.on_commit(lambda pk=version_id: copy_to_central.delay(pk))
        sent["copy"] += 1
    for version_id in ModelVersion.objects.filter(stage__in=[Stage.DEPLOYING_TEST, Stage.DEPLOYING_PROD],
                                                  stage_changed_at__lt=cutoff).values_list("pk", flat=True)[:200]:
        transaction.on_commit(lambda pk=version_id: deploy_version.delay(pk))
        sent["deploy"] += 1
    return sent


@shared_task(name="governance.approval_reminders", acks_late=True)
def approval_reminders(**_ignored):
    """Remind deciders of versions waiting too long; escalate the longest waits (beat, hourly)."""
    return services.approval_reminders_send()
