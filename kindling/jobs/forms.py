"""Forms of the Jobs and Triggers pages. They only read what was typed; `jobs/editing.py` decides."""

import json

from django import forms

from kindling.credentials.models import Credential
from kindling.jobs.editing import MAX_RETRY_ATTEMPTS, MAX_RETRY_WAIT, RETRY_FIELDS
from kindling.jobs.models import Job, RetryBackoff, Trigger
from kindling.lib.jsontext import JSONTextError, parse_object


class BootstrapForm(forms.Form):
    """Bootstrap's classes on the widgets, and `is-invalid` on a field once it has an error."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def add_error(self, field, error):
        super().add_error(field, error)
        if field in self.fields:
            self.fields[field].widget.attrs["class"] += " is-invalid"


def shared_credentials(project):
    # A deleted credential is shared with no project, so it is never among these.
    return Credential.objects.filter(projects=project).order_by("name", "id")


class JobForm(BootstrapForm):
    """Name, trigger, adaptor with version, credential and expression: Job Studio's form.

    The expression is one plain field: Job Studio's script puts the Monaco editor over it and keeps
    it up to date, so the form also saves without JavaScript.
    """

    name = forms.CharField(max_length=200)
    trigger = forms.ModelChoiceField(
        queryset=Trigger.objects.none(),
        required=False,
        empty_label="No trigger (the job does not run by itself)",
    )
    adaptor = forms.CharField(max_length=200, initial="@openfn/language-common")
    adaptor_version = forms.CharField(max_length=50, required=False, initial="latest")
    credential = forms.ModelChoiceField(
        queryset=Credential.objects.none(), required=False, empty_label="No credential"
    )
    expression = forms.CharField(required=False, widget=forms.Textarea)
    # The job's file in the project's repository (kindling/vcs); the domain checks it.
    file_path = forms.CharField(required=False, max_length=500, label="File path in repository")
    # Automatic retries (docs/retries.md). Not required: a form without them leaves them as they are.
    retry_attempts = forms.IntegerField(
        label="Retries",
        required=False,
        min_value=0,
        max_value=MAX_RETRY_ATTEMPTS,
        initial=0,
        help_text=f"How many times a run that fails, times out or is lost is tried again (0 to "
        f"{MAX_RETRY_ATTEMPTS}; 0: never).",
    )
    retry_backoff = forms.ChoiceField(
        label="Backoff", required=False, choices=RetryBackoff.choices, initial=RetryBackoff.EXPONENTIAL
    )
    retry_delay = forms.IntegerField(
        label="First wait (seconds)",
        required=False,
        min_value=0,
        max_value=MAX_RETRY_WAIT,
        initial=60,
        help_text="Before the first retry; each wait is shortened by up to 20% at random.",
    )
    retry_max_delay = forms.IntegerField(
        label="Longest wait (seconds)",
        required=False,
        min_value=1,
        max_value=MAX_RETRY_WAIT,
        initial=3600,
        help_text="No wait is longer, however many retries came before.",
    )
    # A choice rather than a checkbox: a client that does not send it leaves the setting as it is.
    reply_data = forms.ChoiceField(
        choices=[("data", "Its final state's data"), ("status", "Its run status and exit code only")],
        required=False,
        label="Synchronous inbox replies give",
    )

    def __init__(self, *args, project, job: Job | None = None, **kw):
        if job is not None and "initial" not in kw:
            kw["initial"] = {
                "name": job.name,
                "trigger": job.trigger_id,
                "adaptor": job.adaptor,
                "adaptor_version": job.adaptor_version,
                "credential": job.credential_id,
                "expression": job.expression,
                "file_path": job.git_path,
                **{field: getattr(job, field) for field in RETRY_FIELDS},
                "reply_data": "data" if job.reply_with_data else "status",
            }
        super().__init__(*args, **kw)
        self.fields["trigger"].queryset = project.triggers.order_by("name")
        credentials = shared_credentials(project)
        self.credential_problem = None
        if job is not None and job.credential_id:
            # A job keeps showing its credential even if it was unshared or deleted since, marked as
            # such, until someone chooses another one: its runs fail meanwhile, and the page says so.
            credentials = credentials | Credential.objects.filter(pk=job.credential_id)
            self.credential_problem = job.credential_problem
        self.fields["credential"].queryset = credentials.distinct()
        if self.credential_problem:
            stale = job.credential_id
            note = "deleted" if self.credential_problem == "deleted" else "no longer shared"
            self.fields["credential"].label_from_instance = lambda c: (
                f"{c.name} ({note})" if c.pk == stale else c.name
            )

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data["git_path"] = data.pop("file_path", "") or ""
        for field in RETRY_FIELDS:
            if data.get(field) in (None, ""):
                data.pop(field, None)
        reply_data = data.pop("reply_data", "")
        if reply_data:
            data["reply_with_data"] = reply_data == "data"
        return data


def pretty(value) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


class TriggerForm(BootstrapForm):
    """One form for the four kinds; the page shows the fields of the chosen kind."""

    name = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=Trigger.Kind.choices, initial=Trigger.Kind.MESSAGE)
    criteria = forms.CharField(required=False, widget=forms.Textarea, label="Inclusion criteria")
    exclusion = forms.CharField(required=False, widget=forms.Textarea, label="Exclusion criteria")
    cron = forms.CharField(required=False, max_length=100)
    reply = forms.ChoiceField(
        choices=Trigger.Reply.choices, initial=Trigger.Reply.ACCEPTED, required=False, label="Inbox reply"
    )
    upstream_job = forms.ModelChoiceField(
        queryset=Job.objects.none(), required=False, label="Job", empty_label="Choose a job"
    )
    # `{}` is contained in every object: such a filter starts its jobs for every message, which a new
    # user rarely means. The form says so and wants this ticked before it saves one.
    match_all = forms.BooleanField(required=False, label="Yes, match every message")

    def __init__(self, *args, project, trigger: Trigger | None = None, **kw):
        if trigger is not None and "initial" not in kw:
            kw["initial"] = {
                "name": trigger.name,
                "kind": trigger.kind,
                "criteria": pretty(trigger.criteria),
                "exclusion": pretty(trigger.exclusion),
                "cron": trigger.cron,
                "upstream_job": trigger.upstream_job_id,
                "reply": trigger.reply,
                "match_all": trigger.criteria == {},
            }
        super().__init__(*args, **kw)
        for name in ("criteria", "exclusion", "cron"):
            self.fields[name].widget.attrs["class"] += " font-monospace"
            self.fields[name].widget.attrs["spellcheck"] = "false"
        self.fields["criteria"].widget.attrs["rows"] = self.fields["exclusion"].widget.attrs["rows"] = 6
        self.fields["kind"].widget.attrs["data-kind-select"] = ""
        jobs = project.jobs.filter(archived=False)
        if trigger is not None and trigger.upstream_job_id:
            jobs = jobs | project.jobs.filter(pk=trigger.upstream_job_id)
        self.fields["upstream_job"].queryset = jobs.order_by("name")

    @property
    def matches_everything(self) -> bool:
        """The inclusion criteria as typed are `{}` (for a message filter)."""
        if str(self["kind"].value()) != Trigger.Kind.MESSAGE:
            return False
        try:
            return parse_object(str(self["criteria"].value() or ""), "Inclusion criteria") == {}
        except JSONTextError:
            return False

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        # Only the fields of the chosen kind count; the domain clears the others.
        kind = data["kind"]
        if kind != Trigger.Kind.MESSAGE:
            data["criteria"] = data["exclusion"] = None
        data["reply"] = data.get("reply") or Trigger.Reply.ACCEPTED
        if kind != Trigger.Kind.CRON:
            data["cron"] = ""
        if kind not in (Trigger.Kind.FLOW, Trigger.Kind.CATCH):
            data["upstream_job"] = None
        return data
