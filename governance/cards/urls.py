from django.urls import path

from governance.cards import views

urlpatterns = [
    path("model-cards/", views.card_list, name="card_list"),
    path("model-cards/new/", views.card_create, name="card_create"),
    path("model-cards/sync/", views.card_sync, name="card_sync"),
    path("model-cards/<int:pk>/", views.card_detail, name="card_detail"),
    path("model-cards/<int:pk>/edit/", views.card_edit, name="card_edit"),
    path("model-cards/<int:pk>/diff/", views.card_diff, name="card_diff"),
    path("model-cards/<int:pk>/pdf/", views.card_pdf, name="card_pdf"),
    path("model-cards/<int:pk>/export/", views.card_export, name="card_export"),
    path("model-cards/<int:pk>/exports/<int:export_pk>/download/", views.export_download, name="export_download"),
    path("model-cards/<int:pk>/shares/<int:share_pk>/revoke/", views.share_revoke, name="share_revoke"),
    path("model-cards/<int:pk>/<str:action>/", views.card_transition, name="card_transition"),
    path("lineage/", views.lineage_page, name="lineage"),
]
