from django.contrib.auth.views import LogoutView
from django.urls import path

from kindling.accounts.views import LoginView

urlpatterns = [
    path("login", LoginView.as_view(), name="login"),
    # Django's LogoutView accepts POST only: a link or a prefetch cannot log anyone out.
    path("logout", LogoutView.as_view(), name="logout"),
]
