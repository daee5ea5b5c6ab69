"""Governance pages (mounted at "" with namespace "governance") and the EventBridge endpoint."""
from django.urls import path

from governance import views

urlpatterns = [
    path("approvals/models/", views.approval_queue, name="approval_queue"),
    path("approvals/models/delegations/", views.delegation_create, name="delegation_create"),
    path("approvals/models/delegations/<int:pk>/revoke/", views.delegation_revoke, name="delegation_revoke"),
    path("models/", views.model_list, name="model_list"),
    path("models/sync/", views.registry_sync, name="registry_sync"),
    path("models/versions/<int:pk>/", views.version_detail, name="version_detail"),
    path("models/versions/<int:pk>/decide/", views.version_decide, name="version_decide"),
    path("models/versions/<int:pk>/rollback/", views.version_rollback, name="version_rollback"),
    path("models/versions/<int:pk>/continue/", views.version_continue, name="version_continue"),
    path("api/v1/events/sagemaker/", views.sagemaker_event, name="sagemaker_event"),
]
