"""A user's settings that follow them across pages and devices: the portal's theme, the IDE style
(Job Studio's mode and editor theme), and whether they get failure alerts.

They live in `User.preferences` (JSON), each key with the values it may take, so that a page can trust
what it reads and an unknown value is refused with the list of valid ones.
"""

from django.db import transaction

from kindling.accounts.models import User

STUDIO_MODE = "studio_mode"
EDITOR_THEME = "editor_theme"
THEME = "theme"
FAILURE_ALERTS = "failure_alerts"
FAILURE_ALERTS_ON = "on"

# v1: Job Studio opens in Wizard mode until the user toggles it; new jobs always open in Wizard mode.
STUDIO_MODES = {"wizard": "Wizard", "fullscreen": "Fullscreen"}
# Monaco's built-in themes.
EDITOR_THEMES = {
    "vs": "Light",
    "vs-dark": "Dark",
    "hc-black": "High contrast dark",
    "hc-light": "High contrast light",
}
# The portal's colours (Bootstrap's colour modes).
THEMES = {"light": "Light", "dark": "Dark"}
# Emails about failed runs of the user's projects whose administrators switched them on (runs/alerts.py).
FAILURE_ALERT_CHOICES = {"off": "Off", FAILURE_ALERTS_ON: "On: email me when runs of my projects fail"}
CHOICES = {
    STUDIO_MODE: STUDIO_MODES,
    EDITOR_THEME: EDITOR_THEMES,
    THEME: THEMES,
    FAILURE_ALERTS: FAILURE_ALERT_CHOICES,
}
DEFAULTS = {STUDIO_MODE: "wizard", EDITOR_THEME: "vs", THEME: "light", FAILURE_ALERTS: "off"}


class PreferenceError(ValueError):
    pass


def get(user, key: str) -> str:
    value = (getattr(user, "preferences", None) or {}).get(key)
    return value if value in CHOICES[key] else DEFAULTS[key]


def set_preferences(user: User, **changes) -> dict:
    """Save some preferences; the others stay. Raises PreferenceError naming the bad key or value."""
    for key, value in changes.items():
        if key not in CHOICES:
            raise PreferenceError(f"Unknown preference {key!r}: use one of {', '.join(sorted(CHOICES))}.")
        if value not in CHOICES[key]:
            raise PreferenceError(f"{key} must be one of {', '.join(CHOICES[key])}, not {value!r}.")
    with transaction.atomic():
        # Re-read under lock: two tabs saving different keys at once must not drop each other's.
        fresh = User.objects.select_for_update().only("preferences").get(pk=user.pk)
        preferences = {**(fresh.preferences or {}), **changes}
        User.objects.filter(pk=user.pk).update(preferences=preferences)
    user.preferences = preferences
    return {key: get(user, key) for key in CHOICES}
