from django.contrib.auth.views import LogoutView
from django.urls import path

from kindling.accounts.settings_pages import (
    account_delete,
    account_email,
    account_email_confirm,
    session_status,
)
from kindling.accounts.views import (
    LoginView,
    account_password,
    account_preferences,
    account_settings,
    account_token_create,
    account_token_revoke,
    password_recover,
    password_reset,
)

urlpatterns = [
    path("login", LoginView.as_view(), name="login"),
    path("password/recover", password_recover, name="password-recover"),
    path("password/reset", password_reset, name="password-reset"),
    # Django's LogoutView accepts POST only: a link or a prefetch cannot log anyone out.
    path("logout", LogoutView.as_view(), name="logout"),
    path("account", account_settings, name="account-settings"),
    path("account/preferences", account_preferences, name="account-preferences"),
    path("account/password", account_password, name="account-password"),
    path("account/email", account_email, name="account-email"),
    path("account/email/confirm", account_email_confirm, name="account-email-confirm"),
    path("account/delete", account_delete, name="account-delete"),
    path("account/session", session_status, name="account-session"),
    path("account/tokens", account_token_create, name="account-token-create"),
    path("account/tokens/<int:token_id>/revoke", account_token_revoke, name="account-token-revoke"),
]
