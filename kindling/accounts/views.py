from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm


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
