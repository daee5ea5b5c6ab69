"""Model cards waiting for review in the approvals inbox (portal.inbox); decisions go through
``services.model_card_transition`` (approve / send back)."""
from django.urls import reverse

from governance.cards import services
from governance.cards.models import CardStatus, ModelCard
from portal.inbox import InboxKind, InboxRow, register_kind, risk_of
from portal.permissions import has_perm, scope

KIND = "model_card"


def decidable_for_user(user, delegate=None):
    """Cards pending review that ``user`` may approve (model approvers of the team's line of
    business), except the ones they wrote (or their delegate wrote)."""
    cards = scope(user, ModelCard.objects.filter(status=CardStatus.PENDING_REVIEW), "approve")
    if delegate is not None:
        cards = cards.exclude(created_by=delegate)
    return (cards.exclude(created_by=user).select_related("team", "model_version", "model_version__group")
            .order_by("updated_at", "id"))


def _pending():
    return ModelCard.objects.filter(status=CardStatus.PENDING_REVIEW).select_related(
        "team", "model_version", "model_version__group")


def _deciders(card: ModelCard):
    return services._approvers_for(card).exclude(pk=card.created_by_id)


def _rows(user, cards) -> list[InboxRow]:
    rows = []
    for card in cards:
        version = card.model_version
        rows.append(InboxRow(
            kind=KIND, kind_label="Model card", id=card.pk, title=card.name, team=card.team.name,
            team_slug=card.team.slug, line_of_business=card.team.line_of_business, waiting_since=card.updated_at,
            url=reverse("model_cards:card_detail", args=[card.pk]),
            summary=f"Card for {card.model_name}, version {card.current_version}"
                    + (f"; documents {version.group.name} v{version.version}" if version else ""),
            risk=risk_of(medium=True), context={"card_version": card.current_version}))
    return rows


def register() -> None:
    register_kind(InboxKind(
        key=KIND, label="Model card", order=40,
        visible=lambda user: has_perm(user, "approve", ModelCard),
        decidable=decidable_for_user, rows=_rows, pending=_pending, deciders=_deciders,
        approve=lambda *, actor, item, comment="", on_behalf_of=None: services.model_card_transition(
            actor=actor, card=item, action="approve", comment=comment, on_behalf_of=on_behalf_of),
        deny=lambda *, actor, item, comment, on_behalf_of=None: services.model_card_transition(
            actor=actor, card=item, action="send_back", comment=comment, on_behalf_of=on_behalf_of)))
