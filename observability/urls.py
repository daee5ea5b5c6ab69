from django.urls import path

from observability import views

urlpatterns = [
    path("activity/", views.activity_list, name="activity_list"),
    path("activity/<int:pk>/", views.activity_detail, name="activity_detail"),
]
