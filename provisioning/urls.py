"""Provisioning pages (namespace "provisioning")."""
from django.urls import path

from provisioning import views

urlpatterns = [
    path("catalog/", views.catalog_list, name="catalog_list"),
    path("catalog/sync/", views.catalog_sync, name="catalog_sync"),
    path("catalog/<str:product_id>/", views.catalog_detail, name="catalog_detail"),
    path("catalog/<str:product_id>/policy/", views.catalog_policy, name="catalog_policy"),
    path("catalog/<str:product_id>/presets/", views.preset_add, name="preset_add"),
    path("catalog/<str:product_id>/presets/<int:preset_id>/delete/", views.preset_delete, name="preset_delete"),
    path("catalog/<str:product_id>/request/", views.request_create, name="request_create"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/export.csv", views.request_export, name="request_export"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/progress/", views.request_progress, name="request_progress"),
    path("requests/<int:pk>/update/", views.request_update, name="request_update"),
    path("requests/<int:pk>/terminate/", views.request_terminate, name="request_terminate"),
    path("requests/<int:pk>/<slug:action>/", views.request_action, name="request_action"),
    path("inventory/", views.inventory_list, name="inventory_list"),
]
