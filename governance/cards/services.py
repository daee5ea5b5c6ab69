"""Every write to model cards: permission, state check, SageMaker, audit, notifications.

Card writes call SageMaker synchronously inside the service's transaction, with the card row locked:
the portal's version row is written only with the version number SageMaker answered, and an AWS
error rolls everything back and is shown to the person (nothing half-recorded). Content and status
are never changed in one SageMaker call. Sharing and PDF export are background steps (tasks.py).
"""
import uuid

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from governance import conf as governance_conf
from governance.cards import aws, transitions
from governance.cards.models import (
    CardStatus, ExportStatus, ModelCard, ModelCardExport, ModelCardShare, ModelCardVersion, SharePermission,
    ShareStatus,
)
from portal.audit import audit_record
from portal.errors import Conflict, DomainError, InvalidTransition
from portal.models import AwsAccount, GlobalRole, RoleAssignment
from portal.notifications import notify
from portal.permissions import SYSTEM, require
from portal.selectors import delegation_principal, on_behalf_note
from portal.workflow import transition

EXPORT_BUCKET = "ml-portal-model-card-exports-{account}"
SHARE_PLAN = {"dev": SharePermission.EDITABLE, "test": SharePermission.EDITABLE, "prod": SharePermission.READ_ONLY}
# As a card progresses it reaches more of the team's accounts (the model-card sharing pattern):
# its author works on a Draft from dev, testers review it from test, prod reads the approved card.
SHARED_WITH_AT = {CardStatus.DRAFT: ("dev",), CardStatus.PENDING_REVIEW: ("dev", "test"),
                  CardStatus.APPROVED: ("dev", "test", "prod")}


def central_account_id() -> str:
    return governance_conf.central_account_id()


def _actor_label(actor) -> str:
    return actor.get_username() if actor is not None else "system"


def _aws(call, *args, **kwargs):
    """Run one AWS call; an AWS error becomes a DomainError people can read (the caller's
    transaction rolls back, so nothing is recorded)."""
    try:
        return call(*args, **kwargs)
    except aws.AWS_ERRORS as error:
        raise DomainError(f"SageMaker refused the change, nothing was saved. {aws.error_message(error)}",
                          code="aws_error") from error


def _record_latest(card: ModelCard, *, actor, comment: str = "", status: bool = True) -> ModelCardVersion:
    """Describe the card's latest SageMaker version and record it (the one just written). With
    ``status`` False the card's status is left to the caller's ``portal.workflow.transition``."""
    latest = _aws(aws.describe_card, card.account_id, name=card.name)
    row = ModelCardVersion.objects.create(
        card=card, version=latest["version"], status=latest["status"], content=latest["content"],
        author=actor if getattr(actor, "pk", None) else None, author_label=_actor_label(actor), comment=comment,
        created_at=latest["modified_at"] or timezone.now())
    card.arn, card.content, card.current_version = latest["arn"], latest["content"], latest["version"]
    if status:
        card.status = latest["status"]
    card.last_error = ""
    card.save(update_fields=["arn", *(["status"] if status else []), "content", "current_version", "last_error",
                             "updated_at"])
    return row


def model_card_create(*, actor, team, name: str, content: dict, model_version=None) -> ModelCard:
    """Create a Draft card in the central account (CreateModelCard) and record version 1.
    Side effects: ModelCard + ModelCardVersion rows, audit event ``model_card.create``, a RAM share
    with the team's dev account after commit. A repeat
    with the same name fails with a conflict (SageMaker names are unique)."""
    require(actor, "add", ModelCard, team.pk)
    if model_version is not None and model_version.team_id != team.pk:
        raise DomainError("That model version belongs to another team.", fields={"model_version": ["Other team."]})
    with transaction.atomic():
        if ModelCard.objects.filter(name=name).exists():
            raise Conflict(f"A model card called '{name}' already exists; choose another name.",
                           fields={"name": ["Already taken."]})
        card = ModelCard.objects.create(team=team, model_version=model_version, name=name, content=content,
                                        account_id=central_account_id(),
                                        created_by=actor if getattr(actor, "pk", None) else None)
        tags = {"team": team.slug, "portal-card": str(card.pk)}
        if model_version is not None:
            tags["model"] = model_version.group.name
        _aws(aws.create_card, card.account_id, name=name, content=content, status=CardStatus.DRAFT, tags=tags)
        version = _record_latest(card, actor=actor)
        audit_record(actor=actor, action="model_card.create", target=card, team=team,
                     after={"name": name, "version": version.version, "status": card.status})
        _share_for_status(card)
    return card


