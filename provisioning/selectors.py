"""Read queries shared by the provisioning pages and API, scoped to the user first."""
from django.db.models import Prefetch, Q
from django.shortcuts import get_object_or_404

from portal.models import AwsAccount, Team
from portal.permissions import has_perm, is_platform_admin, scope, teams_for
from provisioning.models import (
    CatalogProduct, CatalogVersion, ProvisionedProduct, ProvisioningRequest, RequestState, RequestStep,
)


def catalog_for_user(user, *, q: str = ""):
    """Products the user may see: every synced service product for admins; enabled ones otherwise."""
    if not has_perm(user, "view", CatalogProduct):
        return CatalogProduct.objects.none()
    queryset = CatalogProduct.objects.filter(in_catalog=True)
    if not is_platform_admin(user):
        queryset = queryset.filter(enabled=True, kind=CatalogProduct.Kind.SERVICE)
    if q:
        queryset = queryset.filter(Q(name__icontains=q) | Q(short_description__icontains=q) | Q(owner__icontains=q))
    return queryset.prefetch_related(
        Prefetch("versions", queryset=CatalogVersion.objects.filter(in_catalog=True).order_by("-created_time")),
        "allowed_teams").order_by("name")


def catalog_product_for_user(user, product_id: str) -> CatalogProduct:
    return get_object_or_404(catalog_for_user(user).prefetch_related("presets__team"), product_id=product_id)


def request_accounts_for_user(user):
    """Accounts the user may target: those of teams where the user may add requests."""
    teams = teams_for(user, ProvisioningRequest, "add")
    queryset = AwsAccount.objects.filter(team__isnull=False, status="ACTIVE").select_related("team")
    if teams is not None:
        queryset = queryset.filter(team_id__in=teams)
    return queryset.order_by("team__name", "environment", "name")


def requests_for_user(user, *, mine: bool = False, state: str = "", team: str = "", product: str = ""):
    """Requests the user may see with the list filters (all indexed). The encrypted NoEcho values
    are not read (no decryption per row; services re-read what they change)."""
    queryset = scope(user, ProvisioningRequest.objects.select_related(
        "team", "requester", "product", "account", "version").defer("secret_parameters"))
    if mine:
        queryset = queryset.filter(requester=user)
    if state:
        queryset = queryset.filter(state=state)
    if team:
        queryset = queryset.filter(team__slug=team)
    if product:
        queryset = queryset.filter(product__product_id=product)
    return queryset.order_by("-created_at", "-id")


def approvals_for_user(user):
    """Pending requests the user may decide on (not their own)."""
    teams = teams_for(user, ProvisioningRequest, "approve")
    queryset = ProvisioningRequest.objects.filter(state=RequestState.PENDING_APPROVAL).exclude(requester=user)
    if teams is not None:
        queryset = queryset.filter(team_id__in=teams)
    return (queryset.select_related("team", "requester", "product", "account", "version")
            .defer("secret_parameters").order_by("created_at", "id"))


def request_for_user(user, pk: int) -> ProvisioningRequest:
    queryset = scope(user, ProvisioningRequest.objects.select_related(
        "team", "requester", "product", "account", "version", "decided_by"))
    return get_object_or_404(queryset, pk=pk)


def steps_of(request: ProvisioningRequest):
    return RequestStep.objects.filter(request=request).order_by("id")


def inventory_for_user(user, *, team: str = "", include_terminated: bool = False, drift: str = ""):
    queryset = scope(user, ProvisionedProduct.objects.select_related("team", "account", "product", "owner", "request"))
    if not include_terminated:
        queryset = queryset.filter(terminated_at__isnull=True)
    if team:
        queryset = queryset.filter(team__slug=team)
    if drift:
        queryset = queryset.filter(drift=drift)
    return queryset.order_by("team__name", "name")


def teams_for_filter(user):
    return scope(user, Team.objects.all()).order_by("name")
