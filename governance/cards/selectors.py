"""Reads shared by model card pages and API, scoped with portal.permissions.scope first.

``approved_card_for(version)`` is the seam governance's stage-2 gate calls.
"""
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from governance.cards import content as card_content
from governance.cards.models import CardStatus, ModelCard, ModelCardExport, ModelCardShare, ModelCardVersion
from portal.errors import DomainError
from portal.models import AwsAccount
from portal.permissions import has_perm, scope, teams_for


class VersionNotFound(DomainError):
    code = "not_found"
    status = 404


def approved_card_for(version) -> ModelCard | None:
    """The Approved card documenting this registry version (or the dev version it was promoted
    from), or None. Unscoped: it is a policy check, not a read on someone's behalf."""
    ids = [version.pk]
    if getattr(version, "promoted_from_id", None):
        ids.append(version.promoted_from_id)
    return (ModelCard.objects.filter(model_version_id__in=ids, status=CardStatus.APPROVED)
            .order_by("-updated_at").first())


def versions_with_approved_card(version_ids) -> set[int]:
    """Which of these registry version ids have an Approved card (one query)."""
    return set(ModelCard.objects.filter(model_version_id__in=set(version_ids), status=CardStatus.APPROVED)
               .values_list("model_version_id", flat=True))


def card_list_for_user(user, *, status: str = "", team: str = "") -> QuerySet:
    queryset = scope(user, ModelCard.objects.all()).select_related("team", "model_version__group", "created_by")
    if status:
        queryset = queryset.filter(status=status)
    if team:
        queryset = queryset.filter(team__slug=team)
    return queryset.order_by("-updated_at", "-id")


def card_detail_for_user(user, pk: int) -> ModelCard:
    return get_object_or_404(scope(user, ModelCard.objects.select_related("team", "model_version__group",
                                                                          "created_by")), pk=pk)


def versions_of(card: ModelCard) -> QuerySet:
    return card.versions.select_related("author").order_by("-version")


def shares_of(card: ModelCard) -> QuerySet:
    return card.shares.all()


def exports_of(card: ModelCard) -> QuerySet:
    return card.exports.all()[:5]


def share_for_user(user, card_pk: int, share_pk: int) -> ModelCardShare:
    return get_object_or_404(scope(user, ModelCardShare.objects.select_related("card")), pk=share_pk,
                             card_id=card_pk)


def export_for_user(user, card_pk: int, export_pk: int) -> ModelCardExport:
    return get_object_or_404(scope(user, ModelCardExport.objects.select_related("card")), pk=export_pk,
                             card_id=card_pk)


def version_diff(card: ModelCard, a: int, b: int) -> dict:
    """The readable diff between versions ``a`` and ``b`` of ``card``."""
    rows = {row.version: row for row in ModelCardVersion.objects.filter(card=card, version__in=[a, b])}
    missing = [number for number in (a, b) if number not in rows]
    if missing:
        raise VersionNotFound(f"Version {missing[0]} of this card does not exist; pick versions "
                              f"1–{card.current_version}.", fields={"version": ["Unknown version."]})
    changes = card_content.diff(rows[a].content, rows[b].content)
    if rows[a].status != rows[b].status:
        changes.insert(0, {"field": "status", "change": "changed", "before": rows[a].get_status_display(),
                           "after": rows[b].get_status_display()})
    return {"from": a, "to": b, "changes": changes}


def lineage_account_for_user(user, arn: str) -> str:
    """The account ``arn`` lives in, if ``user`` may see lineage there (404 for another team's
    account, PermissionDenied for people without any model card access)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    if not has_perm(user, "view", ModelCard):
        raise PermissionDenied("You may not see model lineage.")
    parts = (arn or "").split(":")
    if len(parts) < 6 or not parts[0].startswith("arn") or not (parts[4].isdigit() and len(parts[4]) == 12):
        raise DomainError("Give the ARN of a SageMaker lineage entity, e.g. "
                          "arn:aws:sagemaker:us-east-1:111122223333:artifact/abc…", fields={"arn": ["Not an ARN."]})
    account_id = parts[4]
    account = AwsAccount.objects.filter(account_id=account_id).only("team_id").first()
    if account is not None and account.team_id is not None:
        teams = teams_for(user, ModelCard, "view")
        if teams is not None and account.team_id not in teams:
            raise Http404("Not found: it does not exist or you may not see it.")
    return account_id


def cards_for_arns(user, arns) -> dict[str, ModelCard]:
    """Cards (visible to ``user``) of the registry versions with these package ARNs."""
    cards = scope(user, ModelCard.objects.filter(model_version__arn__in=list(arns))).select_related("model_version")
    return {card.model_version.arn: card for card in cards}
