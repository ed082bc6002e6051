"""Payment cards through the billing provider (settings.BILLING_PROVIDER = "stripe").

A card is added with Stripe Elements: the browser sends the card to Stripe, never to Kindling. Here
we create the Stripe customer and a SetupIntent for the form, then read back the confirmed intent
and keep only the ids and the card's brand and last 4 digits. The Stripe library talks to
settings.STRIPE_API_BASE when it is set (the tests' local stand-in), otherwise to Stripe itself.
"""

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kindling.plans.models import BillingAccount


class BillingError(Exception):
    pass


def client() -> stripe.StripeClient:
    if not settings.STRIPE_SECRET_KEY:
        raise BillingError("Stripe is not configured: set KINDLING_STRIPE_SECRET_KEY.")
    base = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=1)


def _stripe_error(exc: stripe.StripeError) -> BillingError:
    return BillingError(f"The payment provider refused: {exc.user_message or exc}")


def account_of(user) -> BillingAccount | None:
    return BillingAccount.objects.filter(user=user).first()


def start_card_setup(user) -> str:
    """Create (once) the user's Stripe customer and a SetupIntent; the intent's client secret, which
    the card form hands to Stripe.js."""
    if settings.BILLING_PROVIDER != "stripe":
        raise BillingError("No billing provider is set up on this Kindling: no card is needed.")
    api = client()
    account, _ = BillingAccount.objects.get_or_create(user=user, defaults={"provider": "stripe"})
    try:
        if not account.customer_id:
            customer = api.v1.customers.create(
                params={
                    "email": user.email,
                    "name": user.name or user.email,
                    "metadata": {"kindling_user_number": str(user.user_number)},
                }
            )
            account.customer_id = customer.id
            account.save(update_fields=["customer_id"])
        intent = api.v1.setup_intents.create(
            params={"customer": account.customer_id, "payment_method_types": ["card"], "usage": "off_session"}
        )
    except stripe.StripeError as exc:
        raise _stripe_error(exc) from None
    return intent.client_secret


def save_card(user, setup_intent_id: str) -> BillingAccount:
    """Keep the card that the user confirmed in the card form (by its SetupIntent) as their card."""
    account = account_of(user)
    if account is None or not account.customer_id:
        raise BillingError("Start from the Add Card button: there is no card setup under way.")
    if not setup_intent_id or not setup_intent_id.startswith("seti_"):
        raise BillingError("The card form sent no card setup: fill in the card and save again.")
    api = client()
    try:
        intent = api.v1.setup_intents.retrieve(setup_intent_id)
        if intent.customer != account.customer_id:
            raise BillingError("That card setup belongs to another account.")
        if intent.status != "succeeded":
            raise BillingError(f"The card was not confirmed by the payment provider ({intent.status}).")
        method_id = (
            intent.payment_method if isinstance(intent.payment_method, str) else intent.payment_method.id
        )
        method = api.v1.payment_methods.retrieve(method_id)
        api.v1.customers.update(
            account.customer_id, params={"invoice_settings": {"default_payment_method": method_id}}
        )
    except stripe.StripeError as exc:
        raise _stripe_error(exc) from None
    with transaction.atomic():
        account.payment_method_id = method_id
        account.card_brand = method.card.brand
        account.card_last4 = method.card.last4
        account.updated_at = timezone.now()
        account.save()
    return account
