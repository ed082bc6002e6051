"""The Audit page's and the API's filters: action, actor (part of an email), and a range of days."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from kindling.audit.models import AuditEvent


class BadFilter(ValueError):
    pass


def parse_day(value: str, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadFilter(f"{name} must be a date written YYYY-MM-DD (got {value!r})") from None


@dataclass
class AuditFilters:
    action: str = ""
    actor: str = ""
    since: date | None = None
    until: date | None = None
    errors: dict = field(default_factory=dict)

    @classmethod
    def from_params(cls, params) -> "AuditFilters":
        found = cls(action=(params.get("action") or "").strip(), actor=(params.get("actor") or "").strip())
        for name in ("since", "until"):
            try:
                setattr(found, name, parse_day(params.get(name, ""), name))
            except BadFilter as exc:
                found.errors[name] = str(exc)
        if found.since and found.until and found.since > found.until:
            found.errors["until"] = "until must not be before since"
        return found

    @property
    def is_filtered(self) -> bool:
        return bool(self.action or self.actor or self.since or self.until)

    def events(self, project):
        """The project's events that pass the filters, newest first (served by audit_project_recent)."""
        events = AuditEvent.objects.filter(project=project)
        if self.action:
            events = events.filter(action=self.action)
        if self.actor:
            events = events.filter(actor_email__icontains=self.actor)
        zone = timezone.get_current_timezone()
        if self.since:
            events = events.filter(created_at__gte=datetime.combine(self.since, time.min, zone))
        if self.until:
            events = events.filter(
                created_at__lt=datetime.combine(self.until + timedelta(days=1), time.min, zone)
            )
        return events.order_by("-created_at", "-id")
