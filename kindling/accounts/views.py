from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render

from kindling.accounts.models import User


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


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True


class AccountSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
        widgets = {"name": forms.TextInput(attrs={"class": "form-control", "autocomplete": "name"})}


@login_required
def account_settings(request):
    form = AccountSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Saved your account settings.")
        return redirect("account-settings")
    return render(request, "accounts/settings.html", {"form": form}, status=400 if form.errors else 200)
