from django.urls import path

from kindling.exports import views

urlpatterns = [
    path("exports/<int:export_id>/download", views.download, name="export-download"),
]
