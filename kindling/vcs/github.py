"""Connecting an account to GitHub with the operator's OAuth app (Account Settings > Connect to GitHub).

The flow is GitHub's web application flow: send the user to GitHub's authorize page with a random
`state` kept in their session; GitHub sends them back with a code, which is exchanged (with the app's
secret) for a token; the token names the GitHub login. KINDLING_GITHUB_URL and KINDLING_GITHUB_API_URL
point at a GitHub Enterprise server instead of github.com.
"""

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.db import transaction

from kindling.vcs.models import GitHubConnection

SCOPE = "repo"
TIMEOUT = 15


class GitHubError(Exception):
    pass


def configured() -> bool:
    return bool(settings.GITHUB_CLIENT_ID and settings.GITHUB_CLIENT_SECRET)


def new_state() -> str:
    return secrets.token_urlsafe(24)


def authorize_url(redirect_uri: str, state: str) -> str:
    query = urllib.parse.urlencode(
        {"client_id": settings.GITHUB_CLIENT_ID, "redirect_uri": redirect_uri, "scope": SCOPE, "state": state}
    )
    return f"{settings.GITHUB_URL}/login/oauth/authorize?{query}"


def _call(request: urllib.request.Request) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise GitHubError(f"GitHub answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise GitHubError(f"GitHub could not be reached: {getattr(exc, 'reason', exc)}") from None
    except ValueError:
        raise GitHubError("GitHub's answer was not JSON") from None


def exchange_code(code: str, redirect_uri: str) -> tuple[str, str]:
    """(token, granted scopes) for the code GitHub sent back."""
    body = urllib.parse.urlencode(
        {
            "client_id": settings.GITHUB_CLIENT_ID,
            "client_secret": settings.GITHUB_CLIENT_SECRET,
            "code": code,
            "redirect_uri": redirect_uri,
        }
    ).encode()
    request = urllib.request.Request(
        f"{settings.GITHUB_URL}/login/oauth/access_token",
        data=body,
        headers={"Accept": "application/json"},
        method="POST",
    )
    answer = _call(request)
    token = answer.get("access_token")
    if not token:
        reason = answer.get("error_description") or answer.get("error") or "no token in GitHub's answer"
        raise GitHubError(f"GitHub refused the connection: {reason}")
    return token, str(answer.get("scope") or "")


def login_of(token: str) -> str:
    request = urllib.request.Request(
        f"{settings.GITHUB_API_URL}/user",
        headers={"Accept": "application/vnd.github+json", "Authorization": f"Bearer {token}"},
    )
    login = _call(request).get("login")
    if not login:
        raise GitHubError("GitHub did not say which account the token belongs to")
    return str(login)


def connect(user, code: str, redirect_uri: str) -> GitHubConnection:
    token, scopes = exchange_code(code, redirect_uri)
    login = login_of(token)
    with transaction.atomic():
        connection = GitHubConnection.objects.select_for_update().filter(user=user).first()
        connection = connection or GitHubConnection(user=user)
        connection.login, connection.scopes = login, scopes
        connection.token = token
        connection.save()
    return connection


def disconnect(user) -> bool:
    deleted, _ = GitHubConnection.objects.filter(user=user).delete()
    return bool(deleted)