def model_card_save(*, actor, card: ModelCard, content: dict, comment: str = "") -> ModelCardVersion:
    """Save new content (UpdateModelCard with Content only): a new SageMaker version, recorded.
    Only a Draft can be edited. Saving unchanged content creates no version (returns the latest)."""
    require(actor, "change", ModelCard, card.team_id)
    with transaction.atomic():
        card = ModelCard.objects.select_for_update().get(pk=card.pk)
        if transitions.target("edit", card.status) is None:
            raise InvalidTransition(f"A card that is {card.get_status_display().lower()} cannot be edited"
                                    + ("; it is read-only." if card.is_read_only else "; send it back to draft first."))
        if content == card.content:
            return card.versions.get(version=card.current_version)
        _aws(aws.update_content, card.account_id, name=card.name, content=content)
        version = _record_latest(card, actor=actor, comment=comment)
        audit_record(actor=actor, action="model_card.save", target=card, team=card.team,
                     after={"version": version.version})
    return version


def _approvers_for(card: ModelCard):
    from django.contrib.auth import get_user_model

    lines = RoleAssignment.objects.filter(role=GlobalRole.MODEL_APPROVER).values_list("user_id", "line_of_business")
    ids = [user_id for user_id, line in lines if not line or line == card.team.line_of_business]
    return get_user_model().objects.filter(pk__in=ids)


def model_card_transition(*, actor, card: ModelCard, action: str, comment: str = "", on_behalf_of=None) -> ModelCard:
    """Move a card through the table in transitions.py (UpdateModelCard with the status only).
    Side effects: a new version row, audit ``model_card.<action>``, notifications; the RAM shares
    the new status calls for (SHARED_WITH_AT) are planned and ``model_cards.share_apply`` runs after commit. Illegal transitions
    raise InvalidTransition (HTTP 409); a repeat of a done transition is illegal, so changes nothing.
    ``on_behalf_of``: the delegator a delegate reviews for (portal.selectors.delegation_principal);
    the policy is checked on the delegator, authorship on both, the audit event says "by X for Y"."""
    if action not in transitions.TRANSITIONS or action == "edit":
        raise DomainError(f"Unknown action '{action}'.")
    principal = delegation_principal(actor, on_behalf_of)
    require(principal, action, ModelCard, card.team_id)
    comment = (comment or "").strip()
    if action == "send_back" and not comment:
        raise DomainError("Say what the author should change: a comment is required to send a card back.",
                          fields={"comment": ["Required when sending back."]})
    with transaction.atomic():
        card = ModelCard.objects.select_for_update().select_related("team").get(pk=card.pk)
        to = transitions.MACHINE.next_state(card.status, action)       # InvalidTransition (409)
        if action in ("approve", "send_back") and actor is not SYSTEM and card.created_by_id in {actor.pk, principal.pk}:
            raise PermissionDenied("You wrote this card; another model approver must review it."
                                   if card.created_by_id == actor.pk else
                                   f"{principal} wrote this card; their delegate cannot review it either.")
        _aws(aws.update_status, card.account_id, name=card.name, status=to)
        _record_latest(card, actor=actor, comment=comment, status=False)
        transition(card, action, actor=actor, check_permission=False,   # required of the principal above
                   changes={"review_comment": comment} if action in ("approve", "send_back") else {},
                   after=lambda changed: {"status": changed.status, "version": changed.current_version,
                                          "comment": comment, **on_behalf_note(actor, principal)})
        url = f"/model-cards/{card.pk}/"
        if action == "submit":
            notify(users=_approvers_for(card), kind="model_card.submitted", team=card.team, url=url,
                   subject=f"Model card {card.name} is waiting for your review")
        elif action in ("approve", "send_back") and card.created_by_id:
            verb = "approved" if action == "approve" else "sent back"
            notify(users=[card.created_by], kind=f"model_card.{action}", team=card.team, url=url,
                   subject=f"Model card {card.name} was {verb}", body=comment)
        _share_for_status(card)
    return card


def _share_for_status(card: ModelCard) -> None:
    """Plan the shares the card's status calls for and apply them after commit (in the caller's
    transaction; already active shares are left alone)."""
    environments = SHARED_WITH_AT.get(card.status, ())
    if environments and _plan_shares(card, environments):
        card_id = card.pk
        from governance.cards.tasks import share_apply
        transaction.on_commit(lambda: share_apply.delay(card_id))


