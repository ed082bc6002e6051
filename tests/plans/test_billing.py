"""Billing through Stripe (against a local stand-in of its API): a card is added with a SetupIntent,
only ids, brand and last 4 digits are stored, and a paid plan needs the card."""

from django.urls import reverse

from kindling.plans.limits import plan_of
from kindling.plans.models import BillingAccount, Subscription
from tests.conftest import make_plan
from tests.plans.conftest import confirm_card


def test_adding_a_card_keeps_only_the_providers_ids_brand_and_last_4(client_for, alice, free, stripe_standin):
    client = client_for(alice)
    page = client.get(reverse("billing-card"))
    assert page.status_code == 200
    secret = page.context["client_secret"]
    assert f'<script src="{stripe_standin.url}/v3/"></script>' in page.content.decode()
    intent = confirm_card(stripe_standin, secret, "4242424242424242")

    response = client.post(reverse("billing-card"), {"setup_intent": intent["id"]}, follow=True)
    assert "Card saved: Visa ending in 4242." in response.content.decode()
    account = BillingAccount.objects.get(user=alice)
    assert account.customer_id.startswith("cus_") and account.payment_method_id.startswith("pm_")
    assert (account.card_brand, account.card_last4) == ("visa", "4242")
    stored = " ".join(str(value) for value in BillingAccount.objects.values().get().values())
    assert "4242424242424242" not in stored
    # The customer was created with the user's email and its default payment method set to the card.
    customer = stripe_standin.customers[account.customer_id]
    assert customer["email"] == "alice@example.com"
    assert customer["default_payment_method"] == account.payment_method_id


def test_a_setup_the_provider_did_not_confirm_is_refused(client_for, alice, free, stripe_standin):
    client = client_for(alice)
    secret = client.get(reverse("billing-card")).context["client_secret"]
    declined = confirm_card(stripe_standin, secret, "4000000000000002")
    assert declined["error"]["code"] == "card_declined"
    response = client.post(
        reverse("billing-card"), {"setup_intent": secret.split("_secret_")[0]}, follow=True
    )
    assert (
        "The card was not confirmed by the payment provider (requires_payment_method)."
        in response.content.decode()
    )
    assert not BillingAccount.objects.get(user=alice).has_card


def test_another_accounts_setup_cannot_be_used(client_for, alice, bob, free, stripe_standin):
    bob_secret = client_for(bob).get(reverse("billing-card")).context["client_secret"]
    intent = confirm_card(stripe_standin, bob_secret, "4242424242424242")
    client = client_for(alice)
    client.get(reverse("billing-card"))
    response = client.post(reverse("billing-card"), {"setup_intent": intent["id"]}, follow=True)
    assert "That card setup belongs to another account." in response.content.decode()
    assert not BillingAccount.objects.get(user=alice).has_card


def test_a_paid_plan_needs_a_card_and_is_then_billed_to_the_administrator(
    client_for, alice, project, free, stripe_standin
):
    make_plan("Team", runs_per_month=10_000, max_concurrency=5, paid=True, price_label="$49 / month")
    client = client_for(alice)  # with a billing provider, project administrators change plans
    response = client.post(reverse("plan-change", args=[project.slug]), {"plan": "Team"}, follow=True)
    assert "Team is a paid plan: add a payment card on your Billing page" in response.content.decode()
    assert plan_of(project).name == "Free"

    secret = client.get(reverse("billing-card")).context["client_secret"]
    intent = confirm_card(stripe_standin, secret, "5555555555554444")
    client.post(reverse("billing-card"), {"setup_intent": intent["id"]})
    response = client.post(reverse("plan-change", args=[project.slug]), {"plan": "Team"}, follow=True)
    assert "Health Ministry is now on the Team plan." in response.content.decode()
    assert Subscription.objects.get(project=project).billed_to == alice
    billing = client.get(reverse("billing")).content.decode()
    assert "Mastercard ending in 4444" in billing and "$49 / month" in billing


def test_without_stripe_there_is_no_card_to_add(client_for, alice, free):
    response = client_for(alice).get(reverse("billing-card"), follow=True)
    assert "No billing provider is set up on this Kindling: no card is needed." in response.content.decode()


def test_the_stripe_provider_without_its_keys_fails_the_system_check(settings):
    from kindling.plans.checks import check_billing

    settings.BILLING_PROVIDER = "stripe"
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "", "pk_test_x"
    [error] = check_billing(None)
    assert error.id == "kindling.E060" and "KINDLING_STRIPE_SECRET_KEY is not set" in error.msg
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    assert check_billing(None) == []
