import zoneinfo

from django import forms

from kindling.projects.configure import FAILURE_ALERT_PERIODS, NAME_MAX

TIMEZONES = sorted(zoneinfo.available_timezones())


class NewProjectForm(forms.Form):
    name = forms.CharField(
        max_length=NAME_MAX, widget=forms.TextInput(attrs={"class": "form-control", "autofocus": True})
    )
    description = forms.CharField(
        required=False,
        help_text="Optional: what the project does, for its collaborators.",
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )


class SettingsForm(forms.Form):
    """Project Configuration. The ranges are checked again by configure.check_changes, which also
    answers the API: the form only shapes the inputs (the sliders' bounds come from the plan)."""

    name = forms.CharField(max_length=NAME_MAX, widget=forms.TextInput(attrs={"class": "form-control"}))
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2})
    )
    concurrency = forms.IntegerField(
        help_text="Runs of this project that may execute at the same time; 1 runs them one at a time, "
        "in the order they arrived.",
        widget=forms.NumberInput(attrs={"type": "range", "class": "form-range", "min": 1, "step": 1}),
    )
    notification_threshold = forms.IntegerField(
        label="Notification threshold",
        help_text="Collaborators get an email when this share of the billing cycle's runs has been used.",
        widget=forms.NumberInput(
            attrs={"type": "range", "class": "form-range", "min": 1, "max": 100, "step": 1}
        ),
    )
    timezone = forms.ChoiceField(
        label="Time zone",
        choices=[(tz, tz) for tz in TIMEZONES],
        help_text="Cron triggers fire by this zone's clock, and pages show times in it.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    # Not required: a form without it (a page loaded before it existed) leaves it as it is.
    failure_alert_minutes = forms.TypedChoiceField(
        label="Failure alerts",
        choices=list(FAILURE_ALERT_PERIODS.items()),
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Email the collaborators who opted in (Account Settings) when runs fail: at most one "
        "email per job per this period, with how many failed and the newest error line. Never states "
        "or credentials.",
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, max_concurrency: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["concurrency"].widget.attrs["max"] = max_concurrency

    def changes(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value is not None}
