from django.urls import path

from kindling.search import views

# Included under projects/<slug:slug>/
urlpatterns = [
    path("search", views.search_console, name="search-console"),
]
