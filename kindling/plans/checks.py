"""System checks of the billing settings: a `stripe` provider without its keys fails at start, not
when a user first opens the card form."""

from django.conf import settings
from django.core.checks import Error, register


@register()
def check_billing(app_configs, **kwargs):
    if settings.BILLING_PROVIDER != "stripe":
        return []
    missing = [
        name
        for name, value in (
            ("KINDLING_STRIPE_SECRET_KEY", settings.STRIPE_SECRET_KEY),
            ("KINDLING_STRIPE_PUBLISHABLE_KEY", settings.STRIPE_PUBLISHABLE_KEY),
        )
        if not value
    ]
    if not missing:
        return []
    verb = "is" if len(missing) == 1 else "are"
    return [
        Error(
            f"KINDLING_BILLING_PROVIDER is stripe but {' and '.join(missing)} {verb} not set.",
            hint="Set the Stripe account's API keys, or KINDLING_BILLING_PROVIDER=none to assign plans "
            "yourself.",
            id="kindling.E060",
        )
    ]
