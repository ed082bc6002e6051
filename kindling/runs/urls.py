from django.urls import path

from kindling.runs import views

# Included under projects/<slug:slug>/
urlpatterns = [
    path("activity", views.activity, name="project-activity"),
    path("runs/<int:run_id>", views.run_detail, name="run-detail"),
]
