"""Account vending pages (namespace "account_vending")."""
from django.urls import path

from provisioning.accounts import views

urlpatterns = [
    path("account-requests/", views.request_list, name="request_list"),
    path("account-requests/new/", views.request_create, name="request_create"),
    path("account-requests/export.csv", views.request_export, name="request_export"),
    path("account-requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("account-requests/<int:pk>/progress/", views.request_progress, name="request_progress"),
    path("account-requests/<int:pk>/<slug:action>/", views.request_action, name="request_action"),
    path("organization/", views.ou_tree, name="ou_tree"),
    path("organization/move/", views.account_move, name="account_move"),
    path("organization/import/", views.account_import, name="account_import"),
]
