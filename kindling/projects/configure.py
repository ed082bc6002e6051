"""Creating a project and changing its configuration (Project Settings): the portal, the REST API and
the CLI all call these, so the rules (who may, which values) are written once."""

import zoneinfo

from django.db import IntegrityError, transaction

from kindling.plans.limits import max_concurrency  # the slider goes up to the plan's maximum
from kindling.projects.models import Project, SlugRedirect

SETTINGS_FIELDS = (
    "name",
    "description",
    "concurrency",
    "notification_threshold",
    "timezone",
    "failure_alert_minutes",
)
# Failure alerts (runs/alerts.py): minutes between two emails about one job's failed runs; 0 = off.
FAILURE_ALERT_PERIODS = {0: "Off", 15: "15 minutes", 60: "1 hour", 360: "6 hours", 1440: "1 day"}
NAME_MAX = 200


class ConfigError(ValueError):
    """A value that cannot be saved; `field` names it, for the form or the API's error."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def clean_name(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ConfigError("name", "A project needs a name.")
    if len(name) > NAME_MAX:
        raise ConfigError("name", f"A project name has at most {NAME_MAX} characters.")
    return name


def whole_number(field: str, value, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(field, f"{what} must be a whole number from {low} to {high}.")
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(field, f"{what} must be a whole number from {low} to {high}.") from None
    if not low <= number <= high:
        raise ConfigError(field, f"{what} must be from {low} to {high}; {number} is out of range.")
    return number


def clean_timezone(value) -> str:
    value = str(value or "").strip()
    if value not in zoneinfo.available_timezones():
        raise ConfigError(
            "timezone", f"{value!r} is not a known time zone (for example UTC or Africa/Nairobi)."
        )
    return value


def create_project(owner, name, description="") -> Project:
    """A new project with its inbox; `owner` becomes its owner (an administrator)."""
    return Project.create(clean_name(name), owner, description=str(description or "").strip())


def check_changes(project: Project, changes: dict) -> dict:
    """The changes as they will be saved, or ConfigError for the first bad one (nothing is saved)."""
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    if unknown:
        raise ConfigError(
            unknown[0],
            f"Unknown field(s): {', '.join(unknown)}. A project's settings are {', '.join(SETTINGS_FIELDS)}.",
        )
    clean = {}
    if "name" in changes:
        clean["name"] = clean_name(changes["name"])
    if "description" in changes:
        clean["description"] = str(changes["description"] or "").strip()
    if "concurrency" in changes:
        top = max_concurrency(project)
        clean["concurrency"] = whole_number(
            "concurrency",
            changes["concurrency"],
            1,
            top,
            f"Concurrency (this project's plan allows at most {top})",
        )
    if "notification_threshold" in changes:
        clean["notification_threshold"] = whole_number(
            "notification_threshold", changes["notification_threshold"], 1, 100, "The notification threshold"
        )
    if "timezone" in changes:
        clean["timezone"] = clean_timezone(changes["timezone"])
    if "failure_alert_minutes" in changes:
        clean["failure_alert_minutes"] = alert_period(changes["failure_alert_minutes"])
    return clean


def alert_period(value) -> int:
    allowed = ", ".join(str(minutes) for minutes in FAILURE_ALERT_PERIODS)
    problem = ConfigError(
        "failure_alert_minutes", f"Failure alerts take one of these periods in minutes: {allowed} (0: off)."
    )
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise problem
    try:
        minutes = int(value)
    except ValueError:
        raise problem from None
    if minutes not in FAILURE_ALERT_PERIODS:
        raise problem
    return minutes


def configure(project: Project, **changes) -> Project:
    """Save some of the project's settings. A new name gives a new slug; the old one redirects for 60
    days. The inbox URL never changes. Concurrency counts from the next claim: the claim reads it."""
    clean = check_changes(project, changes)
    try:
        with transaction.atomic():
            project = Project.objects.select_for_update().get(pk=project.pk)
            if "name" in clean and clean["name"] != project.name:
                new_slug = Project.free_slug(clean["name"], keep=project)
                if new_slug != project.slug:
                    SlugRedirect.objects.filter(project=project, old_slug=new_slug).delete()
                    SlugRedirect.objects.create(project=project, old_slug=project.slug)
                    project.slug = new_slug
            for field, value in clean.items():
                setattr(project, field, value)
            project.save()
    except IntegrityError:
        # Another project took the same slug between our check and our save (two renames at once).
        raise ConfigError("name", "Another project took that name a moment ago: try again.") from None
    return project
