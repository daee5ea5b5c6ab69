"""Read queries shared by pages and the API, always scoped to the user first."""
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404
from django.utils import timezone

from portal.models import (ApiToken, AuditEvent, AwsAccount, GlobalRole, Membership, Notification, RoleAssignment,
                           Team, TeamWebhook, WebhookDelivery)
from portal.permissions import global_roles, scope


def team_list_for_user(user):
    return scope(user, Team.objects.all()).annotate(
        member_count=Count("memberships", distinct=True), account_count=Count("accounts", distinct=True))


def team_detail_for_user(user, slug: str) -> Team:
    """The team with its members and accounts; Http404 when the user may not see it."""
    queryset = scope(user, Team.objects.all()).prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("user").order_by("user__username")),
        Prefetch("accounts", queryset=AwsAccount.objects.order_by("environment", "name")))
    return get_object_or_404(queryset, slug=slug)


def membership_list_for_user(user):
    return scope(user, Membership.objects.select_related("team", "user"))


def account_list_for_user(user):
    return scope(user, AwsAccount.objects.select_related("team"))


def user_list_with_roles():
    """Every user with their global roles and memberships (admin pages only)."""
    return get_user_model().objects.order_by("username").prefetch_related(
        Prefetch("role_assignments", queryset=RoleAssignment.objects.order_by("role")),
        Prefetch("memberships", queryset=Membership.objects.select_related("team")))


def role_assignment_list_for_user(user):
    return scope(user, RoleAssignment.objects.select_related("user"))


AUDIT_FILTERS = {"action": "action__startswith", "actor": "actor_label", "team": "team__slug",
                 "target_type": "target_type", "target_id": "target_id", "since": "occurred_at__gte",
                 "until": "occurred_at__lt"}


def audit_events_for_user(user, **filters):
    """Audit events the user may read, newest first; ``filters`` are the audit page's
    (AUDIT_FILTERS keys), empty values ignored."""
    lookups = {AUDIT_FILTERS[name]: value for name, value in filters.items() if value}
    return scope(user, AuditEvent.objects.select_related("team")).filter(**lookups).order_by("-seq")


def notifications_for_user(user):
    return Notification.objects.filter(user=user).select_related("team")


def unread_notification_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def tokens_for_user(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def home_summary(user) -> dict:
    """What the home page shows this user: their teams with accounts, and per global role the
    figures that exist in the portal today (no invented numbers)."""
    memberships = list(Membership.objects.filter(user=user).select_related("team").prefetch_related(
        Prefetch("team__accounts", queryset=AwsAccount.objects.order_by("environment", "name"))))
    roles = global_roles(user)
    summary = {"memberships": memberships, "roles": sorted(GlobalRole(role).label for role in roles)}
    if roles & {"platform_admin", "auditor", "executive"}:
        teams = scope(user, Team.objects.all())    # an executive may be limited to a line of business
        summary["totals"] = {"teams": teams.count(), "accounts": scope(user, AwsAccount.objects.all()).count()}
        if roles & {"platform_admin", "auditor"}:
            summary["totals"]["users"] = get_user_model().objects.filter(is_active=True).count()
        summary["budgets"] = list(teams.order_by("-monthly_budget_usd").values(
            "name", "slug", "line_of_business", "monthly_budget_usd"))
    if roles & {"platform_admin", "auditor"}:
        summary["recent_audit"] = list(audit_events_for_user(user)[:8])
    return summary


def team_for_user(user, slug: str) -> Team:
    """The team alone; Http404 when the user may not see it."""
    return get_object_or_404(scope(user, Team.objects.all()), slug=slug)


def webhook_list_for_user(user):
    """Webhooks the user may see, with their failed-delivery count; the signing secret is not loaded."""
    return (scope(user, TeamWebhook.objects.select_related("team", "created_by")).defer("signing_secret")
            .annotate(failed_count=Count("deliveries", filter=Q(deliveries__state=WebhookDelivery.State.FAILED))))


def webhook_for_user(user, webhook_id: int) -> TeamWebhook:
    """One webhook (secret not loaded); Http404 when the user may not see it."""
    return get_object_or_404(
        scope(user, TeamWebhook.objects.select_related("team", "created_by")).defer("signing_secret"), pk=webhook_id)


def webhook_deliveries_for_user(user, *, webhook=None, state: str = "", kind: str = ""):
    """Deliveries the user may see, newest first; ``kind`` matches as a prefix; empty filters ignored."""
    queryset = scope(user, WebhookDelivery.objects.select_related("webhook__team")).defer("webhook__signing_secret")
    if webhook is not None:
        queryset = queryset.filter(webhook=webhook)
    if state:
        queryset = queryset.filter(state=state)
    if kind:
        queryset = queryset.filter(kind__startswith=kind)
    return queryset.order_by("-created_at", "-id")


# -- delegation while away ---------------------------------------------------------------------------
def active_delegations_to(user, *, now=None):
    """Delegations ``user`` may act on now (as the delegate), their delegators still active."""
    from portal.models import ApprovalDelegation
    if not getattr(user, "pk", None):
        return ApprovalDelegation.objects.none()
    now = now or timezone.now()
    return ApprovalDelegation.objects.filter(delegate=user, revoked_at__isnull=True, starts_at__lte=now,
                                             ends_at__gt=now, delegator__is_active=True).select_related("delegator")


def delegations_of(user):
    """The user's delegations, given and received, newest first."""
    from portal.models import ApprovalDelegation
    return (ApprovalDelegation.objects.filter(Q(delegator=user) | Q(delegate=user))
            .select_related("delegator", "delegate").order_by("-created_at", "-id"))


def delegation_principal(actor, on_behalf_of):
    """Whom ``actor`` decides for: themselves (``on_behalf_of`` None or themselves), or the
    delegator of a delegation to ``actor`` active now. Raises PermissionDenied otherwise, so a
    service given ``on_behalf_of`` never trusts the caller's word for it."""
    from django.core.exceptions import PermissionDenied
    if on_behalf_of is None or getattr(on_behalf_of, "pk", None) == getattr(actor, "pk", None):
        return actor
    if not active_delegations_to(actor).filter(delegator=on_behalf_of).exists():
        raise PermissionDenied(f"{on_behalf_of} has not delegated their decisions to you (or not now).")
    return on_behalf_of


def on_behalf_note(actor, principal) -> dict:
    """What an audit event's ``after`` adds when a delegate decided: {"by": "alice for bob"}, else {}."""
    if principal is None or principal is actor or principal.pk == getattr(actor, "pk", None):
        return {}
    return {"by": decided_by_label(actor, principal)}


def decided_by_label(actor, principal) -> str:
    """"alice" or "alice for bob": how step logs and audit events name who decided."""
    name = actor.get_username()
    return name if principal is None or principal is actor or principal.pk == actor.pk \
        else f"{name} for {principal.get_username()}"
