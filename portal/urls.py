"""URL configuration: pages at /, the API under /api/v1/, the schema at /api/schema/."""
import importlib
import importlib.util

from django.apps import apps
from django.conf import settings
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from portal import api, views

class ApiRootView(DefaultRouter.APIRootView):
    """The API's index: every endpoint this version offers. Signed-in users and tokens only."""
    permission_classes = [IsAuthenticated]


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("teams", api.TeamViewSet, basename="team")
router.register("memberships", api.MembershipViewSet, basename="membership")
router.register("role-assignments", api.RoleAssignmentViewSet, basename="role-assignment")
router.register("accounts", api.AwsAccountViewSet, basename="account")
router.register("audit-events", api.AuditEventViewSet, basename="audit-event")
router.register("api-tokens", api.ApiTokenViewSet, basename="api-token")
router.register("notifications", api.NotificationViewSet, basename="notification")
router.register("webhooks", api.TeamWebhookViewSet, basename="webhook")
router.register("webhook-deliveries", api.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("approvals", api.ApprovalInboxViewSet, basename="approval")
router.register("approval-delegations", api.ApprovalDelegationViewSet, basename="approval-delegation")

portal_patterns = [
    path("", views.home, name="home"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/edit/", views.team_edit, name="team_edit"),
    path("teams/<slug:slug>/members/", views.member_add, name="member_add"),
    path("teams/<slug:slug>/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("users/", views.user_list, name="user_list"),
    path("users/<int:user_id>/roles/", views.role_grant, name="role_grant"),
    path("roles/<int:assignment_id>/revoke/", views.role_revoke, name="role_revoke"),
    path("audit/", views.audit_list, name="audit_list"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/decide/", views.approvals_decide, name="approvals_decide"),
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("teams/<slug:slug>/webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:webhook_id>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:webhook_id>/delete/", views.webhook_delete, name="webhook_delete"),
    path("webhooks/<int:webhook_id>/test/", views.webhook_test, name="webhook_test"),
    path("webhooks/<int:webhook_id>/rotate-secret/", views.webhook_rotate_secret, name="webhook_rotate_secret"),
    path("webhook-deliveries/<int:delivery_id>/redeliver/", views.webhook_redeliver, name="webhook_redeliver"),
    path("webhook-deliveries/<int:delivery_id>/send-now/", views.webhook_send_now, name="webhook_send_now"),
    path("health/", views.health, name="health"),
]

# Each app in PORTAL_APPS mounts its pages (<app>/urls.py, namespace = its app label) and registers its
# API viewsets on the shared router (<app>/api.py: register_api(router)).
app_patterns = []
for app in settings.PORTAL_APPS:
    if importlib.util.find_spec(f"{app}.urls"):
        label = next(config.label for config in apps.get_app_configs() if config.name == app)
        app_patterns.append(path("", include((f"{app}.urls", label))))   # URL namespace = app label
    if importlib.util.find_spec(f"{app}.api"):
        importlib.import_module(f"{app}.api").register_api(router)

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    *app_patterns,
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include(router.urls)),
    path("api/v1/me/", api.me, name="api-me"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("favicon.ico", views.favicon),
]
# 403 uses Django's handler with templates/403.html; 404 answers JSON under /api/, else 404.html. In
# local settings (DEBUG) portal.middleware.DebugErrorPagesMiddleware shows them instead of Django's technical 404.
handler404 = "portal.views.page_not_found"
handler400 = "portal.views.bad_request"
handler500 = "portal.views.server_error"
