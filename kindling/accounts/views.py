import json

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from kindling.accounts import preferences, recovery, sessions, throttle, tokens
from kindling.accounts.models import User
from kindling.accounts.settings_pages import account_forms


def client_address(request) -> str:
    # uvicorn puts the client's address here, also behind a proxy it trusts (--forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR") or ""


def throttled_page(request, template, context, exc: throttle.Throttled):
    response = render(request, template, {**context, "throttled": str(exc)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


class EmailLoginForm(AuthenticationForm):
    # AuthenticationForm keeps the field name "username"; for us it is the email address.
    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "class": "form-control"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        # Do not say which of the two was wrong: that would tell a stranger which emails have accounts.
        "invalid_login": "Wrong email or password. Check both and try again.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].widget.attrs["class"] = "form-control"

    def clean_username(self):
        # Accounts are stored with a lower-case email, and the backend's lookup is case-sensitive.
        return self.cleaned_data["username"].lower()


class RecoverForm(forms.Form):
    email = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email", "class": "form-control"}),
    )


class ResetForm(SetPasswordForm):
    """A recovery token and the new password twice; the user is the token's."""

    token = forms.CharField(
        label="Recovery token",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "class": "form-control"}),
    )
    field_order = ["token", "new_password1", "new_password2"]

    def __init__(self, *args, **kwargs):
        super().__init__(None, *args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget.attrs["class"] = "form-control"

    def clean_token(self):
        self.user = recovery.user_for_token(self.cleaned_data["token"])
        if self.user is None:
            raise forms.ValidationError(
                "This recovery token is not valid: it may have been used or be over an hour old. "
                "Ask for a new one."
            )
        return self.cleaned_data["token"]


def password_recover(request):
    """Recover Password: a recovery token for the account with this email, sent to it."""
    form = RecoverForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/password_recover.html", {"form": form}, status=400)
        try:
            throttle.recovery_requested(form.cleaned_data["email"], client_address(request))
        except throttle.Throttled as exc:
            return throttled_page(request, "accounts/password_recover.html", {"form": form}, exc)
        recovery.send_recovery(form.cleaned_data["email"])
        # The same answer whether or not the address has an account.
        messages.success(
            request,
            f"If {form.cleaned_data['email']} is the email of a Kindling account, a recovery token is on its "
            "way to it. Enter it below with a new password.",
        )
        return redirect("password-reset")
    return render(request, "accounts/password_recover.html", {"form": form})


def password_reset(request):
    """Reset Password: a recovery token and a new password."""
    if request.method == "POST":
        form = ResetForm(request.POST)
        if not form.is_valid():
            return render(request, "accounts/password_reset.html", {"form": form}, status=400)
        form.save()  # a new password: every session of the account ends, and the token stops working
        messages.success(request, "Your password is changed: log in with the new one.")
        return redirect("login")
    form = ResetForm(initial={"token": request.GET.get("token", "")})
    return render(request, "accounts/password_reset.html", {"form": form})


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        sessions.claim_ended_note(request)  # the note of a session that ended, once
        response = super().get(request, *args, **kwargs)
        if sessions.ENDED_COOKIE in request.COOKIES:
            response.delete_cookie(sessions.ENDED_COOKIE, samesite="Lax")
        return response

    def post(self, request, *args, **kwargs):
        self.email = request.POST.get("username", "").strip().lower()
        self.address = client_address(request)
        try:
            throttle.check_login(self.email, self.address)
        except throttle.Throttled as exc:
            # Refused before the password is checked: a guesser learns nothing while blocked.
            form = self.get_form_class()(request, initial={"username": self.email})
            return throttled_page(request, self.template_name, self.get_context_data(form=form), exc)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if form.has_error(NON_FIELD_ERRORS, "invalid_login"):
            throttle.login_failed(self.email, self.address)
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.login_succeeded(self.email, self.address)
        response = super().form_valid(form)
        sessions.start(self.request)  # the 24 hours of this login start now
        return response


class AccountSettingsForm(forms.ModelForm):
    theme = forms.ChoiceField(
        label="Theme",
        choices=list(preferences.THEMES.items()),
        required=False,
        help_text="The portal's colours.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    studio_mode = forms.ChoiceField(
        label="Job Studio mode",
        choices=list(preferences.STUDIO_MODES.items()),
        required=False,
        help_text="How Job Studio opens an existing job. New jobs always open in Wizard mode.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    editor_theme = forms.ChoiceField(
        label="Editor theme",
        choices=list(preferences.EDITOR_THEMES.items()),
        required=False,
        help_text="The colours of Job Studio's expression editor.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    failure_alerts = forms.ChoiceField(
        label="Failure alerts",
        choices=list(preferences.FAILURE_ALERT_CHOICES.items()),
        required=False,
        help_text="An email when runs fail, in the projects whose administrators switched failure alerts "
        "on (Project Settings): at most one per job per their chosen period.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    class Meta:
        model = User
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"class": "form-control", "autocomplete": "name"})}

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for key in preferences.CHOICES:
            self.fields[key].initial = preferences.get(self.instance, key)

    def save(self, commit=True):
        user = super().save(commit)
        # A form without these fields (an older page, a script) leaves them as they are.
        changes = {key: self.cleaned_data[key] for key in preferences.CHOICES if self.cleaned_data.get(key)}
        if changes:
            preferences.set_preferences(user, **changes)
        return user


