"""Account Settings' account actions (change email, delete account) and the session check that open
tabs make."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from kindling.accounts import deletion, email_change, sessions


class PasswordConfirmedForm(forms.Form):
    """A form that asks for the user's current password before acting on the account."""

    password = forms.CharField(
        label="Current password",
        widget=forms.PasswordInput(attrs={"class": "form-control", "autocomplete": "current-password"}),
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        if not self.user.check_password(self.cleaned_data["password"]):
            raise forms.ValidationError("That is not your current password.")
        return self.cleaned_data["password"]


class ChangeEmailForm(PasswordConfirmedForm):
    new_email = forms.EmailField(
        label="New email", widget=forms.EmailInput(attrs={"class": "form-control", "autocomplete": "email"})
    )
    field_order = ["new_email", "password"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "password"
        ].help_text = "A confirmation link goes to the new address; your email changes when you open it."

    def clean_new_email(self):
        try:
            return email_change.check_new_email(self.user, self.cleaned_data["new_email"])
        except email_change.EmailChangeError as exc:
            raise forms.ValidationError(str(exc)) from None


class DeleteAccountForm(PasswordConfirmedForm):
    pass


def account_forms(user, **given) -> dict:
    """The context of these sections of Account Settings (kindling/accounts/views.py renders the page)."""
    return {
        "email_form": given.get("email_form") or ChangeEmailForm(user),
        "delete_form": given.get("delete_form") or DeleteAccountForm(user),
        "delete_refusal": deletion.refusal(user),
    }


@login_required
@require_POST
def account_email(request):
    """Change email: the link goes to the new address; nothing changes until it is opened."""
    from kindling.accounts.views import settings_page  # the page's other sections live there

    form = ChangeEmailForm(request.user, request.POST)
    if not form.is_valid():
        return settings_page(request, email_form=form)
    new_email = email_change.request_change(request.user, form.cleaned_data["new_email"])
    messages.success(
        request, f"We sent a confirmation link to {new_email}: your email changes when you open it."
    )
    return redirect("account-settings")


@login_required
def account_email_confirm(request):
    try:
        new_email = email_change.confirm(request.user, request.GET.get("token", ""))
    except email_change.EmailChangeError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Your email is now {new_email}: log in with it from now on.")
    return redirect("account-settings")


@login_required
@require_POST
def account_delete(request):
    from kindling.accounts.views import settings_page

    form = DeleteAccountForm(request.user, request.POST)
    if not form.is_valid():
        return settings_page(request, delete_form=form)
    try:
        deletion.delete_account(request.user)
    except deletion.DeletionRefused as exc:
        form.add_error(None, str(exc))
        return settings_page(request, delete_form=form)
    logout(request)
    messages.success(request, "Your account is deleted.")
    return redirect("login")


def session_status(request):
    """Asked by every open tab: 200 while the session lives, 401 once it has ended (or was logged out)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Your session has ended: log in again."}, status=401)
    end = sessions.ends_at(request)
    left = int((end - timezone.now()).total_seconds()) if end else None
    return JsonResponse({"ends_at": end.isoformat() if end else None, "seconds_left": left})