def _plan_shares(card: ModelCard, environments) -> int:
    """Pending share rows for the team's accounts in ``environments``; returns how many are pending."""
    accounts = AwsAccount.objects.filter(team_id=card.team_id, environment__in=environments).order_by("account_id")
    for account in accounts:
        share, created = ModelCardShare.objects.get_or_create(
            card=card, account_id=account.account_id,
            defaults={"environment": account.environment, "permission": SHARE_PLAN[account.environment],
                      "client_token": str(uuid.uuid4())})
        if not created and share.status == ShareStatus.FAILED:   # a revoked share stays revoked
            ModelCardShare.objects.filter(pk=share.pk).update(status=ShareStatus.PENDING, share_arn="", last_error="",
                                                              client_token=str(uuid.uuid4()))
    return ModelCardShare.objects.filter(card=card, status=ShareStatus.PENDING).count()


def model_card_shares_apply(*, card_id: int) -> int:
    """Create the RAM share of each pending share row (system work). Each share carries its own
    clientToken, so a retried or repeated run gets the same RAM share; active rows are skipped.
    Returns how many became active. Failures are recorded on the row for people to see."""
    card = ModelCard.objects.get(pk=card_id)
    done = 0
    for share in ModelCardShare.objects.filter(card_id=card_id, status=ShareStatus.PENDING):
        try:
            result = aws.share_card(card.account_id, card_arn=card.arn, principal=share.account_id,
                                    name=f"model-card-{card.name}-{share.environment}"[:255],
                                    client_token=share.client_token,
                                    permission_arn=aws.MODEL_CARD_PERMISSION)
        except aws.AWS_ERRORS as error:
            with transaction.atomic():
                if ModelCardShare.objects.filter(pk=share.pk, status=ShareStatus.PENDING).update(
                        status=ShareStatus.FAILED, last_error=aws.error_message(error)):
                    audit_record(actor=SYSTEM, action="model_card.share_failed", target=card, team=card.team,
                                 after={"account": share.account_id, "error": aws.error_message(error)})
            continue
        with transaction.atomic():
            if ModelCardShare.objects.filter(pk=share.pk, status=ShareStatus.PENDING).update(
                    status=ShareStatus.ACTIVE, share_arn=result["arn"], last_error=""):
                audit_record(actor=SYSTEM, action="model_card.share", target=card, team=card.team,
                             after={"account": share.account_id, "permission": share.permission,
                                    "share": result["arn"]})
                done += 1
    return done


def model_card_share_revoke(*, actor, share: ModelCardShare) -> ModelCardShare:
    """Delete the RAM share (DeleteResourceShare) and mark the row revoked. Audited. Revoking a
    revoked share is refused (409)."""
    require(actor, "share_revoke", ModelCard, share.card.team_id)
    with transaction.atomic():
        share = ModelCardShare.objects.select_for_update().select_related("card__team").get(pk=share.pk)
        if share.status == ShareStatus.REVOKED:
            raise InvalidTransition("This share is already revoked.")
        if share.share_arn:
            _aws(aws.delete_share, share.card.account_id, share_arn=share.share_arn)
        share.status = ShareStatus.REVOKED
        share.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="model_card.share_revoke", target=share.card, team=share.card.team,
                     after={"account": share.account_id, "share": share.share_arn})
    return share


def model_card_export_request(*, actor, card: ModelCard) -> ModelCardExport:
    """Ask SageMaker for a PDF of the card's latest version (CreateModelCardExportJob, run by the
    ``model_cards.export_run`` task after commit). Allowed in every status, Archived included.
    Each call starts a new export."""
    require(actor, "export", ModelCard, card.team_id)
    with transaction.atomic():
        export = ModelCardExport.objects.create(card=card, version=card.current_version,
                                                job_name=f"portal-{uuid.uuid4().hex[:24]}",
                                                requested_by=actor if getattr(actor, "pk", None) else None)
        audit_record(actor=actor, action="model_card.export", target=card, team=card.team,
                     after={"version": export.version, "job": export.job_name})
        export_id = export.pk
        from governance.cards.tasks import export_run
        transaction.on_commit(lambda: export_run.delay(export_id))
    return export