class ChangePasswordForm(PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].widget.attrs.pop("autofocus", None)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"


class TokenForm(forms.Form):
    prefix = "token"  # the profile form has a "name" field too: distinct ids for the labels
    name = forms.CharField(
        label="Token name",
        max_length=tokens.MAX_NAME,
        help_text="What will use it, such as the script or machine.",
        widget=forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
    )
    days = forms.ChoiceField(
        label="Expires",
        choices=list(tokens.LIFETIMES.items()),
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


def settings_page(request, form=None, password_form=None, token_form=None, new_token=None, **given):
    form = form or AccountSettingsForm(instance=request.user)
    password_form = password_form or ChangePasswordForm(request.user)
    token_form = token_form or TokenForm()
    context = {
        "form": form,
        "password_form": password_form,
        "token_form": token_form,
        "tokens": tokens.list_tokens(request.user),
        "new_token": new_token,
        **account_forms(request.user, **given),
    }
    invalid = [f for f in (form, password_form, token_form, *given.values()) if f is not None and f.errors]
    return render(request, "accounts/settings.html", context, status=400 if invalid else 200)


@login_required
def account_settings(request):
    form = AccountSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved your account settings.")
        return redirect("account-settings")
    return settings_page(request, form=form)


@login_required
@require_POST
def account_password(request):
    """Change Password: the current one and the new one twice. This session stays; the others end."""
    password_form = ChangePasswordForm(request.user, request.POST)
    if not password_form.is_valid():
        return settings_page(request, password_form=password_form)
    password_form.save()
    update_session_auth_hash(request, password_form.user)
    messages.success(request, "Your password is changed: your other sessions are logged out.")
    return redirect("account-settings")


@login_required
@require_POST
def account_preferences(request):
    """Job Studio saves its mode and theme here as they are switched: JSON in, all preferences out."""
    try:
        changes = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"error": "Send the preferences as a JSON object."}, status=400)
    if not isinstance(changes, dict) or not changes:
        return JsonResponse(
            {"error": 'Send a JSON object with the preferences to change, like {"editor_theme": "vs-dark"}.'},
            status=400,
        )
    try:
        saved = preferences.set_preferences(request.user, **changes)
    except preferences.PreferenceError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(saved)


@login_required
@require_POST
def account_token_create(request):
    """A new personal API token, shown on this page once: the database keeps only its hash."""
    token_form = TokenForm(request.POST)
    if token_form.is_valid():
        days = int(token_form.cleaned_data["days"] or 0) or None
        try:
            row, secret = tokens.create_token(request.user, token_form.cleaned_data["name"], days)
        except tokens.TokenError as exc:
            token_form.add_error("name", str(exc))
        else:
            # Rendered, not redirected: the secret is never put in a session or a cookie, nor in a cache.
            response = settings_page(request, new_token={"row": row, "secret": secret})
            patch_cache_control(response, no_store=True)
            return response
    return settings_page(request, token_form=token_form)


@login_required
@require_POST
def account_token_revoke(request, token_id):
    try:
        token = tokens.revoke_token(request.user, token_id)
    except tokens.TokenError:
        raise Http404("You have no API token with this id.") from None
    messages.success(request, f"Revoked the API token {token.name} ({token.prefix}…): it stops working now.")
    return redirect("account-settings")
