"""Account vending reads, scoped first (portal.permissions.scope)."""
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404

from portal.models import AwsAccount
from portal.permissions import scope, teams_for
from provisioning.accounts import aws
from provisioning.accounts.models import AccountApproval, AccountRequest


def with_approvals(queryset):
    """Each request's decisions (with who made them), prefetched in one query."""
    return queryset.prefetch_related(Prefetch("approvals", queryset=AccountApproval.objects.select_related("decided_by")))


def request_list_for_user(user, *, mine: bool = False, state: str = "", team_slug: str = ""):
    """The requests the user may see, newest first, each with its decisions."""
    items = with_approvals(scope(user, AccountRequest.objects.all()).select_related("team", "requester"))
    if mine:
        items = items.filter(requester=user)
    if state:
        items = items.filter(state=state)
    if team_slug:
        items = items.filter(team__slug=team_slug)
    return items.order_by("-created_at", "-id")


def request_for_user(user, pk: int) -> AccountRequest:
    return get_object_or_404(with_approvals(scope(user, AccountRequest.objects.select_related(
        "team", "requester", "decided_by"))), pk=pk)


def teams_user_may_request_for(user):
    from portal.models import Team
    teams = teams_for(user, AccountRequest, "add")
    queryset = Team.objects.order_by("name")
    return queryset if teams is None else queryset.filter(pk__in=teams)


def org_tree(request) -> list[dict]:
    """The OU tree with each account's portal owner; cached on the HTTP request."""
    if not hasattr(request, "_account_vending_tree"):
        tree = aws.ou_tree()
        ids = [account["id"] for node in tree for account in node["accounts"]]
        known = {a.account_id: a for a in AwsAccount.objects.filter(account_id__in=ids).select_related("team")}
        for node in tree:
            for account in node["accounts"]:
                account["portal"] = known.get(account["id"])
        request._account_vending_tree = tree
    return request._account_vending_tree


def importable_accounts(request) -> list[dict]:
    """Organization accounts the portal's inventory does not have yet, with their OU path."""
    return [{**account, "ou_path": node["path"]} for node in org_tree(request) for account in node["accounts"]
            if account["portal"] is None and account["state"] == "ACTIVE"]
