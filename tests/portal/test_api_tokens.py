"""API tokens on the Account Settings page: listed, created (shown once), revoked."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from kindling.accounts import tokens
from kindling.accounts.models import ApiToken


def test_the_settings_page_lists_the_users_tokens_with_their_dates(client_for, alice, bob):
    used, _ = tokens.create_token(alice, "nightly sync", days=30)
    ApiToken.objects.filter(pk=used.pk).update(last_used_at=timezone.now())
    tokens.create_token(alice, "dashboard")
    tokens.create_token(bob, "bobs token")

    html = client_for(alice).get(reverse("account-settings")).content.decode()

    assert "API tokens" in html
    assert "nightly sync" in html and "dashboard" in html and "bobs token" not in html
    assert f"{used.prefix}…" in html
    row = re.search(rf'<tr id="token-{used.pk}">(.*?)</tr>', html, re.S).group(1)
    assert timezone.now().strftime("%Y-%m-%d") in row and "never" not in row


def test_a_new_token_is_shown_once_and_only_its_hash_is_stored(client_for, alice):
    client = client_for(alice)

    response = client.post(reverse("account-token-create"), {"token-name": "ci", "token-days": "90"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'id="new-token-value" value="(kdl_[^"]+)"', response.content.decode()).group(1)
    row = ApiToken.objects.get()
    assert (row.user, row.name) == (alice, "ci")
    assert row.expires_at - timezone.now() > timedelta(days=89)
    assert ApiToken.user_for(secret) == alice
    assert secret not in repr(list(ApiToken.objects.values_list()))
    assert secret not in client.get(reverse("account-settings")).content.decode()


def test_a_token_without_a_name_is_refused_with_the_reason(client_for, alice):
    response = client_for(alice).post(reverse("account-token-create"), {"token-name": "  ", "token-days": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_an_unknown_lifetime_is_refused(client_for, alice):
    form = {"token-name": "ci", "token-days": "10000"}
    response = client_for(alice).post(reverse("account-token-create"), form)

    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_deletes_the_token_and_says_so(client_for, alice):
    row, secret = tokens.create_token(alice, "gone")

    response = client_for(alice).post(reverse("account-token-revoke", args=[row.pk]), follow=True)

    assert response.status_code == 200
    assert f"Revoked the API token gone ({row.prefix}…)" in response.content.decode()
    assert ApiToken.user_for(secret) is None


def test_nobody_revokes_another_users_token(client_for, alice, charlie):
    row, secret = tokens.create_token(alice, "mine")

    response = client_for(charlie).post(reverse("account-token-revoke", args=[row.pk]))

    assert response.status_code == 404
    assert ApiToken.user_for(secret) == alice


def test_revoking_is_a_post(client_for, alice):
    row, _ = tokens.create_token(alice, "mine")
    assert client_for(alice).get(reverse("account-token-revoke", args=[row.pk])).status_code == 405
    assert ApiToken.objects.exists()


def test_tokens_need_a_login(client, alice):
    row, _ = tokens.create_token(alice, "mine")
    for url in (reverse("account-token-create"), reverse("account-token-revoke", args=[row.pk])):
        response = client.post(url, {"token-name": "x"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert ApiToken.objects.count() == 1