def model_card_export_advance(*, export_id: int) -> str:
    """One step of an export (system work): start the job if not started, then read its status.
    Returns the export's status; ``in_progress`` means "call again later". A repeat after the
    job is finished is a no-op."""
    export = ModelCardExport.objects.select_related("card").get(pk=export_id)
    card = export.card
    if export.status in (ExportStatus.COMPLETED, ExportStatus.FAILED):
        return export.status
    try:
        if not export.job_arn:
            bucket = EXPORT_BUCKET.format(account=card.account_id)
            aws.ensure_bucket(card.account_id, bucket)
            try:
                arn = aws.start_export(card.account_id, name=card.name, version=export.version,
                                       job_name=export.job_name, s3_output=f"s3://{bucket}/{card.name}/")
            except aws.AWS_ERRORS as error:
                if "Conflict" not in aws.error_message(error):
                    raise
                arn = f"{card.arn}/export-job/{export.job_name}"   # started by an earlier run
            ModelCardExport.objects.filter(pk=export.pk, job_arn="").update(job_arn=arn,
                                                                            status=ExportStatus.IN_PROGRESS)
            export.refresh_from_db()
        job = aws.describe_export(card.account_id, job_arn=export.job_arn)
    except aws.AWS_ERRORS as error:
        ModelCardExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED,
                                                            last_error=aws.error_message(error))
        return ExportStatus.FAILED
    if job["status"] == "Completed":
        ModelCardExport.objects.filter(pk=export.pk).update(status=ExportStatus.COMPLETED, s3_uri=job["s3_uri"])
        return ExportStatus.COMPLETED
    if job["status"] == "Failed":
        ModelCardExport.objects.filter(pk=export.pk).update(status=ExportStatus.FAILED,
                                                            last_error=job["failure"] or "SageMaker could not export.")
        return ExportStatus.FAILED
    return ExportStatus.IN_PROGRESS


def model_card_export_give_up(*, export_id: int, reason: str) -> None:
    ModelCardExport.objects.filter(pk=export_id).exclude(status=ExportStatus.COMPLETED).update(
        status=ExportStatus.FAILED, last_error=reason)


def _described_version(account: str, name: str, team):
    """The team's model version a card imported from SageMaker describes (its content's
    model_package_details.model_package_arn), or None. One DescribeModelCard call."""
    from governance.models import ModelVersion

    arn = (aws.describe_card(account, name=name)["content"].get("model_package_details") or {}).get(
        "model_package_arn")
    return ModelVersion.objects.filter(arn=arn, team=team).first() if arn else None


def model_cards_sync(*, actor=SYSTEM) -> dict:
    """Import cards created or edited directly in SageMaker (central account) with every version
    the portal has not recorded. The team comes from the card's ``team`` tag; cards without a
    known team are skipped (counted); a new card is linked to the team's version its content names.
    Idempotent: versions already recorded are left alone."""
    require(actor, "sync", ModelCard)
    from portal.models import Team

    account = central_account_id()
    counts = {"imported": 0, "versions": 0, "skipped": 0}
    for summary in aws.list_cards(account):
        card = ModelCard.objects.filter(name=summary["name"]).first()
        if card is None:
            team = Team.objects.filter(slug=aws.card_tags(account, arn=summary["arn"]).get("team", "")).first()
            if team is None:
                counts["skipped"] += 1
                continue
        remote = aws.list_card_versions(account, name=summary["name"])
        with transaction.atomic():
            if card is None:
                card, created = ModelCard.objects.get_or_create(
                    name=summary["name"], defaults={"team": team, "account_id": account, "arn": summary["arn"],
                                                    "model_version": _described_version(account, summary["name"],
                                                                                        team)})
                if created:
                    counts["imported"] += 1
                    audit_record(actor=actor, action="model_card.import", target=card, team=card.team,
                                 after={"name": card.name})
            card = ModelCard.objects.select_for_update().get(pk=card.pk)
            known = set(card.versions.values_list("version", flat=True))
            latest = None
            for row in remote:
                if row["version"] in known:
                    continue
                detail = aws.describe_card(account, name=card.name, version=row["version"])
                ModelCardVersion.objects.create(card=card, version=detail["version"], status=detail["status"],
                                                content=detail["content"], comment="Edited in SageMaker",
                                                author_label=detail["modified_by"] or "SageMaker",
                                                created_at=detail["modified_at"])
                counts["versions"] += 1
                latest = detail if latest is None or detail["version"] > latest["version"] else latest
            if latest and latest["version"] > card.current_version:
                before = card.status
                card.status, card.content, card.current_version = latest["status"], latest["content"], latest["version"]
                card.arn = latest["arn"]
                card.save(update_fields=["status", "content", "current_version", "arn", "updated_at"])
                audit_record(actor=actor, action="model_card.sync", target=card, team=card.team,
                             before={"status": before}, after={"status": card.status, "version": card.current_version})
    return counts
