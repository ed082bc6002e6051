"""REST API of your own account, as Account Settings has it: profile and preferences, personal API
tokens, password, email change and account deletion. Every operation acts on the token's user only."""

from datetime import datetime
from typing import Literal

from django.contrib.auth.forms import PasswordChangeForm
from django.http import Http404
from ninja import Router, Schema, Status
from pydantic import Field

from kindling.accounts import deletion, email_change, preferences, tokens
from kindling.accounts.models import ApiToken
from kindling.lib.paging import page
from kindling.openapi import (
    LIMIT,
    BodyIn,
    Id,
    Limit,
    Offset,
    Optional,
    email_format,
    errors,
    links,
    operation_id,
    page_of,
)

router = Router(tags=["account"])
THIS = __name__


def _choices(key: str):
    return Literal[tuple(preferences.CHOICES[key])]


class Preferences(Schema):
    theme: _choices(preferences.THEME)
    studio_mode: _choices(preferences.STUDIO_MODE)
    editor_theme: _choices(preferences.EDITOR_THEME)
    failure_alerts: _choices(preferences.FAILURE_ALERTS) = Field(
        description="on: an email when runs fail in projects whose administrators switched alerts on"
    )


class AccountOut(Schema):
    email: str = Field(json_schema_extra=email_format)
    name: str
    user_number: int
    preferences: Preferences
    date_joined: datetime


class AccountPatch(BodyIn):
    name: str = Optional(max_length=150)
    theme: _choices(preferences.THEME) = Optional()
    studio_mode: _choices(preferences.STUDIO_MODE) = Optional()
    editor_theme: _choices(preferences.EDITOR_THEME) = Optional()
    failure_alerts: _choices(preferences.FAILURE_ALERTS) = Optional()


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = Field(description="null: it never expires")


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret: shown this once, never stored")


class TokenIn(BodyIn):
    name: str = Field(min_length=1, max_length=tokens.MAX_NAME, pattern=r"\S")
    days: int | None = Field(None, ge=1, le=3650, description="Days until it expires; null: never")


class PasswordIn(BodyIn):
    old_password: str
    new_password: str


class PasswordConfirmed(BodyIn):
    password: str = Field(description="Your current password")


class EmailIn(PasswordConfirmed):
    new_email: str = Field(max_length=254, json_schema_extra=email_format)


class EmailConfirmIn(BodyIn):
    token: str = Field(description="The token of the link emailed to the new address")


class EmailOut(Schema):
    email: str = Field(json_schema_extra=email_format)


class EmailSentOut(Schema):
    emailed_to: str = Field(json_schema_extra=email_format)


TokenPage = page_of(TokenOut, "TokenPage")


def account_out(user) -> dict:
    return {
        "email": user.email,
        "name": user.name,
        "user_number": user.user_number,
        "preferences": {key: preferences.get(user, key) for key in preferences.CHOICES},
        "date_joined": user.date_joined,
    }


def token_out(token: ApiToken) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "last_used_at": token.last_used_at,
        "expires_at": token.expires_at,
    }


def wrong_password(user, password: str) -> Status | None:
    if not user.check_password(password):
        return Status(400, {"error": "password: that is not your current password."})
    return None


@router.get("/account", response=AccountOut, summary="Your account: email, name, user number, preferences")
def get_account(request):
    return account_out(request.user)


@router.patch(
    "/account",
    response={200: AccountOut},
    summary="Change your name or preferences (theme, Job Studio mode, editor theme, failure alerts opt-in)",
)
def patch_account(request, payload: AccountPatch):
    changes = payload.model_dump(exclude_unset=True)
    nulls = sorted(key for key, value in changes.items() if value is None)
    if nulls:
        return Status(400, {"error": f"{', '.join(nulls)} cannot be null."})
    user = request.user
    if "name" in changes:
        user.name = changes.pop("name").strip()
        user.save(update_fields=["name"])
    if changes:
        preferences.set_preferences(user, **changes)
    return Status(200, account_out(user))


@router.get("/account/tokens", response=TokenPage, summary="Your personal API tokens, newest first")
def list_tokens(request, limit: Limit = LIMIT, offset: Offset = 0):
    return page(tokens.list_tokens(request.user), limit, offset, token_out)


@router.post(
    "/account/tokens",
    response={201: NewTokenOut, **errors(400)},
    summary="Create a personal API token; its secret is in this answer only",
    openapi_extra=links(201, revoke=(operation_id(THIS, "revoke_token"), {"token_id": "$response.body#/id"})),
)
def create_token(request, payload: TokenIn):
    try:
        row, secret = tokens.create_token(request.user, payload.name, payload.days)
    except tokens.TokenError as exc:
        return Status(400, {"error": str(exc)})
    return Status(201, {**token_out(row), "token": secret})


@router.delete(
    "/account/tokens/{token_id}",
    response={204: None},
    summary="Revoke one of your API tokens: it stops working at once (the one you call with too)",
)
def revoke_token(request, token_id: Id):
    try:
        tokens.revoke_token(request.user, token_id)
    except tokens.TokenError:
        raise Http404("You have no API token with this id.") from None
    return Status(204, None)


@router.post(
    "/account/password",
    response={204: None, **errors(400)},
    summary="Change your password (the current one, then the new one); your portal sessions end, "
    "API tokens keep working",
)
def change_password(request, payload: PasswordIn):
    # The portal's form: the current password, and the new one through the configured validators.
    data = {"old_password": payload.old_password}
    data["new_password1"] = data["new_password2"] = payload.new_password
    form = PasswordChangeForm(request.user, data)
    if not form.is_valid():
        # Django names the new password's problems after its second copy: the API has one field.
        problems = {
            "old_password" if field == "old_password" else "new_password": " ".join(messages)
            for field, messages in form.errors.items()
        }
        return Status(400, {"error": "; ".join(f"{field}: {text}" for field, text in problems.items())})
    form.save()
    return Status(204, None)


@router.post(
    "/account/email",
    response={202: EmailSentOut, **errors(400)},
    summary="Change your email: a confirmation link goes to the new address; nothing changes until "
    "it is confirmed",
)
def change_email(request, payload: EmailIn):
    refused = wrong_password(request.user, payload.password)
    if refused:
        return refused
    try:
        new_email = email_change.request_change(request.user, payload.new_email)
    except email_change.EmailChangeError as exc:
        return Status(400, {"error": f"new_email: {exc}"})
    return Status(202, {"emailed_to": new_email})


@router.post(
    "/account/email/confirm",
    response={200: EmailOut, **errors(400)},
    summary="Confirm an email change with the token of the emailed link (as opening the link does)",
)
def confirm_email(request, payload: EmailConfirmIn):
    try:
        email = email_change.confirm(request.user, payload.token)
    except email_change.EmailChangeError as exc:
        return Status(400, {"error": str(exc)})
    return Status(200, {"email": email})


@router.post(
    "/account/delete",
    response={204: None, **errors(400, 409)},
    summary="Delete your account, the projects only you belong to and the credentials you own; 409 "
    "while you are the only administrator of a project others use",
)
def delete_account(request, payload: PasswordConfirmed):
    refused = wrong_password(request.user, payload.password)
    if refused:
        return refused
    try:
        deletion.delete_account(request.user)
    except deletion.DeletionRefused as exc:
        return Status(409, {"error": str(exc)})
    return Status(204, None)
