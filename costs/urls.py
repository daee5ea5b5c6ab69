from django.urls import path

from costs import views

urlpatterns = [
    path("costs/", views.dashboard, name="dashboard"),
    path("costs/export.csv", views.dashboard_csv, name="dashboard_csv"),
    path("costs/teams/", views.team_index, name="team_index"),
    path("costs/teams/<slug:slug>/", views.team_report, name="team_report"),
    path("costs/teams/<slug:slug>/budget/", views.budget_edit, name="budget_edit"),
    path("costs/usage/", views.usage, name="usage"),
    path("costs/usage.csv", views.usage_csv, name="usage_csv"),
    path("costs/sync-runs/", views.sync_run_list, name="sync_run_list"),
    path("costs/digest/", views.digest, name="digest"),
]
