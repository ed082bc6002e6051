from django.contrib import admin

from kindling.plans.models import BillingAccount, Plan, Subscription, Usage


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "runs_per_month",
        "max_concurrency",
        "run_timeout",
        "price_label",
        "paid",
        "is_default",
    )
    list_editable = ("runs_per_month", "max_concurrency", "run_timeout", "price_label", "paid")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("project", "plan", "billed_to", "changed_at")
    list_select_related = ("project", "plan", "billed_to")
    raw_id_fields = ("project", "billed_to")


@admin.register(Usage)
class UsageAdmin(admin.ModelAdmin):
    list_display = ("project", "cycle_start", "runs", "rejected", "notified")
    list_select_related = ("project",)
    readonly_fields = ("project", "cycle_start", "runs", "rejected", "notified")


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    # Ids at the provider and what identifies the card to its owner: nothing secret is stored.
    list_display = ("user", "provider", "card_brand", "card_last4", "updated_at")
    readonly_fields = ("customer_id", "payment_method_id", "card_brand", "card_last4")
