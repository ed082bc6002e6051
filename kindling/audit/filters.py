"""The Audit page's and the API's filters: action, actor (part of an email), and a range of days in the
project's time zone (both days included), parsed like the history pages' custom ranges."""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from kindling.audit.models import AuditEvent
from kindling.lib.history import CUSTOM, BadFilter, parse_day, window


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
                found.errors[name] = f"{name}: {exc}"
        if found.since and found.until and found.since > found.until:
            found.errors["until"] = "until: the range ends before it starts"
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
        span = window(CUSTOM, self.since, self.until, timezone.now(), zoneinfo.ZoneInfo(project.timezone))
        if span.since:
            events = events.filter(created_at__gte=span.since)
        if span.until:
            events = events.filter(created_at__lt=span.until)
        return events.order_by("-created_at", "-id")
